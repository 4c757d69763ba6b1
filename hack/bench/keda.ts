// Benchmark: Sluice against KEDA's ScaledJob (aws-sqs-queue trigger) and against a bare loop, on
// the same local stack in one run, each with its own queue and namespace, the same pod template on
// kwok nodes (each pod "runs" 500 ms), the same arrivals: a Poisson trickle, then a burst.
//   bare         this process: long-poll receive → create Job → delete, no routing or bookkeeping
//   sluice       `sluice controller` (one binding, one route)
//   keda-default ScaledJob at KEDA's defaults (pollingInterval 30 s, queueLength 5, maxReplicaCount 100)
//   keda-tuned   pollingInterval 1 s, queueLength 1, scalingStrategy accurate, maxReplicaCount = the burst
// On kwok no container consumes a message, so for KEDA this process does what a ScaledJob's pod
// would do first: when it sees a new Job it receives one message and deletes it (a Job that finds
// none is an excess Job). Sluice and the bare loop delete the message themselves once the Job exists.
// Latency is message SentTimestamp → the Job first seen by a watch here, for all four.
// Usage: node hack/bench/keda.ts [--rate 5] [--seconds 120] [--burst 1000] [--burst-deadline 180]
//                                [--scenarios bare,sluice,keda-default,keda-tuned]
import {
  CreateQueueCommand, DeleteMessageBatchCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand,
  SendMessageCommand, SQSClient,
} from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { jobTypeSpecSchema, type JobType } from '../../controller/src/api/schemas.ts';
import { buildJob } from '../../controller/src/job/build-job.ts';
import { jsonBatchApi } from '../../controller/src/kube/json-request.ts';
import { buildSluice, connect, sleep, startController, stopProcess, untilReady } from '../lib/cluster.ts';
import { apiserverRequests, atArrivals, cpuSeconds, difference, ms, pidOf, poissonGaps, ratio, removeBenchQueues, removeNamespaces, sendInBatches, stats, type Stats, table, until, watchJobs } from './kit.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '120' },
    burst: { type: 'string', default: '1000' },
    'burst-deadline': { type: 'string', default: '180' },
    scenarios: { type: 'string', default: 'bare,sluice,keda-default,keda-tuned' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const burst = Number(values.burst);
const burstDeadlineMs = Number(values['burst-deadline']) * 1000;
const scenarios = values.scenarios.split(',') as Scenario[];
type Scenario = 'bare' | 'sluice' | 'keda-default' | 'keda-tuned';

const { kubeConfig, core, batch, apply, installCrds } = connect('sluice-bench');
// The bare loop creates through the same plain-JSON calls as the controller: a ceiling pays no client overhead Sluice does not.
const bareJobs = jsonBatchApi(kubeConfig);
const objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
const sqs = new SQSClient({});
await installCrds();
await buildSluice();
const run = Date.now().toString(36);
const image = 'registry.invalid/work:1';
/** KEDA runs in its own network namespace beside the exec node: it reaches the stack at the node address. */
const fromKeda = (url: string) => url.replace('127.0.0.1', process.env.SLUICE_NODE_IP!);
const kedaPid = pidOf('/bin/keda --');

type Phase = { latencies: number[]; jobs: number; excess: number; left: number; seconds: number };
type Result = { trickle: Phase; burst: Phase; requests: Map<string, number>; cpu: number | undefined };

/** Sends the trickle at Poisson arrivals, then the burst as fast as SQS takes it; both tagged by phase. */
async function sendTrickle(queueUrl: string): Promise<number> {
  const gaps = poissonGaps(rate, seconds);
  await atArrivals(gaps, async (i) => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ phase: 'trickle', i }) }));
  });
  return gaps.length;
}
const sendBurst = (queueUrl: string) => sendInBatches(sqs, queueUrl, burst, (i) => JSON.stringify({ phase: 'burst', i }));

