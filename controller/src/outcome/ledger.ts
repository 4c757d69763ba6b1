// Which side effects of a finished Job are done, so none is ever repeated — not even by a reconcile
// that reads an older copy of the Job from the informer cache (the Job controller's
// "expectations"). The steps are written to the Job (sluice.dev/outcome-done) for the next process,
// and remembered here in a set that only grows: a step counts as done once it ran or once any copy
// of the Job said so. Jobs whose finalizer this process removed are remembered too, so a stale copy
// that still shows the finalizer is left alone. Entries go when the Job is deleted.
import type * as k8s from '@kubernetes/client-node';
import { ANNOTATION_OUTCOME_DONE } from '../job/labels.ts';

export type Step = 'dead-letter' | 'notify' | 'on-success' | 'fan-in';

/** A bound on memory for Jobs whose delete this process never sees (it lost the lease meanwhile). */
const MAX_TRACKED = 50_000;

export class OutcomeLedger {
  readonly #steps = new Map<string, Set<Step>>();
  readonly #released = new Set<string>();

  /** The steps done for this Job: what any copy of it said, and what ran here. */
  done(job: k8s.V1Job): Set<Step> {
    const uid = job.metadata?.uid ?? '';
    let steps = this.#steps.get(uid);
    if (!steps) {
      steps = new Set();
      this.#steps.set(uid, steps);
      this.#bound(this.#steps);
    }
    for (const step of stepsOf(job)) steps.add(step);
    return steps;
  }

  /** A step ran (call before writing it to the Job, so a failed write does not repeat it). */
  add(job: k8s.V1Job, step: Step): void {
    this.done(job).add(step);
  }

  released(job: k8s.V1Job): void {
    this.#released.add(job.metadata?.uid ?? '');
    this.#bound(this.#released);
  }

  isReleased(job: k8s.V1Job): boolean {
    return this.#released.has(job.metadata?.uid ?? '');
  }

  /** The Job was deleted: nothing of it can come back. */
  forget(uid: string): void {
    this.#steps.delete(uid);
    this.#released.delete(uid);
  }

  #bound(collection: Map<string, unknown> | Set<string>): void {
    if (collection.size > MAX_TRACKED) collection.delete(collection.keys().next().value!);
  }
}

export function stepsOf(job: k8s.V1Job): Step[] {
  return (job.metadata?.annotations?.[ANNOTATION_OUTCOME_DONE] ?? '').split(',').filter(Boolean) as Step[];
}
