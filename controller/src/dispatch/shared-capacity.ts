// Limits that hold across dispatcher processes: a JobType's maxConcurrency and a binding's
// maxInFlight when several processes create its Jobs (a binding's own dispatcher Deployment,
// KEDA-scaled, beside the controller's embedded dispatcher).
//
// Each limited scope has a ledger (a ConfigMap) in which every process that creates Jobs for it
// holds a number of slots, renewed like a lease; a process creates a Job only while its own
// unfinished Jobs (labelled with its identity) stay below its slots, and only while its last
// renewal is fresh. The slots of all live holders never add up to more than the limit: each
// holder changes only its own entry, and every write is conditional on the ledger's
// resourceVersion, so concurrent writers serialize. A holder that stops renewing (SIGKILLed,
// partitioned) loses its slots after the lease time; until its unfinished Jobs finish, they
// still count against the limit, read from the Job informer by their holder label. Nothing is
// written per message: a holder writes when it wants more slots, gives unused ones back, or renews.
import { createHash } from 'node:crypto';
import type { Logger } from '../log.ts';

export type CapacityScope = { kind: 'jobtype' | 'binding'; namespace: string; name: string; limit: number };

/**
 * A holder's share: how many unfinished Jobs it may have (`slots`), how many it had when it wrote
 * (`active`: may exceed a share it was asked to shrink to), and whether it wants more.
 */
export type LedgerEntry = { slots: number; active?: number; renewedAt: number; wanting?: boolean };
export type Ledger = { holders: Record<string, LedgerEntry>; resourceVersion?: string };

/** Where ledgers live. `write` fails with a LedgerConflict when the resourceVersion moved on. */
export type LedgerStore = {
  read(namespace: string, name: string): Promise<Ledger | undefined>;
  write(namespace: string, name: string, ledger: Ledger): Promise<string>;
};

export class LedgerConflict extends Error {}

export type SharedCapacityOptions = {
  store: LedgerStore;
  /** This process's identity in ledgers and on the Jobs it creates. */
  holder: string;
  /** Unfinished Jobs in the scope per holder (this process's own not-yet-seen creates included for itself). */
  activeByHolder: (scope: CapacityScope) => Map<string, number>;
  log: Logger;
  leaseMs?: number;
  renewMs?: number;
  now?: () => number;
};

type ScopeState = {
  scope: CapacityScope;
  /** Slots granted by the last successful write. */
  slots: number;
  /** Until when (this process's clock) that grant may be used. */
  validUntil: number;
  /** Jobs this process would like to start now, beyond its unfinished ones. */
  demand: number;
  lastWrite: number;
  lastAttempt: number;
  syncing?: Promise<void>;
};

const DEFAULT_LEASE_MS = 15_000;
const DEFAULT_RENEW_MS = 5_000;

export function ledgerName(scope: Pick<CapacityScope, 'kind' | 'name'>): string {
  const name = `sluice-capacity-${scope.kind}-${scope.name}`;
  if (name.length <= 63) return name;
  return `${name.slice(0, 50).replace(/-+$/, '')}-${createHash('sha256').update(scope.name).digest('hex').slice(0, 12)}`;
}

