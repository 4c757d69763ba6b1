// A running Job's progress report: a percentage and the current step, written into the
// application's record while the Job runs (the `progress` and `progressStep` facts of the JobType's
// statusSink mapping). The reporter is identified by its pod's token, never by what it claims: the
// Job is the token's pod's owner, a report naming another Job is refused, and so is one for a Job
// that finished. Writes carry a version between `running` and the final phases, so the record only
// moves forward and a report that races the outcome can never overwrite it.
import type * as k8s from '@kubernetes/client-node';
import { z } from 'zod';
import type { JobType } from '../api/schemas.ts';
import { ANNOTATION_STATUS_KEY, FINALIZER_OUTCOME, LABEL_JOB_TYPE, LABEL_MANAGED_BY, MANAGED_BY } from '../job/labels.ts';
import * as metrics from '../metrics.ts';
import { jobPhase } from '../reconcile/job-phase.ts';
import { outcomeFacts, sentAtMillis, sinkFields } from '../reconcile/outcome-facts.ts';
import { measuredWrite } from '../sinks/measured-write.ts';
import type { StatusSinkClient } from '../sinks/types.ts';
import { writeVersion } from '../sinks/types.ts';
import type { PodIdentity } from './identity.ts';

export const progressReportSchema = z.object({
  percent: z.number().min(0).max(100),
  step: z.string().max(200).optional(),
  /** The Job the reporter believes it runs; when given it must be the token's. */
  job: z.string().max(253).optional(),
});
export type ProgressReport = z.infer<typeof progressReportSchema>;

export type ProgressOutcome =
  | { status: 204 }
  | { status: 400 | 401 | 403 | 404 | 409 | 429 | 503; error: string };

export type ProgressDeps = {
  verify: (token: string) => Promise<PodIdentity | undefined>;
  getPod: (namespace: string, name: string) => Promise<k8s.V1Pod | undefined>;
  getJob: (namespace: string, name: string) => Promise<k8s.V1Job | undefined>;
  getJobType: (namespace: string, name: string) => Promise<JobType | undefined>;
  sink: (namespace: string, name: string) => Promise<StatusSinkClient>;
  now?: () => number;
};

/** At most this many reports per Job per second are accepted; the SDK sends at most one. */
const MAX_REPORTS_PER_SECOND = 4;

export class ProgressService {
  readonly #deps: ProgressDeps;
  readonly #recent = new Map<string, number[]>();

  constructor(deps: ProgressDeps) {
    this.#deps = deps;
  }

  async report(token: string | undefined, body: unknown): Promise<ProgressOutcome> {
    if (!token) return { status: 401, error: 'missing bearer token: send the pod\'s projected ServiceAccount token (audience sluice)' };
    let identity: PodIdentity | undefined;
    try {
      identity = await this.#deps.verify(token);
    } catch (error) {
      return { status: 503, error: `cannot verify the token now: ${(error as Error).message}` };
    }
    if (!identity) return this.#rejected(undefined, { status: 401, error: 'the token is not a valid pod token for audience sluice' });

    const parsed = progressReportSchema.safeParse(body);
    if (!parsed.success) {
      return this.#rejected(identity.namespace, { status: 400, error: `invalid report: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}` });
    }
    const report = parsed.data;

    const pod = await this.#deps.getPod(identity.namespace, identity.podName);
    if (!pod || pod.metadata?.uid !== identity.podUid) return this.#rejected(identity.namespace, { status: 403, error: `pod ${identity.podName} no longer exists` });
    const owner = pod.metadata?.ownerReferences?.find((o) => o.controller && o.kind === 'Job' && o.apiVersion === 'batch/v1');
    const job = owner ? await this.#deps.getJob(identity.namespace, owner.name) : undefined;
    if (!job || job.metadata?.uid !== owner?.uid || job.metadata?.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY) {
      return this.#rejected(identity.namespace, { status: 403, error: `pod ${identity.podName} does not belong to a Job that Sluice created` });
    }
    const jobName = job.metadata.name!;
    if (report.job !== undefined && report.job !== jobName) {
      return this.#rejected(identity.namespace, { status: 403, error: `the token belongs to Job ${jobName}, not ${report.job}` });
    }
    const jobTypeName = job.metadata?.labels?.[LABEL_JOB_TYPE] ?? '';
    if (jobPhase(job) !== 'active' || !job.metadata?.finalizers?.includes(FINALIZER_OUTCOME) || job.metadata.deletionTimestamp) {
      return this.#rejected(identity.namespace, { status: 409, error: `Job ${jobName} has finished; stop reporting` }, jobTypeName);
    }
    if (this.#overLimit(`${identity.namespace}/${jobName}`)) {
      return this.#rejected(identity.namespace, { status: 429, error: `more than ${MAX_REPORTS_PER_SECOND} reports a second` }, jobTypeName);
    }

    const jobType = await this.#deps.getJobType(identity.namespace, jobTypeName);
    const mapping = jobType?.spec.statusSink;
    const key = job.metadata?.annotations?.[ANNOTATION_STATUS_KEY];
    if (mapping && key !== undefined) {
      const facts = { ...outcomeFacts(job, [], 'running'), progress: Math.round(report.percent), progressStep: report.step };
      try {
        const sink = await this.#deps.sink(identity.namespace, mapping.name);
        await measuredWrite(sink, identity.namespace, mapping.name, {
          table: mapping.table ?? '',
          keyField: mapping.key.field,
          key,
          version: writeVersion(sentAtMillis(job), 'running', report.percent),
          versionField: mapping.versionField,
          fields: sinkFields(mapping, facts),
          createIfMissing: mapping.createIfMissing,
        });
      } catch (error) {
        return { status: 503, error: `writing progress to StatusSink ${mapping.name} failed: ${(error as Error).message}` };
      }
    }
    metrics.progressReports.inc({ namespace: identity.namespace, job_type: jobTypeName, result: 'accepted' });
    return { status: 204 };
  }

  #rejected(namespace: string | undefined, outcome: ProgressOutcome, jobType = ''): ProgressOutcome {
    metrics.progressReports.inc({ namespace: namespace ?? '', job_type: jobType, result: 'rejected' });
    return outcome;
  }

  #overLimit(job: string): boolean {
    const now = this.#deps.now?.() ?? Date.now();
    const recent = (this.#recent.get(job) ?? []).filter((t) => t > now - 1000);
    recent.push(now);
    this.#recent.set(job, recent);
    if (this.#recent.size > 10_000) this.#recent.delete(this.#recent.keys().next().value!);
    return recent.length > MAX_REPORTS_PER_SECOND;
  }
}
