// Benchmark: a progress report's way from the job to the application's record, through the real
// controller's progress API on the local stack: token review (cached per token), the pod and Job
// from the informer caches, the versioned MongoDB write. The API answers 204 only once the record is
// written, so report → 204 is report → record; each answer is also checked against the record.
// The reporters are running pods' identities: Sluice's Jobs on kwok nodes (held Running) and, for
// each, a real ServiceAccount token bound to its pod with audience `sluice` (what a job container's
// projected token is); the reports are sent from here, at the SDK's pace (one per second per Job).
// A bare MongoDB write of the same kind from this process is the baseline, in the same run.
// Usage: node hack/bench/progress.ts [--jobs 10] [--seconds 30]
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type * as k8s from '@kubernetes/client-node';
import { MongoClient } from 'mongodb';
import { parseArgs } from 'node:util';
import { buildSluice, connect, sleep, startController, stopProcess, untilReady } from '../lib/cluster.ts';
import { ms, ratio, removeBenchQueues, removeNamespaces, stats, table, until } from './kit.ts';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '10' }, seconds: { type: 'string', default: '30' } } });
const jobCount = Number(values.jobs);
const seconds = Number(values.seconds);
const { core, batch, apply, installCrds } = connect('sluice-bench');
await installCrds();
await buildSluice();
const run = Date.now().toString(36);
const namespace = `bench-progress-${run}`;
const database = `bench_progress_${run}`;
const port = 18086;
const progressUrl = `http://127.0.0.1:${port}/v1/progress`;
await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'sluice.dev/bench': 'true' } } } });
await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'mongo' }, stringData: { uri: process.env.MONGODB_URI! } } });
const mongo = new MongoClient(process.env.MONGODB_URI!);
const records = mongo.db(database).collection<{ id: string; status?: string; progress?: number; step?: string }>('records');

// Baseline: the same kind of versioned conditional update, straight from here.
const baseline = mongo.db(database).collection('baseline');
const bare: number[] = [];
for (let i = 0; i < 300; i += 1) {
  const started = performance.now();
  await baseline.updateOne({ key: `k-${i % 10}`, $or: [{ v: { $lt: i } }, { v: { $exists: false } }] }, { $set: { progress: i, v: i } }, { upsert: true });
  bare.push(performance.now() - started);
}

const { QueueUrl: queueUrl } = await new SQSClient({}).send(new CreateQueueCommand({ QueueName: `bench-progress-${run}` }));
await apply({ apiVersion: 'sluice.dev/v1alpha1', kind: 'StatusSink', metadata: { name: 'records', namespace }, spec: { mongodb: { uriSecretRef: { name: 'mongo', key: 'uri' }, database } } } as k8s.KubernetesObject);
await apply({
  apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'render', namespace },
  spec: {
    image: 'registry.invalid/render:1', ttlSecondsAfterFinished: 600,
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/outcome': 'hold' } } },
    statusSink: { name: 'records', table: 'records', key: { field: 'id', value: 'body.id' }, fields: { progress: 'progress', step: 'progressStep' } },
  },
} as k8s.KubernetesObject);
await apply({
  apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name: 'render', namespace },
  spec: { queueUrl, receive: { waitTimeSeconds: 1 }, routes: [{ name: 'all', when: 'true', jobType: 'render' }] },
} as k8s.KubernetesObject);
const controller = startController({
  namespace, metricsPort: 18087, logName: 'bench-progress-controller', logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
  progress: { bindAddress: `127.0.0.1:${port}`, url: progressUrl },
});
await untilReady(18087);
await new SQSClient({}).send(new SendMessageBatchCommand({
  QueueUrl: queueUrl, Entries: Array.from({ length: jobCount }, (_, i) => ({ Id: String(i), MessageBody: JSON.stringify({ id: `r-${i}` }) })),
}));

// Every Job's pod Running and its record `running`.
const running = async () => (await core.listNamespacedPod({ namespace })).items.filter((p) => p.status?.phase === 'Running');
await until(async () => (await running()).length >= jobCount && (await records.countDocuments({ status: 'running' })) >= jobCount, 120_000, 500);
const reporters = await Promise.all((await running()).slice(0, jobCount).map(async (pod) => {
  const job = pod.metadata!.ownerReferences!.find((o) => o.kind === 'Job')!.name;
  const key = (await batch.readNamespacedJob({ namespace, name: job })).metadata!.annotations!['sluice.dev/status-key']!;
  const { status } = await core.createNamespacedServiceAccountToken({
    namespace, name: pod.spec?.serviceAccountName ?? 'default',
    body: { spec: { audiences: ['sluice'], expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid! } } },
  });
  return { key, token: status!.token! };
}));

const first: number[] = [];
const steady: number[] = [];
let refused = 0;
let mismatched = 0;
await Promise.all(reporters.map(async ({ key, token }, index) => {
  await sleep((1000 / reporters.length) * index); // spread over the second, as independent pods are
  for (let i = 1; i <= seconds; i += 1) {
    const due = Date.now() + 1000;
    const percent = Math.min(99, i * (99 / seconds));
    const started = performance.now();
    const response = await fetch(progressUrl, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ percent, step: `step ${i}` }),
    });
    const elapsed = performance.now() - started;
    if (response.status !== 204) refused += 1;
    else (i === 1 ? first : steady).push(elapsed);
    const record = await records.findOne({ id: key });
    if (record?.step !== `step ${i}`) mismatched += 1;
    await sleep(Math.max(0, due - Date.now()));
  }
}));
await stopProcess(controller);

const rows = [
  ['bare MongoDB versioned update (this process)', bare],
  ['report → record, steady (token review cached)', steady],
  ['report → record, first report of a pod (with TokenReview)', first],
] as const;
const base = stats(bare);
console.log(`\n## Progress report → record (${reporters.length} Jobs, one report per second each, ${seconds} s)\n`);
console.log(table(['path', 'reports', 'median', 'p90', 'p99', 'max', 'median / bare', 'p99 / bare'], rows.map(([label, values]) => {
  const s = stats([...values]);
  return [label, s.n, ms(s.median), ms(s.p90), ms(s.p99), ms(s.max), ratio(s.median, base.median), ratio(s.p99, base.p99)];
})));
console.log(`\nrefused: ${refused}; answered 204 but the record did not show the report yet: ${mismatched}`);
await removeNamespaces(batch, core, [namespace]);
await mongo.db(database).dropDatabase();
await mongo.close();
await removeBenchQueues(new SQSClient({}));
process.exit(0);
