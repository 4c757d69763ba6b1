// Benchmark: a burst of messages through the real controller on the local stack, against a bare
// loop creating the same Jobs on the same API server, in one run (machines are noisy; compare the
// ratio). Reports message→Job latency (SQS SentTimestamp → Job seen by a watch) and throughput.
// Usage: node hack/bench/dispatch.ts [--messages 2000] [--bare-concurrency 64] [--profile] [--node-flags '--lite-mode'] [--image-flags '--max-semi-space-size=8'] [--env KEY=VALUE …]
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { buildSluice, connect, envOverride, quantile, sleep, SLUICE_NODE_FLAGS, startController, stopProcess } from '../lib/cluster.ts';
import { parseArgs } from 'node:util';
import { jobTypeSpecSchema, type JobType } from '../../controller/src/api/schemas.ts';
import { buildJob } from '../../controller/src/job/build-job.ts';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '../lib/stack-env.ts';
import { summarizeProfile } from './cpu-profile.ts';
import { removeNamespaces, sendInBatches, watchJobs, type SeenJob } from './kit.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '2000' },
    'bare-concurrency': { type: 'string', default: '64' },
    'trickle-rate': { type: 'string', default: '20' },
    'trickle-messages': { type: 'string', default: '200' },
    /** Profile the controller's CPU and print where it went (hack/bench/cpu-profile.ts). */
    profile: { type: 'boolean', default: false },
    /** Node flags for the controller beside the image's (the bare loop runs in this process, unchanged). */
    'node-flags': { type: 'string', default: '' },
    /** Node flags for the controller instead of the image's ENTRYPOINT flags ('' for V8's defaults). */
    'image-flags': { type: 'string' },
    /** A variable for the controller beside the image's ENV (KEY= leaves one of the image's out). */
    env: { type: 'string', multiple: true, default: [] },
  },
});
const controllerEnv = Object.fromEntries(values.env.map((text) => {
  const setting = envOverride(text);
  if (!setting) throw new Error(`--env ${text}: expected KEY=VALUE (KEY= leaves one of the image's out)`);
  return setting;
}));
const total = Number(values.messages);
const bareConcurrency = Number(values['bare-concurrency']);
const trickleRate = Number(values['trickle-rate']);
const trickleMessages = Number(values['trickle-messages']);
// Pooled connections, as the controller uses: a fair baseline pays no TLS handshake per call.
const { kubeConfig, core, batch, apply, installCrds } = connect('sluice-bench');
const sqs = new SQSClient({});
await installCrds();
await buildSluice();
const run = Date.now().toString(36);
const jobTypeSpec = { image: 'registry.invalid/bench:1', ttlSecondsAfterFinished: 600 };

/** Records when each Job of the namespace is first seen. */
const watchInto = (namespace: string, seen: Map<string, SeenJob>) =>
  watchJobs(kubeConfig, namespace, (found) => seen.set(found.job.metadata!.name!, found));

/** Until every Job exists (the list decides; a watch can miss events); returns when, ±250 ms. */
async function waitForAll(namespace: string, seen: Map<string, unknown>, count: number, listedCount: number, since: number): Promise<number> {
  while (Date.now() - since < 600_000) {
    const listed = (await batch.listNamespacedJob({ namespace })).items.length;
    if (listed >= listedCount) {
      const at = Date.now();
      await sleep(2000);
      if (seen.size < count) console.log(`note: the watch saw ${seen.size} of ${count} Jobs; latency covers those`);
      return at;
    }
    await sleep(250);
  }
  return Date.now();
}

async function namespace(name: string) {
  await core.createNamespace({ body: { metadata: { name, labels: { 'sluice.dev/bench': 'true' } } } });
  return name;
}

// 1. Baseline: a bare loop creating the same Jobs (as buildJob makes them) with bounded concurrency.
const bareNs = await namespace(`bench-bare-${run}`);
const jobType: JobType = {
  apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'bench', namespace: bareNs },
  spec: jobTypeSpecSchema.parse(jobTypeSpec),
};
const bareSeen = new Map<string, SeenJob>();
const bareWatch = await watchInto(bareNs, bareSeen);
const bareStart = Date.now();
let next = 0;
await Promise.all(Array.from({ length: bareConcurrency }, async () => {
  while (next < total) {
    const i = next++;
    const raw = JSON.stringify({ n: i });
    const { job } = buildJob({
      namespace: bareNs, binding: 'bench', queueUrl: 'bare', route: 'all', messageId: `m-${i}`, dedupeKey: `m-${i}`,
      payload: { raw, format: 'json', bytes: raw.length },
    }, jobType);
    job.metadata!.finalizers = []; // nothing removes them in the baseline
    await batch.createNamespacedJob({ namespace: bareNs, body: job });
  }
}));
const bareSeconds = (Date.now() - bareStart) / 1000;
bareWatch.stop();
console.log(`bare loop: ${total} Jobs in ${bareSeconds.toFixed(1)}s = ${(total / bareSeconds).toFixed(0)} Jobs/s (concurrency ${bareConcurrency})`);

