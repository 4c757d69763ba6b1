// Records an outcome step that failed for good, where people look: a Warning Event (OutcomeFailed)
// on the Job and on its JobType, the JobType's OutcomesHealthy condition, and
// sluice_outcome_terminal_errors_total. Once per Job and reason, however often a reconcile meets
// it; and remembers them until the Job is gone, so a later reconcile of the Job still knows its
// outcome was incomplete.
import type * as k8s from '@kubernetes/client-node';
import type { JobType } from '../api/schemas.ts';
import { EventReason } from '../kube/event-reasons.ts';
import type { Logger } from '../log.ts';
import { outcomeTerminalErrors } from '../metrics.ts';
import type { EventSink } from '../reconcile/queue-binding.ts';
import type { OutcomeHealth } from './health.ts';
import type { OutcomeError } from './outcome-error.ts';

/** Jobs with a recorded failure whose delete this process never sees. */
const MAX_TRACKED = 10_000;

export class OutcomeFailures {
  readonly #event: EventSink;
  readonly #health: OutcomeHealth;
  readonly #recorded = new Map<string, OutcomeError[]>();

  constructor(event: EventSink, health: OutcomeHealth) {
    this.#event = event;
    this.#health = health;
  }

  record(job: k8s.V1Job, jobType: JobType | undefined, error: OutcomeError, logger: Logger): void {
    const uid = job.metadata?.uid ?? '';
    const known = this.#recorded.get(uid) ?? [];
    if (known.some((e) => e.reason === error.reason)) return;
    this.#recorded.set(uid, [...known, error]);
    if (this.#recorded.size > MAX_TRACKED) this.#recorded.delete(this.#recorded.keys().next().value!);
    const namespace = job.metadata!.namespace!;
    const name = job.metadata!.name!;
    logger.error({ err: error, reason: error.reason }, 'Outcome step failed for good; recorded, not retried');
    this.#event(job, 'Warning', EventReason.OutcomeFailed, `${error.reason}: ${error.message}`);
    if (!jobType) return;
    this.#event(jobType, 'Warning', EventReason.OutcomeFailed, `Job ${name}: ${error.reason}: ${error.message}`);
    outcomeTerminalErrors.inc({ namespace, job_type: jobType.metadata.name, reason: error.reason });
    this.#health.failed(namespace, jobType.metadata.name, error.reason, `Job ${name}: ${error.message}`);
  }

  /** The failures recorded for this Job. */
  of(job: k8s.V1Job): OutcomeError[] {
    return this.#recorded.get(job.metadata?.uid ?? '') ?? [];
  }

  forget(uid: string): void {
    this.#recorded.delete(uid);
  }
}
