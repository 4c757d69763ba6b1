// Tells people about failed Jobs by e-mail and webhook, without ever getting in the caller's way:
// notify() only takes the report; sending happens in the background with retries, and a failure
// to send is logged, counted and dropped. Nothing here creates Jobs or SQS messages, and a failed
// notification is never itself notified, so a broken destination cannot start a loop.
//
// Rate limit per (namespace, job type): a window opens at the first failure and lasts
// digestWindowSeconds. Its first maxPerWindow failures are sent one by one; the rest are held and
// sent as one digest when the window ends. A burst therefore costs at most maxPerWindow + 1
// messages per destination and window.
import pRetry from 'p-retry';
import type { Notifications } from '../api/schemas.ts';
import type { Logger } from '../log.ts';
import { configuredChannels, type NotificationChannel, type NotifyCounters } from '../metrics.ts';
import { DigestBuilder } from './digest.ts';
import { renderDigestEmail, renderFailureEmail, type RenderedEmail } from './html.ts';
import { renderDigestSlack, renderFailureSlack, type SlackMessage } from './slack.ts';
import { NetworkTransports, PermanentDeliveryError, type Transports } from './transports.ts';
import type { FailureDigest, FailureReport } from './types.ts';

/** Reads one key of a Secret in the report's namespace. */
export type SecretReader = (name: string, key: string) => Promise<string>;

export type Clock = {
  now(): number;
  /** Runs callback after delayMs; the returned function cancels it. */
  schedule(callback: () => void, delayMs: number): () => void;
};

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    // A pending digest must not keep a stopping process alive: close() sends it.
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export type NotifierStats = {
  /** Deliveries that reached a destination (one report to e-mail and Slack counts twice). */
  sent: number;
  /** Failures folded into a digest instead of being sent on their own. */
  digested: number;
  /** Deliveries given up after retries, or dropped because the queue was full. */
  failed: number;
  /** Attempts that failed and were tried again. */
  retries: number;
};

export type NotifierOptions = {
  log: Logger;
  transports?: Transports;
  clock?: Clock;
  counters?: NotifyCounters;
  /** Tries after the first one; default 3. */
  retries?: number;
  /** Delay before the first retry, doubling (with jitter) after each; default 1 s. */
  retryDelayMs?: number;
  /** Bound on one attempt; default 10 s. */
  timeoutMs?: number;
  /** Deliveries in flight at once; default 4. */
  concurrency?: number;
  /** Deliveries waiting beyond this are dropped; default 1000. */
  maxQueued?: number;
};

type Kind = 'failure' | 'digest';

type Delivery = {
  channel: NotificationChannel;
  kind: Kind;
  namespace: string;
  jobType: string;
  /** What the logs say about this delivery; never the webhook URL. */
  context: Record<string, unknown>;
  attempt: (signal: AbortSignal) => Promise<void>;
};

type Window = {
  namespace: string;
  jobType: string;
  startedAt: number;
  endsAt: number;
  sent: number;
  held?: DigestBuilder;
  /** The digest goes out with the configuration and Secret reader of the latest failure. */
  config: Notifications;
  secrets: SecretReader;
  cancelTimer: () => void;
};

type Content = { email: () => RenderedEmail; slack: () => SlackMessage };

