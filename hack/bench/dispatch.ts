// Benchmark: burst throughput of the real controller on the local stack against a bare loop
// creating the same Jobs on the same API server, and the latency of a trickle below capacity.
// Machines are noisy and the API server's speed drifts with what it still has to do, so the two
// alternate within one run (bare first, then Sluice first, ...), each round's pair is compared,
// and each phase starts only once the previous one's Jobs have finished. Both are timed alike:
// from the start (bare: the first create; Sluice: the binding resumed with the burst waiting in
// SQS, as the bare loop has its Jobs ready) to the last of their Jobs seen by a watch.
// The SQS emulator is warmed up first (kit.ts warmUpSqs): a JVM right after the stack starts.
// Usage: node hack/bench/dispatch.ts [--messages 2000] [--rounds 3] [--bare-concurrency 256] [--profile] [--node-flags '--lite-mode'] [--image-flags '--max-semi-space-size=8'] [--env KEY=VALUE …]
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type * as k8s from '@kubernetes/client-node';
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jobTypeSpecSchema, type JobType } from '../../controller/src/api/schemas.ts';
import { buildJob } from '../../controller/src/job/build-job.ts';
import { jsonBatchApi } from '../../controller/src/kube/json-request.ts';
import { DEFAULT_MAX_CONCURRENT_CREATES } from '../../controller/src/kube/call-limit.ts';
import { buildSluice, connect, envOverride, sleep, SLUICE_NODE_FLAGS, startController, stopProcess, untilReady } from '../lib/cluster.ts';
import { repoRoot } from '../lib/stack-env.ts';
import { summarizeProfile } from './cpu-profile.ts';
import { apiserverMetrics, difference, processSqsRequests, removeBenchQueues, removeLeftoverBenchNamespaces, removeNamespaces, type SeenJob, sendInBatches, stackCpu, stats, sumBy, table, until, warmUpSqs, watchJobs } from './kit.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    // As many creates in flight as Sluice's bound: fewer would make the baseline latency-bound, not a ceiling.
    'bare-concurrency': { type: 'string', default: String(DEFAULT_MAX_CONCURRENT_CREATES) },
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
const rounds = Number(values.rounds);
const bareConcurrency = Number(values['bare-concurrency']);
const trickleRate = Number(values['trickle-rate']);
const trickleMessages = Number(values['trickle-messages']);
const nodeFlags = [...(values['image-flags']?.split(' ').filter(Boolean) ?? SLUICE_NODE_FLAGS), ...values['node-flags'].split(' ').filter(Boolean)];
// Pooled connections, as the controller uses: a fair baseline pays no TLS handshake per call.
const { kubeConfig, core, batch, apply, installCrds } = connect('sluice-bench');
// The bare loop creates through the same plain-JSON calls as the controller: a ceiling pays no client overhead Sluice does not.
const bareJobs = jsonBatchApi(kubeConfig);
const sqs = new SQSClient({});
await installCrds();
await buildSluice();
// An earlier bench's namespaces still being deleted would slow whichever phase runs first.
const quiet = await removeLeftoverBenchNamespaces(batch, core);
if (!quiet) console.log('note: bench namespaces of an earlier run were still there when this one started');
const warmUp = await warmUpSqs(sqs, total);
console.log(`SQS warm-up, not counted: ${warmUp.length} passes of ${total} messages received and deleted; ElasticMQ ${warmUp.map((ms) => ms.toFixed(2)).join(', ')} ms of CPU a message`);
const run = Date.now().toString(36);
const stamp = () => new Date().toISOString().slice(11, 19);
// No Job is removed by its TTL while the benchmark runs: that deletion would load the API server.
const jobTypeSpec = { image: 'registry.invalid/bench:1', ttlSecondsAfterFinished: 3600 };
const namespaces: string[] = [];

async function namespace(name: string) {
  await core.createNamespace({ body: { metadata: { name, labels: { 'sluice.dev/bench': 'true' } } } });
  namespaces.push(name);
  return name;
}

/** Until the watch has seen `count` Jobs (a list confirms, since a watch can miss events); when the last one was seen. */
async function lastSeen(namespace: string, seen: Map<string, SeenJob>, count: number): Promise<number> {
  await until(() => seen.size >= count, 600_000, 20);
  if (seen.size < count) {
    const listed = (await batch.listNamespacedJob({ namespace })).items.length;
    console.log(`note: the watch saw ${seen.size} of ${listed} Jobs in ${namespace}; the time covers those`);
  }
  return Math.max(...[...seen.values()].map((s) => s.at));
}

