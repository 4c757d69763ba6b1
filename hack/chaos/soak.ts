// The chaos soak: "nothing lost, nothing run twice", proven under faults on the local stack.
// Messages over four bindings — successes and failures on three JobTypes with a MongoDB, a DynamoDB
// and a PostgreSQL sink, follow-ups, fan-in groups, duplicates, dedupe-key conflicts, and the hostile
// corpus — while the leading controller is SIGKILLed every few seconds (a standby takes over, the
// killed one is restarted), kube-apiserver is restarted once, and SQS and MongoDB are each stopped
// for a while. At the end it checks, and prints: exactly one Job per message, one dead letter per
// failed or bad message, every record in its final state, follow-ups and fan-in messages sent once,
// no message left in any queue, no finalizer left, and the controllers' peak RSS.
//
//   node hack/chaos/soak.ts [--messages 10000] [--kill-every 30] [--outage 30] [--rate 60]
// hack/test.sh runs a 1,000-message version through test/e2e/chaos/soak.e2e.test.ts.
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient,
  type Message, type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { HOSTILE_BINDING, HOSTILE_JOB_TYPES, hostileMessages, travelsOnSqs, type HostileMessage } from '../../controller/src/decode/hostile-messages.ts';
import { buildSluice, connect, sleep, sluiceArgs, sluiceEnv } from '../lib/cluster.ts';
import { watchNamespaceJobs } from '../lib/job-watch.ts';
import { rssMiB } from '../lib/process-stats.ts';
import { repoRoot } from '../lib/stack-env.ts';

export type SoakOptions = {
  messages: number;
  /** Seconds between SIGKILLs of the leading controller. */
  killEverySeconds: number;
  /** Seconds SQS and MongoDB are each stopped. */
  outageSeconds: number;
  /** Messages sent per second (the faults happen while they flow). */
  rate: number;
  log?: (line: string) => void;
};

export type SoakReport = {
  sent: number;
  expectedJobs: number;
  jobsCreated: number;
  /** Dedupe keys that got more than one Job (a second run), or none though they should have. */
  ranTwice: string[];
  missingJobs: string[];
  unexpectedJobs: string[];
  expectedDeadLetters: number;
  deadLetters: number;
  deadLetterProblems: string[];
  /** Dead letters recorded twice for one message (a crash between sending one and recording so); a redrive runs it once. */
  deadLetterDuplicates: number;
  recordsFinal: number;
  recordProblems: string[];
  followUpsExpected: number;
  /** Distinct follow-ups (by Sluice.DedupeKey, which makes the next binding run each once). */
  followUps: number;
  /** Follow-ups sent again after a crash between sending and recording (absorbed downstream). */
  followUpDuplicates: number;
  fanInGroups: number;
  /** Distinct fan-in messages (one per group), and repeats after a crash (their dedupe key absorbs them). */
  fanInMessages: number;
  fanInDuplicates: number;
  messagesLeft: number;
  finalizersLeft: number;
  controllerKills: number;
  peakRssMiB: number;
  seconds: number;
  /** From the last message sent to every queue empty and every finalizer gone (or giving up). */
  settleSeconds: number;
};

type Expectation =
  | { kind: 'job'; binding: string; key: string; outcome: 'succeeded' | 'failed'; record?: 'mongo' | 'dynamo' | 'postgres'; followUp?: boolean }
  | { kind: 'dead-letter'; binding: string; reason: string }
  /** A producer's second copy: nothing more than the first. */
  | { kind: 'duplicate'; binding: string };

