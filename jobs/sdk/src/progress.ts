// Progress reports to the Sluice controller: POST $SLUICE_PROGRESS_URL with the pod's projected
// ServiceAccount token. Reporting never throws into job code and never holds the process open:
// reports are coalesced (at most one request per interval, the latest value wins), each request
// has a short timeout, and flush() sends what is pending before the job exits.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export const STEP_MAX_LENGTH = 200;

export type ProgressBody = { percent: number; step?: string };

export type ProgressOptions = {
  /** Default $SLUICE_PROGRESS_URL; without one, reporting is off (silently). */
  url?: string;
  /** Default $SLUICE_TOKEN_FILE; read again for every request because the kubelet rotates it. */
  tokenFile?: string;
  /** Least time between two requests. */
  minIntervalMs?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Longest wait a server's Retry-After may impose. */
  maxRetryAfterMs?: number;
  /** Where warnings go (a line each, once per kind); default stderr. */
  warn?: (line: string) => void;
};

/** What one request taught: keep going, try the same report again later, or stop reporting. */
type Outcome = { kind: 'recorded' } | { kind: 'dropped' } | { kind: 'retry'; afterMs?: number } | { kind: 'stop' };

/** An integer percent 0..100 and a step of at most 200 characters; undefined for a percent that is not a number. */
export function progressBody(percent: number, step?: string): ProgressBody | undefined {
  if (typeof percent !== 'number' || !Number.isFinite(percent)) return undefined;
  const body: ProgressBody = { percent: Math.min(100, Math.max(0, Math.round(percent))) };
  const text = typeof step === 'string' ? step.trim() : '';
  if (text !== '') body.step = truncate(text, STEP_MAX_LENGTH);
  return body;
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  // Never leave half of a surrogate pair.
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

const same = (a: ProgressBody | undefined, b: ProgressBody | undefined) =>
  a !== undefined && b !== undefined && a.percent === b.percent && a.step === b.step;

/** Seconds or an HTTP date, as Retry-After carries it. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export class ProgressReporter {
  readonly #url: string | undefined;
  readonly #tokenFile: string | undefined;
  readonly #minIntervalMs: number;
  readonly #timeoutMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #warn: (line: string) => void;
  readonly #warned = new Set<string>();

  #pending: ProgressBody | undefined;
  #lastRecorded: ProgressBody | undefined;
  #notBefore = 0;
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: ProgressOptions = {}) {
    this.#url = options.url ?? (process.env.SLUICE_PROGRESS_URL || undefined);
    this.#tokenFile = options.tokenFile ?? (process.env.SLUICE_TOKEN_FILE || undefined);
    this.#minIntervalMs = options.minIntervalMs ?? 1000;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.#warn = options.warn ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** Whether reports go anywhere: a URL is set and the controller has not said the Job is finished. */
  get enabled(): boolean {
    return this.#url !== undefined && !this.#stopped;
  }

  /** Records the latest progress; it is sent when the interval allows. Never throws. */
  report(percent: number, step?: string): void {
    try {
      if (!this.enabled) return;
      const body = progressBody(percent, step);
      if (body === undefined) return this.#warnOnce('percent', `progress: ignoring a percent that is not a number (${String(percent)})`);
      this.#pending = body;
      this.#schedule();
    } catch {
      // Progress must never break the job.
    }
  }

  /**
   * Sends the pending report (waiting for the interval and an in-flight request), retrying
   * 429/5xx/timeouts until `deadlineMs` has passed. Resolves, never rejects.
   */
  async flush(deadlineMs = 5000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    this.#clearTimer();
    while (this.enabled && Date.now() < deadline) {
      if (this.#inFlight) {
        await this.#inFlight;
        this.#clearTimer();
        continue;
      }
      if (this.#pending === undefined || same(this.#pending, this.#lastRecorded)) return;
      const wait = this.#notBefore - Date.now();
      if (Date.now() + Math.max(0, wait) >= deadline) return;
      if (wait > 0) await sleep(wait);
      this.#send();
    }
  }

  #schedule(): void {
    if (this.#inFlight || this.#timer || this.#pending === undefined) return;
    if (same(this.#pending, this.#lastRecorded)) {
      this.#pending = undefined;
      return;
    }
    const wait = this.#notBefore - Date.now();
    if (wait <= 0) return this.#send();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#send();
    }, wait);
    // A pending report must not keep a finished job alive; runJob flushes before exit.
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #send(): void {
    const body = this.#pending;
    if (body === undefined || !this.enabled) return;
    this.#pending = undefined;
    this.#notBefore = Date.now() + this.#minIntervalMs;
    this.#inFlight = this.#post(body)
      .then((outcome) => this.#settle(body, outcome))
      .catch(() => undefined)
      .finally(() => {
        this.#inFlight = undefined;
        this.#schedule();
      });
  }

  #settle(body: ProgressBody, outcome: Outcome): void {
    switch (outcome.kind) {
      case 'recorded':
        this.#lastRecorded = body;
        return;
      case 'dropped':
        return;
      case 'stop':
        this.#stopped = true;
        this.#pending = undefined;
        return;
      case 'retry':
        // A newer report replaces the failed one; otherwise try this one again.
        this.#pending ??= body;
        if (outcome.afterMs !== undefined) {
          this.#notBefore = Math.max(this.#notBefore, Date.now() + Math.min(outcome.afterMs, this.#maxRetryAfterMs));
        }
        return;
    }
  }

  async #post(body: ProgressBody): Promise<Outcome> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const token = await this.#token();
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await fetch(this.#url as string, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      this.#warnOnce('network', `progress: cannot reach ${this.#url}: ${(error as Error).message}; will retry`);
      return { kind: 'retry' };
    }
    await response.body?.cancel().catch(() => undefined);
    const status = response.status;
    if (status >= 200 && status < 300) return { kind: 'recorded' };
    if (status === 409) return { kind: 'stop' };
    if (status === 403) {
      this.#warnOnce('403', 'progress: the controller refused this pod (403: not a Sluice Job pod); reporting stops');
      return { kind: 'stop' };
    }
    if (status === 429 || status >= 500) return { kind: 'retry', afterMs: retryAfterMs(response.headers.get('retry-after')) };
    // 400 (our body) or 401 (the token, which the kubelet may yet rotate): this report is lost, later ones may pass.
    this.#warnOnce(String(status), `progress: the controller answered ${status} to ${JSON.stringify(body)}`);
    return { kind: 'dropped' };
  }

  async #token(): Promise<string | undefined> {
    if (this.#tokenFile === undefined) return undefined;
    try {
      return (await readFile(this.#tokenFile, 'utf8')).trim() || undefined;
    } catch (error) {
      this.#warnOnce('token', `progress: cannot read the token file ${this.#tokenFile}: ${(error as Error).message}`);
      return undefined;
    }
  }

  #warnOnce(kind: string, line: string): void {
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    try {
      this.#warn(line);
    } catch {
      // A broken stderr must not break the job either.
    }
  }
}

let shared: ProgressReporter | undefined;

/** The process's reporter, configured from the env. */
export function progressReporter(): ProgressReporter {
  shared ??= new ProgressReporter();
  return shared;
}

/** Reports progress (integer percent 0..100, optional step ≤ 200 characters). Never throws, never blocks. */
export function reportProgress(percent: number, step?: string): void {
  progressReporter().report(percent, step);
}