type Served = { seconds: number; count: number; watchEvents: Map<string, number>; watchBytes: Map<string, number> };

/**
 * From the API server's own metrics: its total time on Job creates and their count (the
 * request-duration histogram), and the watch events and bytes it sent, by resource, to every
 * watcher (the Job controller, scheduler, kwok, this process, Sluice's informers).
 */
function served(): Served {
  const text = apiserverMetrics();
  const pick = (metric: string) => sumBy(text, metric, ['verb', 'resource', 'subresource']).get('POST jobs') ?? 0;
  return {
    seconds: pick('apiserver_request_duration_seconds_sum'), count: pick('apiserver_request_duration_seconds_count'),
    watchEvents: sumBy(text, 'apiserver_watch_events_total', ['resource']),
    watchBytes: sumBy(text, 'apiserver_watch_events_sizes_sum', ['resource']),
  };
}

/** Since `before`: the mean time the API server spent on each create, in ms, and the watch events and bytes sent. */
function servedSince(before: Served): { createMs: number; watchEvents: Map<string, number>; watchBytes: Map<string, number> } {
  const after = served();
  return {
    createMs: ((after.seconds - before.seconds) / Math.max(1, after.count - before.count)) * 1000,
    watchEvents: difference(after.watchEvents, before.watchEvents),
    watchBytes: difference(after.watchBytes, before.watchBytes),
  };
}

/** Until a namespace's Jobs have all finished and their outcomes are recorded, so one phase's work does not load the next. */
async function settle(namespace: string) {
  await until(async () => (await batch.listNamespacedJob({ namespace })).items.every((job) =>
    job.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') && !job.metadata?.finalizers?.length), 300_000, 1000);
}

/** Records when each new Job of the namespace (that `counts`) is first seen. */
const watchInto = async (namespace: string, counts: (job: k8s.V1Job) => boolean = () => true) => {
  const seen = new Map<string, SeenJob>();
  const watch = await watchJobs(kubeConfig, namespace, (found) => {
    if (counts(found.job)) seen.set(found.job.metadata!.name!, found);
  });
  return { seen, stop: () => watch.stop() };
};

/** The bare create loop: `total` Jobs as Sluice builds them, `bareConcurrency` at a time. Jobs/s, and the stack's CPU seconds. */
async function bareBurst(round: number): Promise<{ rate: number; cpu: Map<string, number>; api: ReturnType<typeof servedSince> }> {
  const ns = await namespace(`bench-bare-${run}-${round}`);
  const jobType: JobType = {
    apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'bench', namespace: ns },
    spec: jobTypeSpecSchema.parse(jobTypeSpec),
  };
  const { seen, stop } = await watchInto(ns);
  const cpuBefore = stackCpu({ 'this process (bare loop)': process.pid });
  const servedBefore = served();
  const start = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: bareConcurrency }, async () => {
    while (next < total) {
      const i = next++;
      const raw = JSON.stringify({ n: i });
      const { job } = buildJob({
        namespace: ns, binding: 'bench', queueUrl: 'bare', route: 'all', messageId: `m-${i}`, dedupeKey: `m-${i}`,
        payload: { raw, format: 'json', bytes: raw.length },
      }, jobType);
      job.metadata!.finalizers = []; // nothing removes them in the baseline
      await bareJobs.createNamespacedJob({ namespace: ns, body: job });
    }
  }));
  const seconds = (await lastSeen(ns, seen, total) - start) / 1000;
  const cpu = difference(stackCpu({ 'this process (bare loop)': process.pid }), cpuBefore);
  const api = servedSince(servedBefore);
  stop();
  await settle(ns);
  return { rate: total / seconds, cpu, api };
}

type SluicePhase = { rate: number; cpu: number; stack: Map<string, number>; api: ReturnType<typeof servedSince>; sqsCalls: Map<string, number>; controller: ChildProcess; namespace: string; queueUrl: string };

/**
 * Sluice: a binding created suspended, the burst sent into its queue, the controller started and
 * ready; then the binding resumes. Jobs/s from the resume to the last Job seen, and the
 * controller's CPU seconds over that time. The controller is left running (the trickle uses it).
 */
