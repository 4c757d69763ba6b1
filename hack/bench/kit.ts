// What the benchmarks share: latency statistics, the API server's and the controller's request
// counters, a process's CPU and memory, a watch that records when each Job is first seen, Poisson
// arrivals, markdown tables, and a clean, warm stack to start from (what earlier runs left
// removed, the SQS emulator warmed up). Each benchmark compares within one run; see docs/benchmarks.md.
import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, ListQueuesCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import pRetry from 'p-retry';
import { quantile, sleep } from '../lib/cluster.ts';
import { watchNamespaceJobs } from '../lib/job-watch.ts';
import { cpuSeconds } from '../lib/process-stats.ts';
export { cpuSeconds, ownCpuMicros, residentMiB, rssMiB } from '../lib/process-stats.ts';

export type Stats = { n: number; median: number; p90: number; p99: number; max: number };

export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { n: 0, median: NaN, p90: NaN, p99: NaN, max: NaN };
  return { n: sorted.length, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: sorted.at(-1)! };
}

export const ms = (value: number) => (Number.isNaN(value) ? '–' : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`);
export const ratio = (value: number, base: number) => (base > 0 && Number.isFinite(value) ? `${(value / base).toFixed(2)}×` : '–');

/** A markdown table (what docs/benchmarks.md holds), printed as is. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Sums a Prometheus text exposition's samples of one metric, grouped by the labels named. */
export function sumBy(text: string, metric: string, labels: string[]): Map<string, number> {
  const sums = new Map<string, number>();
  const sample = new RegExp(`^${metric}(?:\\{([^}]*)\\})? ([0-9.e+-]+)$`);
  for (const row of text.split('\n')) {
    const match = sample.exec(row);
    if (!match) continue;
    const found: Record<string, string> = Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    const key = labels.map((l) => found[l] ?? '').filter((v) => v !== '').join(' ');
    sums.set(key, (sums.get(key) ?? 0) + Number(match[2]));
  }
  return sums;
}

/** The API server's own /metrics, through kubectl (the stack's admin kubeconfig). */
export function apiserverMetrics(): string {
  return execFileSync('kubectl', ['get', '--raw', '/metrics'], { encoding: 'utf8', maxBuffer: 256 << 20 });
}

/** The API server's own count of requests it served, by verb and resource[/subresource]. */
export function apiserverRequests(text: string = apiserverMetrics()): Map<string, number> {
  const byLabels = sumBy(text, 'apiserver_request_total', ['verb', 'resource', 'subresource']);
  const counts = new Map<string, number>();
  for (const [key, value] of byLabels) {
    const [verb, resource, subresource] = key.split(' ');
    const name = `${verb} ${resource ?? ''}${subresource ? `/${subresource}` : ''}`;
    counts.set(name, (counts.get(name) ?? 0) + value);
  }
  return counts;
}

/** A counter of a Sluice process's /metrics, summed by the labels named. */
async function processCounter(metricsPort: number, metric: string, labels: string[]): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return sumBy(text, metric, labels);
}

/** What a process (the controller, a dispatcher) counted of its own requests, by verb and resource. */
export const processRequests = (metricsPort: number) => processCounter(metricsPort, 'sluice_kube_requests_total', ['verb', 'resource']);

/** What a Sluice process counted of its own SQS calls, by operation. */
export const processSqsRequests = (metricsPort: number) => processCounter(metricsPort, 'sluice_sqs_requests_total', ['operation']);

export function difference(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const changed = new Map<string, number>();
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta > 0) changed.set(key, delta);
  }
  return changed;
}

/** The pid of a running program, by its command line (the KEDA operator, say). */
export function pidOf(pattern: string): number | undefined {
  try {
    return Number(execFileSync('pgrep', ['-f', '-o', pattern], { encoding: 'utf8' }).trim()) || undefined;
  } catch {
    return undefined;
  }
}

/** The local stack's processes whose CPU a benchmark phase shares, by the pattern pgrep finds them with. */
const STACK_PROCESSES: [name: string, pattern: string][] = [
  ['kube-apiserver', 'bin/kube-apiserver '],
  ['etcd', 'bin/etcd '],
  ['kube-controller-manager', 'bin/kube-controller-manager '],
  ['kube-scheduler', 'bin/kube-scheduler '],
  ['kwok', 'bin/kwok '],
  ['ElasticMQ (SQS)', 'elasticmq'],
];

/** CPU seconds used so far by each stack process found (plus any named extra pid), to diff over a phase. */
export function stackCpu(extra: Record<string, number | undefined> = {}): Map<string, number> {
  const pids = [...STACK_PROCESSES.map(([name, pattern]) => [name, pidOf(pattern)] as const), ...Object.entries(extra)];
  const used = new Map<string, number>();
  for (const [name, pid] of pids) {
    if (!pid) continue;
    try {
      used.set(name, cpuSeconds(pid));
    } catch { /* gone */ }
  }
  return used;
}

export type SeenJob = { at: number; job: k8s.V1Job };

/** Calls back the first time each Job of the namespace created from now on is seen. */
export async function watchJobs(kubeConfig: k8s.KubeConfig, namespace: string, onJob: (seen: SeenJob) => void): Promise<{ stop: () => void }> {
  const seen = new Set<string>();
  const watch = watchNamespaceJobs(kubeConfig, namespace, (job) => {
    const name = job.metadata?.name;
    if (!name || seen.has(name)) return;
    seen.add(name);
    onJob({ at: Date.now(), job });
  }, { fromNow: true });
  await watch.ready;
  return watch;
}

/** Exponential gaps (ms) of a Poisson process: arrivals at random phases against any polling interval. */
export function poissonGaps(perSecond: number, seconds: number): number[] {
  const gaps: number[] = [];
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    const gap = (-Math.log(1 - Math.random()) / perSecond) * 1000;
    elapsed += gap;
    gaps.push(gap);
  }
  return gaps;
}

/** Runs `each` at the gaps' arrival times (not after each other's completion). */
export async function atArrivals(gaps: number[], each: (index: number) => Promise<void>): Promise<void> {
  const start = performance.now();
  let due = 0;
  const pending: Promise<void>[] = [];
  for (const [index, gap] of gaps.entries()) {
    due += gap;
    const wait = start + due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(each(index));
  }
  await Promise.all(pending);
}

/** Until `done` holds or the deadline passes; true if it held. */
export async function until(done: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await sleep(everyMs);
  }
  return done();
}

/**
 * Takes Sluice's finalizer off every Job of a namespace (no controller will finish them), 16 at a
 * time, and deletes its Jobs and pods: a namespace's own deletion removes them one by one.
 */
export async function removeJobs(batch: k8s.BatchV1Api, core: k8s.CoreV1Api, namespace: string): Promise<void> {
  const jobs = (await batch.listNamespacedJob({ namespace })).items;
  const finalized = jobs.filter((job) => job.metadata?.finalizers?.length);
  await eachInParallel(finalized, 16, async (job) => {
    await batch.patchNamespacedJob({ namespace, name: job.metadata!.name!, body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)).catch(() => undefined);
  });
  // By binding, a collection at a time: the garbage collector and the namespace controller delete
  // thousands of pods one by one, minutes for a scale run's 10,000; and one collection of them all
  // outlasts the API server's request timeout.
  const bindings = [...new Set(jobs.map((job) => job.metadata?.labels?.['sluice.dev/binding']))];
  const selectors = bindings.map((binding) => (binding === undefined ? '!sluice.dev/binding' : `sluice.dev/binding=${binding}`));
  // A busy API server may cut a collection delete off: it is idempotent, so try it again.
  const retried = (call: () => Promise<unknown>) => pRetry(call, { retries: 4, minTimeout: 2_000 });
  await eachInParallel(selectors, 4, async (labelSelector) => {
    await retried(() => batch.deleteCollectionNamespacedJob({ namespace, labelSelector, propagationPolicy: 'Background' }));
    await retried(() => core.deleteCollectionNamespacedPod({ namespace, labelSelector, gracePeriodSeconds: 0 }));
  });
}

/** `work` on every item, at most `parallel` at a time, in order of the items. */
export async function eachInParallel<T>(items: readonly T[], parallel: number, work: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  }));
}

/** Deletes bench namespaces, their Jobs first (removeJobs). */
export async function removeNamespaces(batch: k8s.BatchV1Api, core: k8s.CoreV1Api, names: string[]): Promise<void> {
  for (const namespace of names) {
    await removeJobs(batch, core, namespace);
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  }
}

/**
 * Removes what earlier bench runs left (an interrupted run's namespaces, their Jobs still holding
 * Sluice's finalizer with no controller to take it off) and waits until the namespaces are gone.
 * False if some are still there after `timeoutMs`.
 */
export async function removeLeftoverBenchNamespaces(batch: k8s.BatchV1Api, core: k8s.CoreV1Api, timeoutMs = 600_000): Promise<boolean> {
  const left = async () => (await core.listNamespace({ labelSelector: 'sluice.dev/bench=true' })).items.map((ns) => ns.metadata!.name!);
  await removeNamespaces(batch, core, await left());
  return until(async () => (await left()).length === 0, timeoutMs, 2000);
}

/**
 * Deletes every queue whose name starts with `bench-`: this run's and any an interrupted run left.
 * ElasticMQ keeps each queue, with its messages, in its store on disk until it is deleted.
 */
export async function removeBenchQueues(sqs: SQSClient): Promise<number> {
  const urls: string[] = [];
  let token: string | undefined;
  do {
    const page = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'bench-', MaxResults: 1000, NextToken: token }));
    urls.push(...(page.QueueUrls ?? []));
    token = page.NextToken;
  } while (token);
  await eachInParallel(urls, 8, (url) => sqs.send(new DeleteQueueCommand({ QueueUrl: url })));
  return urls.length;
}

/**
 * Warms the SQS emulator up before a benchmark measures: ElasticMQ is a JVM, and right after the
 * stack starts its receive and delete paths are not yet compiled (a fresh one with the JVM's
 * optimizing compiler stayed near 2.2 ms of CPU a message for its first 6,000; the stack now runs
 * it with C1 only, ≈ 0.5 from the third pass). Passes of `perPass` messages, at least `atLeast`
 * messages in all, then on while a pass still costs under 0.8 of the one before, at most 20
 * passes. ElasticMQ's CPU per message of each pass, in ms.
 */
export async function warmUpSqs(sqs: SQSClient, perPass: number, atLeast = 10_000): Promise<number[]> {
  const passes: number[] = [];
  const minimum = Math.ceil(atLeast / perPass);
  while (passes.length < 20 && (passes.length < minimum || passes.at(-1)! < 0.8 * passes.at(-2)!)) passes.push(await sqsPass(sqs, perPass));
  return passes;
}

/**
 * Sends `count` messages through a queue of their own, received ten at a time by four receivers and
 * deleted in batches, as a dispatcher does; ElasticMQ's CPU per message over the receiving.
 */
async function sqsPass(sqs: SQSClient, count: number): Promise<number> {
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-warmup-${Date.now().toString(36)}` }));
  await sendInBatches(sqs, queueUrl!, count, (i) => JSON.stringify({ warmUp: i }));
  const before = stackCpu().get('ElasticMQ (SQS)') ?? 0;
  let left = count;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (left > 0) {
      const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      left -= messages.length;
      if (messages.length > 0) {
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    }
  }));
  const used = (stackCpu().get('ElasticMQ (SQS)') ?? 0) - before;
  await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  return (used * 1000) / count;
}

/** Sends `count` messages in batches of ten from `parallel` senders; `body(i)` is the i-th message. */
export async function sendInBatches(sqs: SQSClient, queueUrl: string, count: number, body: (index: number) => string, parallel = 8): Promise<void> {
  const batches = Array.from({ length: Math.ceil(count / 10) }, (_, i) => i * 10);
  await eachInParallel(batches, parallel, async (base) => {
    const entries = Array.from({ length: Math.min(10, count - base) }, (_, j) => ({ Id: String(j), MessageBody: body(base + j) }));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  });
}
