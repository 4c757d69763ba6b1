// Benchmark: this process's CPU per watch event, read by client-node's Watch and by Sluice's
// json-watch.ts, from the local stack's API server. It creates Jobs as the dispatcher builds them
// (suspended: no pods, the stack stays quiet), then opens watches without a resourceVersion, which
// the API server answers with an ADDED event for every existing Job: the same events, the same
// bytes, for both readers. (Much more than 500 Jobs at once and the API server drops a watcher
// that falls behind the initial events, so a block opens several watches in turn.) The readers
// alternate in blocks; only this process's CPU is counted.
// Usage: node hack/bench/watch-client.ts [--jobs 500] [--watches 4] [--rounds 5]
import * as k8s from '@kubernetes/client-node';
import { parseArgs } from 'node:util';
import { jsonBatchApi } from '../../controller/src/kube/json-request.ts';
import { jsonWatch, type JsonWatch } from '../../controller/src/kube/json-watch.ts';
import { connect } from '../lib/cluster.ts';
import { eachInParallel, ownCpuMicros as cpu, removeNamespaces, stats, table } from './kit.ts';
import { suspendedJobs } from './suspended-jobs.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '500' },
    watches: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '5' },
  },
});
const jobs = Number(values.jobs);
const watchesPerBlock = Number(values.watches);
const rounds = Number(values.rounds);
const { kubeConfig, core, batch } = connect('sluice-bench');
const clientNode = new k8s.Watch(kubeConfig);
const readers: Record<string, JsonWatch> = {
  "client-node's Watch": (path, query, onEvent, done) => clientNode.watch(path, query, onEvent, done),
  'Sluice json-watch': jsonWatch(kubeConfig),
};
const { namespace, job: suspendedJob } = await suspendedJobs(core, 'watch');
const api = jsonBatchApi(kubeConfig);
await eachInParallel(Array.from({ length: jobs }, (_, i) => i), 32, (i) => api.createNamespacedJob({ namespace, body: suspendedJob(i) }));
const path = `/apis/batch/v1/namespaces/${namespace}/jobs`;
const bytes = Buffer.byteLength(JSON.stringify((await api.listNamespacedJob({ namespace })).items.map((job) => ({ type: 'ADDED', object: job }))));

/** CPU microseconds of this process per event while one reader takes every Job's ADDED event, several times over. */
async function block(watch: JsonWatch): Promise<number> {
  const start = cpu();
  for (let i = 0; i < watchesPerBlock; i += 1) await allAdded(watch);
  return (cpu() - start) / (jobs * watchesPerBlock);
}

async function allAdded(watch: JsonWatch): Promise<void> {
  let seen = 0;
  let names = 0;
  await new Promise<void>((resolve, reject) => {
    let controller: AbortController | undefined;
    let finished = false;
    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      controller?.abort();
      if (err) reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
      else resolve();
    };
    void watch(path, {}, (type, object) => {
      if (type !== 'ADDED') return;
      // Touch what an informer reads first, so neither reader's parse can be skipped.
      names += (object as k8s.V1Job).metadata?.name?.length ?? 0;
      if (++seen === jobs) finish();
    }, (err) => finish(seen === jobs ? undefined : err ?? new Error(`watch ended after ${seen} of ${jobs} events`))).then((c) => {
      controller = c;
      if (finished) c.abort();
    }, finish);
  });
  if (names === 0) throw new Error('no names read');
}

// A warm-up block of each, not counted: the JIT and the connection pool.
try {
  for (const watch of Object.values(readers)) await block(watch);
} catch (err) {
  await removeNamespaces(batch, core, [namespace]);
  throw err;
}
const results = new Map<string, number[]>(Object.keys(readers).map((name) => [name, []]));
for (let round = 0; round < rounds; round += 1) {
  const names = Object.keys(readers);
  for (const name of round % 2 === 0 ? names : names.reverse()) results.get(name)!.push(await block(readers[name]!));
}
await removeNamespaces(batch, core, [namespace]);

const base = stats(results.values().next().value!).median;
const us = (values: number[]) => `${Math.round(stats(values).median)} µs (${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))})`;
console.log(`\n#### CPU of this process per watch event, ${watchesPerBlock} watches of ${jobs} Jobs a block (${Math.round(bytes / jobs)} bytes an event), ${rounds} rounds (median, range)\n`);
console.log(table(['reader', 'per event', 'vs client-node'], [...results.entries()].map(([name, values]) => [
  name, us(values), `${(stats(values).median / base).toFixed(2)}×`,
])));
