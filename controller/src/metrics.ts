// Prometheus metrics. Domain metrics carry the sluice_ prefix, base units and bounded labels
// (namespace, binding, job type, reason: never a message id).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WorkQueueMetrics } from './kube/work-queue.ts';
import { outcomeFailureReasons } from './outcome/outcome-error.ts';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

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

export const messagesDeferred = new Counter({
  name: 'sluice_messages_deferred_total',
  help: 'Messages returned to SQS for later (JobType at its concurrency limit, JobType missing, no dead-letter queue).',
  labelNames: ['namespace', 'binding', 'reason'] as const,
  registers: [registry],
});

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

/** Series start at 0 as soon as a binding exists, so rate() and alerts work from the first scrape. */
export function initBindingMetrics(namespace: string, binding: string): void {
  messagesReceived.inc({ namespace, binding }, 0);
  for (const operation of ['receive', 'delete', 'changeVisibility', 'deadLetter']) sqsErrors.inc({ namespace, binding, operation }, 0);
  jobCreateErrors.inc({ namespace, binding }, 0);
  payloadDeleteErrors.inc({ namespace, binding }, 0);
}

/** Series start at 0 as soon as a JobType exists. */
export function initJobTypeMetrics(namespace: string, jobType: string): void {
  for (const reason of outcomeFailureReasons) outcomeTerminalErrors.inc({ namespace, job_type: jobType, reason }, 0);
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
