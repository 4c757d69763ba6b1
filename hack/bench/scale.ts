// Benchmark: the controller at scale, and dispatch with more replicas, on the local stack.
//  1. 10,000 unfinished Jobs (kwok pods held Running) over 100 QueueBindings and 100 JobTypes, on
//     temporary kwok nodes: the controller's RSS, V8 heap and CPU while they arrive and once they
//     are all tracked, its work-queue depth and reconcile rate (bounded: no reconcile storm).
//  2. One queue pre-filled, drained by 1, 2 and 4 `sluice dispatch` processes: Jobs per second
//     from the first Job to the last, and that each message got exactly one Job.
//  With --heap-snapshot, the controller writes a V8 heap snapshot at the end of the steady window
//  (under .local/bench/) and the benchmark prints where its heap goes (heap-summary.ts).
//  With --entries bundle,sources the tracking runs once per way of running the controller (the
//  image's bundle, and the TypeScript sources as Node strips them) and compares their memory.
//  --variant NAME:SETTINGS (repeatable) does the same for other settings of the bundle: each
//  setting is a Node flag added to the image's (--optimize-for-size) or a variable of the
//  controller's environment (MALLOC_ARENA_MAX=2; KEY= leaves out one of the image's) or
//  memory-limit=512Mi, which runs it in a memory cgroup with that limit as a container's would
//  (root only), or bundle=PATH, another build's bundle (an earlier commit's, built in a git
//  worktree); the first variant is the baseline.
// Usage: node hack/bench/scale.ts [--jobs 10000] [--bindings 100] [--steady 60] [--drain 2000] [--replicas 1,2,4] [--skip-tracking] [--heap-snapshot] [--entries bundle] [--variant NAME:SETTINGS …]
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../lib/stack-env.ts';
import { buildSluice, connect, envOverride, sleep, SLUICE_NODE_FLAGS, sluiceArgs, sluiceBundle, sluiceEnv, sluiceSources, startController, stopProcess, untilReady } from '../lib/cluster.ts';
import { memoryCgroup, parseMemoryQuantity } from '../lib/cgroup.ts';
import { heapSummaryTables } from './heap-summary.ts';
import { cpuSeconds, eachInParallel, ratio, removeBenchQueues, removeJobs, removeNamespaces, residentMiB, sendInBatches, stats, sumBy, table, until, watchJobs } from './kit.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    bindings: { type: 'string', default: '100' },
    steady: { type: 'string', default: '60' },
    drain: { type: 'string', default: '2000' },
    replicas: { type: 'string', default: '1,2,4' },
    'skip-tracking': { type: 'boolean', default: false },
    'heap-snapshot': { type: 'boolean', default: false },
    // Node's flags for the controller and dispatchers instead of the image's (e.g. --node-flags='' for V8's defaults).
    'node-flags': { type: 'string' },
    entries: { type: 'string', default: 'bundle' },
    variant: { type: 'string', multiple: true, default: [] },
  },
});
const entryPaths = { bundle: sluiceBundle, sources: sluiceSources } as const;
type Entry = keyof typeof entryPaths;
/** One way of running the controller: which entry (or another build's bundle), Node flags beyond the image's, environment. */
type Variant = { name: string; entry: Entry; entryPath?: string; flags: string[]; env: Record<string, string | undefined>; memoryLimit?: string };
const variants: Variant[] = values.variant.length > 0
  ? values.variant.map(parseVariant)
  : values.entries.split(',').filter(Boolean).map((name) => {
    if (!(name in entryPaths)) throw new Error(`--entries: expected bundle or sources, got ${name}`);
    return { name, entry: name as Entry, flags: [], env: {} };
  });

