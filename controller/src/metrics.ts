// Prometheus metrics. Domain metrics carry the sluice_ prefix, base units and bounded labels
// (namespace, binding, job type, reason: never a message id).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LeaderCallbacks } from './kube/leader-election.ts';
import type { WorkQueueMetrics } from './kube/work-queue.ts';
import { outcomeFailureReasons } from './outcome/outcome-error.ts';
import { deadLetterReasons } from './sqs/dead-letter.ts';
import controllerPackage from '../package.json' with { type: 'json' };

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** The controller package's version (the bundle carries it in: controller/build.ts). */
export const VERSION: string = controllerPackage.version;

export const buildInfo = new Gauge({
  name: 'sluice_build_info',
  help: 'Always 1, labelled with the running Sluice version.',
  labelNames: ['version'] as const,
  registers: [registry],
});
buildInfo.set({ version: VERSION }, 1);

export const messagesReceived = new Counter({
  name: 'sluice_messages_received_total',
  help: 'Messages received from SQS, redeliveries included.',
  labelNames: ['namespace', 'binding'] as const,
  registers: [registry],
});

export const messagesDispatched = new Counter({
  name: 'sluice_messages_dispatched_total',
  help: 'Messages turned into a Job (a redelivery that found its Job already there counts too).',
  labelNames: ['namespace', 'binding', 'job_type'] as const,
  registers: [registry],
});

export const messagesDeadLettered = new Counter({
  name: 'sluice_messages_dead_lettered_total',
  help: 'Messages sent to the dead-letter queue, by reason.',
  labelNames: ['namespace', 'binding', 'reason'] as const,
  registers: [registry],
});

/** Why a message went back to SQS for later. */
export const deferReasons = ['JobTypeAtCapacity', 'JobTypeUnavailable', 'NoDeadLetterQueue'] as const;
export type DeferReason = (typeof deferReasons)[number];

export const messagesDeferred = new Counter({
  name: 'sluice_messages_deferred_total',
  help: 'Messages returned to SQS for later (JobType at its concurrency limit, JobType missing, no dead-letter queue).',
  labelNames: ['namespace', 'binding', 'reason'] as const,
  registers: [registry],
});

export const sqsOperations = ['receive', 'delete', 'changeVisibility', 'deadLetter', 'attributes'] as const;

export const sqsErrors = new Counter({
  name: 'sluice_sqs_errors_total',
  help: 'Failed SQS calls, by operation.',
  labelNames: ['namespace', 'binding', 'operation'] as const,
  registers: [registry],
});

export const payloadDeleteErrors = new Counter({
  name: 'sluice_payload_delete_errors_total',
  help: 'Extended-client payloads that could not be deleted from S3 after dispatch (they stay in S3).',
  labelNames: ['namespace', 'binding'] as const,
  registers: [registry],
});

export const jobCreateErrors = new Counter({
  name: 'sluice_job_create_errors_total',
  help: 'Failed Job create calls (each retry counts).',
  labelNames: ['namespace', 'binding'] as const,
  registers: [registry],
});

