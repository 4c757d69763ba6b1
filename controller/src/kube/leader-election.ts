// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules
// (tools/leaderelection): a candidate takes the Lease when it is absent, released (no holder),
// already ours, or not renewed for leaseDurationSeconds as measured on our own clock since we
// last saw it change (so clock skew between replicas does not matter). Every write carries the
// resourceVersion we read, so of two candidates exactly one wins (the other gets 409 Conflict).
// The leader renews every retryPeriod; if it cannot renew within renewDeadline (< leaseDuration)
// it stops leading before anyone else may take over.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.ts';
import { isAlreadyExists, isConflict, isNotFound, requestTimeout } from './client.ts';
import { EventReason } from './event-reasons.ts';
import type { EventRecorder } from './events.ts';

export type LeaseApi = Pick<k8s.CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

export interface LeaderElectorOptions {
  coordination: LeaseApi;
  namespace: string;
  name: string;
  /** Unique per replica and per run: the pod name. */
  identity: string;
  /** How long a standby waits after the last renewal it saw before taking over. Default 15. */
  leaseDurationSeconds?: number;
  /** The leader stops leading when it has not renewed for this long. Default 10. */
  renewDeadlineSeconds?: number;
  /** How often the leader renews and a standby retries. Default 2. */
  retryPeriodSeconds?: number;
  logger: Logger;
  /** Records a LeaderElection Event on the Lease when this replica takes it. */
  events?: EventRecorder;
  clock?: Clock;
}

export interface LeaderCallbacks {
  /** Runs the leader's work; `signal` aborts when leadership ends for any reason. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /**
   * Leadership was lost (renewal failed, another replica holds the Lease) or onStartedLeading
   * rejected (the Lease is released first); the caller should exit. Not called after release()
   * or an aborted `signal`.
   */
  onStoppedLeading?(): void;
  /** Another identity (or ours) was seen holding the Lease. */
  onNewLeader?(identity: string): void;
  /** Aborting stops electing without releasing the Lease, as a crash would. */
  signal?: AbortSignal;
}

type Attempt = 'ok' | 'held' | 'failed';

export class LeaderElector {
  readonly #api: LeaseApi;
  readonly #namespace: string;
  readonly #name: string;
  readonly #identity: string;
  readonly #leaseDurationSeconds: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #logger: Logger;
  readonly #events: EventRecorder | undefined;
  readonly #clock: Clock;

  #lease: k8s.V1Lease | undefined;
  #observedVersion: string | undefined;
  #observedAt = 0;
  #observedHolder: string | undefined;
  #leading = false;
  #callbacks: LeaderCallbacks | undefined;
  #running: Promise<void> | undefined;
  readonly #stop = new AbortController();