function parseVariant(text: string): Variant {
  const [name, settings = ''] = text.split(/:(.*)/s);
  if (!name || !/^[a-z0-9-]+$/.test(name)) throw new Error(`--variant ${text}: expected NAME:SETTINGS with a lowercase name, e.g. small-heap:--optimize-for-size`);
  const variant: Variant = { name, entry: 'bundle', flags: [], env: {} };
  for (const setting of settings.split(' ').filter(Boolean)) {
    const env = envOverride(setting);
    const limit = /^memory-limit=(.+)$/.exec(setting)?.[1];
    const bundle = /^bundle=(.+)$/.exec(setting)?.[1];
    if (env) variant.env[env[0]] = env[1];
    else if (bundle) variant.entryPath = resolve(bundle);
    else if (limit) parseMemoryQuantity((variant.memoryLimit = limit));
    else if (setting.startsWith('--')) variant.flags.push(setting);
    else throw new Error(`--variant ${text}: ${setting} is neither a Node flag (--…), VARIABLE=value, memory-limit=QUANTITY nor bundle=PATH`);
  }
  return variant;
}
const totalJobs = Number(values.jobs);
const bindings = Number(values.bindings);
const steadySeconds = Number(values.steady);
const drain = Number(values.drain);
const replicaCounts = values.replicas.split(',').filter(Boolean).map(Number);
const heapSnapshotDir = values['heap-snapshot'] ? resolve(repoRoot, '.local/bench', `heap-${Date.now().toString(36)}`) : undefined;
const nodeFlags = values['node-flags']?.split(' ').filter(Boolean) ?? SLUICE_NODE_FLAGS;
const controllerFlags = ({ name, flags }: Variant) => [
  ...nodeFlags, ...flags,
  ...(heapSnapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${resolve(heapSnapshotDir, name)}`] : []),
];
const describe = (variant: Variant) => [
  variant.entryPath ? `the bundle ${variant.entryPath}` : variant.entry === 'bundle' ? "the image's bundle" : 'the TypeScript sources',
  `Node flags: ${[...nodeFlags, ...variant.flags].join(' ') || "V8's defaults"}`,
  ...Object.entries(variant.env).map(([key, value]) => value === undefined ? `without the image's ${key}` : `${key}=${value}`),
  ...(variant.memoryLimit ? [`in a memory cgroup limited to ${variant.memoryLimit}`] : []),
].join('; ');

const { kubeConfig, core, batch, apply, installCrds } = connect('sluice-bench');
const sqs = new SQSClient({});
await installCrds();
await buildSluice();
const run = Date.now().toString(36);
const image = 'registry.invalid/work:1';
const stamp = () => new Date().toISOString().slice(11, 19);

const sendAll = (queueUrl: string, count: number, tag: string) => sendInBatches(sqs, queueUrl, count, (i) => JSON.stringify({ tag, i }), 4);

async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}
const total = (text: string, metric: string) => [...sumBy(text, metric, []).values()].reduce((a, b) => a + b, 0);

/** RSS and heap in MiB; steady: the median of the steady window's samples (the heap churns within it). */
type Memory = { idle: number; peak: number; steady: number; steadyHeap: number; steadyAnon: number; steadyFile: number; steadyCpu: number; cgroupPeak?: number };

