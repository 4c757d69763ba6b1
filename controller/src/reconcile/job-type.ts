// JobTypes: the validated spec the dispatcher uses, and a status with the Ready condition and the
// counts of this type's Jobs that still exist (finished Jobs leave after ttlSecondsAfterFinished).
import type * as k8s from '@kubernetes/client-node';
import { API_VERSION, type JobType, type JobTypeSpec, type JobTypeStatus } from '../api/schemas.ts';
import { compileCached, type CelScope } from '../route/cel.ts';
import { parseSpec } from '../api/validate.ts';
import type { JobTypeLookup } from '../dispatch/plan.ts';
import { LABEL_JOB_TYPE } from '../job/labels.ts';
import { setCondition } from '../kube/conditions.ts';
import { EventReason as reasons } from '../kube/event-reasons.ts';
import { done, type ReconcileRequest, type ReconcileResult } from '../kube/work-queue.ts';
import { configuredChannels, forgetJobType, initJobTypeMetrics, jobsActive } from '../metrics.ts';
import type { OutcomeHealth } from '../outcome/health.ts';
import type { ObjectCache } from './cache.ts';
import { failureReason, jobPhase } from './job-phase.ts';
import type { EventSink } from './queue-binding.ts';
import type { StatusWriter } from './status-writer.ts';

/** Parses each JobType once per resourceVersion; the dispatcher asks for every message. */
export class JobTypeCatalog {
  readonly #cache: ObjectCache<JobType>;
  readonly #parsed = new Map<string, { version: string; result: ReturnType<JobTypeLookup> }>();

  constructor(cache: ObjectCache<JobType>) {
    this.#cache = cache;
  }

  readonly lookup: JobTypeLookup = (namespace, name) => {
    const stored = this.#cache.get(namespace, name);
    if (!stored) return { problem: `JobType ${name} not found` };
    const key = `${namespace}/${name}`;
    const version = `${stored.metadata.uid ?? ''}/${stored.metadata.resourceVersion ?? ''}`;
    const memo = this.#parsed.get(key);
    if (memo?.version === version) return memo.result;
    const parsed = parseSpec('JobType', stored.spec);
    const invalid = parsed.success ? expressionProblem(parsed.spec) : parsed.message;
    const result: ReturnType<JobTypeLookup> = parsed.success && !invalid
      ? { jobType: { ...stored, spec: parsed.spec } }
      : { problem: `JobType ${name} is invalid: ${invalid}` };
    this.#parsed.set(key, { version, result });
    return result;
  };
}

/** The first CEL expression of the spec that does not compile, as a condition message. */
function expressionProblem(spec: JobTypeSpec): string | undefined {
  const expressions: [string, string | undefined, CelScope][] = [
    ['statusSink.key.value', spec.statusSink?.key.value, 'message'],
    ['onSuccess.forEach', spec.onSuccess?.forEach, 'followUp'],
    ['onSuccess.body', spec.onSuccess?.body, 'followUp'],
    ['fanIn.group', spec.fanIn?.group, 'message'],
    ['fanIn.expected', spec.fanIn?.expected, 'message'],
    ['fanIn.send.body', spec.fanIn?.send.body, 'followUp'],
  ];
  for (const [field, expression, scope] of expressions) {
    if (expression === undefined) continue;
    try {
      compileCached(expression, scope);
    } catch (error) {
      return `spec.${field}: ${(error as Error).message}`;
    }
  }
  return undefined;
}

export type JobTypeDeps = {
  jobTypes: ObjectCache<JobType>;
  jobs: ObjectCache<k8s.V1Job>;
  catalog: JobTypeCatalog;
  status: StatusWriter;
  event: EventSink;
  /** Whether its Jobs' outcomes are recorded (the OutcomesHealthy condition's one source). */
  health?: OutcomeHealth;
  now?: () => Date;
};

export function jobTypeReconciler(deps: JobTypeDeps) {
  return async ({ namespace, name }: ReconcileRequest): Promise<ReconcileResult> => {
    const stored = deps.jobTypes.get(namespace!, name);
    if (!stored) {
      forgetJobType(namespace!, name);
      return done;
    }
    const found = deps.catalog.lookup(namespace!, name);
    const now = deps.now?.() ?? new Date();
    const ready = 'jobType' in found
      ? { type: 'Ready', status: 'True' as const, reason: 'Valid', message: 'usable by routes' }
      : { type: 'Ready', status: 'False' as const, reason: reasons.InvalidSpec, message: found.problem };
    if (!('jobType' in found) && stored.status?.conditions?.find((c) => c.type === 'Ready')?.message !== found.problem) {
      deps.event(stored, 'Warning', reasons.InvalidSpec, found.problem);
    }

    const counts = { active: 0, succeeded: 0, failed: 0 };
    let lastFailure: { time: number; reason: string } | undefined;
    for (const job of deps.jobs.list(namespace)) {
      if (job.metadata?.labels?.[LABEL_JOB_TYPE] !== name) continue;
      const phase = jobPhase(job);
      counts[phase] += 1;
      if (phase === 'failed') {
        const time = Date.parse(String(job.status?.completionTime ?? job.metadata?.creationTimestamp ?? 0));
        if (!lastFailure || time > lastFailure.time) lastFailure = { time, reason: failureReason(job) ?? 'Failed' };
      }
    }
    initJobTypeMetrics(namespace!, name, configuredChannels('jobType' in found ? found.jobType.spec.notifications : undefined));
    jobsActive.set({ namespace: namespace!, job_type: name }, counts.active);
    let conditions = setCondition(stored.status?.conditions, { ...ready, observedGeneration: stored.metadata.generation }, now);
    const outcomes = deps.health?.condition(namespace!, name);
    if (outcomes) conditions = setCondition(conditions, { ...outcomes, observedGeneration: stored.metadata.generation }, now);
    const status: JobTypeStatus = {
      ...stored.status,
      observedGeneration: stored.metadata.generation,
      conditions,
      ...counts,
      ...(lastFailure && { lastFailureReason: lastFailure.reason }),
    };
    await deps.status.write({ apiVersion: API_VERSION, kind: 'JobType', namespace: namespace!, name }, stored.status, status);
    return done;
  };
}
