// How many more Jobs a binding and a JobType may start. Counts unfinished Jobs (from the Job
// informer, plus Jobs this process just created and the informer has not shown yet) and messages
// being handled right now, so a burst waits in SQS instead of becoming Pending pods. Where other
// processes create Jobs of the same scope too (a binding's dispatcher Deployment), the shared
// ledger (shared-capacity.ts) also bounds this process to the slots it holds.
import { EventEmitter } from 'node:events';
import type { CapacityScope, SharedCapacity } from './shared-capacity.ts';

/** A Job as capacity sees it; `dispatcher` is the label of the process that created it. */
export type JobKey = { namespace: string; name: string; binding: string; jobType: string; dispatcher?: string };

export type SharedCapacityOptions = {
  shared: SharedCapacity;
  /** This process's label value on the Jobs it creates. */
  holderLabel: string;
  /** Whether other processes create Jobs of this scope too (only those scopes use the ledger). */
  isShared: (scope: Omit<CapacityScope, 'limit'>) => boolean;
};

/** Remembers recently finished Job names so a late "created" cannot count them as active again. */
const FINISHED_MEMORY = 10_000;

export class CapacityTracker {
  readonly #activeByBinding = new Map<string, Set<string>>();
  readonly #activeByType = new Map<string, Set<string>>();
  /** Unfinished Jobs per scope and creating process, for the shared ledger. */
  readonly #holders = new Map<string, Map<string, Set<string>>>();
  readonly #holderOf = new Map<string, { type: string; binding: string; holder: string }>();
  /** One copy of each scope key and holder for all the Jobs in #holderOf (10,000 Jobs held 20,000 copies); bounded, as dispatchers come and go. */
  readonly #names = new Map<string, string>();
  readonly #shared: SharedCapacityOptions | undefined;
  readonly #reservedByBinding = new Map<string, number>();
  readonly #reservedByType = new Map<string, number>();
  readonly #finished = new Set<string>();
  readonly #changes = new EventEmitter();

  constructor(shared?: SharedCapacityOptions) {
    this.#changes.setMaxListeners(0);
    this.#shared = shared;
    shared?.shared.onGrant(() => this.#changes.emit('change'));
  }

  /** A Job that has not finished (created by us, or seen by the informer). */
  jobActive(job: JobKey): void {
    const id = `${job.namespace}/${job.name}`;
    if (this.#finished.has(id)) return;
    add(this.#activeByBinding, `${job.namespace}/${job.binding}`, id);
    add(this.#activeByType, `${job.namespace}/${job.jobType}`, id);
    if (job.dispatcher !== undefined && !this.#holderOf.has(id)) {
      const type = this.#once(scopeKey('jobtype', job.namespace, job.jobType));
      const binding = this.#once(scopeKey('binding', job.namespace, job.binding));
      this.#holderOf.set(id, { type, binding, holder: this.#once(job.dispatcher) });
      addHolder(this.#holders, type, job.dispatcher, id);
      addHolder(this.#holders, binding, job.dispatcher, id);
    }
  }

  #once(name: string): string {
    const held = this.#names.get(name);
    if (held !== undefined) return held;
    if (this.#names.size >= 10_000) this.#names.clear();
    this.#names.set(name, name);
    return name;
  }

  /** A Job that finished or was deleted. */
  jobFinished(job: JobKey): void {
    const id = `${job.namespace}/${job.name}`;
    this.#finished.add(id);
    if (this.#finished.size > FINISHED_MEMORY) this.#finished.delete(this.#finished.values().next().value!);
    const removed = remove(this.#activeByBinding, `${job.namespace}/${job.binding}`, id)
      | remove(this.#activeByType, `${job.namespace}/${job.jobType}`, id);
    const held = this.#holderOf.get(id);
    if (held) {
      this.#holderOf.delete(id);
      this.#holders.get(held.type)?.get(held.holder)?.delete(id);
      this.#holders.get(held.binding)?.get(held.holder)?.delete(id);
    }
    if (removed) this.#changes.emit('change');
  }

  /** Unfinished Jobs of a scope per creating process (the shared ledger's view of the others). */
  activeByHolder(scope: Omit<CapacityScope, 'limit'>): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [holder, ids] of this.#holders.get(scopeKey(scope.kind, scope.namespace, scope.name)) ?? []) counts.set(holder, ids.size);
    return counts;
  }

  activeForType(namespace: string, jobType: string): number {
    return (this.#activeByType.get(`${namespace}/${jobType}`)?.size ?? 0) + (this.#reservedByType.get(`${namespace}/${jobType}`) ?? 0);
  }

  freeForBinding(namespace: string, binding: string, maxInFlight: number): number {
    const key = `${namespace}/${binding}`;
    const reserved = this.#reservedByBinding.get(key) ?? 0;
    const local = maxInFlight - (this.#activeByBinding.get(key)?.size ?? 0) - reserved;
    return Math.min(local, this.#sharedFree({ kind: 'binding', namespace, name: binding, limit: maxInFlight }, reserved));
  }

  freeForType(namespace: string, jobType: string, maxConcurrency: number | undefined): number {
    if (maxConcurrency === undefined) return Number.POSITIVE_INFINITY;
    const local = maxConcurrency - this.activeForType(namespace, jobType);
    const reserved = this.#reservedByType.get(`${namespace}/${jobType}`) ?? 0;
    return Math.min(local, this.#sharedFree({ kind: 'jobtype', namespace, name: jobType, limit: maxConcurrency }, reserved));
  }

  /**
   * What the ledger leaves this process in a shared scope: its slots less its own unfinished Jobs
   * and reservations. A running dispatcher could always use the whole limit; the ledger's fair
   * share splits it when several processes ask.
   */
  #sharedFree(scope: CapacityScope, reserved: number): number {
    const shared = this.#shared;
    if (!shared?.isShared(scope)) return Number.POSITIVE_INFINITY;
    const mine = this.#holders.get(scopeKey(scope.kind, scope.namespace, scope.name))?.get(shared.holderLabel)?.size ?? 0;
    shared.shared.want(scope, scope.limit);
    return shared.shared.granted(scope) - mine - reserved;
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

function scopeKey(kind: CapacityScope['kind'], namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function addHolder(map: Map<string, Map<string, Set<string>>>, scope: string, holder: string, id: string): void {
  let holders = map.get(scope);
  if (!holders) map.set(scope, (holders = new Map<string, Set<string>>()));
  let ids = holders.get(holder);
  if (!ids) holders.set(holder, (ids = new Set()));
  ids.add(id);
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