const queueDepth = async (queueUrl: string) => {
  const { Attributes: a } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(a?.ApproximateNumberOfMessages ?? 0) + Number(a?.ApproximateNumberOfMessagesNotVisible ?? 0);
};

/** What each scenario's Jobs tell: the phase and send time of the message each one carries or consumed. */
type Observed = { phase: string; sentAt: number; seenAt: number } | { excess: true; seenAt: number };

async function setUp(scenario: Scenario) {
  const namespace = `bench-${scenario}-${run}`;
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'sluice.dev/bench': 'true' } } } });
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-${scenario}-${run}` }));
  return { namespace, queueUrl: queueUrl! };
}

const jobTypeSpec = { image, ttlSecondsAfterFinished: 600 };

/** Starts the scenario's consumer; returns how to stop it and the pid whose CPU is counted. */
async function startConsumer(scenario: Scenario, namespace: string, queueUrl: string): Promise<{ stop: () => Promise<void>; pid?: number }> {
  if (scenario === 'bare') {
    const jobType: JobType = { apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'work', namespace }, spec: jobTypeSpecSchema.parse(jobTypeSpec) };
    let stopped = false;
    const loops = Array.from({ length: 4 }, async () => {
      while (!stopped) {
        const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['SentTimestamp'] }));
        await Promise.all(messages.map(async (message) => {
          const raw = message.Body!;
          const { job } = buildJob({
            namespace, binding: 'bare', queueUrl, route: 'all', messageId: message.MessageId!, dedupeKey: message.MessageId!,
            payload: { raw, format: 'json', bytes: raw.length },
          }, jobType);
          job.metadata!.finalizers = [];
          job.metadata!.annotations = { ...job.metadata!.annotations, 'bench.sluice.dev/sent-at': message.Attributes!.SentTimestamp! };
          await bareJobs.createNamespacedJob({ namespace, body: job });
        }));
        if (messages.length > 0) {
          await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
        }
      }
    });
    return { stop: async () => { stopped = true; await Promise.all(loops); }, pid: process.pid };
  }
  if (scenario === 'sluice') {
    await apply({ apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'work', namespace }, spec: jobTypeSpec } as k8s.KubernetesObject);
    await apply({
      apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name: 'work', namespace },
      spec: { queueUrl, maxInFlight: burst * 2, routes: [{ name: 'all', when: 'true', jobType: 'work' }] },
    } as k8s.KubernetesObject);
    const controller: ChildProcess = startController({ namespace, metricsPort: 18084, logName: `bench-keda-sluice`, logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn' });
    await untilReady(18084);
    await sleep(3000);
    return {
      stop: () => stopProcess(controller),
      ...(controller.pid !== undefined && { pid: controller.pid }),
    };
  }
  const tuned = scenario === 'keda-tuned';
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'aws' }, stringData: { id: process.env.AWS_ACCESS_KEY_ID!, secret: process.env.AWS_SECRET_ACCESS_KEY! } } });
  await objects.create({
    apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name: 'aws', namespace },
    spec: { secretTargetRef: [{ parameter: 'awsAccessKeyID', name: 'aws', key: 'id' }, { parameter: 'awsSecretAccessKey', name: 'aws', key: 'secret' }] },
  } as k8s.KubernetesObject);
  // The same pod as Sluice's Jobs get (minus Sluice's own labels, env and payload annotation).
  const template = buildJob({
    namespace, binding: 'keda', queueUrl, route: 'all', messageId: 'm', dedupeKey: 'm', payload: { raw: '{}', format: 'json', bytes: 2 },
  }, { apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'work', namespace }, spec: jobTypeSpecSchema.parse(jobTypeSpec) }).job.spec!.template;
  await objects.create({
    apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledJob', metadata: { name: 'work', namespace },
    spec: {
      jobTargetRef: { backoffLimit: 2, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image, resources: template.spec!.containers[0]!.resources }] } } },
      ...(tuned && { pollingInterval: 1, maxReplicaCount: burst, scalingStrategy: { strategy: 'accurate' } }),
      triggers: [{
        type: 'aws-sqs-queue',
        authenticationRef: { name: 'aws' },
        metadata: {
          queueURL: fromKeda(queueUrl), awsRegion: process.env.AWS_REGION ?? 'us-east-1', awsEndpoint: fromKeda(process.env.AWS_ENDPOINT_URL_SQS!),
          ...(tuned && { queueLength: '1' }),
        },
      }],
    },
  } as k8s.KubernetesObject);
  return { stop: () => Promise.resolve(), ...(kedaPid !== undefined && { pid: kedaPid }) };
}

async function measure(scenario: Scenario): Promise<Result> {
  const { namespace, queueUrl } = await setUp(scenario);
  const observed: Observed[] = [];
  const consumed: Promise<void>[] = [];
  const watch = await watchJobs(kubeConfig, namespace, ({ at, job }) => {
    const annotations = job.metadata?.annotations ?? {};
    const sent = annotations['sluice.dev/sent-at'] ?? annotations['bench.sluice.dev/sent-at'];
    if (sent !== undefined) {
      const payload = job.spec?.template.metadata?.annotations?.['sluice.dev/payload'] ?? '{}';
      const phase = (JSON.parse(payload) as { phase?: string }).phase ?? 'unknown';
      observed.push({ phase, sentAt: /^\d+$/.test(sent) ? Number(sent) : Date.parse(sent), seenAt: at });
      return;
    }
    // A KEDA Job: consume one message for it, as its pod would.
    consumed.push((async () => {
      const { Messages: [message] = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['SentTimestamp'] }));
      if (!message) { observed.push({ excess: true, seenAt: at }); return; }
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
      observed.push({ phase: (JSON.parse(message.Body!) as { phase: string }).phase, sentAt: Number(message.Attributes!.SentTimestamp), seenAt: at });
    })());
  });
  const consumer = await startConsumer(scenario, namespace, queueUrl);
  const cpuBefore = consumer.pid ? cpuSeconds(consumer.pid) : undefined;
  const requestsBefore = apiserverRequests();
  const count = (phase: string) => observed.filter((o) => 'phase' in o && o.phase === phase).length;

  const trickleStart = Date.now();
  const trickleSent = await sendTrickle(queueUrl);
  // A polling interval after the last arrival, and then some, for the trickle to be taken.
  await until(() => count('trickle') >= trickleSent, scenario === 'keda-default' ? 75_000 : 20_000);
  const trickleSeconds = (Date.now() - trickleStart) / 1000;
  const trickleLeft = await queueDepth(queueUrl);

  const burstStart = Date.now();
  await sendBurst(queueUrl);
  await until(() => count('burst') >= burst, burstDeadlineMs, 100);
  const lastBurst = Math.max(burstStart, ...observed.filter((o) => 'phase' in o && o.phase === 'burst').map((o) => o.seenAt));
  await sleep(2000);
  await Promise.all(consumed);
  const burstLeft = await queueDepth(queueUrl);
  const cpu = consumer.pid && cpuBefore !== undefined ? cpuSeconds(consumer.pid) - cpuBefore : undefined;
  const requests = difference(apiserverRequests(), requestsBefore);
  await consumer.stop();
  watch.stop();

  const phase = (name: string, left: number, elapsed: number): Phase => {
    const mine = observed.filter((o): o is Extract<Observed, { phase: string }> => 'phase' in o && o.phase === name);
    const excess = observed.filter((o) => 'excess' in o && (name === 'burst' ? o.seenAt >= burstStart : o.seenAt < burstStart)).length;
    return { latencies: mine.map((o) => o.seenAt - o.sentAt), jobs: mine.length + excess, excess, left, seconds: elapsed };
  };
  const result = {
    trickle: phase('trickle', trickleLeft, trickleSeconds),
    burst: phase('burst', burstLeft, (lastBurst - burstStart) / 1000),
    requests,
    cpu,
  };
  await removeNamespaces(batch, core, [namespace]);
  await until(async () => !(await core.listNamespace()).items.some((n) => n.metadata?.name === namespace), 180_000, 1000);
  return result;
}

const results = new Map<Scenario, Result>();
for (const scenario of scenarios) {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${scenario} …`);
  results.set(scenario, await measure(scenario));
}

