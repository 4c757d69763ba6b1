// The job contract end to end on the exec node: a message becomes a Job whose real container (the
// media image) reads it, transcodes a video from S3 with real ffmpeg, reports progress that shows
// in the MongoDB record while it runs, and leaves its result there when it finishes. Progress
// reports that are not the pod's own — no token, a token for another audience, another pod's token,
// a report naming another Job, a step backwards — are refused or change nothing.
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { fromPod, image, nodeIp, onExecNode } from '../support/exec-node.ts';
import { batch, core, createTestNamespace, eventually, jobCondition } from '../support/kube.ts';
import { podsOf } from '../support/pods.ts';
import { apply, cleanUp, createQueue, installCrds, sqs, waitForJobCount } from '../support/sluice.ts';
import { stack } from '../support/stack.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess;
let progressUrl: string;
let queueUrl: string;
const mongo = new MongoClient(stack.mongoUri);
const s3 = new S3Client({ forcePathStyle: true });
let database: string;
let bucket: string;
const work = mkdtempSync(join(tmpdir(), 'sluice-contract-'));

type Record_ = { status?: string; progress?: number; step?: string; result?: { outputs?: { uri: string; profile: string }[]; encoder?: string } };
const record = async () => (await mongo.db(database).collection('transcodes').findOne({ id: 'video-1' })) as Record_ | null;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, nodeIp, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('contract');
  database = `sluice_${ns.name.replace(/-/g, '_')}`;
  bucket = `media-${ns.name}`;
  queueUrl = await createQueue(`${ns.name}-media`);
  // Ten seconds of a test pattern with a tone, made here with real ffmpeg, in the local S3.
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=960x540:rate=25:duration=10',
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=10', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', join(work, 'in.mp4')]);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/talk.mp4', Body: readFileSync(join(work, 'in.mp4')) }));

  await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'stores' }, stringData: { mongodb: stack.mongoUri } } });
  await apply('StatusSink', ns.name, 'records', { mongodb: { uriSecretRef: { name: 'stores', key: 'mongodb' }, database } });
  await apply('JobType', ns.name, 'transcode', {
    image: image('job-media'),
    ...onExecNode,
    args: ['--task', 'transcode-video', '--spec', 'spec'],
    env: [
      { name: 'AWS_ENDPOINT_URL', value: fromPod(stack.awsEndpoint) },
      { name: 'AWS_REGION', value: stack.awsRegion },
      { name: 'AWS_ACCESS_KEY_ID', value: 'test' },
      { name: 'AWS_SECRET_ACCESS_KEY', value: 'test' },
    ],
    retries: { backoffLimit: 0, nonRetryableExitCodes: [2] },
    statusSink: {
      name: 'records', table: 'transcodes', key: { field: 'id', value: 'body.id' },
      fields: { progress: 'progress', step: 'progressStep', result: 'result', error: 'message' },
    },
  });
  await apply('QueueBinding', ns.name, 'media', { queueUrl, receive: { waitTimeSeconds: 1 }, routes: [{ name: 'all', jobType: 'transcode' }] });
  // Pods reach the controller's progress API on the node address.
  const port = await freePort();
  progressUrl = `http://${nodeIp}:${port}/v1/progress`;
  controller = await startController({ namespace: ns.name, progress: { bindAddress: `${nodeIp}:${port}`, url: progressUrl } });
}, 180_000);

afterAll(async () => {
  await cleanUp(ns, [controller]);
  await mongo.close();
  rmSync(work, { recursive: true, force: true });
});

const report = (token: string | undefined, body: unknown) => fetch(progressUrl, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...(token && { Authorization: `Bearer ${token}` }) },
  body: JSON.stringify(body),
});

/** A real token of the namespace's default ServiceAccount, bound to a pod, for an audience. */
async function tokenFor(pod: k8s.V1Pod, audience = 'sluice'): Promise<string> {
  const request = await core.createNamespacedServiceAccountToken({
    namespace: ns.name, name: pod.spec?.serviceAccountName ?? 'default',
    body: { spec: { audiences: [audience], expirationSeconds: 600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid! } } },
  });
  return request.status!.token!;
}

