// Benchmark: the delay from a Job completing to its outcome landing in the application's record
// (MongoDB), through the real controller on the local stack. The Job's completion is when a watch
// first sees its Complete condition; the write time is the record's updatedAt. A bare MongoDB
// write from this process is the baseline, measured in the same run.
// Usage: node hack/bench/outcome.ts [--jobs 300] [--rate 10]   (messages per second)
import { SendMessageBatchCommand, CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { buildSluice, connect, quantile, sleep, startController, stopProcess } from '../lib/cluster.ts';
import { removeBenchQueues, removeNamespaces } from './kit.ts';
import { MongoClient } from 'mongodb';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '300' }, rate: { type: 'string', default: '10' } } });
const total = Number(values.jobs);
const rate = Number(values.rate);
const { kubeConfig, core, batch, apply, installCrds } = connect('sluice-bench');
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `median ${quantile(sorted, 0.5).toFixed(1)} ms, p90 ${quantile(sorted, 0.9).toFixed(1)} ms, p99 ${quantile(sorted, 0.99).toFixed(1)} ms over ${sorted.length}`;
};

await installCrds();
await buildSluice();
const run = Date.now().toString(36);
const namespace = `bench-outcome-${run}`;
const database = `bench_${run}`;
await core.createNamespace({ body: { metadata: { name: namespace } } });
await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'mongo' }, stringData: { uri: process.env.MONGODB_URI! } } });

// Baseline: the same kind of conditional update, straight from here.
const mongo = new MongoClient(process.env.MONGODB_URI!);
const baseline = mongo.db(database).collection('baseline');
const bare: number[] = [];
for (let i = 0; i < 200; i += 1) {
  const started = performance.now();
  await baseline.updateOne({ key: `k-${i}`, $or: [{ v: { $lt: 2 } }, { v: { $exists: false } }] }, { $set: { status: 'succeeded', v: 2 } }, { upsert: true });
  bare.push(performance.now() - started);
}

const { QueueUrl: queueUrl } = await new SQSClient({}).send(new CreateQueueCommand({ QueueName: `bench-outcome-${run}` }));
await apply({ apiVersion: 'sluice.dev/v1alpha1', kind: 'StatusSink', metadata: { name: 'results', namespace }, spec: { mongodb: { uriSecretRef: { name: 'mongo', key: 'uri' }, database } } } as k8s.KubernetesObject);
await apply({
  apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'grade', namespace },
  spec: {
    image: 'registry.invalid/grade:1', ttlSecondsAfterFinished: 600,
    statusSink: { name: 'results', table: 'results', key: { field: 'n', value: 'body.n' }, fields: { updatedAt: 'updatedAt' } },
  },
} as k8s.KubernetesObject);
await apply({
  apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name: 'grade', namespace },
  spec: { queueUrl, maxInFlight: 100, routes: [{ name: 'all', when: 'true', jobType: 'grade' }] },
} as k8s.KubernetesObject);
const controller = startController({ namespace, metricsPort: 18082, logName: 'bench-outcome-controller', logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn' });
await sleep(3000);

const completedAt = new Map<string, number>();
const watch = await new k8s.Watch(kubeConfig).watch(`/apis/batch/v1/namespaces/${namespace}/jobs`, {}, (_type, job: k8s.V1Job) => {
  const complete = job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True');
  const n = JSON.parse(job.spec?.template.metadata?.annotations?.['sluice.dev/payload'] ?? '{}') as { n?: number };
  if (complete && n.n !== undefined && !completedAt.has(String(n.n))) completedAt.set(String(n.n), Date.now());
}, () => undefined);

const sqs = new SQSClient({});
// A steady stream below capacity, so the delay is the pipeline's, not a backlog's.
for (let i = 0; i < total; i += 1) {
  const due = Date.now() + 1000 / rate;
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: '0', MessageBody: JSON.stringify({ n: String(i) }) }] }));
  await sleep(Math.max(0, due - Date.now()));
}
const results = mongo.db(database).collection<{ n: string; status: string; updatedAt: Date }>('results');
const deadline = Date.now() + 300_000;
while (Date.now() < deadline && (await results.countDocuments({ status: 'succeeded' })) < total) await sleep(500);
watch.abort();
await stopProcess(controller);

const delays: number[] = [];
for (const doc of await results.find({ status: 'succeeded' }).toArray()) {
  const seen = completedAt.get(doc.n);
  if (seen !== undefined) delays.push(doc.updatedAt.getTime() - seen);
}
console.log(`bare MongoDB conditional update from this process: ${summary(bare)}`);
console.log(`Job Complete (seen by a watch) → record written by Sluice: ${summary(delays)}`);
console.log(`ratio of medians (Sluice delay / bare write): ${(quantile([...delays].sort((a, b) => a - b), 0.5) / quantile([...bare].sort((a, b) => a - b), 0.5)).toFixed(1)}`);
await removeNamespaces(batch, core, [namespace]);
await mongo.db(database).dropDatabase();
await mongo.close();
await removeBenchQueues(sqs);
process.exit(0);
