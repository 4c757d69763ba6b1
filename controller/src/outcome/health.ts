// Whether a JobType's outcomes are being recorded: False from the first outcome step that failed
// for good until a later Job of the type has its outcome recorded in full. The JobType reconciler is
// the one writer of the OutcomesHealthy condition; this only remembers and says what changed.
// After a restart nothing is known and the condition stays as it was written.
import type { ConditionUpdate } from '../kube/conditions.ts';
import { keyOf } from '../kube/keys.ts';
import type { OutcomeFailureReason } from './outcome-error.ts';

export const OUTCOMES_HEALTHY = 'OutcomesHealthy';

export class OutcomeHealth {
  readonly #state = new Map<string, ConditionUpdate>();
  readonly #listeners = new Set<(namespace: string, jobType: string) => void>();

  failed(namespace: string, jobType: string, reason: OutcomeFailureReason, message: string): void {
    this.#set(namespace, jobType, { type: OUTCOMES_HEALTHY, status: 'False', reason, message });
  }

  recorded(namespace: string, jobType: string): void {
    const current = this.#state.get(keyOf(namespace, jobType));
    if (current?.status === 'True') return;
    this.#set(namespace, jobType, { type: OUTCOMES_HEALTHY, status: 'True', reason: 'OutcomesRecorded', message: 'the last Job\'s outcome was recorded in full' });
  }

  /** The condition to write, or undefined when this process has not seen an outcome of the type. */
  condition(namespace: string, jobType: string): ConditionUpdate | undefined {
    return this.#state.get(keyOf(namespace, jobType));
  }

  onChange(listener: (namespace: string, jobType: string) => void): void {
    this.#listeners.add(listener);
  }

  #set(namespace: string, jobType: string, condition: ConditionUpdate): void {
    const key = keyOf(namespace, jobType);
    const before = this.#state.get(key);
    this.#state.set(key, condition);
    if (before?.status === condition.status && before.reason === condition.reason && before.message === condition.message) return;
    for (const listener of this.#listeners) listener(namespace, jobType);
  }
}