// 1. Tracking 10,000 unfinished Jobs.
async function tracking(variant: Variant): Promise<Memory> {
  const namespace = `bench-scale-${run}-${variant.name}`;
  const perBinding = Math.ceil(totalJobs / bindings);
  const nodeCount = Math.ceil((totalJobs * 1.1) / 1000);
  const nodes = Array.from({ length: nodeCount }, (_, i) => `bench-scale-${run}-${variant.name}-${i}`);
  for (const name of nodes) {
    await core.createNode({
      body: {
        metadata: { name, annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'kwok', pool: 'cpu' } },
        status: { capacity: { cpu: '1000', memory: '4Ti', pods: '1000' }, allocatable: { cpu: '1000', memory: '4Ti', pods: '1000' } },
      },
    });
  }
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'sluice.dev/bench': 'true' } } } });
  const queues: string[] = [];
  for (let i = 0; i < bindings; i += 1) {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-scale-${run}-${variant.name}-${i}` }));
    queues.push(QueueUrl!);
    await apply({
      apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: `type-${i}`, namespace },
      spec: {
        image, ttlSecondsAfterFinished: 600, resources: { requests: { cpu: '10m', memory: '16Mi' } },
        podTemplate: { metadata: { annotations: { 'sim.sluice.dev/outcome': 'hold' } } },
      },
    } as k8s.KubernetesObject);
    await apply({
      apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name: `binding-${i}`, namespace },
      spec: { queueUrl: QueueUrl, suspend: true, maxInFlight: perBinding * 2, routes: [{ name: 'all', when: 'true', jobType: `type-${i}` }] },
    } as k8s.KubernetesObject);
  }
  // The messages wait in SQS before the controller starts, so the ramp is the controller's alone.
  await eachInParallel(queues, 8, (queueUrl, i) => sendAll(queueUrl, Math.min(perBinding, totalJobs - i * perBinding), `b${i}`));
  console.error(`[${stamp()}] ${totalJobs} messages waiting in ${queues.length} queues`);
  const port = 18085;
  const cgroup = variant.memoryLimit ? memoryCgroup(`sluice-bench-${run}-${variant.name}`, parseMemoryQuantity(variant.memoryLimit)) : undefined;
  const controller = startController({
    namespace, metricsPort: port, logName: 'bench-scale-controller', logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
    nodeFlags: controllerFlags(variant), entry: variant.entryPath ?? entryPaths[variant.entry], env: variant.env, ...(cgroup && { cgroup }),
  });
  await untilReady(port);
  await sleep(5000);
  const pid = controller.pid!;
  const alive = () => {
    if (controller.exitCode === null && controller.signalCode === null) return;
    const kills = cgroup ? `; ${cgroup.oomKills()} OOM kill(s) in its cgroup limited to ${variant.memoryLimit}` : '';
    cgroup?.remove(); // empty now that the controller has exited
    throw new Error(`${variant.name}: the controller exited (${controller.signalCode ?? `code ${controller.exitCode}`}${kills}); see .local/logs/bench-scale-controller.log`);
  };
  type Sample = { at: number; rss: number; rssAnon: number; rssFile: number; heap: number; heapCommitted: number; external: number; cpu: number; depth: number; reconciles: number; created: number };
  const sample = async (): Promise<Sample> => {
    alive();
    const text = await metrics(port);
    const resident = residentMiB(pid);
    return {
      at: Date.now(), rss: resident.rss, rssAnon: resident.anon, rssFile: resident.file, heap: total(text, 'nodejs_heap_size_used_bytes') / 2 ** 20, cpu: cpuSeconds(pid),
      heapCommitted: total(text, 'nodejs_heap_size_total_bytes') / 2 ** 20, external: total(text, 'nodejs_external_memory_bytes') / 2 ** 20,
      depth: total(text, 'workqueue_depth'), reconciles: total(text, 'controller_runtime_reconcile_total'), created: total(text, 'sluice_jobs_created_total'),
    };
  };
  const idle = await sample();
  const samples: Sample[] = [idle];
  const sampling = setInterval(() => void sample().then((s) => {
    samples.push(s);
    console.error(`[${stamp()}] Jobs ${s.created}, RSS ${s.rss.toFixed(0)} MiB, heap ${s.heap.toFixed(0)} MiB, queue depth ${s.depth}`);
  }).catch(() => undefined), 5000);

  const started = Date.now();
  // All bindings resume at once (they were created suspended, so `idle` has 100 bindings and no Job).
  await Promise.all(queues.map((queueUrl, i) => apply({
    apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name: `binding-${i}`, namespace },
    spec: { queueUrl, suspend: false, maxInFlight: perBinding * 2, routes: [{ name: 'all', when: 'true', jobType: `type-${i}` }] },
  } as k8s.KubernetesObject)));
  await until(async () => (await sample()).created >= totalJobs, 900_000, 2000);
  const allCreated = Date.now();
  // Every pod Running (kwok starts them well after their Jobs exist) and its Job's status through
  // the controller: Job reconciles down to a trickle for 20 s.
  const jobReconciles = async () => sumBy(await metrics(port), 'controller_runtime_reconcile_total', ['controller']).get('job') ?? 0;
  let quietSince = Date.now();
  let lastCount = await jobReconciles();
  await until(async () => {
    const count = await jobReconciles();
    if (count - lastCount > 5) quietSince = Date.now();
    lastCount = count;
    return Date.now() - quietSince > 20_000;
  }, 900_000, 5000);
  const settledSeconds = (Date.now() - allCreated) / 1000;
  const steadyStart = await sample();
  const reconcilesBefore = sumBy(await metrics(port), 'controller_runtime_reconcile_total', ['controller']);
  await sleep(steadySeconds * 1000);
  const steadyEnd = await sample();
  const reconcilesByController = [...sumBy(await metrics(port), 'controller_runtime_reconcile_total', ['controller']).entries()]
    .map(([name, count]) => [name, ((count - (reconcilesBefore.get(name) ?? 0)) / ((steadyEnd.at - steadyStart.at) / 1000)).toFixed(2)]);
  clearInterval(sampling);
  // From the bindings' resume to the window's end: the ramp and the steady window (a resync's too).
  const sinceResume = samples.filter((s) => s.at >= started);
  const peakOf = (measure: 'rss' | 'rssAnon' | 'rssFile' | 'heap' | 'heapCommitted' | 'external') => Math.max(...sinceResume.map((s) => s[measure]), steadyEnd[measure]);
  const peakDepth = Math.max(...sinceResume.map((s) => s.depth));
  const steadyWindow = (steadyEnd.at - steadyStart.at) / 1000;
  const rampSeconds = (allCreated - started) / 1000;
  const rampRate = (steadyStart.reconciles - idle.reconciles) / ((steadyStart.at - started) / 1000);
  console.log(`\n## ${totalJobs} unfinished Jobs over ${bindings} bindings and ${bindings} JobTypes (${nodeCount} temporary kwok nodes; ${variant.name}: ${describe(variant)})\n`);
  console.log(table(['measure', `idle (${bindings} bindings, no Job)`, 'peak (Jobs arriving, then steady)', `steady, all tracked (${steadyWindow.toFixed(0)} s; memory at its end)`], [
    ['RSS', `${idle.rss.toFixed(0)} MiB`, `${peakOf('rss').toFixed(0)} MiB`, `${steadyEnd.rss.toFixed(0)} MiB`],
    // The split: what the controller allocated, and the node binary's pages it has mapped (shared).
    ['RSS, anonymous', `${idle.rssAnon.toFixed(0)} MiB`, `${peakOf('rssAnon').toFixed(0)} MiB`, `${steadyEnd.rssAnon.toFixed(0)} MiB`],
    ['RSS, file pages', `${idle.rssFile.toFixed(0)} MiB`, `${peakOf('rssFile').toFixed(0)} MiB`, `${steadyEnd.rssFile.toFixed(0)} MiB`],
    ['V8 heap used', `${idle.heap.toFixed(0)} MiB`, `${peakOf('heap').toFixed(0)} MiB`, `${steadyEnd.heap.toFixed(0)} MiB`],
    // Committed: what V8 holds from the OS (kept after the peak); external: buffers outside the heap.
    ['V8 heap committed', `${idle.heapCommitted.toFixed(0)} MiB`, `${peakOf('heapCommitted').toFixed(0)} MiB`, `${steadyEnd.heapCommitted.toFixed(0)} MiB`],
    ['external memory', `${idle.external.toFixed(0)} MiB`, `${peakOf('external').toFixed(0)} MiB`, `${steadyEnd.external.toFixed(0)} MiB`],
    ['CPU (cores)', '–', ((steadyStart.cpu - idle.cpu) / ((steadyStart.at - started) / 1000)).toFixed(2), ((steadyEnd.cpu - steadyStart.cpu) / steadyWindow).toFixed(3)],
    ['work-queue depth', String(idle.depth), String(peakDepth), String(steadyEnd.depth)],
    ['reconciles/s', '–', rampRate.toFixed(0), ((steadyEnd.reconciles - steadyStart.reconciles) / steadyWindow).toFixed(2)],
  ]));
  console.log(`\nAll pods running and their Jobs' status reconciled ${settledSeconds.toFixed(0)} s after the last Job was created.`);
  console.log(`\nSteady reconciles per second by controller: ${reconcilesByController.map(([n, r]) => `${n} ${r}`).join(', ')}`);
  console.log(`\n${totalJobs} Jobs created in ${rampSeconds.toFixed(0)} s (${(totalJobs / rampSeconds).toFixed(0)} Jobs/s, ${bindings} bindings at once); reconciles per Job during the ramp: ${((steadyStart.reconciles - idle.reconciles) / totalJobs).toFixed(1)}`);
  if (heapSnapshotDir) console.log(`\n${heapSummaryTables(await heapSnapshot(pid, resolve(heapSnapshotDir, variant.name)))}`);
  await stopProcess(controller);
  const cgroupPeak = cgroup && cgroup.peakBytes() / 2 ** 20;
  if (cgroup) {
    console.log(`\nIn its memory cgroup (${variant.memoryLimit}): peak usage ${cgroupPeak!.toFixed(0)} MiB (page cache included), ${cgroup.oomKills()} OOM kill(s).`);
    cgroup.remove();
  }
  console.error(`[${stamp()}] cleaning up ${totalJobs} Jobs …`);
  await removeJobs(batch, core, namespace);
  await core.deleteNamespace({ name: namespace });
  await until(async () => !(await core.listNamespace()).items.some((n) => n.metadata?.name === namespace), 900_000, 2000);
  for (const name of nodes) await core.deleteNode({ name }).catch(() => undefined);
  const window = [...samples.filter((s) => s.at >= steadyStart.at), steadyEnd];
  return {
    idle: idle.rss, peak: peakOf('rss'), steady: stats(window.map((s) => s.rss)).median, steadyHeap: stats(window.map((s) => s.heap)).median,
    steadyAnon: stats(window.map((s) => s.rssAnon)).median, steadyFile: stats(window.map((s) => s.rssFile)).median,
    steadyCpu: (steadyEnd.cpu - steadyStart.cpu) / steadyWindow,
    ...(cgroupPeak !== undefined && { cgroupPeak }),
  };
}

