// A controller work queue with client-go's guarantees: a key waits in the queue at most once, one
// worker holds a key at a time, and a key added while held is processed once more afterwards.
// Failed keys come back after a per-key exponential backoff. Keys added as 'high' go before the
// rest (controller-runtime's priority queue): after a takeover every Job is queued, and the finished
// ones, whose outcome is due, should not wait behind thousands that are still running.
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.ts';
import { splitKey } from './keys.ts';

/** What a reconcile asks for next. A thrown error means: retry after the key's backoff. */
export type ReconcileResult =
  | { readonly outcome: 'done' }
  | { readonly outcome: 'requeue'; readonly afterMs: number };

export const done: ReconcileResult = Object.freeze({ outcome: 'done' });

/**
 * A reconcile failure that retrying cannot fix (controller-runtime's TerminalError): a bad spec, an
 * expression that can never evaluate. The queue logs and counts it and does not retry the key; the
 * reconciler is expected to have recorded it where a person will see it (a condition, an Event).
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/** Reconcile again after `ms`, without counting a failure (e.g. to poll an external system). */
export function requeueAfter(ms: number): ReconcileResult {
  return { outcome: 'requeue', afterMs: ms };
}

export interface ReconcileRequest {
  key: string;
  namespace: string | undefined;
  name: string;
  /** Failures in a row for this key before this attempt. */
  retries: number;
  /** A child logger bound to this key. */
  logger: Logger;
}

export type Reconciler = (request: ReconcileRequest) => Promise<ReconcileResult>;

export type Priority = 'high' | 'normal';

/** Hooks for the controller-runtime workqueue and reconcile metrics; every one is optional. */
export interface WorkQueueMetrics {
  depth?(queued: number): void;
  added?(): void;
  queueLatency?(seconds: number): void;
  workDuration?(seconds: number): void;
  retried?(): void;
  /** A reconcile ended in a TerminalError. */
  terminal?(): void;
  reconciled?(result: 'success' | 'error' | 'requeue_after'): void;
}

export interface WorkQueueOptions {
  /** The controller's name, for logs. */
  name: string;
  reconcile: Reconciler;
  logger: Logger;
  /** Workers; distinct keys run concurrently up to this many. Default 1. */
  concurrency?: number;
  /** First retry delay after a failure; doubles per failure in a row. Default 5 ms (client-go). */
  baseRetryDelayMs?: number;
  /** Cap on the retry delay. Default 1000 s (client-go). */
  maxRetryDelayMs?: number;
  clock?: Clock;
  metrics?: WorkQueueMetrics;
}