it('runs the media job for real: progress shows in the record while it runs, the result when it ends; forged reports change nothing', async () => {
  await sqs.send(new SendMessageCommand({
    QueueUrl: queueUrl,
    MessageBody: JSON.stringify({ id: 'video-1', spec: { input: `s3://${bucket}/in/talk.mp4`, outputPrefix: `s3://${bucket}/out/video-1`, profiles: ['720p', '480p-preview'] } }),
  }));
  const [job] = await waitForJobCount(ns.name, 1, undefined, 60_000);
  const pod = await eventually('the job\'s pod to run', async () => (await podsOf(ns.name, job!.metadata!.name!)).find((p) => p.status?.phase === 'Running'), 90_000);
  expect(pod.spec?.nodeName).toBe('exec-node-0');

  // While it runs: the progress as the record shows it, sampled.
  const seen: { status?: string; progress?: number; step?: string }[] = [];
  const forged: Record<string, number> = {};
  let forgedChecked = false;
  await eventually('the record to show the finished Job', async () => {
    const current = await record();
    if (current) seen.push({ status: current.status, progress: current.progress, step: current.step });
    if (!forgedChecked && current?.status === 'running' && (current.progress ?? 0) > 5) {
      forgedChecked = true;
      const before = await record();
      const other = await core.createNamespacedPod({ namespace: ns.name, body: { metadata: { name: 'not-a-job', annotations: { 'sim.sluice.dev/outcome': 'hold' } }, spec: { nodeSelector: { pool: 'cpu' }, containers: [{ name: 'c', image: 'registry.invalid/x:1' }] } } });
      forged.noToken = (await report(undefined, { percent: 99 })).status;
      forged.madeUp = (await report('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2ln', { percent: 99 })).status;
      forged.wrongAudience = (await report(await tokenFor(pod, 'https://kubernetes.default.svc.cluster.local'), { percent: 99 })).status;
      forged.otherPod = (await report(await tokenFor(other), { percent: 99 })).status;
      forged.otherJob = (await report(await tokenFor(pod), { percent: 99, job: 'someone-elses-job' })).status;
      forged.backwards = (await report(await tokenFor(pod), { percent: 1, step: 'rewinding' })).status;
      const after = await record();
      // Nothing the forged reports said reached the record (the job itself may have moved on).
      expect(after?.step).not.toBe('rewinding');
      expect(after?.progress ?? 0).toBeGreaterThanOrEqual(before?.progress ?? 0);
      expect(after?.progress).not.toBe(99);
    }
    return current?.status === 'succeeded' || current?.status === 'failed' ? current : undefined;
  }, 300_000, 100);

  const finished = (await record())!;
  expect(finished.status, JSON.stringify(finished)).toBe('succeeded');
  expect(forged).toEqual({ noToken: 401, madeUp: 401, wrongAudience: 401, otherPod: 403, otherJob: 403, backwards: 204 });
  const running = seen.filter((s) => s.status === 'running' && s.progress !== undefined).map((s) => s.progress!);
  expect(running.some((p) => p > 0 && p < 100)).toBe(true);
  expect(running).toEqual([...running].sort((a, b) => a - b));
  expect(finished.progress).toBe(100);
  expect(finished.result?.encoder).toBe('libx264');
  expect(finished.result?.outputs?.map((o) => o.profile).sort()).toEqual(['480p-preview', '720p']);
  expect(jobCondition(await batch.readNamespacedJob({ namespace: ns.name, name: job!.metadata!.name! }), 'Complete')).toBeDefined();

  // The output is a real video: ten seconds of H.264 and AAC at 720p.
  const output = finished.result!.outputs!.find((o) => o.profile === '720p')!.uri;
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: output.replace(`s3://${bucket}/`, '') }));
  writeFileSync(join(work, 'out.mp4'), Buffer.from(await object.Body!.transformToByteArray()));
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', join(work, 'out.mp4')], { encoding: 'utf8' })) as {
    streams: { codec_type: string; codec_name: string; height?: number }[]; format: { duration: string };
  };
  expect(probe.streams.find((s) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264', height: 540 });
  expect(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac');
  expect(Number(probe.format.duration)).toBeCloseTo(10, 0);
}, 420_000);