const LEASE_SECONDS = 6;
/** The work must keep moving: no fewer messages or finalizers for this long fails the soak. */
const STALL_MS = 180_000;
const SETTLE_CAP_MS = 90 * 60_000;

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const say = options.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const { env, kubeConfig, core, batch, apply, installCrds } = connect('sluice-soak');
  const sqs = new SQSClient({});
  const s3 = new S3Client({ forcePathStyle: true });
  const dynamo = new DynamoDBClient({});
  const run = Date.now().toString(36);
  const namespace = `soak-${run}`;
  const database = `soak_${run}`;
  const interviews = `soak-interviews-${run}`;
  const courses = `soak_courses_${run}`;

  await installCrds();
  await buildSluice();
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'sluice.dev/soak': 'true' } } } });
  const queue = async (name: string) => (await sqs.send(new CreateQueueCommand({ QueueName: `${namespace}-${name}` }))).QueueUrl!;
  const q = {
    renders: await queue('renders'), interviews: await queue('interviews'), courses: await queue('courses'), hostile: await queue('hostile'),
    followUps: await queue('render-done'), fanIn: await queue('assemble'), hostileFanIn: await queue('hostile-assemble'),
    dlq: { renders: await queue('renders-dlq'), interviews: await queue('interviews-dlq'), courses: await queue('courses-dlq'), hostile: await queue('hostile-dlq') },
  };

  // The applications' stores.
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'stores' }, stringData: { mongodb: env.MONGODB_URI!, postgres: env.POSTGRES_URI! } } });
  await dynamo.send(new CreateTableCommand({
    TableName: interviews, BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'interview_id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'interview_id', AttributeType: 'S' }],
  }));
  const postgres = new pg.Client({ connectionString: env.POSTGRES_URI });
  await postgres.connect();
  await postgres.query(`CREATE TABLE ${courses} (course_id text PRIMARY KEY, status text, job text, sluice_version bigint)`);
  const mongo = new MongoClient(env.MONGODB_URI!);

  const object = (kind: string, name: string, spec: unknown) => apply({ apiVersion: 'sluice.dev/v1alpha1', kind, metadata: { name, namespace }, spec } as k8s.KubernetesObject);
  await object('StatusSink', 'mongo', { mongodb: { uriSecretRef: { name: 'stores', key: 'mongodb' }, database } });
  await object('StatusSink', 'records', { mongodb: { uriSecretRef: { name: 'stores', key: 'mongodb' }, database } });
  await object('StatusSink', 'dynamo', { dynamodb: { table: interviews, endpoint: env.AWS_ENDPOINT_URL, region: env.AWS_REGION } });
  await object('StatusSink', 'postgres', { postgres: { uriSecretRef: { name: 'stores', key: 'postgres' }, table: courses } });
  const sim = (outcome: 'succeed' | 'fail') => ({ metadata: { annotations: { 'sim.sluice.dev/outcome': outcome, 'sim.sluice.dev/duration': '300ms', 'sim.sluice.dev/exit-code': '3', 'sim.sluice.dev/message': outcome === 'succeed' ? '{"ok":true}' : 'soak: failing as asked' } } });
  const image = 'registry.invalid/soak:1';
  for (const outcome of ['succeed', 'fail'] as const) {
    const suffix = outcome === 'succeed' ? 'ok' : 'fail';
    // Renders: finished Jobs go at once (TTL 0), so a second run would find the name free.
    await object('JobType', `render-${suffix}`, {
      image, podTemplate: sim(outcome), retries: { backoffLimit: 0 }, ttlSecondsAfterFinished: 0,
      statusSink: { name: 'mongo', table: 'renders', key: { field: 'id', value: 'body.id' }, fields: { job: 'jobName' } },
      ...(outcome === 'succeed' && { onSuccess: { queueUrl: q.followUps, body: '{"rendered": body.id}' } }),
    });
    await object('JobType', `interview-${suffix}`, {
      image, podTemplate: sim(outcome), retries: { backoffLimit: 0 },
      statusSink: { name: 'dynamo', createIfMissing: false, statusField: 'state', key: { field: 'interview_id', value: 'body.id' } },
    });
    await object('JobType', `course-${suffix}`, {
      image, podTemplate: sim(outcome), retries: { backoffLimit: 0 },
      statusSink: { name: 'postgres', key: { field: 'course_id', value: 'body.id' }, versionField: 'sluice_version', fields: { job: 'jobName' } },
    });
  }
  await object('JobType', 'visual', {
    image, podTemplate: sim('succeed'),
    fanIn: { group: 'body.group', expected: 'body.total', send: { queueUrl: q.fanIn, body: '{"group": body.group}' } },
  });
  const outcomeRoutes = (prefix: string) => [
    { name: 'ok', when: 'body.outcome == "succeed"', jobType: `${prefix}-ok` },
    { name: 'fail', when: 'body.outcome == "fail"', jobType: `${prefix}-fail` },
  ];
  const binding = (name: string, spec: Record<string, unknown>) => object('QueueBinding', name, {
    receive: { waitTimeSeconds: 2, visibilityTimeoutSeconds: 15 }, maxInFlight: 400, dedupeKey: 'body.id', ...spec,
  });
  await binding('renders', { queueUrl: q.renders, deadLetter: { queueUrl: q.dlq.renders }, routes: outcomeRoutes('render') });
  await binding('interviews', {
    queueUrl: q.interviews, deadLetter: { queueUrl: q.dlq.interviews },
    routes: [{ name: 'visual', when: 'has(body.group)', jobType: 'visual' }, ...outcomeRoutes('interview')],
  });
  await binding('courses', { queueUrl: q.courses, deadLetter: { queueUrl: q.dlq.courses }, routes: outcomeRoutes('course') });
  // The hostile corpus, judged against the binding it was written for (its dedupe key is the MessageId).
  for (const [name, spec] of Object.entries(HOSTILE_JOB_TYPES)) {
    const withQueue = JSON.parse(JSON.stringify(spec).replaceAll('https://sqs.us-east-1.amazonaws.com/000000000000/assemble', q.hostileFanIn)) as Record<string, unknown>;
    await object('JobType', name, { image, podTemplate: sim('succeed'), ...withQueue });
  }
  await object('QueueBinding', 'hostile', { ...HOSTILE_BINDING, queueUrl: q.hostile, deadLetter: { queueUrl: q.dlq.hostile }, receive: { waitTimeSeconds: 2 } });

  // What will be sent, and what each message must become.
  const plan: { queue: string; entry: Omit<SendMessageBatchRequestEntry, 'Id'>; expect: Expectation }[] = [];
  const fanInGroups = Math.max(2, Math.floor(options.messages / 200));
  const perGroup = 5;
  for (let i = 0; plan.length < options.messages - fanInGroups * perGroup; i += 1) {
    const outcome = i % 7 === 3 ? 'fail' : 'succeed';
    const target = (['renders', 'interviews', 'courses'] as const)[i % 3]!;
    const id = `${target}-${i}`;
    const body = JSON.stringify({ id, outcome, n: i });
    plan.push({
      queue: q[target], entry: { MessageBody: body },
      expect: { kind: 'job', binding: target, key: id, outcome: outcome === 'succeed' ? 'succeeded' : 'failed', record: target === 'renders' ? 'mongo' : target === 'interviews' ? 'dynamo' : 'postgres', followUp: target === 'renders' && outcome === 'succeed' },
    });
    // Renders' Jobs go at once (TTL 0): a producer's later copy would run again, rightly. Elsewhere
    // a second copy is a duplicate, and the same key with other content a conflict.
    if (target === 'renders') continue;
    if (i % 50 === 7) plan.push({ queue: q[target], entry: { MessageBody: body }, expect: { kind: 'duplicate', binding: target } });
    // Not both for one key: were the conflict first, the original and its copy would both conflict.
    if (i % 97 === 11 && i % 50 !== 7) plan.push({ queue: q[target], entry: { MessageBody: JSON.stringify({ id, outcome, n: -i }) }, expect: { kind: 'dead-letter', binding: target, reason: 'DedupeKeyConflict' } });
  }
  const normalized = plan;
  for (let g = 0; g < fanInGroups; g += 1) {
    for (let m = 0; m < perGroup; m += 1) {
      const id = `visual-${g}-${m}`;
      normalized.push({ queue: q.interviews, entry: { MessageBody: JSON.stringify({ id, group: `g-${run}-${g}`, total: perGroup }) }, expect: { kind: 'job', binding: 'interviews', key: id, outcome: 'succeeded' } });
    }
  }
  const hostile = hostileMessages.filter((m) => travelsOnSqs(m) && !m.binding);
  for (const message of hostile) {
    for (const [path, content] of Object.entries(message.objects ?? {})) {
      const [bucket, ...key] = path.split('/');
      await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key.join('/'), Body: content }));
    }
    normalized.push({
      queue: q.hostile, entry: { MessageBody: message.body, ...(message.messageAttributes && { MessageAttributes: message.messageAttributes }) },
      expect: 'route' in message.expect ? { kind: 'job', binding: 'hostile', key: `hostile:${message.name}`, outcome: 'succeeded' } : { kind: 'dead-letter', binding: 'hostile', reason: message.expect.deadLetter },
    });
  }
  // Interview records exist before their messages (createIfMissing: false), as the application makes them.
  for (const p of normalized) {
    if (p.expect.kind === 'job' && p.expect.record === 'dynamo') {
      await dynamo.send(new PutItemCommand({ TableName: interviews, Item: { interview_id: { S: p.expect.key }, state: { S: 'uploaded' } } }));
    }
  }
  shuffle(normalized);
  say(`soak ${namespace}: ${normalized.length} messages (${hostile.length} hostile, ${fanInGroups} fan-in groups of ${perGroup})`);

  // Every Job ever created in the namespace, by name: a name created twice ran twice.
  const uidsByName = new Map<string, Set<string>>();
  const jobsByName = new Map<string, k8s.V1Job>();
  const watch = watchNamespaceJobs(kubeConfig, namespace, (job, type) => {
    if (type === 'DELETED') return;
    const name = job.metadata!.name!;
    let uids = uidsByName.get(name);
    if (!uids) uidsByName.set(name, (uids = new Set()));
    uids.add(job.metadata!.uid!);
    jobsByName.set(name, job);
  });

  // Two controllers; the leader dies now and then.
  const controllers = new Map<number, ChildProcess>();
  let peakRss = 0;
  const startOne = (slot: number) => {
    const log = openSync(resolve(repoRoot, `.local/logs/soak-controller-${slot}.log`), 'a');
    const child = spawn(process.execPath, sluiceArgs([
      'controller', '--namespace', namespace, '--lease-namespace', namespace,
      '--lease-duration', String(LEASE_SECONDS), '--identity', `soak-${slot}-${Date.now()}`, '--metrics-bind-address', '127.0.0.1:0',
      '--progress-bind-address', '', '--progress-url', '',
    ]), { stdio: ['ignore', log, log], env: sluiceEnv({ LOG_LEVEL: 'info' }) });
    controllers.set(slot, child);
  };
  startOne(0);
  startOne(1);
  const rssTimer = setInterval(() => {
    for (const child of controllers.values()) peakRss = Math.max(peakRss, rssMiB(child.pid));
  }, 1000);
  const leaderSlot = async (): Promise<number | undefined> => {
    const lease = await kubeConfig.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ namespace, name: 'sluice-controller' }).catch(() => undefined);
    const holder = lease?.spec?.holderIdentity ?? '';
    return /^soak-(\d)-/.exec(holder) ? Number(/^soak-(\d)-/.exec(holder)![1]) : undefined;
  };
  let kills = 0;
  let stopping = false;
  const killer = (async () => {
    while (!stopping) {
      await sleep(options.killEverySeconds * 1000);
      if (stopping) break;
      const slot = await leaderSlot();
      if (slot === undefined) continue;
      controllers.get(slot)?.kill('SIGKILL');
      kills += 1;
      await sleep(1000);
      startOne(slot);
    }
  })();
  // A controller that exited on its own (lost its lease in an outage) comes back too, as a Deployment's would.
  const keeper = setInterval(() => {
    for (const [slot, child] of controllers) if (child.exitCode !== null && !stopping) startOne(slot);
  }, 2000);

  // The faults, timed against the sending; then send at the rate, retrying while SQS is away (as a producer does).
  const sendStart = Date.now();
  const hack = (script: string, ...args: string[]) => execFileSync('bash', [resolve(repoRoot, 'hack', script), ...args], { stdio: 'ignore', timeout: 120_000 });
  const totalSeconds = normalized.length / options.rate;
  const faults = (async () => {
    const at = (fraction: number) => sleep(Math.max(0, sendStart + fraction * totalSeconds * 1000 - Date.now()));
    await at(0.25);
    say('fault: kube-apiserver restart');
    hack('local-down.sh', 'kube-apiserver');
    await sleep(3000);
    hack('local-up.sh');
    await at(0.45);
    say(`fault: SQS down for ${options.outageSeconds}s`);
    hack('local-down.sh', 'sqs');
    await sleep(options.outageSeconds * 1000);
    hack('local-up.sh');
    await at(0.7);
    say(`fault: MongoDB down for ${options.outageSeconds}s`);
    hack('local-down.sh', 'mongo');
    await sleep(options.outageSeconds * 1000);
    hack('local-up.sh');
  })();

  let sent = 0;
  for (let i = 0; i < normalized.length; i += 10) {
    const chunk = normalized.slice(i, i + 10);
    const byQueue = new Map<string, typeof chunk>();
    for (const p of chunk) byQueue.set(p.queue, [...(byQueue.get(p.queue) ?? []), p]);
    for (const [queueUrl, entries] of byQueue) {
      let pending = entries.map((p, j) => ({ Id: String(j), ...p.entry }));
      while (pending.length) {
        try {
          const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
          sent += result.Successful?.length ?? 0;
          const failed = new Set((result.Failed ?? []).map((f) => f.Id));
          pending = pending.filter((e) => failed.has(e.Id));
        } catch {
          await sleep(1000);
        }
      }
    }
    await sleep(Math.max(0, sendStart + ((i + 10) / options.rate) * 1000 - Date.now()));
  }
  const sendEnd = Date.now();
  say(`sent ${sent} in ${Math.round((sendEnd - sendStart) / 1000)}s; waiting for the faults and the work to finish`);
  await faults;

  // Settle: every source queue empty and no Job holding Sluice's finalizer, for a while.
  const sources = [q.renders, q.interviews, q.courses, q.hostile];
  const depthOf = async (queueUrl: string) => {
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
    return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0);
  };
  const finalizers = async () => (await batch.listNamespacedJob({ namespace })).items.filter((j) => j.metadata?.finalizers?.includes('sluice.dev/outcome')).length;
  // The work takes as long as it takes under a kill every few seconds: wait while it progresses,
  // and give up only when nothing moved for STALL_MS (or at the hard cap), which the judging reports.
  let quietSince = 0;
  let fewestBusy = Number.POSITIVE_INFINITY;
  let progressedAt = Date.now();
  let reportedAt = Date.now();
  const cap = Date.now() + SETTLE_CAP_MS;
  while (Date.now() < cap && Date.now() - progressedAt < STALL_MS) {
    const messages = (await Promise.all(sources.map(depthOf))).reduce((a, b) => a + b, 0);
    const held = await finalizers();
    const busy = messages + held;
    if (busy < fewestBusy) {
      fewestBusy = busy;
      progressedAt = Date.now();
    }
    if (Date.now() - reportedAt >= 30_000) {
      say(`settling: ${messages} messages in the source queues, ${held} Jobs holding the finalizer, ${uidsByName.size} Jobs seen, ${kills} controller kills`);
      reportedAt = Date.now();
    }
    if (busy === 0) {
      quietSince ||= Date.now();
      if (Date.now() - quietSince > 10_000) break;
    } else {
      quietSince = 0;
    }
    await sleep(1000);
  }
  const settleSeconds = Math.round((Date.now() - sendEnd) / 1000);
  stopping = true;
  clearInterval(keeper);
  await killer;
  for (const child of controllers.values()) child.kill('SIGTERM');
  await sleep(2000);
  clearInterval(rssTimer);
  watch.stop();

  // Judge.
  const listed = (await batch.listNamespacedJob({ namespace })).items;
  for (const job of listed) {
    const name = job.metadata!.name!;
    if (!uidsByName.has(name)) uidsByName.set(name, new Set([job.metadata!.uid!]));
    jobsByName.set(name, job);
  }
  const keyOf = (job: k8s.V1Job) => job.metadata?.annotations?.['sluice.dev/dedupe-key'] ?? '';
  const jobsByKey = new Map<string, { names: Set<string>; runs: number }>();
  for (const [name, uids] of uidsByName) {
    const job = jobsByName.get(name)!;
    const key = `${job.metadata?.labels?.['sluice.dev/binding']}/${keyOf(job)}`;
    const entry = jobsByKey.get(key) ?? { names: new Set(), runs: 0 };
    entry.names.add(name);
    entry.runs += uids.size;
    jobsByKey.set(key, entry);
  }
  const hostileJobs = [...jobsByKey.keys()].filter((k) => k.startsWith('hostile/')).length;
  const jobExpectations = normalized.filter((p) => p.expect.kind === 'job').map((p) => p.expect as Extract<Expectation, { kind: 'job' }>);
  const uniqueJobKeys = new Set(jobExpectations.filter((e) => e.binding !== 'hostile').map((e) => `${e.binding}/${e.key}`));
  const hostileExpectedJobs = jobExpectations.filter((e) => e.binding === 'hostile').length;
  const ranTwice = [...jobsByKey].filter(([, v]) => v.runs > 1).map(([k, v]) => `${k} (${v.runs} runs)`);
  const missingJobs = [...uniqueJobKeys].filter((k) => !jobsByKey.has(k));
  const unexpectedJobs = [...jobsByKey.keys()].filter((k) => !k.startsWith('hostile/') && !uniqueJobKeys.has(k));
  if (hostileJobs !== hostileExpectedJobs) missingJobs.push(`hostile: ${hostileJobs} Jobs for ${hostileExpectedJobs} routable messages`);

  // Dead letters: one per failed Job and per bad message, with the reason expected.
  const deadLetters = (await Promise.all(Object.values(q.dlq).map(drain))).flat();
  const deadLetterProblems: string[] = [];
  // A crash between sending a dead letter and recording so sends it again: at least once, with the
  // source message id that makes a redrive run it once. Count each message once, and the repeats.
  const bySource = new Map<string, Message>();
  for (const m of deadLetters) bySource.set(m.MessageAttributes?.['Sluice.SourceMessageId']?.StringValue ?? m.MessageId!, m);
  const deadLetterDuplicates = deadLetters.length - bySource.size;
  const reasons = (binding: string) => [...bySource.values()].filter((m) => m.MessageAttributes?.['Sluice.Binding']?.StringValue === binding).map((m) => m.MessageAttributes?.['Sluice.Reason']?.StringValue ?? '?');
  const expectedDeadLetters: Record<string, Record<string, number>> = {};
  for (const p of normalized) {
    const bindingName = p.expect.binding;
    const reason = p.expect.kind === 'job' ? (p.expect.outcome === 'failed' ? 'JobFailed' : undefined) : p.expect.kind === 'dead-letter' ? p.expect.reason : undefined;
    if (!reason) continue;
    expectedDeadLetters[bindingName] ??= {};
    expectedDeadLetters[bindingName][reason] = (expectedDeadLetters[bindingName][reason] ?? 0) + 1;
  }
  for (const bindingName of ['renders', 'interviews', 'courses', 'hostile']) {
    const got = count(reasons(bindingName));
    const want = expectedDeadLetters[bindingName] ?? {};
    for (const reason of new Set([...Object.keys(got), ...Object.keys(want)])) {
      if ((got[reason] ?? 0) !== (want[reason] ?? 0)) deadLetterProblems.push(`${bindingName} ${reason}: ${got[reason] ?? 0} dead letters, expected ${want[reason] ?? 0}`);
    }
  }

  // Records in their final state.
  const recordProblems: string[] = [];
  let recordsFinal = 0;
  const renders = mongo.db(database).collection('renders');
  for (const e of jobExpectations) {
    if (!e.record) continue;
    let status: string | undefined;
    if (e.record === 'mongo') status = (await renders.findOne({ id: e.key }))?.status as string | undefined;
    if (e.record === 'dynamo') status = (await dynamo.send(new GetItemCommand({ TableName: interviews, Key: { interview_id: { S: e.key } } }))).Item?.state?.S;
    if (e.record === 'postgres') status = (await postgres.query<{ status: string }>(`SELECT status FROM ${courses} WHERE course_id = $1`, [e.key])).rows[0]?.status;
    if (status === e.outcome) recordsFinal += 1;
    else if (recordProblems.length < 20) recordProblems.push(`${e.record} ${e.key}: ${status ?? 'missing'}, expected ${e.outcome}`);
  }

  const followUpMessages = await drain(q.followUps);
  const followUpKeys = followUpMessages.map((m) => m.MessageAttributes?.['Sluice.DedupeKey']?.StringValue ?? '');
  const fanInMessages = await drain(q.fanIn);
  const report: SoakReport = {
    sent,
    expectedJobs: uniqueJobKeys.size + hostileExpectedJobs,
    jobsCreated: [...uidsByName.values()].reduce((sum, uids) => sum + uids.size, 0),
    ranTwice,
    missingJobs,
    unexpectedJobs,
    expectedDeadLetters: Object.values(expectedDeadLetters).flatMap((r) => Object.values(r)).reduce((a, b) => a + b, 0),
    deadLetters: bySource.size,
    deadLetterProblems,
    deadLetterDuplicates,
    recordsFinal,
    recordProblems,
    followUpsExpected: jobExpectations.filter((e) => e.followUp).length,
    followUps: new Set(followUpKeys).size,
    followUpDuplicates: followUpKeys.length - new Set(followUpKeys).size,
    fanInGroups,
    fanInMessages: new Set(fanInMessages.map((m) => m.Body)).size,
    fanInDuplicates: fanInMessages.length - new Set(fanInMessages.map((m) => m.Body)).size,
    messagesLeft: (await Promise.all(sources.map(depthOf))).reduce((a, b) => a + b, 0),
    finalizersLeft: await finalizers(),
    controllerKills: kills,
    peakRssMiB: Math.round(peakRss),
    seconds: Math.round((Date.now() - started) / 1000),
    settleSeconds,
  };

  // Let the namespace go: nothing should hold a finalizer, but a failed soak may leave some.
  for (const job of listed) {
    if (job.metadata?.finalizers?.length) {
      await batch.patchNamespacedJob({ namespace, name: job.metadata.name!, body: { metadata: { finalizers: null } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)).catch(() => undefined);
    }
  }
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  await mongo.close();
  await postgres.end();
  return report;

  async function drain(queueUrl: string): Promise<Message[]> {
    const all: Message[] = [];
    for (let empty = 0; empty < 2;) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'], VisibilityTimeout: 600 }));
      if (!Messages.length) { empty += 1; continue; }
      all.push(...Messages);
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    }
    return all;
  }
}

