// The README's main command, after hack/local-up.sh: installs the CRDs, applies the seed systems
// from manifests/examples (queues pointed at the local SQS), starts the controller, sends a burst
// of messages shaped like the seeds' producers and shows the Jobs appearing and finishing.
// Usage: node hack/demo.ts [--keep]   (--keep leaves the controller running)
import { CreateQueueCommand, SendMessageCommand, SQSClient, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { CreateTableCommand, DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { SESClient, VerifyEmailIdentityCommand } from '@aws-sdk/client-ses';
import { MongoClient } from 'mongodb';
import * as k8s from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { connect, sleep, startController } from './lib/cluster.ts';
import { repoRoot } from './lib/stack-env.ts';

const { env, core, batch, apply: applyObject, installCrds } = connect('sluice-demo');

const keep = process.argv.includes('--keep');
// A namespace per run, so each run shows only its own Jobs.
const run = new Date().toISOString().slice(11, 19).replace(/:/g, '');
const namespace = `sluice-demo-${run}`;
const sqs = new SQSClient({});
const say = (text: string) => console.log(`\n\x1b[1m== ${text}\x1b[0m`);

say('Installing the Sluice CRDs');
for (const name of await installCrds()) console.log(`  ${name}`);
await sleep(1500); // let the new types start serving

say(`Namespace ${namespace}, local queues and the seed systems from manifests/examples`);
await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
// The application's own stores, as the seed systems have them: a DynamoDB interviews table whose
// records the application creates, MongoDB for roleplay results (Sluice creates those records).
const dynamo = new DynamoDBClient({});
await dynamo.send(new CreateTableCommand({
  TableName: 'interviews',
  KeySchema: [{ AttributeName: 'interview_id', KeyType: 'HASH' }],
  AttributeDefinitions: [{ AttributeName: 'interview_id', AttributeType: 'S' }],
  BillingMode: 'PAY_PER_REQUEST',
})).catch(() => undefined);
const interviewId = `iv-${run}`;
await dynamo.send(new PutItemCommand({ TableName: 'interviews', Item: { interview_id: { S: interviewId }, state: { S: 'uploaded' }, candidate: { S: 'Ada' } } }));
await new SESClient({}).send(new VerifyEmailIdentityCommand({ EmailAddress: 'alerts@example.com' }));
// What kwok's pods "return" (their termination message) and how they end, per JobType.
const simulated: Record<string, Record<string, string>> = {
  'roleplay-grading': { 'sim.sluice.dev/message': '{"score":87,"empathy":4}' },
  'interview-processing': { 'sim.sluice.dev/message': '{"transcriptKey":"transcripts/demo.json"}' },
  transcode: { 'sim.sluice.dev/outcome': 'fail', 'sim.sluice.dev/exit-code': '2', 'sim.sluice.dev/message': 'ffmpeg: moov atom not found' },
};
const localQueue = async (awsUrl: string) => {
  const name = awsUrl.split('/').pop()!;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  return QueueUrl!;
};
const queues = new Map<string, string>();
for (const file of ['training-platform.yaml', 'interview-pipeline.yaml', 'fable-jobs.yaml']) {
  for (const doc of parseAllDocuments(readFileSync(resolve(repoRoot, 'manifests/examples', file), 'utf8'))) {
    const object = doc.toJS() as k8s.KubernetesObject & { spec: Record<string, unknown> };
    object.metadata = { ...object.metadata, namespace };
    if (object.kind === 'QueueBinding') {
      const spec = object.spec as { queueUrl: string; deadLetter?: { queueUrl: string } };
      spec.queueUrl = await localQueue(spec.queueUrl);
      queues.set(object.metadata.name!, spec.queueUrl);
      if (spec.deadLetter) spec.deadLetter.queueUrl = await localQueue(spec.deadLetter.queueUrl);
    }
    if (object.kind === 'JobType') {
      // kwok runs the pods: make them take a visible moment.
      object.spec.podTemplate = { metadata: { annotations: { 'sim.sluice.dev/duration': '3s', ...simulated[object.metadata.name!] } } };
      const onSuccess = object.spec.onSuccess as { queueUrl: string } | undefined;
      if (onSuccess) onSuccess.queueUrl = await localQueue(onSuccess.queueUrl);
    }
    if (object.kind === 'Secret') (object as k8s.V1Secret).stringData = { uri: env.MONGODB_URI! };
    await applyObject(object);
    console.log(`  ${object.kind}/${object.metadata.name}`);
  }
}

// One JobType runs a real container on exec-node-0 (the e2e probe image), beside kwok's pods.
const probeImage = /^SLUICE_IMAGE_TEST_PROBE=(.*)$/m.exec(readFileSync(resolve(repoRoot, '.local/images.env'), 'utf8'))?.[1];
if (probeImage) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `demo-real-${run}` }));
  queues.set('real', QueueUrl!);
  await applyObject({ apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'real-container', namespace }, spec: {
    image: probeImage, nodeSelector: { pool: 'exec' }, tolerations: [{ key: 'sluice.dev/exec-node', operator: 'Exists', effect: 'NoSchedule' }],
  } } as k8s.KubernetesObject);
  await applyObject({ apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name: 'real', namespace }, spec: {
    queueUrl: QueueUrl!, routes: [{ name: 'all', jobType: 'real-container' }],
  } } as k8s.KubernetesObject);
  console.log('  JobType/real-container (a real container on exec-node-0), QueueBinding/real');
}