/**
 * Settles with work, or rejects when signal aborts: a Secret read or an SMTP exchange that
 * ignores the signal still cannot hold a delivery, and so flush() and close(), for ever.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const once = <T>(make: () => T): (() => T) => {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
};

export class Notifier {
  readonly stats: NotifierStats = { sent: 0, digested: 0, failed: 0, retries: 0 };
  readonly #log: Logger;
  readonly #transports: Transports;
  readonly #clock: Clock;
  readonly #counters: NotifyCounters | undefined;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #windows = new Map<string, Window>();
  readonly #queue: Delivery[] = [];
  #active = 0;
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(options: NotifierOptions) {
    this.#log = options.log;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#transports = options.transports ?? new NetworkTransports({ timeoutMs: this.#timeoutMs });
    this.#clock = options.clock ?? systemClock;
    this.#counters = options.counters;
    this.#retries = options.retries ?? 3;
    this.#retryDelayMs = options.retryDelayMs ?? 1_000;
    this.#concurrency = options.concurrency ?? 4;
    this.#maxQueued = options.maxQueued ?? 1_000;
  }

  /**
   * Hands a failure over and returns at once; it never throws. Sending happens in the background
   * (see flush() and close()).
   */
  notify(report: FailureReport, config: Notifications, secrets: SecretReader): void {
    try {
      this.#admit(report, config, secrets);
    } catch (error) {
      this.#log.error({ err: error, namespace: report.namespace, jobName: report.jobName }, 'could not queue a failure notification');
    }
  }

  /** Sends held digests now (ending their windows early) and waits until every delivery is done or given up. */
  async flush(): Promise<void> {
    for (const [key, window] of [...this.#windows]) this.#closeWindow(key, window);
    await this.settled();
  }

  /** Waits until every queued delivery is done or given up; held failures stay held. */
  settled(): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** flush(), then release connections; later notify() calls are dropped with a warning. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    await this.#transports.close();
  }

  #admit(report: FailureReport, config: Notifications, secrets: SecretReader): void {
    if (this.#closed) {
      this.#log.warn({ namespace: report.namespace, jobName: report.jobName }, 'notifier is closed; failure notification dropped');
      return;
    }
    if (!config.email && !config.slack) return;
    const now = this.#clock.now();
    const key = JSON.stringify([report.namespace, report.jobType]);
    let window = this.#windows.get(key);
    // The timer normally ends a window; this covers a timer that has not run yet.
    if (window && now >= window.endsAt) {
      this.#closeWindow(key, window);
      window = undefined;
    }
    if (!window) window = this.#openWindow(key, report, config, secrets, now);
    window.config = config;
    window.secrets = secrets;

    if (window.sent < config.maxPerWindow) {
      window.sent++;
      this.#enqueueAll('failure', report.namespace, report.jobType, config, secrets, {
        email: once(() => renderFailureEmail(report)),
        slack: once(() => renderFailureSlack(report)),
      }, { jobName: report.jobName, messageId: report.messageId });
      return;
    }
    if (!window.held) {
      window.held = new DigestBuilder(report.namespace, report.jobType);
      this.#log.info(
        { namespace: report.namespace, jobType: report.jobType, maxPerWindow: config.maxPerWindow, windowEndsAt: new Date(window.endsAt) },
        'failure notifications rate-limited; the rest of this window goes into one digest',
      );
    }
    window.held.add(report);
    this.stats.digested++;
    // Counted per channel the digest will go to, as sent and failed are.
    for (const channel of configuredChannels(config)) this.#counters?.digested.inc({ namespace: report.namespace, job_type: report.jobType, channel });
  }

  #openWindow(key: string, report: FailureReport, config: Notifications, secrets: SecretReader, now: number): Window {
    const endsAt = now + config.digestWindowSeconds * 1000;
    const window: Window = {
      namespace: report.namespace,
      jobType: report.jobType,
      startedAt: now,
      endsAt,
      sent: 0,
      config,
      secrets,
      cancelTimer: () => undefined,
    };
    this.#windows.set(key, window);
    window.cancelTimer = this.#clock.schedule(() => this.#closeWindow(key, window), endsAt - now);
    return window;
  }

  #closeWindow(key: string, window: Window): void {
    if (this.#windows.get(key) === window) this.#windows.delete(key);
    window.cancelTimer();
    const held = window.held;
    window.held = undefined;
    if (!held || held.count === 0) return;
    let digest: FailureDigest;
    try {
      digest = held.build({
        start: new Date(window.startedAt),
        end: new Date(Math.min(this.#clock.now(), window.endsAt)),
        sentIndividually: window.sent,
      });
    } catch (error) {
      this.#log.error({ err: error, namespace: window.namespace, jobType: window.jobType }, 'could not build a failure digest');
      return;
    }
    this.#enqueueAll('digest', window.namespace, window.jobType, window.config, window.secrets, {
      email: once(() => renderDigestEmail(digest)),
      slack: once(() => renderDigestSlack(digest)),
    }, { count: digest.count });
  }

  #enqueueAll(
    kind: Kind, namespace: string, jobType: string, config: Notifications, secrets: SecretReader, content: Content,
    context: Record<string, unknown>,
  ): void {
    const base = { kind, namespace, jobType };
    const email = config.email;
    if (email) {
      this.#enqueue({
        ...base,
        channel: 'email',
        context: { ...context, namespace, jobType, kind, channel: 'email', via: email.via },
        attempt: (signal) => this.#transports.sendEmail(email, content.email(), signal),
      });
    }
    const slack = config.slack;
    if (slack) {
      this.#enqueue({
        ...base,
        channel: 'slack',
        context: { ...context, namespace, jobType, kind, channel: 'slack' },
        attempt: async (signal) => {
          const url = (await secrets(slack.webhookUrlSecretRef.name, slack.webhookUrlSecretRef.key)).trim();
          await this.#transports.postWebhook(url, content.slack(), signal);
        },
      });
    }
  }

  #enqueue(delivery: Delivery): void {
    if (this.#queue.length >= this.#maxQueued) {
      this.#recordFailure(delivery, new Error(`more than ${this.#maxQueued} notifications waiting`), 0);
      return;
    }
    this.#queue.push(delivery);
    this.#pump();
  }

  #pump(): void {
    while (this.#active < this.#concurrency) {
      const delivery = this.#queue.shift();
      if (!delivery) break;
      this.#active++;
      void this.#deliver(delivery).finally(() => {
        this.#active--;
        this.#pump();
        if (this.#active === 0 && this.#queue.length === 0) {
          const waiters = this.#idleWaiters;
          this.#idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  }

  async #deliver(delivery: Delivery): Promise<void> {
    let attempts = 0;
    try {
      await pRetry(async () => {
        attempts++;
        const signal = AbortSignal.timeout(this.#timeoutMs);
        await untilAborted(delivery.attempt(signal), signal);
      }, {
        retries: this.#retries,
        minTimeout: this.#retryDelayMs,
        maxTimeout: 30_000,
        factor: 2,
        randomize: true,
        shouldRetry: ({ error }) => !(error instanceof PermanentDeliveryError),
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft > 0 && !(error instanceof PermanentDeliveryError)) {
            this.#log.warn({ ...delivery.context, err: error, attempt: attemptNumber }, 'failure notification not delivered; retrying');
          }
        },
      });
      this.stats.sent++;
      this.#counters?.sent.inc(this.#labels(delivery));
      this.#log.debug({ ...delivery.context, attempts }, 'failure notification delivered');
    } catch (error) {
      this.#recordFailure(delivery, error, attempts);
    } finally {
      this.stats.retries += Math.max(0, attempts - 1);
    }
  }

  #recordFailure(delivery: Delivery, error: unknown, attempts: number): void {
    this.stats.failed++;
    this.#counters?.failed.inc(this.#labels(delivery));
    this.#log.error({ ...delivery.context, err: error, attempts }, 'failure notification dropped');
  }

  #labels(delivery: Delivery): Record<'namespace' | 'job_type' | 'channel' | 'kind', string> {
    return { namespace: delivery.namespace, job_type: delivery.jobType, channel: delivery.channel, kind: delivery.kind };
  }
}

