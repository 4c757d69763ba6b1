// The README's main command, after hack/local-up.sh and hack/build-images.sh: the five seed systems
// of manifests/examples, as written, on the local stack. Their producers' messages go in; Jobs come
// out — Sluice's media and llm images running for real on exec-node-0 (ffmpeg on a test video, the
// llm tasks against a local OpenAI-compatible server), the applications' own images simulated by
// kwok — and the applications' records follow them: MongoDB, DynamoDB and PostgreSQL, progress
// included. Bad messages land in the dead-letter queues with their reason.
// Usage: node hack/demo.ts [--keep]   (--keep leaves the controller and the fake model running)
import { CreateTableCommand, DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SESClient, VerifyEmailIdentityCommand } from '@aws-sdk/client-ses';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { startFakeOpenAI } from '../jobs/llm/test-support/fake-openai.ts';
import { buildSluice, connect, sleep, startController, stopProcess } from './lib/cluster.ts';
import { applyExample, type AppliedExample, type ExampleEnvironment } from './lib/examples.ts';
import { repoRoot } from './lib/stack-env.ts';

const keep = process.argv.includes('--keep');
const { env, core, batch, apply, installCrds } = connect('sluice-demo');
const nodeIp = env.SLUICE_NODE_IP;
if (!nodeIp) throw new Error('the local stack has no exec node (it needs root): the demo runs real containers there');
const run = new Date().toISOString().slice(11, 19).replace(/:/g, '');
const namespace = `sluice-demo-${run}`;
const sqs = new SQSClient({});
const s3 = new S3Client({ forcePathStyle: true });
const fromPod = (url: string) => url.replace(/\/\/127\.0\.0\.1:/, `//${nodeIp}:`);
const say = (text: string) => console.log(`\n\x1b[1m== ${text}\x1b[0m`);
const kubectl = (...args: string[]) => console.log(execFileSync('kubectl', args, { encoding: 'utf8', env: process.env }).trimEnd());

say('Installing the Sluice CRDs');
for (const name of await installCrds()) console.log(`  ${name}`);
await buildSluice();
await sleep(1500);
await core.createNamespace({ body: { metadata: { name: namespace } } });

say('The applications\' stores, inputs and a local OpenAI-compatible model');
const dynamo = new DynamoDBClient({});
await dynamo.send(new CreateTableCommand({
  TableName: 'app-interviews-interviews', BillingMode: 'PAY_PER_REQUEST',
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
})).catch(() => undefined);
const interviewId = `iv-${run}`;
await dynamo.send(new PutItemCommand({ TableName: 'app-interviews-interviews', Item: { id: { S: interviewId }, state: { S: 'uploaded' }, candidate: { S: 'Ada' } } }));
const postgres = new pg.Client({ connectionString: env.POSTGRES_URI });
await postgres.connect();
await postgres.query(`CREATE TABLE IF NOT EXISTS course_generations (generation_process_id text PRIMARY KEY, status text, progress_percentage double precision,
  current_step text, course jsonb, error text, finished_at timestamptz, job_name text, sluice_version bigint)`);
const mongo = new MongoClient(env.MONGODB_URI!);
const sourceId = `src-${run}`;
await mongo.db('studynaut').collection<{ _id: string; processingStatus: string }>('sources').insertOne({ _id: sourceId, processingStatus: 'PENDING' });
await new SESClient({}).send(new VerifyEmailIdentityCommand({ EmailAddress: 'alerts@example.com' }));
for (const bucket of ['fable-assets', 'interviews-transcripts', 'studynaut-notes', 'aristocrat-courses']) {
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
}
// A ten-second test video for the transcode, made here with ffmpeg.
const work = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25:duration=10',
  '-f', 'lavfi', '-i', 'sine=frequency=440:duration=10', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', join(work, 'in.mp4')]);
await s3.send(new PutObjectCommand({ Bucket: 'fable-assets', Key: `uploads/${run}.mp4`, Body: readFileSync(join(work, 'in.mp4')) }));
rmSync(work, { recursive: true, force: true });
const transcript = 'Interviewer: Tell me about a hard bug. Candidate: A race in our queue consumer; we fixed it with idempotent writes.';
await s3.send(new PutObjectCommand({ Bucket: 'interviews-transcripts', Key: `${interviewId}.txt`, Body: transcript }));
await s3.send(new PutObjectCommand({ Bucket: 'aristocrat-courses', Key: `${run}/transcript.txt`, Body: 'Hoy: la fotosíntesis convierte luz, agua y CO2 en glucosa y oxígeno.' }));
const openai = await startFakeOpenAI({ host: nodeIp, delayMs: 300 });
console.log(`  DynamoDB app-interviews-interviews, PostgreSQL course_generations, MongoDB studynaut.sources; S3 inputs; model at ${openai.url}`);