say('Starting the controller (logs: .local/logs/demo-controller.log)');
const controller = startController({ namespace, metricsPort: 18080, logName: 'demo-controller', detached: keep });
await sleep(2000);

say('Sending messages the way the seed producers do');
const messages: [string, string][] = [
  ['training', `{"roleplay":{"sessionId":"rp-${run}-1","userAudioDuration":93}}`],
  ['training', `{"roleplayVideo":{"sessionId":"rp-${run}-2"},"roleplay":{"sessionId":"rp-${run}-2"}}`],
  ['training', '{"evaluationType":"interview","userId":"u-7"}'],
  ['training', '{"reportType":"activities","companyId":"c-1"}'],
  ['training', '{"smartNudge":true,"userIds":["u-1","u-2"]}'],
  ['training', `{"somethingElse":true,"run":"${run}"}`],
  ['interviews', `{"interview_id":"${interviewId}"}`],
  ['interviews', `{"interview_id":"${interviewId}"}`],
  ['fable-jobs', `TRANSCODE_VIDEO|job-${run}-456|{"src":"s3://fable-assets/in.mov"}`],
  ['fable-jobs', `{"type":"NF","jobId":"job-${run}-789","metadata":{"event":"signup"}}`],
  ['fable-jobs', `UNKNOWN_TYPE|job-${run}-000|metadata-string`],
];
for (let i = 0; i < 10; i += 1) messages.push(['training', JSON.stringify({ roleplay: { sessionId: `rp-${run}-burst-${i}` } })]);
if (queues.has('real')) messages.push(['real', JSON.stringify({ greeting: 'hello from SQS', run })]);
for (const [binding, body] of messages) {
  await sqs.send(new SendMessageCommand({ QueueUrl: queues.get(binding)!, MessageBody: body }));
  console.log(`  ${binding.padEnd(11)} ${body.length > 70 ? `${body.slice(0, 67)}...` : body}`);
}
console.log('  (one duplicate interview, two messages no route accepts, and a transcode that fails: watch them below)');

say('Jobs appearing and finishing (kwok runs each pod for 3s)');
const deadline = Date.now() + 90_000;
let last = '';
while (Date.now() < deadline) {
  const jobs = (await batch.listNamespacedJob({ namespace, labelSelector: 'app.kubernetes.io/managed-by=sluice' })).items;
  const done = jobs.filter((j) => j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')).length;
  const failed = jobs.filter((j) => j.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')).length;
  const line = `  ${jobs.length} Jobs created, ${jobs.length - done - failed} running, ${done} complete, ${failed} failed`;
  if (line !== last) console.log(line);
  last = line;
  const finished = jobs.filter((j) => j.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')).length;
  // 21 messages: one duplicate and two unroutable ones make no Job; the interview chains one more.
  if (jobs.length >= messages.length - 2 && finished === jobs.length) break;
  await sleep(1000);
}

say('kubectl get queuebindings,jobtypes,jobs');
await sleep(6000); // one status refresh
const kubectl = (...args: string[]) => console.log(execFileSync('kubectl', args, { encoding: 'utf8', env: process.env }));
kubectl('get', 'queuebindings,jobtypes,statussinks', '-n', namespace);
kubectl('get', 'jobs', '-n', namespace, '-L', 'sluice.dev/job-type', '--sort-by=.metadata.creationTimestamp');
if (queues.has('real')) {
  say('The real container on exec-node-0 (kubectl get pods -o wide; kubectl logs)');
  kubectl('get', 'pods', '-n', namespace, '-l', 'sluice.dev/job-type=real-container', '-o', 'wide');
  const [pod] = (await core.listNamespacedPod({ namespace, labelSelector: 'sluice.dev/job-type=real-container' })).items;
  if (pod) kubectl('logs', '-n', namespace, pod.metadata!.name!);
}

say('The applications\' own records, written by Sluice');
const mongo = new MongoClient(env.MONGODB_URI!);
for (const doc of await mongo.db('training').collection('roleplayresults').find({ sessionId: { $regex: `^rp-${run}` } }, { projection: { _id: 0 } }).limit(4).toArray()) {
  console.log(`  MongoDB training.roleplayresults: ${JSON.stringify(doc)}`);
}
await mongo.close();
const { Items = [] } = await dynamo.send(new ScanCommand({ TableName: 'interviews' }));
for (const item of Items.filter((i) => i.interview_id?.S === interviewId)) {
  console.log(`  DynamoDB interviews: ${JSON.stringify(Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? v.N ?? v.M ?? v])))}`);
}

say('Dead-lettered messages (each with its reason)');
for (const binding of ['training', 'fable-jobs']) {
  const dlq = await localQueue(`${queues.get(binding)!}-dlq`.replace(/pythonCUDAQueue-dlq$/, 'deadLetterQueue'));
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
  for (const m of Messages.filter((message) => message.Body?.includes(run))) {
    console.log(`  ${binding}: ${m.Body} → ${m.MessageAttributes?.['Sluice.Reason']?.StringValue}: ${m.MessageAttributes?.['Sluice.Detail']?.StringValue}`);
  }
}

if (keep) {
  console.log(`\nThe controller keeps running (pid ${controller.pid}). Try: source .local/env; kubectl get sluice -n ${namespace}`);
} else {
  controller.kill('SIGTERM');
  await new Promise((r) => controller.once('exit', r));
  console.log(`\nController stopped. Run again with --keep to leave it running; the stack stays up (hack/local-down.sh stops it).`);
}
