// Benchmark: this process's CPU per Job create and per finalizer patch, through client-node's typed
// BatchV1Api and through Sluice's plain-JSON calls (kube/json-request.ts), the latter also with the
// KubeConfig authenticating every call afresh (as before PooledKubeConfig reused its credentials),
// against the local stack's API server. All build the same Jobs as the dispatcher does and alternate
// in blocks within one run; only this process's CPU is counted (process.cpuUsage), not the API server's.
// Usage: node hack/bench/job-client.ts [--jobs 400] [--rounds 3] [--concurrency 32]
import * as k8s from '@kubernetes/client-node';
import { parseArgs } from 'node:util';
import { PooledKubeConfig, type BatchApi } from '../../controller/src/kube/client.ts';
import { jsonBatchApi } from '../../controller/src/kube/json-request.ts';
import { releaseFinalizer } from '../../controller/src/outcome/finalizer.ts';
import { connect } from '../lib/cluster.ts';
import { eachInParallel, ownCpuMicros as cpu, removeNamespaces, stats, table } from './kit.ts';
import { suspendedJobs } from './suspended-jobs.ts';

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
const { env, kubeConfig, core, batch } = connect('sluice-bench');
// The JSON calls as before the credentials were reused: authenticated afresh for every call.
const everyCall = new PooledKubeConfig({ credentialsReuseMs: 0 });
everyCall.loadFromFile(env.KUBECONFIG!);
const clients: Record<string, BatchApi> = {
  'client-node typed': batch,
  'plain JSON, authenticated every call': jsonBatchApi(everyCall),
  'Sluice plain JSON': jsonBatchApi(kubeConfig),
};
const { namespace, job: suspendedJob } = await suspendedJobs(core, 'client');

let serial = 0;
/** CPU microseconds of this process per call: `total` creates, then a finalizer patch of each. */
async function block(api: BatchApi): Promise<{ create: number; patch: number }> {
  const built = Array.from({ length: perBlock }, () => suspendedJob(serial++));
  const created: k8s.V1Job[] = [];
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

const [base, everyCallResult, shipped] = [...results.values()];
const both = (r: { create: number[]; patch: number[] }) => stats(r.create).median + stats(r.patch).median;
const us = (values: number[]) => `${Math.round(stats(values).median)} µs (${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))})`;
console.log(`\n#### CPU of this process per call, ${perBlock} Jobs a block, ${concurrency} at once, ${rounds} rounds (median, range)\n`);
console.log(table(['client', 'create a Job', 'finalizer patch', 'both, vs typed', 'both, vs authenticated every call'], [...results.entries()].map(([name, r]) => [
  name, us(r.create), us(r.patch), `${(both(r) / both(base!)).toFixed(2)}×`, `${(both(r) / both(everyCallResult!)).toFixed(2)}×`,
])));
console.log(`\nplain JSON saves ${Math.round(both(base!) - both(shipped!))} µs of CPU per message (a create and a finalizer patch) against the typed client, ${Math.round(both(everyCallResult!) - both(shipped!))} µs of it by reusing the credentials`);