say(`The five seed systems from manifests/examples, in namespace ${namespace}`);
const images = Object.fromEntries(readFileSync(resolve(repoRoot, '.local/images.env'), 'utf8').split('\n').flatMap((line) => {
  const match = /^SLUICE_IMAGE_([A-Z_]+)=(.+)$/.exec(line);
  return match ? [[match[1]!.toLowerCase().replaceAll('_', '-'), match[2]!]] : [];
}));
const environment: ExampleEnvironment = {
  apply,
  createQueue: async (name) => (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!,
  images,
  podEnv: { AWS_ENDPOINT_URL: fromPod(env.AWS_ENDPOINT_URL!), AWS_REGION: env.AWS_REGION! },
  stores: { mongodb: env.MONGODB_URI!, postgres: env.POSTGRES_URI!, dynamodbEndpoint: env.AWS_ENDPOINT_URL!, region: env.AWS_REGION! },
};
const common = { namespace, realEnv: { OPENAI_BASE_URL: openai.url }, secrets: { openai: { apiKey: 'sk-local-demo' } } };
const examples: Record<string, AppliedExample> = {};
examples.training = await applyExample('training-platform.yaml', environment, {
  ...common,
  jobTypes: {
    report: { simulated: { 'sim.sluice.dev/message': '{"report":"s3://reports/activities.pdf"}' } },
    nudge: { simulated: { 'sim.sluice.dev/outcome': 'fail', 'sim.sluice.dev/exit-code': '4', 'sim.sluice.dev/message': 'nudge service: 503 Service Unavailable' } },
  },
});
examples.interviews = await applyExample('interview-pipeline.yaml', environment, {
  ...common,
  jobTypes: { 'interview-processing': { simulated: { 'sim.sluice.dev/message': JSON.stringify({ transcriptUri: `s3://interviews-transcripts/${interviewId}.txt` }) } } },
});
examples.fable = await applyExample('fable-jobs.yaml', environment, common);
examples.studynaut = await applyExample('studynaut-pipeline.yaml', environment, common);
examples.courses = await applyExample('course-generation.yaml', environment, {
  ...common,
  jobTypes: { 'extract-transcript': { simulated: { 'sim.sluice.dev/message': JSON.stringify({ transcriptUri: `s3://aristocrat-courses/${run}/transcript.txt` }) } } },
});
for (const [system, example] of Object.entries(examples)) {
  const counts = example.objects.reduce<Record<string, number>>((c, o) => ({ ...c, [o.kind!]: (c[o.kind!] ?? 0) + 1 }), {});
  console.log(`  ${system.padEnd(10)} ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}; real on exec-node-0: ${example.real.join(', ') || '-'}`);
}

const progressPort = await new Promise<number>((done) => {
  const server = createServer().listen(0, nodeIp, () => { const { port } = server.address() as { port: number }; server.close(() => done(port)); });
});
say('Starting the controller (logs: .local/logs/demo-controller.log)');
const controller = startController({
  namespace, metricsPort: 18080, logName: 'demo-controller', detached: keep,
  progress: { bindAddress: `${nodeIp}:${progressPort}`, url: `http://${nodeIp}:${progressPort}/v1/progress` },
});
await sleep(2000);

say('Sending messages the way the seed producers do');
const messages: [AppliedExample, string, string][] = [
  [examples.training, 'pythonCUDAQueue', JSON.stringify({ roleplay: { sessionId: `rp-${run}`, transcript: [{ role: 'user', text: 'I understand your frustration; let me fix it now.' }, { role: 'customer', text: 'Thank you.' }] } })],
  [examples.training, 'pythonCUDAQueue', JSON.stringify({ roleplayVideo: { sessionId: `rv-${run}` }, roleplay: { sessionId: `rv-${run}` } })],
  [examples.training, 'reportsQueue', JSON.stringify({ reportType: 'activities', companyId: 'c-1' })],
  [examples.training, 'cronJobsQueue', JSON.stringify({ smartNudge: true, userIds: ['u-1', 'u-2'] })],
  [examples.interviews, 'app-interviews-sqs-videos', JSON.stringify({ interview_id: interviewId })],
  [examples.interviews, 'app-interviews-sqs-videos', JSON.stringify({ interview_id: interviewId })],
  [examples.fable, 'fable-jobs-prod', `TRANSCODE_VIDEO|job-${run}|${JSON.stringify({ input: `s3://fable-assets/uploads/${run}.mp4`, outputPrefix: `s3://fable-assets/renditions/${run}`, profiles: ['720p', '480p-preview'] })}`],
  [examples.fable, 'fable-jobs-prod', JSON.stringify({ type: 'NF', jobId: `nf-${run}`, metadata: { event: 'signup' } })],
  [examples.fable, 'fable-jobs-prod', `UNKNOWN_TYPE|job-${run}-x|metadata`],
  [examples.studynaut, 'studynaut-note-processing', JSON.stringify({ type: 'PROCESS_SOURCE_TEXT', sourceId, textContent: 'Plants turn light, water and CO2 into glucose. Chlorophyll absorbs light.' })],
  [examples.courses, 'course-generation', JSON.stringify({ userId: 'u-7', userAuthToken: 'tok-secret', videoId: 'v-42', language: 'es', generationProcessId: `gen-${run}`, difficulty: 'easy' })],
];
for (const [example, queue, body] of messages) {
  await sqs.send(new SendMessageCommand({ QueueUrl: example.queue(queue), MessageBody: body }));
  console.log(`  ${queue.padEnd(28)} ${body.length > 80 ? `${body.slice(0, 77)}...` : body}`);
}
console.log('  (a duplicate interview, a message no route takes, a nudge that fails: watch them below)');

say('Jobs appearing and finishing: real containers on exec-node-0, simulated ones on the kwok pools');
const finished = (j: k8s.V1Job) => j.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
const deadline = Date.now() + 240_000;
let last = '';
let quiet = 0;
while (Date.now() < deadline) {
  const jobs = (await batch.listNamespacedJob({ namespace, labelSelector: 'app.kubernetes.io/managed-by=sluice' })).items;
  const done = jobs.filter((j) => j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')).length;
  const failed = jobs.filter((j) => j.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')).length;
  const line = `  ${jobs.length} Jobs, ${jobs.length - done - failed} running, ${done} complete, ${failed} failed`;
  if (line !== last) console.log(line);
  last = line;
  // Done when every Job finished and none appeared for a while (pipelines send their next steps).
  quiet = jobs.length > 0 && jobs.every(finished) ? quiet + 1 : 0;
  if (quiet >= 8) break;
  await sleep(1000);
}

say('kubectl get sluice; the Jobs and where their pods ran');
await sleep(5000); // one status refresh
kubectl('get', 'queuebindings,jobtypes,statussinks', '-n', namespace);
kubectl('get', 'pods', '-n', namespace, '-o', 'custom-columns=POD:.metadata.name,JOBTYPE:.metadata.labels.sluice\\.dev/job-type,NODE:.spec.nodeName,PHASE:.status.phase', '--sort-by=.metadata.creationTimestamp');

say('The applications\' own records, written by Sluice');
const show = (label: string, value: unknown) => console.log(`  ${label}: ${JSON.stringify(value).slice(0, 300)}`);
for (const doc of await mongo.db('training').collection('roleplayresults').find({ sessionId: `rp-${run}` }, { projection: { _id: 0 } }).toArray()) show('MongoDB training.roleplayresults', doc);
const source = await mongo.db('studynaut').collection<Record<string, unknown> & { _id: string }>('sources').findOne({ _id: sourceId });
if (source) show('MongoDB studynaut.sources', { _id: source._id, processingStatus: source.processingStatus, processingStage: source.processingStage, note: Boolean(source.note), studyTools: Boolean(source.studyTools) });
const { Items = [] } = await dynamo.send(new ScanCommand({ TableName: 'app-interviews-interviews' }));
for (const item of Items.filter((i) => i.id?.S === interviewId)) show('DynamoDB app-interviews-interviews', Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? v.N ?? v.M ?? v])));
const { rows } = await postgres.query('SELECT generation_process_id, status, progress_percentage, current_step, job_name FROM course_generations WHERE generation_process_id = $1', [`gen-${run}`]);
for (const row of rows) show('PostgreSQL course_generations', row);
const transcode = (await batch.listNamespacedJob({ namespace, labelSelector: 'sluice.dev/job-type=transcode' })).items[0];
if (transcode) {
  const pod = (await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${transcode.metadata!.name}` })).items[0];
  show('the transcode Job\'s result (ffmpeg on exec-node-0)', JSON.parse(pod?.status?.containerStatuses?.[0]?.state?.terminated?.message ?? '{}'));
}

say('Dead-lettered messages (each with its reason)');
for (const [example, queue] of [[examples.training, 'deadLetterQueue'], [examples.fable, 'fable-jobs-prod-dlq']] as const) {
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: example.queue(queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
  for (const m of Messages) console.log(`  ${queue}: ${(m.Body ?? '').slice(0, 60)} → ${m.MessageAttributes?.['Sluice.Reason']?.StringValue}: ${(m.MessageAttributes?.['Sluice.Detail']?.StringValue ?? '').slice(0, 100)}`);
}

await mongo.close();
await postgres.end();
if (keep) {
  console.log(`\nThe controller keeps running (pid ${controller.pid}); the fake model too. Try: source .local/env; kubectl get sluice -n ${namespace}`);
} else {
  await stopProcess(controller);
  await openai.close();
  console.log('\nController stopped. Run again with --keep to leave it running; the stack stays up (hack/local-down.sh stops it).');
}