/** Waits until the Jobs of a namespace have finished, so one phase's pods do not load the next. */
async function settle(namespace: string) {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const jobs = (await batch.listNamespacedJob({ namespace })).items;
    if (jobs.every((j) => j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'))) return;
    await sleep(1000);
  }
}
await settle(bareNs);

// 2. Sluice: the controller running, then a burst of messages sent as fast as SQS takes them.
const sluiceNs = await namespace(`bench-sluice-${run}`);
const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-${run}` }));
await apply({ apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'bench', namespace: sluiceNs }, spec: jobTypeSpec } as k8s.KubernetesObject);
await apply({
  apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name: 'bench', namespace: sluiceNs },
  spec: { queueUrl, maxInFlight: total * 2, routes: [{ name: 'all', when: 'true', jobType: 'bench' }] },
} as k8s.KubernetesObject);
const profileDir = resolve(repoRoot, '.local/profiles', run);
const controller = startController({
  namespace: sluiceNs, metricsPort: 18081, logName: 'bench-controller', logLevel: 'warn', ...(values.profile && { cpuProfileDir: profileDir }),
  nodeFlags: [...(values['image-flags']?.split(' ').filter(Boolean) ?? SLUICE_NODE_FLAGS), ...values['node-flags'].split(' ').filter(Boolean)],
  env: controllerEnv,
});
await sleep(3000);

const seen = new Map<string, SeenJob>();
const sluiceWatch = await watchInto(sluiceNs, seen);
const sendStart = Date.now();
await sendInBatches(sqs, queueUrl!, total, (n) => JSON.stringify({ n }));
const sendSeconds = (Date.now() - sendStart) / 1000;
const allThere = await waitForAll(sluiceNs, seen, total, total, sendStart);
sluiceWatch.stop();

const latencies = [...seen.values()]
  .map(({ at, job }) => at - Date.parse(job.metadata!.annotations!['sluice.dev/sent-at']!))
  .sort((a, b) => a - b);
const sluiceSeconds = (allThere - sendStart) / 1000;
const sluiceRate = total / sluiceSeconds;
console.log(`burst: sent ${total} messages in ${sendSeconds.toFixed(1)}s`);
console.log(`burst: ${total} Jobs in ${sluiceSeconds.toFixed(1)}s from the first send = ${sluiceRate.toFixed(0)} messages/s`);
console.log(`burst: message→Job latency median ${quantile(latencies, 0.5)} ms, p90 ${quantile(latencies, 0.9)} ms, p99 ${quantile(latencies, 0.99)} ms, max ${latencies.at(-1)} ms (includes waiting behind the burst)`);
console.log(`burst: ratio sluice / bare loop = ${(sluiceRate / (total / bareSeconds)).toFixed(2)}`);

// 3. A steady trickle below capacity: the latency one message sees on its own.
await settle(sluiceNs);
const trickleSeen = new Map<string, SeenJob>();
const trickleWatch = await watchInto(sluiceNs, trickleSeen);
for (let i = 0; i < trickleMessages; i += 1) {
  const due = Date.now() + 1000 / trickleRate;
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: '0', MessageBody: JSON.stringify({ trickle: i }) }] }));
  await sleep(Math.max(0, due - Date.now()));
}
await waitForAll(sluiceNs, trickleSeen, trickleMessages, total + trickleMessages, Date.now());
trickleWatch.stop();
const trickleLatencies = [...trickleSeen.entries()]
  .filter(([, { job }]) => job.spec?.template.metadata?.annotations?.['sluice.dev/payload']?.includes('trickle'))
  .map(([, { at, job }]) => at - Date.parse(job.metadata!.annotations!['sluice.dev/sent-at']!))
  .sort((a, b) => a - b);
console.log(`trickle (${trickleRate}/s): message→Job latency median ${quantile(trickleLatencies, 0.5)} ms, p90 ${quantile(trickleLatencies, 0.9)} ms, p99 ${quantile(trickleLatencies, 0.99)} ms, max ${trickleLatencies.at(-1)} ms over ${trickleLatencies.length} messages`);
await stopProcess(controller);
if (values.profile) {
  for (const file of readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'))) {
    console.log(`\ncontroller CPU profile (${join(profileDir, file)}):\n${summarizeProfile(join(profileDir, file))}`);
  }
}

await removeNamespaces(batch, core, [bareNs, sluiceNs]);
process.exit(0);
