// Shared fixtures for the notify tests (unit and e2e): a manual clock, a log that can be read back, reports.
import { pino } from 'pino';
import type { Logger } from '../log.ts';
import type { Clock } from './notifier.ts';
import type { FailureReport } from './types.ts';

export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; callback: () => void; cancelled: boolean }[] = [];

  constructor(start = Date.parse('2026-03-01T12:00:00Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  schedule(callback: () => void, delayMs: number): () => void {
    const timer = { at: this.#now + delayMs, callback, cancelled: false };
    this.#timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Moves time forward, running each timer that falls due at its own moment. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#timers
        .filter((timer) => !timer.cancelled && timer.at <= target)
        .sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.cancelled = true;
      this.#now = due.at;
      due.callback();
    }
    this.#timers = this.#timers.filter((timer) => !timer.cancelled);
    this.#now = target;
  }
}

export type LogLine = { level: number; msg: string; [key: string]: unknown };

export function captureLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { log, lines };
}

export function failureReport(overrides: Partial<FailureReport> = {}): FailureReport {
  return {
    namespace: 'media',
    jobType: 'render',
    binding: 'videos',
    jobName: 'render-7f3a9c',
    messageId: '5fea7756-0ea4-451a-a703-a558b933e274',
    reason: 'BackoffLimitExceeded',
    exitCode: 137,
    attempts: 3,
    message: 'loading model\nCUDA out of memory',
    payload: '{"videoId":"v-42","quality":"1080p"}',
    failedAt: new Date('2026-03-01T12:00:00Z'),
    ...overrides,
  };
}