export const messageToJobSeconds = new Histogram({
  name: 'sluice_message_to_job_seconds',
  help: 'From the SQS SentTimestamp of a message to its Job existing.',
  labelNames: ['namespace', 'binding'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [registry],
});

export const kubeRequests = new Counter({
  name: 'sluice_kube_requests_total',
  help: 'Requests this process made to the Kubernetes API server, by verb (get, list, watch, create, update, patch, delete) and resource (jobs, pods, queuebindings/status, …).',
  labelNames: ['verb', 'resource'] as const,
  registers: [registry],
});

export const sqsRequests = new Counter({
  name: 'sluice_sqs_requests_total',
  help: 'SQS API calls this process made (SQS bills per request), by operation (ReceiveMessage, DeleteMessageBatch, …); the SDK\'s own retries are not counted.',
  labelNames: ['operation'] as const,
  registers: [registry],
});

export const progressReports = new Counter({
  name: 'sluice_progress_reports_total',
  help: 'Progress reports from job pods, accepted (recorded) or rejected (bad token, wrong Job, finished Job, invalid, rate limited).',
  labelNames: ['namespace', 'job_type', 'result'] as const,
  registers: [registry],
});

export const outcomeTerminalErrors = new Counter({
  name: 'sluice_outcome_terminal_errors_total',
  help: 'Outcome steps that can never succeed (recorded and given up), by reason.',
  labelNames: ['namespace', 'job_type', 'reason'] as const,
  registers: [registry],
});

const queueStates = ['visible', 'in_flight', 'delayed'] as const;
export type QueueDepth = Record<(typeof queueStates)[number], number>;

export const queueMessages = new Gauge({
  name: 'sluice_queue_messages',
  help: 'Messages in the binding\'s queue from GetQueueAttributes (read every 5 s by the controller leader): visible = ApproximateNumberOfMessages (waiting), in_flight = ApproximateNumberOfMessagesNotVisible (received, not yet deleted), delayed = ApproximateNumberOfMessagesDelayed.',
  labelNames: ['namespace', 'binding', 'state'] as const,
  registers: [registry],
});

/** What GetQueueAttributes said of a binding's queue. */
export function recordQueueDepth(namespace: string, binding: string, depth: QueueDepth): void {
  for (const state of queueStates) queueMessages.set({ namespace, binding, state }, depth[state]);
}

/** The binding is gone or no longer read: no stale depth. */
export function forgetQueueDepth(namespace: string, binding: string): void {
  for (const state of queueStates) queueMessages.remove({ namespace, binding, state });
}

export const queueOldestMessageAge = new Gauge({
  name: 'sluice_queue_oldest_message_age_seconds',
  help: 'Age (receive time − SentTimestamp) of the oldest message among those this dispatcher received in the last 10 s; 0 after a receive that found the queue empty. '
    + 'SQS has no API for the oldest message (CloudWatch ApproximateAgeOfOldestMessage is the AWS-side view). Holds its value while the dispatcher does not receive (suspended, at capacity).',
  labelNames: ['namespace', 'binding'] as const,
  registers: [registry],
});

export const jobsCreated = new Counter({
  name: 'sluice_jobs_created_total',
  help: 'Jobs created by the dispatchers (a redelivery that found its Job already there does not count).',
  labelNames: ['namespace', 'job_type'] as const,
  registers: [registry],
});

export const jobResults = ['succeeded', 'failed'] as const;
export type JobResult = (typeof jobResults)[number];

export const jobsFinished = new Counter({
  name: 'sluice_jobs_finished_total',
  help: 'Jobs whose outcome the controller recorded, by the Job\'s result (a Job deleted, or failed as unschedulable, before it finished counts as failed).',
  labelNames: ['namespace', 'job_type', 'result'] as const,
  registers: [registry],
});

export const jobDuration = new Histogram({
  name: 'sluice_job_duration_seconds',
  help: 'From a Job\'s start (status.startTime) to its finish, observed once per Job when its outcome is recorded.',
  labelNames: ['namespace', 'job_type', 'result'] as const,
  buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
  registers: [registry],
});

export const jobsActive = new Gauge({
  name: 'sluice_jobs_active',
  help: 'Unfinished Jobs per JobType, from the controller\'s Job informer (compare with the JobType\'s maxConcurrency).',
  labelNames: ['namespace', 'job_type'] as const,
  registers: [registry],
});

/** A Job's outcome was recorded (once per Job). */
export function jobFinished(namespace: string, jobType: string, result: JobResult, durationSeconds: number | undefined): void {
  const labels = { namespace, job_type: jobType, result };
  jobsFinished.inc(labels);
  if (durationSeconds !== undefined) jobDuration.observe(labels, durationSeconds);
}

// Registered by the controller only (setLeader): dispatcher processes have no Lease.
const leader = new Gauge({ name: 'sluice_leader', help: '1 on the controller replica holding the leader Lease, 0 on a standby.', registers: [] });

function setLeader(leading: boolean): void {
  if (!registry.getSingleMetric('sluice_leader')) registry.registerMetric(leader);
  leader.set(leading ? 1 : 0);
}

/** The elector's callbacks, with sluice_leader 1 from taking the Lease until leading ends for any reason. */
export function withLeaderMetric(callbacks: LeaderCallbacks): LeaderCallbacks {
  setLeader(false);
  return {
    ...callbacks,
    onStartedLeading: (signal) => {
      setLeader(true);
      signal.addEventListener('abort', () => setLeader(false), { once: true });
      return callbacks.onStartedLeading(signal);
    },
  };
}

export type DispatcherMode = 'embedded' | 'deployment';

export const dispatcherInfo = new Gauge({
  name: 'sluice_dispatcher_info',
  help: '1 while a dispatcher for the binding runs in this process; mode: embedded (in the controller leader) or deployment (a `sluice dispatch` pod). count() gives the replicas.',
  labelNames: ['namespace', 'binding', 'mode'] as const,
  registers: [registry],
});

const runningDispatchers = new Map<string, number>();

/** Marks a dispatcher running in this process; call the returned function (once is enough) when it stops. */
export function dispatcherRunning(namespace: string, binding: string, mode: DispatcherMode): () => void {
  const labels = { namespace, binding, mode };
  const key = JSON.stringify([namespace, binding, mode]);
  runningDispatchers.set(key, (runningDispatchers.get(key) ?? 0) + 1);
  dispatcherInfo.set(labels, 1);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    const left = (runningDispatchers.get(key) ?? 1) - 1;
    if (left > 0) return void runningDispatchers.set(key, left);
    runningDispatchers.delete(key);
    dispatcherInfo.remove(labels);
  };
}

