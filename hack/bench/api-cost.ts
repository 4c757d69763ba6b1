// Benchmark: what one message costs the API server, by verb and resource, for a succeeding Job and
// for a failing one (MongoDB status sink, dead-letter queue, SES notification), through the real
// controller on the local stack (Jobs on kwok nodes). Two views of the same run:
//   - the controller's own count of its requests (sluice_kube_requests_total), per message;
//   - the API server's apiserver_request_total, Sluice's phase minus a baseline phase in which a
//     bare loop creates the same Jobs (the Job controller, scheduler and kwok cost the same in both).
// Usage: node hack/bench/api-cost.ts [--messages 20] [--rate 5]
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SESClient, VerifyEmailIdentityCommand } from '@aws-sdk/client-ses';
import type * as k8s from '@kubernetes/client-node';
import { MongoClient } from 'mongodb';
import { parseArgs } from 'node:util';
import { jobTypeSpecSchema, type JobType } from '../../controller/src/api/schemas.ts';
import { buildJob } from '../../controller/src/job/build-job.ts';
import { FINALIZER_OUTCOME } from '../../controller/src/job/labels.ts';
import { buildSluice, connect, sleep, startController, stopProcess, untilReady } from '../lib/cluster.ts';
import { apiserverMetrics, apiserverRequests, difference, processRequests, removeBenchQueues, removeNamespaces, sumBy, table, until } from './kit.ts';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '20' }, rate: { type: 'string', default: '5' } } });
const perKind = Number(values.messages);
const rate = Number(values.rate);
const { core, batch, apply, installCrds } = connect('sluice-bench');
const sqs = new SQSClient({});
await installCrds();
await buildSluice();
const run = Date.now().toString(36);
const namespace = `bench-cost-${run}`;
const bareNamespace = `bench-cost-bare-${run}`;
const database = `bench_cost_${run}`;
const metricsPort = 18083;
for (const name of [namespace, bareNamespace]) await core.createNamespace({ body: { metadata: { name, labels: { 'sluice.dev/bench': 'true' } } } });
await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'mongo' }, stringData: { uri: process.env.MONGODB_URI! } } });
const from = 'sluice-bench@sluice.test';
await new SESClient({}).send(new VerifyEmailIdentityCommand({ EmailAddress: from }));

const statusSink = { name: 'results', table: 'results', key: { field: 'id', value: 'body.id' } };
const specs = {
  ok: { image: 'registry.invalid/work:1', ttlSecondsAfterFinished: 600, statusSink },
  bad: {
    image: 'registry.invalid/work:1', ttlSecondsAfterFinished: 600, statusSink,
    retries: { backoffLimit: 0 },
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/outcome': 'fail', 'sim.sluice.dev/exit-code': '3' } } },
    notifications: { email: { from, to: ['oncall@sluice.test'], via: 'ses', region: process.env.AWS_REGION, endpoint: process.env.AWS_ENDPOINT_URL } },
  },
};

/** Sends messages at the rate, with a body the routes (and the status key) read. */
async function send(queueUrl: string, kind: 'ok' | 'bad'): Promise<void> {
  for (let i = 0; i < perKind; i += 1) {
    const due = Date.now() + 1000 / rate;
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ id: `${kind}-${i}`, fail: kind === 'bad' }) }));
    await sleep(Math.max(0, due - Date.now()));
  }
}

const jobs = async (ns: string) => (await batch.listNamespacedJob({ namespace: ns })).items;
const finished = (job: k8s.V1Job) => job.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') ?? false;
/** Conflicts (409) and failed JSON-patch tests (422) the API server answered on Jobs. */
const jobConflicts = () => {
  const byCode = sumBy(apiserverMetrics(), 'apiserver_request_total', ['resource', 'code']);
  return (byCode.get('jobs 409') ?? 0) + (byCode.get('jobs 422') ?? 0);
};

// 1. Baseline: the same Jobs created by a bare loop, no finalizer, nothing else.
const measureBare = async (kind: 'ok' | 'bad') => {
  const jobType: JobType = { apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: kind, namespace: bareNamespace }, spec: jobTypeSpecSchema.parse(specs[kind]) };
  const before = apiserverRequests();
  for (let i = 0; i < perKind; i += 1) {
    const due = Date.now() + 1000 / rate;
    const raw = JSON.stringify({ id: `${kind}-${i}`, fail: kind === 'bad' });
    const { job } = buildJob({
      namespace: bareNamespace, binding: 'bare', queueUrl: 'bare', route: kind, messageId: `${kind}-${i}`, dedupeKey: `${kind}-${i}`,
      payload: { raw, format: 'json', bytes: raw.length },
    }, jobType);
    job.metadata!.finalizers = [];
    await batch.createNamespacedJob({ namespace: bareNamespace, body: job });
    await sleep(Math.max(0, due - Date.now()));
  }
  await until(async () => (await jobs(bareNamespace)).filter((j) => j.metadata?.labels?.['sluice.dev/job-type'] === kind).every(finished), 120_000, 500);
  await sleep(3000);
  return difference(apiserverRequests(), before);
};
const bare = { ok: await measureBare('ok'), bad: await measureBare('bad') };

