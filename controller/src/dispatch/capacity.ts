// How many more Jobs a binding and a JobType may start. Counts unfinished Jobs (from the Job
// informer, plus Jobs this process just created and the informer has not shown yet) and messages
// being handled right now, so a burst waits in SQS instead of becoming Pending pods.
import { EventEmitter } from 'node:events';

type JobKey = { namespace: string; name: string; binding: string; jobType: string };

/** Remembers recently finished Job names so a late "created" cannot count them as active again. */
const FINISHED_MEMORY = 10_000;

export class CapacityTracker {
  readonly #activeByBinding = new Map<string, Set<string>>();
  readonly #activeByType = new Map<string, Set<string>>();
  readonly #reservedByBinding = new Map<string, number>();
  readonly #reservedByType = new Map<string, number>();
  readonly #finished = new Set<string>();
  readonly #changes = new EventEmitter();

  constructor() {
    this.#changes.setMaxListeners(0);
  }

  /** A Job that has not finished (created by us, or seen by the informer). */
  jobActive(job: JobKey): void {
    const id = `${job.namespace}/${job.name}`;
    if (this.#finished.has(id)) return;
    add(this.#activeByBinding, `${job.namespace}/${job.binding}`, id);
    add(this.#activeByType, `${job.namespace}/${job.jobType}`, id);
  }

  /** A Job that finished or was deleted. */
  jobFinished(job: JobKey): void {
    const id = `${job.namespace}/${job.name}`;
    this.#finished.add(id);
    if (this.#finished.size > FINISHED_MEMORY) this.#finished.delete(this.#finished.values().next().value!);
    const removed = remove(this.#activeByBinding, `${job.namespace}/${job.binding}`, id)
      | remove(this.#activeByType, `${job.namespace}/${job.jobType}`, id);
    if (removed) this.#changes.emit('change');
  }

  activeForType(namespace: string, jobType: string): number {
    return (this.#activeByType.get(`${namespace}/${jobType}`)?.size ?? 0) + (this.#reservedByType.get(`${namespace}/${jobType}`) ?? 0);
  }

  freeForBinding(namespace: string, binding: string, maxInFlight: number): number {
    const key = `${namespace}/${binding}`;
    return maxInFlight - (this.#activeByBinding.get(key)?.size ?? 0) - (this.#reservedByBinding.get(key) ?? 0);
  }

  freeForType(namespace: string, jobType: string, maxConcurrency: number | undefined): number {
    if (maxConcurrency === undefined) return Number.POSITIVE_INFINITY;
    return maxConcurrency - this.activeForType(namespace, jobType);
  }

  /** Holds `count` binding slots for messages about to be received or being handled. */
  reserveBinding(namespace: string, binding: string, count: number): void {
    bump(this.#reservedByBinding, `${namespace}/${binding}`, count);
  }

  releaseBinding(namespace: string, binding: string, count = 1): void {
    bump(this.#reservedByBinding, `${namespace}/${binding}`, -count);
    this.#changes.emit('change');
  }

  /** Takes one slot of the JobType if it has one; the caller releases it after creating the Job. */
  tryReserveType(namespace: string, jobType: string, maxConcurrency: number | undefined): boolean {
    if (this.freeForType(namespace, jobType, maxConcurrency) <= 0) return false;
    bump(this.#reservedByType, `${namespace}/${jobType}`, 1);
    return true;
  }

  releaseType(namespace: string, jobType: string): void {
    bump(this.#reservedByType, `${namespace}/${jobType}`, -1);
    this.#changes.emit('change');
  }

  /** Resolves on the next change that may free capacity, or after `timeoutMs`. */
  waitForChange(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#changes.off('change', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#changes.once('change', done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

function add(map: Map<string, Set<string>>, key: string, id: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(id);
}

function remove(map: Map<string, Set<string>>, key: string, id: string): number {
  return map.get(key)?.delete(id) ? 1 : 0;
}

function bump(map: Map<string, number>, key: string, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}