/** Signals the controller to write a heap snapshot and waits until the file is complete. */
async function heapSnapshot(pid: number, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  console.error(`[${stamp()}] heap snapshot into ${dir} …`);
  process.kill(pid, 'SIGUSR2');
  let file: string | undefined;
  let size = -1;
  // The process writes it while paused; its size stops growing once the snapshot is whole.
  const written = await until(() => {
    file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot'));
    if (!file) return false;
    const now = statSync(resolve(dir, file)).size;
    const stable = now > 0 && now === size;
    size = now;
    return stable;
  }, 300_000, 3000);
  if (!written) throw new Error(`no complete heap snapshot in ${dir} after 5 minutes`);
  return resolve(dir, file!);
}

// 2. Draining one queue with 1, 2 and 4 dispatcher processes.
async function dispatchers() {
  const namespace = `bench-dispatchers-${run}`;
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'sluice.dev/bench': 'true' } } } });
  await apply({ apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'work', namespace }, spec: { image, ttlSecondsAfterFinished: 600 } } as k8s.KubernetesObject);
  const rows: (string | number)[][] = [];
  let single: number | undefined;
  for (const replicas of replicaCounts) {
    const binding = `drain-${replicas}`;
    const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-drain-${run}-${replicas}` }));
    await apply({
      apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name: binding, namespace },
      spec: { queueUrl, maxInFlight: drain * 2, dispatcher: { mode: 'deployment' }, routes: [{ name: 'all', when: 'true', jobType: 'work' }] },
    } as k8s.KubernetesObject);
    await sendAll(queueUrl!, drain, binding);
    const seen: number[] = [];
    const payloads = new Set<string>();
    const watch = await watchJobs(kubeConfig, namespace, ({ at, job }) => {
      if (job.metadata?.labels?.['sluice.dev/binding'] !== binding) return;
      seen.push(at);
      payloads.add(job.spec?.template.metadata?.annotations?.['sluice.dev/payload'] ?? '');
    });
    const children: ChildProcess[] = Array.from({ length: replicas }, (_, i) => {
      const log = openSync(resolve(repoRoot, `.local/logs/bench-dispatcher-${i}.log`), 'w');
      return spawn(process.execPath, sluiceArgs([
        'dispatch', '--binding', `${namespace}/${binding}`,
        '--identity', `bench-${replicas}-${i}`, '--metrics-bind-address', `127.0.0.1:${18090 + i}`, '--progress-url', '',
      ], nodeFlags), { stdio: ['ignore', log, log], env: sluiceEnv({ LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' }) });
    });
    await until(() => seen.length >= drain, 600_000, 200);
    await sleep(3000); // any duplicate would show by now
    await Promise.all(children.map(stopProcess));
    watch.stop();
    seen.sort((a, b) => a - b);
    const seconds = (seen.at(-1)! - seen[0]!) / 1000;
    const rate = (seen.length - 1) / seconds;
    single ??= rate;
    rows.push([replicas, seen.length, seen.length - payloads.size, seconds.toFixed(1), rate.toFixed(0), `${(rate / single).toFixed(2)}×`]);
    console.error(`[${stamp()}] ${replicas} dispatcher(s): ${rate.toFixed(0)} Jobs/s`);
    await removeJobs(batch, core, namespace);
  }
  console.log(`\n## Draining one queue of ${drain} messages with several dispatcher processes (first Job → last Job)\n`);
  console.log(table(['dispatchers', 'Jobs', 'duplicates', 'seconds', 'Jobs/s', 'vs 1'], rows));
  await removeNamespaces(batch, core, [namespace]);
}

