// Benchmark: pod start latency on the exec node (a real kubelet, containerd and runc), from the
// pod's creation to its container running, against kwok's simulated nodes in the same run (the
// scheduler and API server's share of the latency). One pod at a time, then a batch at once.
// Usage: node hack/bench/pod-start.ts [--pods 20] [--batch 10]   (needs hack/build-images.sh)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, quantile, sleep } from '../lib/cluster.ts';
import { repoRoot } from '../lib/stack-env.ts';

const { values } = parseArgs({ options: { pods: { type: 'string', default: '20' }, batch: { type: 'string', default: '10' } } });
const { core } = connect('sluice-bench');
const image = /^SLUICE_IMAGE_TEST_PROBE=(.*)$/m.exec(readFileSync(resolve(repoRoot, '.local/images.env'), 'utf8'))?.[1];
if (!image) throw new Error('no test-probe image: run hack/build-images.sh');
const namespace = `bench-pods-${Date.now().toString(36)}`;
await core.createNamespace({ body: { metadata: { name: namespace } } });
// The namespace's default ServiceAccount must exist before pods can be admitted.
while (!(await core.listNamespacedServiceAccount({ namespace })).items.length) await sleep(100);

const placements = {
  exec: { nodeSelector: { pool: 'exec' }, tolerations: [{ key: 'sluice.dev/exec-node', operator: 'Exists', effect: 'NoSchedule' }] },
  kwok: { nodeSelector: { pool: 'cpu' } },
};

/** Milliseconds from create to the container reported running. */
async function startOne(name: string, where: keyof typeof placements): Promise<number> {
  const started = Date.now();
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, annotations: { 'sim.sluice.dev/outcome': 'hold' } },
      spec: {
        ...placements[where],
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'job', image, command: ['node', '-e', 'setTimeout(() => {}, 600000)'] }],
      },
    },
  });
  for (;;) {
    const pod = await core.readNamespacedPod({ namespace, name });
    if (pod.status?.containerStatuses?.[0]?.state?.running) return Date.now() - started;
    await sleep(25);
  }
}

const summary = (label: string, ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { label, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), max: sorted.at(-1)!, n: sorted.length };
};

const rows = [];
for (const where of ['kwok', 'exec'] as const) {
  const one: number[] = [];
  for (let i = 0; i < Number(values.pods); i += 1) one.push(await startOne(`${where}-one-${i}`, where));
  rows.push(summary(`${where}, one at a time`, one));
  const together = await Promise.all(Array.from({ length: Number(values.batch) }, (_, i) => startOne(`${where}-batch-${i}`, where)));
  rows.push(summary(`${where}, ${values.batch} at once`, together));
  await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 });
}
await core.deleteNamespace({ name: namespace });

console.log('\npod create → container running (ms)');
console.log('placement'.padEnd(26), 'median'.padStart(8), 'p90'.padStart(8), 'max'.padStart(8), ' ratio to kwok (median)');
for (const row of rows) {
  const kwok = rows.find((r) => r.label === row.label.replace(/^exec/, 'kwok'))!;
  console.log(row.label.padEnd(26), row.median.toFixed(0).padStart(8), row.p90.toFixed(0).padStart(8), row.max.toFixed(0).padStart(8), `  ${(row.median / kwok.median).toFixed(2)}`);
}