export const sinkWriteSeconds = new Histogram({
  name: 'sluice_sink_write_seconds',
  help: 'Writes to a StatusSink (the application\'s MongoDB, DynamoDB or PostgreSQL record), outcome and progress writes, failed ones included.',
  labelNames: ['namespace', 'sink'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const sinkWriteErrors = new Counter({
  name: 'sluice_sink_write_errors_total',
  help: 'StatusSink writes that failed (an outcome write is retried with backoff, a progress report answered 503).',
  labelNames: ['namespace', 'sink'] as const,
  registers: [registry],
});

export const notificationChannels = ['email', 'slack'] as const;
export type NotificationChannel = (typeof notificationChannels)[number];
const notificationKinds = ['failure', 'digest'] as const;

/** The channels a JobType's notifications configure. */
export function configuredChannels(config: { email?: unknown; slack?: unknown } | undefined): NotificationChannel[] {
  return notificationChannels.filter((channel) => config?.[channel] !== undefined);
}
type DeliveryLabels = 'namespace' | 'job_type' | 'channel' | 'kind';

export type NotifyCounters = {
  sent: Counter<DeliveryLabels>;
  digested: Counter<'namespace' | 'job_type' | 'channel'>;
  failed: Counter<DeliveryLabels>;
};

/** The notifier's counters; tests give their own registry. */
export function createNotifyCounters(registers: Registry[]): NotifyCounters {
  return {
    sent: new Counter({
      name: 'sluice_notifications_sent_total',
      help: 'Failure notifications delivered, per channel (email, slack) and kind (failure: one Job; digest: the rest of a rate-limit window).',
      labelNames: ['namespace', 'job_type', 'channel', 'kind'] as const,
      registers,
    }),
    digested: new Counter({
      name: 'sluice_notifications_digested_total',
      help: 'Failures held back by the rate limit (beyond maxPerWindow in digestWindowSeconds) and reported in a digest instead, per channel the digest goes to.',
      labelNames: ['namespace', 'job_type', 'channel'] as const,
      registers,
    }),
    failed: new Counter({
      name: 'sluice_notifications_failed_total',
      help: 'Failure notifications given up after retries, or dropped because the send queue was full, per channel and kind.',
      labelNames: ['namespace', 'job_type', 'channel', 'kind'] as const,
      registers,
    }),
  };
}

export const notifications = createNotifyCounters([registry]);

/**
 * Series start at 0 as soon as a binding's dispatcher exists, so rate() and alerts work from the
 * first scrape. `jobTypes`: the JobTypes its routes name.
 */
export function initBindingMetrics(namespace: string, binding: string, jobTypes: Iterable<string> = []): void {
  const labels = { namespace, binding };
  messagesReceived.inc(labels, 0);
  for (const operation of sqsOperations) sqsErrors.inc({ ...labels, operation }, 0);
  for (const reason of deadLetterReasons) messagesDeadLettered.inc({ ...labels, reason }, 0);
  for (const reason of deferReasons) messagesDeferred.inc({ ...labels, reason }, 0);
  jobCreateErrors.inc(labels, 0);
  payloadDeleteErrors.inc(labels, 0);
  messageToJobSeconds.zero(labels);
  for (const jobType of jobTypes) {
    messagesDispatched.inc({ ...labels, job_type: jobType }, 0);
    jobsCreated.inc({ namespace, job_type: jobType }, 0);
  }
}

/** Series start at 0 as soon as a JobType is seen. `channels`: where its failures are notified. */
export function initJobTypeMetrics(namespace: string, jobType: string, channels: readonly NotificationChannel[] = []): void {
  const labels = { namespace, job_type: jobType };
  for (const reason of outcomeFailureReasons) outcomeTerminalErrors.inc({ ...labels, reason }, 0);
  jobsCreated.inc(labels, 0);
  for (const result of jobResults) {
    jobsFinished.inc({ ...labels, result }, 0);
    jobDuration.zero({ ...labels, result });
  }
  for (const result of ['accepted', 'rejected']) progressReports.inc({ ...labels, result }, 0);
  for (const channel of channels) {
    notifications.digested.inc({ ...labels, channel }, 0);
    for (const kind of notificationKinds) {
      notifications.sent.inc({ ...labels, channel, kind }, 0);
      notifications.failed.inc({ ...labels, channel, kind }, 0);
    }
  }
}

/** The JobType is gone: its gauge goes with it (counters stay, as Prometheus expects). */
export function forgetJobType(namespace: string, jobType: string): void {
  jobsActive.remove({ namespace, job_type: jobType });
}

/** Series start at 0 as soon as a StatusSink is seen. */
export function initSinkMetrics(namespace: string, sink: string): void {
  sinkWriteErrors.inc({ namespace, sink }, 0);
  sinkWriteSeconds.zero({ namespace, sink });
}

// The controller machinery under the names controller-runtime uses, so existing dashboards and
// alerts for Kubernetes controllers work unchanged.
const workqueueDepth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of the work queue.', labelNames: ['name', 'controller'] as const, registers: [registry] });
const workqueueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Adds handled by the work queue.', labelNames: ['name', 'controller'] as const, registers: [registry] });
const workqueueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Retries handled by the work queue.', labelNames: ['name', 'controller'] as const, registers: [registry] });
const workqueueQueueDuration = new Histogram({
  name: 'workqueue_queue_duration_seconds', help: 'How long an item waits in the work queue before being processed.',
  labelNames: ['name', 'controller'] as const, buckets: [0.001, 0.01, 0.1, 1, 10, 100], registers: [registry],
});
const workqueueWorkDuration = new Histogram({
  name: 'workqueue_work_duration_seconds', help: 'How long processing an item takes.',
  labelNames: ['name', 'controller'] as const, buckets: [0.001, 0.01, 0.1, 1, 10, 100], registers: [registry],
});
const reconcileTotal = new Counter({
  name: 'controller_runtime_reconcile_total', help: 'Reconciles per controller and result.',
  labelNames: ['controller', 'result'] as const, registers: [registry],
});

const terminalReconcileErrors = new Counter({
  name: 'controller_runtime_terminal_reconcile_errors_total', help: 'Reconciles that ended in an error retrying cannot fix (not retried).',
  labelNames: ['controller'] as const, registers: [registry],
});

/** Hooks for a WorkQueue that feed the workqueue_* and controller_runtime_* metrics. */
export function workQueueMetrics(controller: string): WorkQueueMetrics {
  const labels = { name: controller, controller };
  for (const result of ['success', 'error', 'requeue_after'] as const) reconcileTotal.inc({ controller, result }, 0);
  workqueueAdds.inc(labels, 0);
  workqueueRetries.inc(labels, 0);
  terminalReconcileErrors.inc({ controller }, 0);
  return {
    depth: (queued) => workqueueDepth.set(labels, queued),
    added: () => workqueueAdds.inc(labels),
    queueLatency: (seconds) => workqueueQueueDuration.observe(labels, seconds),
    workDuration: (seconds) => workqueueWorkDuration.observe(labels, seconds),
    retried: () => workqueueRetries.inc(labels),
    terminal: () => terminalReconcileErrors.inc({ controller }),
    reconciled: (result) => reconcileTotal.inc({ controller, result }),
  };
}