async function sluiceBurst(round: number): Promise<SluicePhase> {
  const ns = await namespace(`bench-sluice-${run}-${round}`);
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-${run}-${round}` }));
  const binding = (suspend: boolean) => ({
    apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name: 'bench', namespace: ns },
    spec: { queueUrl, suspend, maxInFlight: total * 2, routes: [{ name: 'all', when: 'true', jobType: 'bench' }] },
  } as k8s.KubernetesObject);
  await apply({ apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'bench', namespace: ns }, spec: jobTypeSpec } as k8s.KubernetesObject);
  await apply(binding(true));
  await sendInBatches(sqs, queueUrl!, total, (n) => JSON.stringify({ n }));
  const metricsPort = 18081;
  const controller = startController({
    namespace: ns, metricsPort, logName: `bench-controller-${round}`, logLevel: 'warn',
    ...(values.profile && { cpuProfileDir: resolve(repoRoot, '.local/profiles', `${run}-${round}`) }),
    nodeFlags, env: controllerEnv,
  });
  await untilReady(metricsPort);
  await sleep(2000);
  const { seen, stop } = await watchInto(ns);
  const processes = { 'Sluice controller': controller.pid, 'this process (watch)': process.pid };
  const stackBefore = stackCpu(processes);
  const servedBefore = served();
  const sqsBefore = await processSqsRequests(metricsPort);
  const start = Date.now();
  await apply(binding(false));
  const end = await lastSeen(ns, seen, total);
  const stack = difference(stackCpu(processes), stackBefore);
  const cpu = stack.get('Sluice controller') ?? 0;
  const api = servedSince(servedBefore);
  const sqsCalls = difference(await processSqsRequests(metricsPort), sqsBefore);
  stop();
  await settle(ns);
  return { rate: total / ((end - start) / 1000), cpu, stack, api, sqsCalls, controller, namespace: ns, queueUrl: queueUrl! };
}

// 1. The bursts, alternating which goes first.
type Round = { order: string; bare: number; sluice: number; cpu: number; bareStack: Map<string, number>; sluiceStack: Map<string, number>; bareApi: ReturnType<typeof servedSince>; sluiceApi: ReturnType<typeof servedSince>; sqsCalls: Map<string, number> };
const results: Round[] = [];
let last: SluicePhase | undefined;
for (let round = 1; round <= rounds; round += 1) {
  const bareFirst = round % 2 === 1;
  if (last) await stopProcess(last.controller);
  let bare: Awaited<ReturnType<typeof bareBurst>> | undefined;
  if (bareFirst) bare = await bareBurst(round);
  last = await sluiceBurst(round);
  bare ??= await bareBurst(round);
  results.push({ order: bareFirst ? 'bare, sluice' : 'sluice, bare', bare: bare.rate, sluice: last.rate, cpu: last.cpu, bareStack: bare.cpu, sluiceStack: last.stack, bareApi: bare.api, sluiceApi: last.api, sqsCalls: last.sqsCalls });
  console.error(`[${stamp()}] round ${round}: bare ${bare.rate.toFixed(0)} Jobs/s, sluice ${last.rate.toFixed(0)} messages → Jobs/s (${(last.rate / bare.rate).toFixed(2)})`);
}

// 2. A steady trickle below capacity on the last round's controller: the latency one message sees on its own.
// Only the trickle's Jobs: a burst Job the Job controller still updates is also "first seen" by this watch.
const isTrickle = (job: k8s.V1Job) => job.spec?.template.metadata?.annotations?.['sluice.dev/payload']?.includes('trickle') === true;
const { seen: trickleSeen, stop: stopTrickle } = await watchInto(last!.namespace, isTrickle);
for (let i = 0; i < trickleMessages; i += 1) {
  const due = Date.now() + 1000 / trickleRate;
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: last!.queueUrl, Entries: [{ Id: '0', MessageBody: JSON.stringify({ trickle: i }) }] }));
  await sleep(Math.max(0, due - Date.now()));
}
await lastSeen(last!.namespace, trickleSeen, trickleMessages);
stopTrickle();
const trickle = stats([...trickleSeen.values()].map(({ at, job }) => at - Date.parse(job.metadata!.annotations!['sluice.dev/sent-at']!)));
await stopProcess(last!.controller);

const ratios = results.map((r) => r.sluice / r.bare);
const f2 = (n: number) => n.toFixed(2);
console.log(`\n#### Burst of ${total} messages against the bare create loop (${bareConcurrency} concurrent creates), ${rounds} rounds\n`);
// By Little's law, rate × the API server's time per create is how many creates it held at once.
const held = (rate: number, createMs: number) => `${Math.round(createMs)} ms, ${Math.round((rate * createMs) / 1000)} at once`;
console.log(table(['round', 'order', 'bare create loop, Jobs/s', 'Sluice, messages → Jobs/s', 'ratio', 'controller CPU s', 'API server per create: bare', 'Sluice'],
  results.map((r, i) => [i + 1, r.order, r.bare.toFixed(0), r.sluice.toFixed(0), `**${f2(ratios[i]!)}**`, r.cpu.toFixed(1),
    held(r.bare, r.bareApi.createMs), held(r.sluice, r.sluiceApi.createMs)])));
const ratioStats = stats(ratios);
console.log(`\nratio: median ${f2(ratioStats.median)}, min ${f2(Math.min(...ratios))}, max ${f2(Math.max(...ratios))}; ` +
  `median rates ${stats(results.map((r) => r.sluice)).median.toFixed(0)} against ${stats(results.map((r) => r.bare)).median.toFixed(0)} Jobs/s`);
// Where the two cores went during each burst: the API server's side is the same work for both but
// Sluice's finalizer patches, and ElasticMQ's is the SQS emulator's, which the bare loop never calls.
const cpuRows = [...new Set(results.flatMap((r) => [...r.bareStack.keys(), ...r.sluiceStack.keys()]))].map((name) => {
  const bareCpu = stats(results.map((r) => r.bareStack.get(name) ?? 0)).median;
  const sluiceCpu = stats(results.map((r) => r.sluiceStack.get(name) ?? 0)).median;
  return [name, bareCpu.toFixed(1), sluiceCpu.toFixed(1), `${((sluiceCpu / total) * 1000).toFixed(2)} ms`];
});
console.log(`\nCPU seconds per burst of ${total} (median of the rounds; each phase from its start to its last Job seen):\n`);
console.log(table(['process', 'bare loop phase', 'Sluice phase', 'Sluice phase, per message'], cpuRows));
const sqsRows = [...new Set(results.flatMap((r) => [...r.sqsCalls.keys()]))].sort().map((operation) => {
  const calls = stats(results.map((r) => r.sqsCalls.get(operation) ?? 0)).median;
  return [operation, calls, (total / Math.max(1, calls)).toFixed(1)];
});
// Every watcher's events: the difference is Sluice's informers, and the events its own writes cause.
const watchRows = [...new Set(results.flatMap((r) => [...r.bareApi.watchEvents.keys(), ...r.sluiceApi.watchEvents.keys()]))].sort().flatMap((resource) => {
  const per = (pick: (r: Round) => Map<string, number>) => stats(results.map((r) => pick(r).get(resource) ?? 0)).median / total;
  const [bareEvents, sluiceEvents] = [per((r) => r.bareApi.watchEvents), per((r) => r.sluiceApi.watchEvents)];
  if (bareEvents < 0.01 && sluiceEvents < 0.01) return [];
  const kib = (events: number, bytes: number) => (events > 0 ? `${(bytes / events / 1024).toFixed(1)} KiB` : '–');
  return [[resource, bareEvents.toFixed(2), sluiceEvents.toFixed(2), kib(bareEvents, per((r) => r.bareApi.watchBytes)), kib(sluiceEvents, per((r) => r.sluiceApi.watchBytes))]];
});
console.log(`\nWatch events the API server sent, to all watchers, per Job / message (median of the rounds):\n`);
console.log(table(['resource', 'bare loop phase', 'Sluice phase', 'mean size: bare', 'Sluice'], watchRows));
console.log(`\nSQS calls of the controller per burst (median of the rounds, to its last Job seen):\n`);
console.log(table(['operation', 'calls', 'messages per call'], sqsRows));
console.log(`trickle (${trickleRate}/s, ${trickle.n} messages): message → Job median ${trickle.median} ms, p90 ${trickle.p90} ms, p99 ${trickle.p99} ms, max ${trickle.max} ms`);
if (values.profile) {
  for (const dir of results.map((_, i) => resolve(repoRoot, '.local/profiles', `${run}-${i + 1}`))) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
      console.log(`\ncontroller CPU profile (${join(dir, file)}):\n${summarizeProfile(join(dir, file))}`);
    }
  }
}

await removeNamespaces(batch, core, namespaces);
await removeBenchQueues(sqs);
process.exit(0);
