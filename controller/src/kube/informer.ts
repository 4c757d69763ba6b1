// A list-watch cache that keeps going. client-node's ListWatch stops for good on most watch errors
// and needs careful restarting (issues #1933, #2893); a watch can also go quiet without closing
// (#3020). This informer runs its own list-then-watch loop (the watch read as client-node's Watch
// reads it, with an inactivity timeout, but cheaper: json-watch.ts) and adds what controllers need:
// - synced() once the first list is in the cache;
// - a watch that ends for any reason restarts from the last resourceVersion; errors back off
//   exponentially up to a cap; 410 Gone lists again;
// - a watchdog that restarts the watch after a stretch with no events at all (bookmarks count);
// - a periodic resync that re-delivers every cached object, so level-triggered reconcilers re-run
//   even when nothing changed. Like client-go's, it replays the cache rather than listing again:
//   a LIST of 10,000 Jobs each period read them all from the API server again and lifted the
//   controller's RSS by up to 30 MiB while it ran (docs/benchmarks.md), and the watch already
//   restarts, or lists again, whenever it fails.
// It lists and watches through the same raw JSON path, so every cached object is wire JSON
// (timestamps are RFC 3339 strings), with apiVersion and kind set.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.ts';
import { apiStatus, describeRequest } from './client.ts';
import { kubeRequests } from '../metrics.ts';
import { jsonClient } from './json-request.ts';
import { jsonWatch } from './json-watch.ts';
import { keyOf, objectKey } from './keys.ts';
import { withoutManagedFields } from './slim.ts';

export type QueryParams = Record<string, string | number | boolean | undefined>;

/** How the informer talks to the API server; tests substitute a fake. */
export interface InformerTransport {
  list(path: string, query: QueryParams, signal: AbortSignal): Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;
  /** client-node's Watch.watch contract: `done` is called once, when the watch ends. */
  watch(
    path: string,
    query: QueryParams,
    onEvent: (type: string, object: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController>;
}

export interface InformerHandlers<T> {
  add?(object: T): void;
  /** On a resync `object` and `previous` may be the same version. */
  update?(object: T, previous: T): void;
  delete?(object: T): void;
}

export interface InformerOptions<T extends k8s.KubernetesObject = k8s.KubernetesObject> {
  /** The collection, e.g. /api/v1/namespaces/team-a/configmaps or /apis/batch/v1/jobs. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  logger: Logger;
  /** Needed unless a transport is given. */
  kubeConfig?: k8s.KubeConfig;
  transport?: InformerTransport;
  /** The server ends each watch after this long. Default: random 300–600 s, as client-go does. */
  watchTimeoutSeconds?: number;
  /** Restart the watch after this long without any event. Default 120 s; 0 disables. */
  watchdogSeconds?: number;
  /** Re-deliver every cached object (as an update) this often. Default 600 s; 0 disables. */
  resyncSeconds?: number;
  /** First retry delay after a failed list or watch; doubles per failure. Default 1 s. */
  initialBackoffMs?: number;
  /** Cap on the retry delay. Default 30 s. */
  maxBackoffMs?: number;
  /** Items per list page. Default 500. */
  pageSize?: number;
  /**
   * What the cache keeps of each object (kube/slim.ts). Default: all but managedFields. Undefined:
   * the cache does not hold it; a held object that turns into one leaves the cache as deleted.
   */
  transform?: (object: T) => T | undefined;
  clock?: Clock;
}

export interface InformerStats {
  synced: boolean;
  watching: boolean;
  /** Lists done, the first included. */
  lists: number;
  /** Watch requests started. */
  watches: number;
  /** Failed lists and watches in a row. */
  failures: number;
  resourceVersion: string;
}

type AbortReason = 'stop' | 'watchdog';

type WatchEnd =
  | { kind: 'closed'; healthy: boolean }
  | { kind: 'gone' }
  | { kind: 'error'; err: unknown; healthy: boolean }
  | { kind: 'aborted'; reason: AbortReason };

// A watch that delivered an event or stayed open this long was not a failure; quicker ends back off.
const HEALTHY_WATCH_MS = 1_000;

export class Informer<T extends k8s.KubernetesObject> {
  readonly #path: string;
  readonly #selectors: QueryParams;
  readonly #logger: Logger;
  readonly #transport: InformerTransport;
  readonly #clock: Clock;
  readonly #watchTimeoutSeconds: number | undefined;
  readonly #watchdogMs: number;
  readonly #resyncMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #pageSize: number;
  readonly #transform: (object: T) => T | undefined;

  #cache = new Map<string, T>();
  readonly #handlers = new Set<InformerHandlers<T>>();
  #resourceVersion = '';
  #needList = true;
  #phase: 'idle' | 'listing' | 'watching' | 'waiting' = 'idle';
  #attempt: AbortController | undefined;
  #lastActivityAt = 0;
  #failures = 0;
  #lists = 0;
  #watches = 0;
  #running: Promise<void> | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  readonly #timers = new Set<unknown>();
  #synced = false;
  readonly #syncedPromise: Promise<void>;
  #resolveSynced!: () => void;
  #rejectSynced!: (error: Error) => void;

  constructor(options: InformerOptions<T>) {
    this.#path = options.path;
    this.#selectors = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
    this.#logger = options.logger.child({ informer: options.path, labelSelector: options.labelSelector });
    if (!options.transport && !options.kubeConfig) throw new Error('Informer needs a kubeConfig or a transport');
    this.#transport = options.transport ?? kubeTransport(options.kubeConfig!);
    this.#clock = options.clock ?? systemClock;
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds;
    this.#watchdogMs = (options.watchdogSeconds ?? 120) * 1000;
    this.#resyncMs = (options.resyncSeconds ?? 600) * 1000;
    this.#initialBackoffMs = options.initialBackoffMs ?? 1_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#pageSize = options.pageSize ?? 500;
    this.#transform = options.transform ?? withoutManagedFields;
    this.#syncedPromise = new Promise<void>((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#rejectSynced = reject;
    });
    // Nobody may be waiting when stop() rejects it.
    this.#syncedPromise.catch(() => undefined);
  }

