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

/** What an unfinished Job counts against; one frozen copy for all Jobs of a binding, JobType and creating process. */
type Counted = { readonly binding: string; readonly type: string; readonly bindingScope: string; readonly typeScope: string; readonly holder: string | undefined };

export class CapacityTracker {
  /** Each unfinished Job once, and what it counts against: counts per scope, not a set of Jobs per scope (≈ 270 → ≈ 100 bytes a Job). */
  readonly #active = new Map<string, Counted>();
  readonly #activeByBinding = new Map<string, number>();
  readonly #activeByType = new Map<string, number>();
  /** Unfinished Jobs per scope and creating process, for the shared ledger. */
  readonly #holders = new Map<string, Map<string, number>>();
  /** The shared Counted records; bounded, as dispatchers come and go (a Job keeps its own). */
  readonly #counted = new Map<string, Counted>();
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
    const before = this.#active.get(id);
    if (before) {
      // Seen again; only a creating process learnt later (its label) adds anything.
      if (before.holder !== undefined || job.dispatcher === undefined) return;
      const counted = this.#countedAs(job.namespace, job.binding, job.jobType, job.dispatcher);
      this.#active.set(id, counted);
      this.#countHolder(counted, 1);
      return;
    }
    const counted = this.#countedAs(job.namespace, job.binding, job.jobType, job.dispatcher);
    this.#active.set(id, counted);
    bump(this.#activeByBinding, counted.binding, 1);
    bump(this.#activeByType, counted.type, 1);
    this.#countHolder(counted, 1);
  }

  #countedAs(namespace: string, binding: string, jobType: string, holder: string | undefined): Counted {
    const key = JSON.stringify([namespace, binding, jobType, holder ?? null]);
    const held = this.#counted.get(key);
    if (held) return held;
    if (this.#counted.size >= 10_000) this.#counted.clear();
    const counted = Object.freeze({
      binding: `${namespace}/${binding}`,
      type: `${namespace}/${jobType}`,
      bindingScope: scopeKey('binding', namespace, binding),
      typeScope: scopeKey('jobtype', namespace, jobType),
      holder,
    });
    this.#counted.set(key, counted);
    return counted;
  }

  #countHolder(counted: Counted, delta: number): void {
    if (counted.holder === undefined) return;
    for (const scope of [counted.typeScope, counted.bindingScope]) {
      let holders = this.#holders.get(scope);
      if (!holders) this.#holders.set(scope, (holders = new Map<string, number>()));
      bump(holders, counted.holder, delta);
      if (holders.size === 0) this.#holders.delete(scope);
    }
  }

  /** A Job that finished or was deleted. */
  jobFinished(job: JobKey): void {
    const id = `${job.namespace}/${job.name}`;
    this.#finished.add(id);
    if (this.#finished.size > FINISHED_MEMORY) this.#finished.delete(this.#finished.values().next().value!);
    const counted = this.#active.get(id);
    if (!counted) return;
    this.#active.delete(id);
    bump(this.#activeByBinding, counted.binding, -1);
    bump(this.#activeByType, counted.type, -1);
    this.#countHolder(counted, -1);
    this.#changes.emit('change');
  }

  /** Unfinished Jobs of a scope per creating process (the shared ledger's view of the others). */
  activeByHolder(scope: Omit<CapacityScope, 'limit'>): Map<string, number> {
    return new Map(this.#holders.get(scopeKey(scope.kind, scope.namespace, scope.name)));
  }

  activeForType(namespace: string, jobType: string): number {
    return (this.#activeByType.get(`${namespace}/${jobType}`) ?? 0) + (this.#reservedByType.get(`${namespace}/${jobType}`) ?? 0);
  }

  freeForBinding(namespace: string, binding: string, maxInFlight: number): number {
    const key = `${namespace}/${binding}`;
    const reserved = this.#reservedByBinding.get(key) ?? 0;
    const local = maxInFlight - (this.#activeByBinding.get(key) ?? 0) - reserved;
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
    const mine = this.#holders.get(scopeKey(scope.kind, scope.namespace, scope.name))?.get(shared.holderLabel) ?? 0;
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

function bump(map: Map<string, number>, key: string, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}