/** Is the soak's verdict a pass? Every promise held. */
export function failures(report: SoakReport): string[] {
  const problems: string[] = [];
  if (report.ranTwice.length) problems.push(`ran twice: ${report.ranTwice.slice(0, 10).join(', ')}`);
  if (report.missingJobs.length) problems.push(`no Job: ${report.missingJobs.slice(0, 10).join(', ')}`);
  if (report.unexpectedJobs.length) problems.push(`unexpected Jobs: ${report.unexpectedJobs.slice(0, 10).join(', ')}`);
  if (report.deadLetterProblems.length) problems.push(...report.deadLetterProblems.slice(0, 10));
  if (report.recordProblems.length) problems.push(...report.recordProblems.slice(0, 10));
  if (report.followUps !== report.followUpsExpected) problems.push(`${report.followUps} follow-ups for ${report.followUpsExpected} successful renders`);

  if (report.fanInMessages !== report.fanInGroups) problems.push(`${report.fanInMessages} fan-in messages for ${report.fanInGroups} groups`);
  if (report.messagesLeft) problems.push(`${report.messagesLeft} messages left in the queues`);
  if (report.finalizersLeft) problems.push(`${report.finalizersLeft} finalizers left`);
  return problems;
}


function count(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

export type { HostileMessage };

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: {
    messages: { type: 'string', default: '10000' }, 'kill-every': { type: 'string', default: '30' },
    outage: { type: 'string', default: '30' }, rate: { type: 'string', default: '60' },
  } });
  const report = await runSoak({ messages: Number(values.messages), killEverySeconds: Number(values['kill-every']), outageSeconds: Number(values.outage), rate: Number(values.rate) });
  console.log(JSON.stringify(report, null, 2));
  const problems = failures(report);
  console.log(problems.length ? `SOAK FAILED:\n- ${problems.join('\n- ')}` : 'soak passed: nothing lost, nothing run twice');
  process.exit(problems.length ? 1 : 0);
}