export class WorkQueue {
  readonly #options: Required<Omit<WorkQueueOptions, 'metrics'>> & { metrics: WorkQueueMetrics };
  // Waiting keys in arrival order, one lane per priority (a Set: a key moves lanes in O(1)).
  readonly #high = new Set<string>();
  readonly #normal = new Set<string>();
  // Keys that need processing: queued, or added again while being processed.
  readonly #dirty = new Set<string>();
  // Dirty keys added as 'high' while being processed: they go back in that lane.
  readonly #highWhenDone = new Set<string>();
  readonly #processing = new Map<string, number>();
  readonly #enqueuedAt = new Map<string, number>();
  readonly #delayed = new Map<string, { readyAt: number; handle: unknown; priority: Priority }>();
  readonly #failures = new Map<string, number>();
  readonly #idleWorkers: ((item: { key: string; priority: Priority } | undefined) => void)[] = [];
  #workers: Promise<void>[] = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    this.#options = {
      name: options.name,
      reconcile: options.reconcile,
      logger: options.logger.child({ controller: options.name }),
      concurrency: options.concurrency ?? 1,
      baseRetryDelayMs: options.baseRetryDelayMs ?? 5,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 1_000_000,
      clock: options.clock ?? systemClock,
      metrics: options.metrics ?? {},
    };
  }

  /** Starts the workers. */
  start(): void {
    if (this.#workers.length > 0 || this.#shuttingDown) return;
    this.#workers = Array.from({ length: this.#options.concurrency }, () => this.#work());
  }

  /** Queues the key; a 'high' key waiting in the normal lane moves ahead. */
  add(key: string, priority: Priority = 'normal'): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) {
      if (priority !== 'high') return;
      if (this.#normal.delete(key)) this.#high.add(key);
      else if (this.#processing.has(key)) this.#highWhenDone.add(key);
      return;
    }
    this.#options.metrics.added?.();
    this.#dirty.add(key);
    if (this.#processing.has(key)) {
      if (priority === 'high') this.#highWhenDone.add(key);
      return;
    }
    this.#enqueuedAt.set(key, this.#options.clock.now());
    this.#enqueue(key, priority);
    this.#dispatch();
  }

  #enqueue(key: string, priority: Priority): void {
    (priority === 'high' ? this.#high : this.#normal).add(key);
    this.#options.metrics.depth?.(this.len());
  }

  /** Adds the key after `ms`; of several pending delays for one key, the earliest wins (and the higher priority). */
  addAfter(key: string, ms: number, priority: Priority = 'normal'): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key, priority);
      return;
    }
    const { clock } = this.#options;
    const readyAt = clock.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending && pending.readyAt <= readyAt) {
      if (priority === 'high') pending.priority = 'high';
      return;
    }
    if (pending) clock.clearTimeout(pending.handle);
    const entry = { readyAt, handle: undefined as unknown, priority: pending?.priority === 'high' ? 'high' as const : priority };
    entry.handle = clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key, entry.priority);
    }, ms);
    this.#delayed.set(key, entry);
  }

  /** Adds the key after its backoff: base × 2^(failures in a row), capped. */
  addRateLimited(key: string, priority: Priority = 'normal'): void {
    if (this.#shuttingDown) return;
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.#options.metrics.retried?.();
    this.addAfter(key, this.retryDelayMs(failures), priority);
  }

  /** The delay before retry number `failures + 1`. */
  retryDelayMs(failures: number): number {
    const { baseRetryDelayMs, maxRetryDelayMs } = this.#options;
    return Math.min(baseRetryDelayMs * 2 ** failures, maxRetryDelayMs);
  }

  /** Clears the key's failure count, so its next failure retries after the base delay. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Keys waiting for a worker. */
  len(): number {
    return this.#high.size + this.#normal.size;
  }

  /** Keys being processed now. */
  inFlight(): number {
    return this.#processing.size;
  }

  /** How long the longest-running reconcile has run, in seconds (0 when idle). */
  longestRunningSeconds(): number {
    const now = this.#options.clock.now();
    let longest = 0;
    for (const startedAt of this.#processing.values()) longest = Math.max(longest, now - startedAt);
    return longest / 1000;
  }

  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops taking keys, drops queued and delayed ones (the next leader relists and reconciles them
   * anyway) and resolves once every reconcile in flight has finished.
   */
  async shutDown(): Promise<void> {
    this.#shuttingDown = true;
    for (const { handle } of this.#delayed.values()) this.#options.clock.clearTimeout(handle);
    this.#delayed.clear();
    this.#high.clear();
    this.#normal.clear();
    this.#highWhenDone.clear();
    this.#options.metrics.depth?.(0);
    for (const idle of this.#idleWorkers.splice(0)) idle(undefined);
    await Promise.all(this.#workers);
  }

  #dispatch(): void {
    while (this.#idleWorkers.length > 0 && this.len() > 0) {
      const priority: Priority = this.#high.size > 0 ? 'high' : 'normal';
      const lane = priority === 'high' ? this.#high : this.#normal;
      const key = lane.values().next().value!;
      lane.delete(key);
      const now = this.#options.clock.now();
      this.#dirty.delete(key);
      this.#processing.set(key, now);
      this.#options.metrics.depth?.(this.len());
      this.#options.metrics.queueLatency?.((now - (this.#enqueuedAt.get(key) ?? now)) / 1000);
      this.#enqueuedAt.delete(key);
      this.#idleWorkers.shift()!({ key, priority });
    }
  }

  #next(): Promise<{ key: string; priority: Priority } | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#idleWorkers.push(resolve);
      this.#dispatch();
    });
  }

  async #work(): Promise<void> {
    // A key requeued or retried keeps the priority it was taken with.
    for (let item = await this.#next(); item !== undefined; item = await this.#next()) {
      await this.#process(item.key, item.priority);
    }
  }

  async #process(key: string, taken: Priority): Promise<void> {
    const { clock, metrics, reconcile } = this.#options;
    const startedAt = clock.now();
    const { namespace, name } = splitKey(key);
    const logger = this.#options.logger.child({ key });
    try {
      const result = await reconcile({ key, namespace, name, retries: this.numRequeues(key), logger });
      this.forget(key);
      if (result.outcome === 'requeue') {
        metrics.reconciled?.('requeue_after');
        this.addAfter(key, result.afterMs, taken);
      } else {
        metrics.reconciled?.('success');
      }
    } catch (err) {
      metrics.reconciled?.('error');
      if (err instanceof TerminalError) {
        metrics.terminal?.();
        this.forget(key);
        logger.error({ err }, 'Reconciler error; terminal, not retried');
      } else {
        logger.error({ err, retries: this.numRequeues(key) }, 'Reconciler error');
        this.addRateLimited(key, taken);
      }
    } finally {
      metrics.workDuration?.((clock.now() - startedAt) / 1000);
      this.#processing.delete(key);
      const priority: Priority = this.#highWhenDone.delete(key) ? 'high' : 'normal';
      if (this.#dirty.has(key) && !this.#shuttingDown) {
        this.#enqueuedAt.set(key, clock.now());
        this.#enqueue(key, priority);
        this.#dispatch();
      }
    }
  }
}