  constructor(options: LeaderElectorOptions) {
    const leaseDuration = options.leaseDurationSeconds ?? 15;
    const renewDeadline = options.renewDeadlineSeconds ?? 10;
    const retryPeriod = options.retryPeriodSeconds ?? 2;
    if (!(leaseDuration > renewDeadline)) throw new Error('leaseDurationSeconds must be greater than renewDeadlineSeconds');
    if (!(renewDeadline > retryPeriod * 1.2)) throw new Error('renewDeadlineSeconds must be greater than 1.2 × retryPeriodSeconds');
    if (!(retryPeriod > 0)) throw new Error('retryPeriodSeconds must be positive');
    if (!options.identity) throw new Error('identity must not be empty');
    this.#api = options.coordination;
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.#identity = options.identity;
    this.#leaseDurationSeconds = Math.ceil(leaseDuration);
    this.#renewDeadlineMs = renewDeadline * 1000;
    this.#retryPeriodMs = retryPeriod * 1000;
    this.#logger = options.logger.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
    this.#events = options.events;
    this.#clock = options.clock ?? systemClock;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder seen on the last read or write, if any. */
  leader(): string | undefined {
    return this.#observedHolder || undefined;
  }

  /**
   * Competes for the Lease until this replica leads, then renews it. Resolves when electing ends:
   * leadership lost (after onStoppedLeading), release(), or `signal` aborted.
   */
  run(callbacks: LeaderCallbacks): Promise<void> {
    if (this.#running) throw new Error('LeaderElector.run may be called once');
    this.#running = this.#run(callbacks);
    return this.#running;
  }

  /**
   * Stops electing and, if this replica holds the Lease, hands it over at once (no holder,
   * leaseDurationSeconds 1) so a standby need not wait for it to expire. Stop the leader's work
   * first: a standby may start as soon as this returns.
   */
  async release(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    await this.#releaseLease();
  }

  async #releaseLease(): Promise<void> {
    const lease = this.#lease;
    if (!lease || lease.spec?.holderIdentity !== this.#identity) return;
    const now = new k8s.V1MicroTime(this.#clock.now());
    const body: k8s.V1Lease = {
      ...lease,
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
    };
    try {
      this.#lease = await this.#api.replaceNamespacedLease(
        { namespace: this.#namespace, name: this.#name, body },
        requestTimeout(this.#renewDeadlineMs),
      );
      this.#logger.info('Released the lease');
    } catch (err) {
      // 409: someone else wrote the Lease since our last renewal, so it is not ours to release.
      if (isConflict(err)) this.#logger.info('Lease changed hands before release; nothing to release');
      else this.#logger.warn({ err }, 'Failed to release the lease; a standby takes over when it expires');
    }
  }

  async #run(callbacks: LeaderCallbacks): Promise<void> {
    const stopped = callbacks.signal ? AbortSignal.any([this.#stop.signal, callbacks.signal]) : this.#stop.signal;
    this.#callbacks = callbacks;

    this.#logger.info('Waiting to acquire the lease');
    for (;;) {
      if (stopped.aborted) return;
      const attempt = await this.#tryAcquireOrRenew(this.#renewDeadlineMs);
      if (attempt === 'ok') break;
      await this.#sleep(this.#retryPeriodMs * (1 + Math.random() * 0.2), stopped);
    }
    if (stopped.aborted) return;

    this.#leading = true;
    const work = new AbortController();
    this.#logger.info('Became the leader');
    if (this.#lease) {
      this.#events?.normal(
        { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...this.#lease },
        EventReason.LeaderElection,
        `${this.#identity} became leader`,
        { action: 'Acquire' },
      );
    }
    // Work that fails leaves nobody doing the leader's job: step down so a standby takes over.
    let workFailed = false;
    const stopping = new AbortController();
    void Promise.resolve()
      .then(() => callbacks.onStartedLeading(work.signal))
      .catch((err: unknown) => {
        if (work.signal.aborted) return;
        this.#logger.error({ err }, 'Leader work failed; stepping down');
        workFailed = true;
        stopping.abort();
      });
    const leading = AbortSignal.any([stopped, stopping.signal]);

    let lastRenewedAt = this.#clock.now();
    let lost = false;
    while (!leading.aborted) {
      await this.#sleep(this.#retryPeriodMs, leading);
      if (leading.aborted) break;
      const remainingMs = lastRenewedAt + this.#renewDeadlineMs - this.#clock.now();
      const attempt = await this.#tryAcquireOrRenew(Math.max(remainingMs, 500));
      if (attempt === 'ok') {
        lastRenewedAt = this.#clock.now();
        continue;
      }
      if (leading.aborted) break;
      if (attempt === 'held') {
        this.#logger.error({ holder: this.#observedHolder }, 'Another replica holds the lease');
        lost = true;
        break;
      }
      if (this.#clock.now() - lastRenewedAt >= this.#renewDeadlineMs) {
        this.#logger.error({ renewDeadlineSeconds: this.#renewDeadlineMs / 1000 }, 'Failed to renew the lease in time');
        lost = true;
        break;
      }
    }
    this.#leading = false;
    work.abort();
    if (workFailed && !stopped.aborted) {
      await this.#releaseLease();
      callbacks.onStoppedLeading?.();
    } else if (lost) {
      this.#lease = undefined;
      this.#logger.info('Stopped leading');
      callbacks.onStoppedLeading?.();
    }
  }

  // One round of client-go's tryAcquireOrRenew. 'held': someone else validly holds the Lease.
  async #tryAcquireOrRenew(timeoutMs: number): Promise<Attempt> {
    const options = requestTimeout(timeoutMs);
    const now = this.#clock.now();

    // The leader writes over its own last write directly; a conflict means someone else wrote.
    if (this.#leading && this.#lease) {
      try {
        this.#observe(await this.#api.replaceNamespacedLease(
          { namespace: this.#namespace, name: this.#name, body: this.#renewal(this.#lease, now) }, options,
        ));
        return 'ok';
      } catch (err) {
        if (!isConflict(err)) {
          this.#logger.warn({ err }, 'Failed to renew the lease');
          return 'failed';
        }
      }
    }

    let lease: k8s.V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ namespace: this.#namespace, name: this.#name }, options);
    } catch (err) {
      if (!isNotFound(err)) {
        this.#logger.warn({ err }, 'Failed to read the lease');
        return 'failed';
      }
      return this.#create(now, options);
    }
    this.#observe(lease);

    const holder = lease.spec?.holderIdentity;
    const durationMs = (lease.spec?.leaseDurationSeconds ?? this.#leaseDurationSeconds) * 1000;
    if (holder && holder !== this.#identity && this.#clock.now() < this.#observedAt + durationMs) return 'held';

    try {
      this.#observe(await this.#api.replaceNamespacedLease(
        { namespace: this.#namespace, name: this.#name, body: this.#renewal(lease, now) }, options,
      ));
      if (holder !== this.#identity) this.#logger.info({ previousHolder: holder || undefined }, 'Acquired the lease');
      return 'ok';
    } catch (err) {
      if (isConflict(err)) this.#logger.debug('Another replica wrote the lease first');
      else this.#logger.warn({ err }, 'Failed to update the lease');
      return 'failed';
    }
  }

  async #create(now: number, options: k8s.ConfigurationOptions): Promise<Attempt> {
    const time = new k8s.V1MicroTime(now);
    const body: k8s.V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { namespace: this.#namespace, name: this.#name },
      spec: {
        holderIdentity: this.#identity,
        leaseDurationSeconds: this.#leaseDurationSeconds,
        acquireTime: time,
        renewTime: time,
        leaseTransitions: 0,
      },
    };
    try {
      this.#observe(await this.#api.createNamespacedLease({ namespace: this.#namespace, body }, options));
      this.#logger.info('Created and acquired the lease');
      return 'ok';
    } catch (err) {
      if (isAlreadyExists(err)) this.#logger.debug('Another replica created the lease first');
      else this.#logger.warn({ err }, 'Failed to create the lease');
      return 'failed';
    }
  }

  // The Lease as written by a holder renewing it, or by a new holder taking it over.
  #renewal(lease: k8s.V1Lease, now: number): k8s.V1Lease {
    const spec = lease.spec ?? {};
    const ours = spec.holderIdentity === this.#identity;
    const time = new k8s.V1MicroTime(now);
    return {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.#identity,
        leaseDurationSeconds: this.#leaseDurationSeconds,
        renewTime: time,
        acquireTime: ours && spec.acquireTime ? spec.acquireTime : time,
        leaseTransitions: ours ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
  }

  // Expiry is judged from when we saw the Lease change, not from its renewTime (clock skew).
  #observe(lease: k8s.V1Lease): void {
    this.#lease = lease;
    const holder = lease.spec?.holderIdentity;
    if (holder && holder !== this.#observedHolder) this.#callbacks?.onNewLeader?.(holder);
    this.#observedHolder = holder;
    const version = lease.metadata?.resourceVersion;
    if (version !== this.#observedVersion) {
      this.#observedVersion = version;
      this.#observedAt = this.#clock.now();
    }
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = () => {
        this.#clock.clearTimeout(timer);
        resolve();
      };
      const timer = this.#clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