  /** Starts listing and watching; call once. Handlers added before start see the initial adds. */
  start(): void {
    if (this.#running || this.#stopped) return;
    this.#lastActivityAt = this.#clock.now();
    if (this.#watchdogMs > 0) this.#armWatchdog(this.#watchdogMs);
    if (this.#resyncMs > 0) this.#armResync();
    this.#running = this.#run();
  }

  /** Stops for good and resolves once no request is in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    this.#attempt?.abort('stop' satisfies AbortReason);
    this.#wake?.();
    if (!this.#synced) this.#rejectSynced(new Error(`informer for ${this.#path} stopped before it synced`));
    await this.#running;
  }

  /** Resolves once the first list is in the cache; rejects if stopped before. */
  synced(): Promise<void> {
    return this.#syncedPromise;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  // Cached objects are shared with every caller: copy before changing one.

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(keyOf(namespace, name));
  }

  getByKey(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.#cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  keys(): string[] {
    return [...this.#cache.keys()];
  }

  /** Adds handlers; returns a function that removes them. A handler that throws is logged. */
  addHandlers(handlers: InformerHandlers<T>): () => void {
    this.#handlers.add(handlers);
    return () => void this.#handlers.delete(handlers);
  }

  /** Calls `onChange` with the object's key on every add, update, delete and resync. */
  onChange(onChange: (key: string, object: T) => void): () => void {
    const call = (object: T) => onChange(objectKey(object), object);
    return this.addHandlers({ add: call, update: call, delete: call });
  }

  stats(): InformerStats {
    return {
      synced: this.#synced,
      watching: this.#phase === 'watching',
      lists: this.#lists,
      watches: this.#watches,
      failures: this.#failures,
      resourceVersion: this.#resourceVersion,
    };
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const attempt = new AbortController();
      this.#attempt = attempt;
      this.#lastActivityAt = this.#clock.now();
      let end: WatchEnd;
      try {
        if (this.#needList) {
          this.#phase = 'listing';
          await this.#relist(attempt.signal);
        }
        this.#phase = 'watching';
        end = await this.#watchOnce(attempt.signal);
      } catch (err) {
        end = attempt.signal.aborted
          ? { kind: 'aborted', reason: attempt.signal.reason as AbortReason }
          : { kind: 'error', err, healthy: false };
      }
      this.#attempt = undefined;
      if (this.#stopped) break;
      const delayMs = this.#afterAttempt(end);
      if (delayMs > 0) {
        this.#phase = 'waiting';
        await this.#sleep(delayMs);
      }
    }
    this.#phase = 'idle';
  }

  // Decides what the next attempt does and how long to wait before it.
  #afterAttempt(end: WatchEnd): number {
    switch (end.kind) {
      case 'aborted':
        if (end.reason === 'watchdog') {
          this.#logger.warn({ silentSeconds: this.#watchdogMs / 1000 }, 'No watch events for too long; restarting the watch');
        }
        return 0;
      case 'gone':
        this.#logger.info({ resourceVersion: this.#resourceVersion }, 'Watch resourceVersion expired; listing again');
        this.#needList = true;
        return 0;
      case 'closed':
        if (end.healthy) {
          this.#failures = 0;
          return 0;
        }
        this.#failures++;
        this.#logger.warn({ failures: this.#failures }, 'Watch closed at once');
        return this.#backoffMs();
      case 'error':
        this.#failures = end.healthy ? 1 : this.#failures + 1;
        this.#logger.warn(
          { err: end.err, failures: this.#failures, listing: this.#needList },
          this.#needList ? 'List failed' : 'Watch failed',
        );
        return this.#backoffMs();
    }
  }

  #backoffMs(): number {
    return Math.min(this.#initialBackoffMs * 2 ** (this.#failures - 1), this.#maxBackoffMs);
  }

  async #relist(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const query: QueryParams = { ...this.#selectors, limit: this.#pageSize, continue: continueToken };
      const page = await abortable(this.#transport.list(this.#path, query, signal), signal);
      const kind = page.kind?.replace(/List$/, '');
      for (const item of page.items ?? []) {
        // List items come without apiVersion and kind; Events and owner references need them.
        const kept = this.#transform({ ...item, apiVersion: item.apiVersion ?? page.apiVersion, kind: item.kind ?? kind } as T);
        if (kept) items.push(kept);
      }
      const metadata = (page.metadata ?? {}) as { continue?: string; _continue?: string; resourceVersion?: string };
      continueToken = metadata.continue || metadata._continue || undefined;
      resourceVersion = metadata.resourceVersion ?? '';
    } while (continueToken);

    const previous = this.#cache;
    this.#cache = new Map(items.map((item) => [objectKey(item), item]));
    this.#resourceVersion = resourceVersion;
    this.#needList = false;
    this.#lists++;
    this.#failures = 0;
    this.#lastActivityAt = this.#clock.now();
    this.#logger.debug({ objects: items.length, resourceVersion }, 'Listed');

    for (const [key, object] of this.#cache) {
      const before = previous.get(key);
      if (!before) this.#emit('add', object);
      else if (!sameVersion(before, object)) this.#emit('update', object, before);
    }
    for (const [key, before] of previous) {
      if (!this.#cache.has(key)) this.#emit('delete', before);
    }
    if (!this.#synced) {
      this.#synced = true;
      this.#resolveSynced();
    }
  }

  #watchOnce(signal: AbortSignal): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      const startedAt = this.#clock.now();
      let events = 0;
      let finished = false;
      let request: AbortController | undefined;
      const healthy = () => events > 0 || this.#clock.now() - startedAt >= HEALTHY_WATCH_MS;
      const finish = (end: WatchEnd) => {
        if (finished) return;
        finished = true;
        signal.removeEventListener('abort', onAbort);
        request?.abort();
        resolve(end);
      };
      const onAbort = () => finish({ kind: 'aborted', reason: signal.reason as AbortReason });
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort);

      const query: QueryParams = {
        ...this.#selectors,
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.#watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300),
      };
      this.#watches++;
      const onEvent = (type: string, object: unknown) => {
        if (finished) return;
        events++;
        this.#lastActivityAt = this.#clock.now();
        if (type === 'ERROR') {
          const status = object as { code?: number; reason?: string; message?: string };
          finish(status.code === 410 ? { kind: 'gone' } : { kind: 'error', err: watchStatusError(status), healthy: false });
          return;
        }
        this.#apply(type, object as T, type === 'BOOKMARK' ? undefined : this.#transform(object as T));
      };
      const done = (err: unknown) => {
        if (!err || isClientTimeout(err)) finish({ kind: 'closed', healthy: healthy() });
        else if (apiStatus(err)?.code === 410) finish({ kind: 'gone' });
        else finish({ kind: 'error', err, healthy: healthy() });
      };
      this.#transport.watch(this.#path, query, onEvent, done).then(
        (controller) => {
          request = controller;
          if (finished) controller.abort();
        },
        (err: unknown) => finish({ kind: 'error', err, healthy: false }),
      );
    });
  }

  /** One watch event: `object` as it came, `kept` what the cache holds of it (none: not held). */
  #apply(type: string, object: T, kept: T | undefined): void {
    const resourceVersion = object.metadata?.resourceVersion;
    if (resourceVersion) this.#resourceVersion = resourceVersion;
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
    const key = objectKey(object);
    const before = this.#cache.get(key);
    if (type === 'DELETED' || !kept) {
      if (!before) return;
      this.#cache.delete(key);
      this.#emit('delete', kept ?? before);
    } else {
      if (before && sameVersion(before, kept)) return;
      this.#cache.set(key, kept);
      if (before) this.#emit('update', kept, before);
      else this.#emit('add', kept);
    }
  }

  #emit(event: 'add' | 'delete', object: T): void;
  #emit(event: 'update', object: T, previous: T): void;
  #emit(event: keyof InformerHandlers<T>, object: T, previous?: T): void {
    for (const handlers of this.#handlers) {
      try {
        if (event === 'update') handlers.update?.(object, previous!);
        else handlers[event]?.(object);
      } catch (err) {
        this.#logger.error({ err, event, key: objectKey(object) }, 'Informer handler failed');
      }
    }
  }

  #armWatchdog(ms: number): void {
    const timer = this.#clock.setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#stopped) return;
      const silentMs = this.#clock.now() - this.#lastActivityAt;
      const busy = this.#phase === 'listing' || this.#phase === 'watching';
      if (busy && silentMs >= this.#watchdogMs) {
        this.#attempt?.abort('watchdog' satisfies AbortReason);
        this.#armWatchdog(this.#watchdogMs);
      } else {
        this.#armWatchdog(Math.max(this.#watchdogMs - silentMs, 1));
      }
    }, ms);
    this.#timers.add(timer);
  }

  #armResync(): void {
    const timer = this.#clock.setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#stopped) return;
      // Before the first list there is nothing to replay; that list delivers everything anyway.
      if (this.#synced) {
        this.#logger.debug({ objects: this.#cache.size }, 'Resync');
        for (const object of [...this.#cache.values()]) this.#emit('update', object, object);
      }
      this.#armResync();
    }, this.#resyncMs);
    this.#timers.add(timer);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#timers.delete(timer);
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#timers.add(timer);
      this.#wake = () => {
        this.#clock.clearTimeout(timer);
        this.#timers.delete(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

function sameVersion(a: k8s.KubernetesObject, b: k8s.KubernetesObject): boolean {
  const version = a.metadata?.resourceVersion;
  return version !== undefined && version === b.metadata?.resourceVersion;
}

// The watch ends with a TimeoutError after 30 s without data: a quiet stream, not a fault.
function isClientTimeout(err: unknown): boolean {
  return err instanceof Error && err.name === 'TimeoutError';
}

function watchStatusError(status: { code?: number; reason?: string; message?: string }): Error {
  return Object.assign(new Error(`watch error: ${status.reason ?? 'Unknown'}: ${status.message ?? ''}`), {
    statusCode: status.code,
  });
}

// Settles as soon as the signal aborts, even if the underlying request ignores it.
function abortable<V>(promise: Promise<V>, signal: AbortSignal): Promise<V> {
  let onAbort = () => undefined as void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** Lists through the plain-JSON client (json-request.ts) and watches through json-watch.ts, both raw JSON. */
export function kubeTransport(kubeConfig: k8s.KubeConfig): InformerTransport {
  const watch = jsonWatch(kubeConfig);
  const send = jsonClient(kubeConfig);
  return {
    list: (path, query, signal) => send<k8s.KubernetesListObject<k8s.KubernetesObject>>({ method: 'GET', path, query, signal }),
    watch: (path, query, onEvent, done) => {
      kubeRequests.inc(describeRequest('GET', `${path}?watch=true`));
      return watch(path, query, onEvent, done);
    },
  };
}
