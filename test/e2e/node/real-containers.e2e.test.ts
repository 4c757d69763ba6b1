// Jobs that Sluice creates run real containers on the exec node: the probe image reads its message
// from the payload file and $SLUICE_PAYLOAD, logs, and returns a JSON termination message that
// Sluice records in MongoDB; exit codes go through the podFailurePolicy, the OOM killer is
// reported as such, and Secret-delivered payloads never show in the pod.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { image, onExecNode, podLogs } from '../support/exec-node.ts';
import { batch, core, createTestNamespace, eventually, jobCondition } from '../support/kube.ts';
import { podsOf } from '../support/pods.ts';
import { apply, cleanUp, createQueue, installCrds, sqs } from '../support/sluice.ts';
import { stack } from '../support/stack.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess;
let queueUrl: string;
const mongo = new MongoClient(stack.mongoUri);
let database: string;

const record = (id: string) => mongo.db(database).collection('probes').findOne({ id });

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('exec');
  database = `sluice_${ns.name.replace(/-/g, '_')}`;
  queueUrl = await createQueue(`${ns.name}-probes`);
  await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'stores' }, stringData: { mongodb: stack.mongoUri } } });
  await apply('StatusSink', ns.name, 'results', { mongodb: { uriSecretRef: { name: 'stores', key: 'mongodb' }, database } });
  const statusSink = {
    name: 'results', table: 'probes',
    key: { field: 'id', value: 'body.id' },
    fields: { result: 'result', exitCode: 'exitCode', reason: 'reason', message: 'message', attempts: 'attempts' },
  };
  const probe = { image: image('test-probe'), ...onExecNode, statusSink, ttlSecondsAfterFinished: 600 };
  await apply('JobType', ns.name, 'probe', { ...probe, retries: { backoffLimit: 3, nonRetryableExitCodes: [2] } });
  await apply('JobType', ns.name, 'probe-small', { ...probe, retries: { backoffLimit: 0 }, resources: { limits: { memory: '96Mi' } } });
  await apply('JobType', ns.name, 'probe-sensitive', { ...probe, payload: { sensitive: true } });
  await apply('QueueBinding', ns.name, 'probes', {
    queueUrl,
    receive: { waitTimeSeconds: 1 },
    dedupeKey: 'body.id',
    routes: [
      { name: 'small', when: 'body.?memory.orValue("") == "small"', jobType: 'probe-small' },
      { name: 'sensitive', when: 'has(body.secret)', jobType: 'probe-sensitive' },
      { name: 'probe', jobType: 'probe' },
    ],
  });
  controller = await startController({ namespace: ns.name });
}, 180_000);

afterAll(async () => {
  await cleanUp(ns, [controller]);
  await mongo.close();
});

async function send(body: Record<string, unknown>) {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }));
}

async function finishedJob(id: string) {
  return eventually(`the Job of ${id} to finish`, async () => {
    const jobs = (await batch.listNamespacedJob({ namespace: ns.name })).items
      .filter((j) => j.metadata?.annotations?.['sluice.dev/dedupe-key'] === id);
    const found = jobs[0];
    return found && (jobCondition(found, 'Complete') || jobCondition(found, 'Failed')) ? found : undefined;
  }, 120_000);
}

describe('a real container on the exec node', () => {
  it('reads the message from the payload file and $SLUICE_PAYLOAD, logs, and its result lands in MongoDB', async () => {
    await send({ id: 'echo-1', note: 'hello from SQS' });
    const job = await finishedJob('echo-1');
    expect(jobCondition(job, 'Complete')).toBeDefined();
    const [pod] = await podsOf(ns.name, job.metadata!.name!);
    expect(pod!.spec?.nodeName).toBe('exec-node-0');
    const logs = await podLogs(ns.name, pod!.metadata!.name!);
    expect(logs).toContain(`probe: job ${job.metadata!.name}`);
    expect(logs).toContain('$SLUICE_PAYLOAD matches the file');
    const body = JSON.stringify({ id: 'echo-1', note: 'hello from SQS' });
    const stored = await eventually('the succeeded record', async () => {
      const doc = await record('echo-1');
      return doc && (doc as Record<string, unknown>).status === 'succeeded' ? doc : undefined;
    });
    expect(stored.result).toMatchObject({ bytes: Buffer.byteLength(body), envMatchesFile: true, uid: 65532 });
    expect((stored.result as { node: string }).node).toMatch(/^v24\./);
  });

  it('fails the Job at once on a non-retryable exit code, with the container\'s message', async () => {
    await send({ id: 'bad-input-1', probe: { exitCode: 2, message: 'probe: the input is not a video' } });
    const job = await finishedJob('bad-input-1');
    expect(jobCondition(job, 'Failed')?.reason).toBe('PodFailurePolicy');
    expect(await podsOf(ns.name, job.metadata!.name!)).toHaveLength(1);
    const stored = await eventually('the failed record', async () => {
      const doc = await record('bad-input-1') as Record<string, unknown> | null;
      return doc?.status === 'failed' ? doc : undefined;
    });
    expect(stored).toMatchObject({ exitCode: 2, reason: 'PodFailurePolicy', attempts: 1 });
    expect(stored.message).toContain('the input is not a video');
  });

  it('records a container that exceeds its memory limit as OOMKilled', async () => {
    await send({ id: 'hungry-1', memory: 'small', probe: { allocateMiB: 400, sleepSeconds: 1 } });
    const job = await finishedJob('hungry-1');
    expect(jobCondition(job, 'Failed')).toBeDefined();
    const [pod] = await podsOf(ns.name, job.metadata!.name!);
    expect(pod!.status?.containerStatuses?.[0]?.state?.terminated?.reason).toBe('OOMKilled');
    const stored = await eventually('the failed record', async () => {
      const doc = await record('hungry-1') as Record<string, unknown> | null;
      return doc?.status === 'failed' ? doc : undefined;
    });
    expect(stored).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it.each([
    ['sensitive', { id: 'secret-1', secret: 'tok_4f9b2c7e1d' }, 'tok_4f9b2c7e1d'],
    ['over 64 KiB', { id: 'large-1', blob: 'x'.repeat(70 * 1024) + 'end-marker-7c1' }, 'end-marker-7c1'],
  ])('delivers a %s payload through a Secret that the container reads and the pod never shows', async (_, body, marker) => {
    await send(body);
    const job = await finishedJob(body.id);
    expect(jobCondition(job, 'Complete')).toBeDefined();
    const [pod] = await podsOf(ns.name, job.metadata!.name!);
    const podJson = JSON.stringify({ spec: pod!.spec, metadata: pod!.metadata });
    expect(podJson).not.toContain(marker);
    expect(JSON.stringify(job)).not.toContain(marker);
    const stored = await eventually('the succeeded record', async () => {
      const doc = await record(body.id) as Record<string, unknown> | null;
      return doc?.status === 'succeeded' ? doc : undefined;
    });
    expect(stored.result).toMatchObject({ bytes: Buffer.byteLength(JSON.stringify(body)), envMatchesFile: null });
  });
});
