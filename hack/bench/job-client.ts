// Benchmark: this process's CPU per Job create and per finalizer patch, through client-node's typed
// BatchV1Api and through Sluice's plain-JSON calls (kube/json-request.ts), against the local
// stack's API server. Both build the same Jobs as the dispatcher does and alternate in blocks
// within one run; only this process's CPU is counted (process.cpuUsage), not the API server's.
// Usage: node hack/bench/job-client.ts [--jobs 400] [--rounds 3] [--concurrency 32]
import * as k8s from '@kubernetes/client-node';
import { parseArgs } from 'node:util';
import { jobTypeSpecSchema, type JobType } from '../../controller/src/api/schemas.ts';
import { buildJob } from '../../controller/src/job/build-job.ts';
import type { BatchApi } from '../../controller/src/kube/client.ts';
import { jsonBatchApi } from '../../controller/src/kube/json-request.ts';
import { releaseFinalizer } from '../../controller/src/outcome/finalizer.ts';
import { connect } from '../lib/cluster.ts';
import { eachInParallel, removeNamespaces, stats, table } from './kit.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
  },
});
const perBlock = Number(values.jobs);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);
const { kubeConfig, core, batch } = connect('sluice-bench');
const clients: Record<string, BatchApi> = { 'client-node typed': batch, 'Sluice plain JSON': jsonBatchApi(kubeConfig) };
const run = Date.now().toString(36);
const namespace = `bench-client-${run}`;
await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'sluice.dev/bench': 'true' } } } });
const jobType: JobType = {
  apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'bench', namespace },
  // Suspended: the Job controller makes no pods, so the API server's load stays the same throughout.
  spec: jobTypeSpecSchema.parse({ image: 'registry.invalid/bench:1' }),
};

let serial = 0;
/** CPU microseconds of this process per call: `total` creates, then a finalizer patch of each. */
async function block(api: BatchApi): Promise<{ create: number; patch: number }> {
  const built = Array.from({ length: perBlock }, () => {
    const i = serial++;
    const raw = JSON.stringify({ n: i, note: 'a message of a typical size, with a few fields to route on' });
    const { job } = buildJob({
      namespace, binding: 'bench', queueUrl: 'bench', route: 'all', messageId: `m-${i}`, dedupeKey: `m-${i}`,
      payload: { raw, format: 'json', bytes: raw.length },
    }, jobType);
    job.spec!.suspend = true;
    return job;
  });
  const created: k8s.V1Job[] = [];
  const cpu = () => { const { user, system } = process.cpuUsage(); return user + system; };
  let start = cpu();
  await eachInParallel(built, concurrency, async (job) => { created.push(await api.createNamespacedJob({ namespace, body: job })); });
  const create = (cpu() - start) / perBlock;
  start = cpu();
  await eachInParallel(created, concurrency, async (job) => {
    if (await releaseFinalizer(api, job) !== 'released') throw new Error(`finalizer of ${job.metadata?.name} not released`);
  });
  return { create, patch: (cpu() - start) / perBlock };
}

// A warm-up block of each, not counted: the JIT and the connection pool.
for (const api of Object.values(clients)) await block(api);
const results = new Map<string, { create: number[]; patch: number[] }>(Object.keys(clients).map((name) => [name, { create: [], patch: [] }]));
for (let round = 0; round < rounds; round += 1) {
  const names = Object.keys(clients);
  for (const name of round % 2 === 0 ? names : names.reverse()) {
    const { create, patch } = await block(clients[name]!);
    results.get(name)!.create.push(create);
    results.get(name)!.patch.push(patch);
  }
}
await removeNamespaces(batch, core, [namespace]);

const [base, next] = [...results.values()];
const us = (values: number[]) => `${Math.round(stats(values).median)} µs (${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))})`;
console.log(`\n#### CPU of this process per call, ${perBlock} Jobs a block, ${concurrency} at once, ${rounds} rounds (median, range)\n`);
console.log(table(['client', 'create a Job', 'finalizer patch', 'both, vs typed'], [...results.entries()].map(([name, r]) => [
  name, us(r.create), us(r.patch),
  `${((stats(r.create).median + stats(r.patch).median) / (stats(base!.create).median + stats(base!.patch).median)).toFixed(2)}×`,
])));
console.log(`\nplain JSON saves ${Math.round(stats(base!.create).median + stats(base!.patch).median - stats(next!.create).median - stats(next!.patch).median)} µs of CPU per message (a create and a finalizer patch)`);
