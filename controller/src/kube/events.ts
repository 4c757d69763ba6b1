// Records events.k8s.io/v1 Events (the API kubectl describe and `kubectl events` read; 1.35 serves
// the same Events as core/v1). Repeats of one (object, type, reason, action, message) join a
// series — one Event whose series.count grows, patched at most once per interval — and each
// object may create only a bounded number of new Events, so an error storm cannot flood the API
// server. Recording never throws: a lost Event is logged, never fatal.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isNotFound, mergePatch } from './client.ts';
import type { EventReason } from './event-reasons.ts';
import { type Clock, systemClock } from './clock.ts';

export type EventType = 'Normal' | 'Warning';

export const REPORTING_CONTROLLER = 'sluice.dev/controller';

export type EventsApi = Pick<k8s.EventsV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>;

export interface EventRecorderOptions {
  events: EventsApi;
  /** This replica's identity (the pod name), as reportingInstance. */
  reportingInstance: string;
  reportingController?: string;
  logger: Logger;
  /** A repeat within this long of the previous occurrence joins its series. Default 10 min. */
  seriesWindowMs?: number;
  /** Repeats are written as one series update at most this often. Default 2 s. */
  seriesUpdateIntervalMs?: number;
  /** New Events one object may get in a burst. Default 25. */
  perObjectBurst?: number;
  /** After a burst, one more new Event per object per this interval. Default 10 s. */
  perObjectRefillMs?: number;
  clock?: Clock;
}

export interface RecordOptions {
  /** What the controller did or failed to do, e.g. Reconcile, CreateJob. Default: Reconcile. */
  action?: string;
  related?: k8s.V1ObjectReference;
}

interface Series {
  namespace: string;
  /** The Event's name once created. */
  name?: string;
  count: number;
  written: number;
  lastObservedAt: number;
  updateScheduled: boolean;
  // Writes for one series run one after another, so an update never overtakes the create.
  chain: Promise<void>;
  body: k8s.EventsV1Event;
}

// Events larger than this are rejected by the API server.
const MAX_NOTE_BYTES = 1024;
const MAX_TRACKED = 4096;

export class EventRecorder {
  readonly #options: Required<Omit<EventRecorderOptions, 'events' | 'logger'>>;
  readonly #events: EventsApi;
  readonly #logger: Logger;
  readonly #series = new Map<string, Series>();
  readonly #buckets = new Map<string, { tokens: number; updatedAt: number }>();
  readonly #timers = new Set<unknown>();
  #sequence = 0;