// 2. Sluice: one binding routing on the body, its dead-letter queue, the sink and the notifier.
const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `bench-cost-${run}` }))).QueueUrl!;
const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `bench-cost-${run}-dlq` }))).QueueUrl!;
await apply({ apiVersion: 'sluice.dev/v1alpha1', kind: 'StatusSink', metadata: { name: 'results', namespace }, spec: { mongodb: { uriSecretRef: { name: 'mongo', key: 'uri' }, database } } } as k8s.KubernetesObject);
for (const [name, spec] of Object.entries(specs)) await apply({ apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name, namespace }, spec } as k8s.KubernetesObject);
await apply({
  apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name: 'work', namespace },
  spec: { queueUrl, deadLetter: { queueUrl: dlqUrl }, maxInFlight: 100, routes: [{ name: 'bad', when: 'body.fail', jobType: 'bad' }, { name: 'ok', when: 'true', jobType: 'ok' }] },
} as k8s.KubernetesObject);
const controller = startController({ namespace, metricsPort, logName: 'bench-cost-controller', logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn' });
const mongo = new MongoClient(process.env.MONGODB_URI!);
const records = mongo.db(database).collection<{ id: string; status: string }>('results');
await untilReady(metricsPort);
await sleep(3000); // leader elected, caches synced, the binding's dispatcher polling

const dead = async () => Number((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes?.ApproximateNumberOfMessages ?? 0);
const measureSluice = async (kind: 'ok' | 'bad') => {
  const before = { controller: await processRequests(metricsPort), apiserver: apiserverRequests(), conflicts: jobConflicts() };
  await send(queueUrl, kind);
  const status = kind === 'ok' ? 'succeeded' : 'failed';
  await until(async () => {
    const mine = (await jobs(namespace)).filter((j) => j.metadata?.labels?.['sluice.dev/job-type'] === kind);
    return mine.length === perKind && mine.every((j) => finished(j) && !j.metadata?.finalizers?.includes(FINALIZER_OUTCOME))
      && (await records.countDocuments({ status })) === perKind && (kind === 'ok' || (await dead()) === perKind);
  }, 180_000, 500);
  await sleep(3000); // the JobTypes' debounced status writes land
  return {
    controller: difference(await processRequests(metricsPort), before.controller),
    apiserver: difference(apiserverRequests(), before.apiserver),
    conflicts: jobConflicts() - before.conflicts,
  };
};
const sluice = { ok: await measureSluice('ok'), bad: await measureSluice('bad') };
await stopProcess(controller);

// Hot path: what each message's Job costs; amortized: status of the binding and JobTypes, leases, watches.
const hot = (key: string) => /^(\w+) (jobs|pods|events|secrets)\b/.test(key);
const perMessage = (value: number | undefined) => ((value ?? 0) / perKind).toFixed(2);
const apiVerb: Record<string, string> = { create: 'POST', update: 'PUT' };
const rows = (kind: 'ok' | 'bad', filter: (key: string) => boolean) => {
  const { controller: own, apiserver } = sluice[kind];
  return [...own.keys()].filter(filter).sort().map((key) => {
    const [verb, resource] = key.split(' ') as [string, string];
    const apiKey = `${apiVerb[verb] ?? verb.toUpperCase()} ${resource}`;
    const extra = (apiserver.get(apiKey) ?? 0) - (bare[kind].get(apiKey) ?? 0);
    return [key, perMessage(own.get(key)), perMessage(extra)];
  });
};
const writes = (kind: 'ok' | 'bad') => [...sluice[kind].controller.entries()]
  .filter(([key]) => hot(key) && /^(create|update|patch|delete) /.test(key)).reduce((sum, [, v]) => sum + v, 0) / perKind;
const reads = (kind: 'ok' | 'bad') => [...sluice[kind].controller.entries()]
  .filter(([key]) => hot(key) && /^(get|list) /.test(key)).reduce((sum, [, v]) => sum + v, 0) / perKind;

console.log(`\n## API cost per message (${perKind} succeeding, ${perKind} failing; ${rate} msg/s)\n`);
for (const kind of ['ok', 'bad'] as const) {
  console.log(`### ${kind === 'ok' ? 'Succeeding' : 'Failing (dead letter + SES notification)'} — hot path\n`);
  console.log(table(['request (controller\'s count)', 'per message', 'API server, minus bare baseline'], rows(kind, hot)));
  console.log(`\nwrites per message: ${writes(kind).toFixed(2)}; live reads per message: ${reads(kind).toFixed(2)}; Job conflicts (409/422) during the phase: ${sluice[kind].conflicts}\n`);
  console.log('Amortized (per binding or JobType, not per message):\n');
  console.log(table(['request', 'per message'], rows(kind, (k) => !hot(k)).map(([k, v]) => [k!, v!])));
  console.log('');
}
await removeNamespaces(batch, core, [namespace, bareNamespace]);
await mongo.db(database).dropDatabase();
await mongo.close();
await removeBenchQueues(sqs);
process.exit(0);