const floor = results.get('bare');
const latencyRow = (scenario: Scenario, p: 'trickle' | 'burst') => {
  const r = results.get(scenario)!;
  const s: Stats = stats(r[p].latencies);
  const base = floor ? stats(floor[p].latencies) : undefined;
  return [scenario, s.n, ms(s.median), ms(s.p90), ms(s.p99), ms(s.max),
    base ? ratio(s.median, base.median) : '–', base ? ratio(s.p99, base.p99) : '–', r[p].excess, r[p].left];
};
console.log(`\n## Message → Job, trickle (Poisson ${rate} msg/s for ${seconds} s)\n`);
console.log(table(['scenario', 'messages', 'median', 'p90', 'p99', 'max', 'median / bare', 'p99 / bare', 'excess Jobs', 'messages left'], scenarios.map((s) => latencyRow(s, 'trickle'))));
console.log(`\n## Message → Job, burst (${burst} messages at once; deadline ${burstDeadlineMs / 1000} s)\n`);
console.log(table(['scenario', 'messages', 'median', 'p90', 'p99', 'max', 'median / bare', 'p99 / bare', 'excess Jobs', 'messages left'], scenarios.map((s) => latencyRow(s, 'burst'))));
console.log('\n## Burst throughput (first send → last Job seen)\n');
console.log(table(['scenario', 'Jobs', 'seconds', 'Jobs/s', 'vs bare'], scenarios.map((s) => {
  const b = results.get(s)!.burst;
  const perSecond = b.latencies.length / b.seconds;
  return [s, b.latencies.length, b.seconds.toFixed(1), perSecond.toFixed(0), floor ? ratio(perSecond, floor.burst.latencies.length / floor.burst.seconds) : '–'];
})));
const groups: [string, RegExp][] = [
  ['POST jobs', /^POST jobs$/], ['GET+LIST jobs', /^(GET|LIST) jobs$/], ['PATCH/PUT jobs', /^(PATCH|PUT) jobs$/], ['DELETE jobs', /^DELETE jobs$/],
  ['jobs/status', /^\w+ jobs\/status$/], ['pods', /^\w+ pods(\/.*)?$/], ['events', /^\w+ events$/], ['leases', /^\w+ leases$/],
  ['KEDA objects', /^\w+ (scaledjobs|scaledobjects|triggerauthentications|clustertriggerauthentications)(\/.*)?$/],
  ['Sluice objects', /^\w+ (queuebindings|jobtypes|statussinks)(\/.*)?$/], ['all', /./],
];
console.log('\n## API server requests during the scenario (trickle + burst; all clients: the Job controller, scheduler and kwok too)\n');
console.log(table(['requests', ...scenarios], groups.map(([label, pattern]) => [label, ...scenarios.map((s) =>
  [...results.get(s)!.requests.entries()].filter(([key]) => pattern.test(key)).reduce((sum, [, v]) => sum + v, 0).toFixed(0))])));
console.log('\n## CPU seconds of the consumer (bare: this benchmark process, which also watches and sends; KEDA: the operator)\n');
console.log(table(['scenario', 'CPU s', 'per 1000 messages'], scenarios.map((s) => {
  const r = results.get(s)!;
  const handled = r.trickle.latencies.length + r.burst.latencies.length;
  return [s, r.cpu?.toFixed(1) ?? '–', r.cpu !== undefined && handled > 0 ? (r.cpu / handled * 1000).toFixed(1) : '–'];
})));
await removeBenchQueues(sqs);
process.exit(0);