  constructor(options: EventRecorderOptions) {
    this.#events = options.events;
    this.#logger = options.logger;
    this.#options = {
      reportingInstance: options.reportingInstance,
      reportingController: options.reportingController ?? REPORTING_CONTROLLER,
      seriesWindowMs: options.seriesWindowMs ?? 10 * 60_000,
      seriesUpdateIntervalMs: options.seriesUpdateIntervalMs ?? 2_000,
      perObjectBurst: options.perObjectBurst ?? 25,
      perObjectRefillMs: options.perObjectRefillMs ?? 10_000,
      clock: options.clock ?? systemClock,
    };
  }

  normal(object: k8s.KubernetesObject, reason: EventReason, message: string, options?: RecordOptions): void {
    this.record(object, 'Normal', reason, message, options);
  }

  warning(object: k8s.KubernetesObject, reason: EventReason, message: string, options?: RecordOptions): void {
    this.record(object, 'Warning', reason, message, options);
  }

  /** Records an Event about `object`, which needs apiVersion, kind and metadata.name. */
  record(
    object: k8s.KubernetesObject,
    type: EventType,
    reason: EventReason,
    message: string,
    options: RecordOptions = {},
  ): void {
    try {
      this.#record(object, type, reason, message, options);
    } catch (err) {
      this.#logger.warn({ err, reason }, 'Failed to record Event');
    }
  }

  /** Writes pending series updates now and waits for every write; for shutdown and tests. */
  async flush(): Promise<void> {
    for (const timer of this.#timers) this.#options.clock.clearTimeout(timer);
    this.#timers.clear();
    for (const series of this.#series.values()) {
      if (series.updateScheduled) {
        series.updateScheduled = false;
        this.#enqueue(series, () => this.#update(series));
      }
    }
    await Promise.all([...this.#series.values()].map((s) => s.chain));
  }

  #record(object: k8s.KubernetesObject, type: EventType, reason: string, message: string, options: RecordOptions) {
    const regarding = referenceTo(object);
    if (!regarding) {
      this.#logger.warn({ reason, object: object.metadata?.name }, 'Not recording Event: object lacks apiVersion, kind or name');
      return;
    }
    const now = this.#options.clock.now();
    const action = options.action ?? 'Reconcile';
    const note = truncateUtf8(message, MAX_NOTE_BYTES);
    const key = JSON.stringify([regarding.namespace, regarding.kind, regarding.name, regarding.uid, type, reason, action, note]);

    const existing = this.#series.get(key);
    if (existing && now - existing.lastObservedAt <= this.#options.seriesWindowMs) {
      existing.count++;
      existing.lastObservedAt = now;
      this.#series.delete(key);
      this.#series.set(key, existing);
      this.#scheduleUpdate(existing);
      return;
    }
    if (!this.#takeToken(JSON.stringify([regarding.namespace, regarding.kind, regarding.name]), now)) {
      this.#logger.debug({ reason, regarding }, 'Dropped Event: too many for one object');
      return;
    }
    const namespace = regarding.namespace ?? 'default';
    const series: Series = {
      namespace,
      count: 1,
      written: 0,
      lastObservedAt: now,
      updateScheduled: false,
      chain: Promise.resolve(),
      body: {
        metadata: { namespace },
        eventTime: new k8s.V1MicroTime(now),
        type,
        reason,
        action,
        note,
        regarding,
        related: options.related,
        reportingController: this.#options.reportingController,
        reportingInstance: this.#options.reportingInstance,
      },
    };
    this.#series.delete(key);
    this.#series.set(key, series);
    this.#evict(now);
    this.#enqueue(series, () => this.#create(series));
  }

  #scheduleUpdate(series: Series): void {
    if (series.updateScheduled) return;
    series.updateScheduled = true;
    const { clock } = this.#options;
    const timer = clock.setTimeout(() => {
      this.#timers.delete(timer);
      if (!series.updateScheduled) return;
      series.updateScheduled = false;
      this.#enqueue(series, () => this.#update(series));
    }, this.#options.seriesUpdateIntervalMs);
    this.#timers.add(timer);
  }

  #enqueue(series: Series, write: () => Promise<void>): void {
    series.chain = series.chain.then(write).catch((err: unknown) => {
      this.#logger.warn({ err, reason: series.body.reason, regarding: series.body.regarding }, 'Failed to record Event');
    });
  }

  async #create(series: Series): Promise<void> {
    const count = series.count;
    const body: k8s.EventsV1Event = {
      ...series.body,
      metadata: { namespace: series.namespace, name: this.#eventName(series.body.regarding?.name ?? 'object') },
    };
    if (count > 1) body.series = { count, lastObservedTime: new k8s.V1MicroTime(series.lastObservedAt) };
    const created = await this.#events.createNamespacedEvent({ namespace: series.namespace, body });
    series.name = created.metadata?.name;
    series.written = count;
  }

  async #update(series: Series): Promise<void> {
    if (series.count === series.written) return;
    if (!series.name) {
      await this.#create(series);
      return;
    }
    const count = series.count;
    const lastObservedTime = new k8s.V1MicroTime(series.lastObservedAt).toISOString();
    try {
      await this.#events.patchNamespacedEvent(
        { namespace: series.namespace, name: series.name, body: { series: { count, lastObservedTime } } },
        mergePatch(),
      );
      series.written = count;
    } catch (err) {
      // The Event expired (the API server's event TTL) or was deleted: start it again.
      if (!isNotFound(err)) throw err;
      series.name = undefined;
      await this.#create(series);
    }
  }

  // client-go's naming: <object>.<hex nanoseconds>, unique per recorder.
  #eventName(objectName: string): string {
    const suffix = (BigInt(this.#options.clock.now()) * 1_000_000n + BigInt(this.#sequence++ % 1_000_000)).toString(16);
    return `${objectName.slice(0, 253 - suffix.length - 1)}.${suffix}`;
  }

  #takeToken(objectKey: string, now: number): boolean {
    const { perObjectBurst, perObjectRefillMs } = this.#options;
    const bucket = this.#buckets.get(objectKey) ?? { tokens: perObjectBurst, updatedAt: now };
    const refilled = Math.min(perObjectBurst, bucket.tokens + (now - bucket.updatedAt) / perObjectRefillMs);
    const allowed = refilled >= 1;
    this.#buckets.delete(objectKey);
    this.#buckets.set(objectKey, { tokens: allowed ? refilled - 1 : refilled, updatedAt: now });
    return allowed;
  }

  // Maps iterate in insertion order and entries are re-inserted on use: the first are the oldest.
  #evict(now: number): void {
    for (const [key, series] of this.#series) {
      const expired = now - series.lastObservedAt > this.#options.seriesWindowMs;
      if (!expired && this.#series.size <= MAX_TRACKED) break;
      if (series.updateScheduled) continue;
      this.#series.delete(key);
    }
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= MAX_TRACKED) break;
      this.#buckets.delete(key);
    }
  }
}

function referenceTo(object: k8s.KubernetesObject): k8s.V1ObjectReference | undefined {
  const { apiVersion, kind } = object;
  const name = object.metadata?.name;
  if (!apiVersion || !kind || !name) return undefined;
  const reference: k8s.V1ObjectReference = { apiVersion, kind, name };
  if (object.metadata?.namespace) reference.namespace = object.metadata.namespace;
  if (object.metadata?.uid) reference.uid = object.metadata.uid;
  return reference;
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let end = Math.min(text.length, maxBytes);
  while (Buffer.byteLength(text.slice(0, end)) > maxBytes - 3) end--;
  return `${text.slice(0, end)}...`;
}
