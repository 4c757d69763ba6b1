// Where a Job Sluice created stands, read from its conditions (the Job controller's verdict).
import type * as k8s from '@kubernetes/client-node';
import { FINALIZER_OUTCOME, LABEL_BINDING, LABEL_JOB_TYPE, LABEL_MESSAGE_GROUP, LABEL_DISPATCHER } from '../job/labels.ts';

export type JobPhase = 'active' | 'succeeded' | 'failed';

export function jobPhase(job: k8s.V1Job): JobPhase {
  const conditions = job.status?.conditions ?? [];
  const holds = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  if (holds('Complete')) return 'succeeded';
  if (holds('Failed')) return 'failed';
  return 'active';
}

/** The reason the Job controller gave for a failure (BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy, …). */
export function failureReason(job: k8s.V1Job): string | undefined {
  return job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')?.reason;
}

export function hasOutcomeFinalizer(job: k8s.V1Job): boolean {
  return job.metadata?.finalizers?.includes(FINALIZER_OUTCOME) ?? false;
}

export function jobIdentity(job: k8s.V1Job): { namespace: string; name: string; binding: string; jobType: string; group?: string; dispatcher?: string } {
  const group = job.metadata?.labels?.[LABEL_MESSAGE_GROUP];
  const dispatcher = job.metadata?.labels?.[LABEL_DISPATCHER];
  return {
    namespace: job.metadata!.namespace!,
    name: job.metadata!.name!,
    binding: job.metadata?.labels?.[LABEL_BINDING] ?? '',
    jobType: job.metadata?.labels?.[LABEL_JOB_TYPE] ?? '',
    ...(group !== undefined && { group }),
    ...(dispatcher !== undefined && { dispatcher }),
  };
}
