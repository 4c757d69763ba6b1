// What a Job's state means for the application's record: its phase and the facts a StatusSink
// mapping can write. Pure, so the decisions are unit-tested without a cluster.
import type * as k8s from '@kubernetes/client-node';
import type { OutcomeFact, Phase, StatusMapping } from '../api/schemas.ts';
import { CONTAINER_NAME } from '../job/build-job.ts';
import { ANNOTATION_MESSAGE_ID, ANNOTATION_SENT_AT } from '../job/labels.ts';
import { failureReason, jobPhase } from './job-phase.ts';

export type Facts = {
  phase: Phase;
  jobName?: string;
  messageId?: string;
  attempts?: number;
  exitCode?: number;
  reason?: string;
  message?: string;
  result?: unknown;
  queuedAt?: Date;
  startedAt?: Date;
  finishedAt?: Date;
  durationSeconds?: number;
  updatedAt: Date;
  /** What the job last reported while running (the progress API). */
  progress?: number;
  progressStep?: string;
};


/** queued until a pod is ready, then running, then the Job controller's verdict. */
export function observedPhase(job: k8s.V1Job): Phase {
  const phase = jobPhase(job);
  if (phase !== 'active') return phase;
  return (job.status?.ready ?? 0) > 0 ? 'running' : 'queued';
}

/** The termination message is the Job's result: JSON when it parses, else the text. */
export function parseResult(message: string | undefined): unknown {
  if (message === undefined || message.trim() === '') return undefined;
  try {
    return JSON.parse(message) as unknown;
  } catch {
    return message.trim();
  }
}

/** The pod that ran last: its container's end tells the outcome. */
export function lastPod(pods: k8s.V1Pod[]): k8s.V1Pod | undefined {
  return [...pods].sort((a, b) => time(a.metadata?.creationTimestamp) - time(b.metadata?.creationTimestamp)).at(-1);
}

export function outcomeFacts(job: k8s.V1Job, pods: k8s.V1Pod[], phase: Phase, override?: { reason: string; message: string }): Facts {
  const pod = lastPod(pods);
  const container = pod?.status?.containerStatuses?.find((c) => c.name === CONTAINER_NAME) ?? pod?.status?.containerStatuses?.[0];
  const terminated = container?.state?.terminated;
  const finishedAt = phase === 'succeeded' || phase === 'failed'
    ? job.status?.completionTime ?? job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')?.lastTransitionTime ?? new Date()
    : undefined;
  const startedAt = job.status?.startTime;
  const failure = phase === 'failed' ? override ?? containerFailure(terminated) ?? { reason: failureReason(job) ?? 'Failed', message: terminated?.message ?? '' } : undefined;
  return {
    phase,
    jobName: job.metadata?.name,
    messageId: job.metadata?.annotations?.[ANNOTATION_MESSAGE_ID],
    attempts: (job.status?.succeeded ?? 0) + (job.status?.failed ?? 0) || (pods.length || undefined),
    exitCode: terminated?.exitCode,
    reason: failure?.reason,
    message: failure?.message || undefined,
    result: phase === 'succeeded' ? parseResult(terminated?.message) : undefined,
    queuedAt: asDate(job.metadata?.creationTimestamp),
    startedAt: asDate(startedAt),
    finishedAt: asDate(finishedAt),
    durationSeconds: startedAt && finishedAt ? Math.max(0, (time(finishedAt) - time(startedAt)) / 1000) : undefined,
    updatedAt: new Date(),
  };
}

/** A container killed by the kernel tells more than the Job's BackoffLimitExceeded. */
function containerFailure(terminated: k8s.V1ContainerStateTerminated | undefined): { reason: string; message: string } | undefined {
  if (terminated?.reason !== 'OOMKilled') return undefined;
  const logs = terminated.message?.trim();
  return { reason: 'OOMKilled', message: `the container exceeded its memory limit and was killed${logs ? `; last output: ${logs}` : ''}` };
}

/** The fields a write sets: the status value, mapped facts that are known, constants. */
export function sinkFields(mapping: StatusMapping, facts: Facts): Record<string, unknown> {
  // Indexing by OutcomeFact keeps Facts and the schema's list of facts in step.
  const fields: Record<string, unknown> = { ...mapping.constants, [mapping.statusField]: mapping.values[facts.phase] };
  for (const [field, fact] of Object.entries(mapping.fields ?? {})) {
    const value: unknown = facts[fact satisfies OutcomeFact];
    if (value !== undefined) fields[field] = value;
  }
  return fields;
}

/** The producer's send time, which orders writes across messages for the same record. */
export function sentAtMillis(job: k8s.V1Job): number {
  const sentAt = Date.parse(job.metadata?.annotations?.[ANNOTATION_SENT_AT] ?? '');
  return Number.isNaN(sentAt) ? time(job.metadata?.creationTimestamp) : sentAt;
}

function time(value: Date | string | undefined): number {
  return value === undefined ? 0 : new Date(value).getTime();
}

function asDate(value: Date | string | undefined): Date | undefined {
  return value === undefined ? undefined : new Date(value);
}