export class SharedCapacity {
  readonly #options: Required<Omit<SharedCapacityOptions, 'now'>> & { now: () => number };
  readonly #scopes = new Map<string, ScopeState>();
  readonly #grantListeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SharedCapacityOptions) {
    this.#options = { leaseMs: DEFAULT_LEASE_MS, renewMs: DEFAULT_RENEW_MS, now: Date.now, ...options };
  }

  get holder(): string {
    return this.#options.holder;
  }

  /** Called whenever a grant changes (a waiting dispatcher may receive again). */
  onGrant(listener: () => void): void {
    this.#grantListeners.add(listener);
  }

  /** Slots this process may fill in the scope now (its unfinished Jobs included); 0 until a grant. */
  granted(scope: CapacityScope): number {
    const state = this.#state(scope);
    return this.#options.now() < state.validUntil ? state.slots : 0;
  }

  /** Declares how many more Jobs this process would start in the scope; a rise asks for slots at once. */
  want(scope: CapacityScope, demand: number): void {
    const state = this.#state(scope);
    const rose = demand > state.demand;
    state.demand = Math.max(0, demand);
    // Without a grant, ask (at most once per renewal period while nothing changes).
    if (rose || (this.granted(scope) === 0 && this.#options.now() - state.lastAttempt >= Math.min(1_000, this.#options.renewMs))) void this.sync(scope);
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      for (const state of this.#scopes.values()) {
        if (this.#options.now() - state.lastWrite >= this.#options.renewMs) void this.sync(state.scope);
      }
    }, Math.min(1_000, this.#options.renewMs));
    this.#timer.unref();
  }

  /** Stops renewing and gives every slot back that no unfinished Job of ours holds. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const state of this.#scopes.values()) state.demand = 0;
    await Promise.allSettled([...this.#scopes.values()].map((state) => this.sync(state.scope)));
  }

  /** One conditional update of the scope's ledger (retried on conflicts). */
  sync(scope: CapacityScope): Promise<void> {
    const state = this.#state(scope);
    state.syncing ??= this.#sync(state).finally(() => { state.syncing = undefined; });
    return state.syncing;
  }

  async #sync(state: ScopeState): Promise<void> {
    const { store, log } = this.#options;
    const { scope } = state;
    state.lastAttempt = this.#options.now();
    const name = ledgerName(scope);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        const ledger = (await store.read(scope.namespace, name)) ?? { holders: {} };
        const now = this.#options.now();
        const next = this.#allocate(ledger, state, now);
        if (!next.changed && now - state.lastWrite < this.#options.renewMs && this.granted(scope) > 0) return;
        await store.write(scope.namespace, name, { holders: next.holders, ...(ledger.resourceVersion && { resourceVersion: ledger.resourceVersion }) });
        const grew = next.mine > state.slots || this.granted(scope) === 0;
        state.slots = next.mine;
        state.lastWrite = now;
        // Renewals must land well inside the lease others judge it by.
        state.validUntil = now + this.#options.leaseMs - this.#options.renewMs;
        if (grew) for (const listener of this.#grantListeners) listener();
        return;
      } catch (error) {
        if (error instanceof LedgerConflict) continue;
        log.warn({ err: error, ledger: `${scope.namespace}/${name}` }, 'Could not update the shared capacity ledger');
        return;
      }
    }
  }

  /**
   * This holder's new entry, given the others': what it may hold never exceeds the limit less what
   * the others hold or run. When others are waiting, a holder over its fair share shrinks to it and
   * starts nothing new until its running Jobs fall below it (they still count for everyone).
   */
  #allocate(ledger: Ledger, state: ScopeState, now: number): { holders: Record<string, LedgerEntry>; mine: number; changed: boolean } {
    const { holder, leaseMs } = this.#options;
    const { scope } = state;
    const active = this.#options.activeByHolder(scope);
    const holders: Record<string, LedgerEntry> = {};
    let othersHold = 0;
    let liveOthers = 0;
    let othersWanting = false;
    for (const [id, entry] of Object.entries(ledger.holders)) {
      if (id === holder) continue;
      const unfinished = Math.max(active.get(id) ?? 0, entry.active ?? 0);
      if (entry.renewedAt > now - leaseMs) {
        holders[id] = entry;
        othersHold += Math.max(entry.slots, unfinished);
        liveOthers += 1;
        othersWanting ||= entry.wanting === true;
      } else {
        // Gone: only its unfinished Jobs still count (as the informer sees them), and its entry
        // goes once they are done.
        const left = active.get(id) ?? 0;
        othersHold += left;
        if (left > 0) holders[id] = { ...entry, slots: left, active: left, wanting: false };
      }
    }
    const mineActive = active.get(holder) ?? 0;
    const available = Math.max(0, scope.limit - othersHold);
    const wanted = Math.min(scope.limit, mineActive + state.demand);
    const fairShare = Math.ceil(scope.limit / (liveOthers + 1));
    const target = othersWanting ? Math.min(wanted, fairShare) : wanted;
    const mine = Math.min(target, available);
    const wanting = wanted > mine;
    if (mine > 0 || wanting || mineActive > 0) {
      holders[holder] = { slots: mine, renewedAt: now, ...(mineActive > 0 && { active: mineActive }), ...(wanting && { wanting }) };
    }
    const before = ledger.holders[holder];
    const changed = JSON.stringify(Object.keys(holders).sort()) !== JSON.stringify(Object.keys(ledger.holders).sort())
      || before?.slots !== holders[holder]?.slots || (before?.active ?? 0) !== (holders[holder]?.active ?? 0)
      || (before?.wanting ?? false) !== wanting;
    return { holders, mine, changed };
  }

  #state(scope: CapacityScope): ScopeState {
    const key = `${scope.kind}/${scope.namespace}/${scope.name}`;
    let state = this.#scopes.get(key);
    if (!state) this.#scopes.set(key, (state = { scope, slots: 0, validUntil: 0, demand: 0, lastWrite: 0, lastAttempt: 0 }));
    state.scope = scope;
    return state;
  }
}

/** Ledgers as ConfigMaps: `data.holders` is the JSON of the holders; writes are conditional on the resourceVersion. */
export function configMapLedgerStore(core: {
  readNamespacedConfigMap(request: { namespace: string; name: string }): Promise<{ data?: Record<string, string>; metadata?: { resourceVersion?: string } }>;
  createNamespacedConfigMap(request: { namespace: string; body: object }): Promise<{ metadata?: { resourceVersion?: string } }>;
  replaceNamespacedConfigMap(request: { namespace: string; name: string; body: object }): Promise<{ metadata?: { resourceVersion?: string } }>;
}, labels: Record<string, string>): LedgerStore {
  const status = (error: unknown) => (error as { code?: number }).code;
  return {
    async read(namespace, name) {
      try {
        const map = await core.readNamespacedConfigMap({ namespace, name });
        const holders = JSON.parse(map.data?.holders ?? '{}') as Record<string, LedgerEntry>;
        return { holders, ...(map.metadata?.resourceVersion && { resourceVersion: map.metadata.resourceVersion }) };
      } catch (error) {
        if (status(error) === 404) return undefined;
        throw error;
      }
    },
    async write(namespace, name, ledger) {
      const body = { metadata: { name, namespace, labels, ...(ledger.resourceVersion && { resourceVersion: ledger.resourceVersion }) }, data: { holders: JSON.stringify(ledger.holders) } };
      try {
        const written = ledger.resourceVersion
          ? await core.replaceNamespacedConfigMap({ namespace, name, body })
          : await core.createNamespacedConfigMap({ namespace, body });
        return written.metadata?.resourceVersion ?? '';
      } catch (error) {
        if (status(error) === 409) throw new LedgerConflict(`ledger ${namespace}/${name} changed meanwhile`);
        throw error;
      }
    },
  };
}