if (!values['skip-tracking']) {
  const measured: Memory[] = [];
  for (const variant of variants) measured.push(await tracking(variant));
  if (variants.length > 1) {
    const base = measured[0]!;
    const mib = (value: number | undefined) => (value === undefined ? '–' : `${value.toFixed(0)} MiB`);
    const row = (label: string, measure: keyof Memory, format: (value: number | undefined) => string = mib) => [
      label, ...measured.map((m) => format(m[measure])), ...measured.slice(1).map((m) => ratio(m[measure] ?? NaN, base[measure] ?? NaN)),
    ];
    console.log(`\n## The controller's memory, run by run (same script; ratios against ${variants[0]!.name})\n`);
    for (const variant of variants) console.log(`- ${variant.name}: ${describe(variant)}`);
    console.log('');
    console.log(table(['measure', ...variants.map((v) => v.name), ...variants.slice(1).map((v) => `${v.name} / ${variants[0]!.name}`)], [
      row('RSS, idle (bindings, no Job)', 'idle'),
      row('RSS, peak (Jobs arriving, then steady)', 'peak'),
      row(`RSS, steady with ${totalJobs} Jobs (median of the window)`, 'steady'),
      row('  of which anonymous', 'steadyAnon'),
      row('  of which file pages (the node binary, shared)', 'steadyFile'),
      row('V8 heap used, steady (median of the window)', 'steadyHeap'),
      row('CPU, steady (cores)', 'steadyCpu', (value) => value === undefined ? '–' : value.toFixed(3)),
      ...(measured.some((m) => m.cgroupPeak !== undefined) ? [row('memory cgroup peak (page cache included)', 'cgroupPeak')] : []),
    ]));
  }
}
if (replicaCounts.length > 0 && drain > 0) await dispatchers();
await removeBenchQueues(sqs);
process.exit(0);
