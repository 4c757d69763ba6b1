// Prometheus metrics. Domain metrics carry the sluice_ prefix, base units and bounded labels
// (namespace, binding, job type, reason: never a message id).
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

/** Series start at 0 as soon as a binding exists, so rate() and alerts work from the first scrape. */
export function initBindingMetrics(namespace: string, binding: string): void {
  messagesReceived.inc({ namespace, binding }, 0);
  for (const operation of ['receive', 'delete', 'changeVisibility', 'deadLetter']) sqsErrors.inc({ namespace, binding, operation }, 0);
  jobCreateErrors.inc({ namespace, binding }, 0);
}
