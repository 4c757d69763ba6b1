// How job code says what kind of failure it hit: bad input fails the Job at once (exit 2), anything
// else is retried by the Job's backoffLimit (exit 1).

export const EXIT_SUCCESS = 0;
export const EXIT_RETRYABLE = 1;
/** Sluice's JobTypes list 2 in retries.nonRetryableExitCodes. */
export const EXIT_NON_RETRYABLE = 2;

export type FailureOptions = { retryable?: boolean };

export class JobError extends Error {
  readonly retryable: boolean;

  constructor(message: string, options: FailureOptions & { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JobError';
    this.retryable = options.retryable ?? true;
  }
}

/** A JobError for input that can never succeed: a malformed message, a missing or corrupt file. */
export function badInput(message: string, cause?: unknown): JobError {
  return new JobError(message, { retryable: false, cause });
}

export function exitCodeFor(retryable: boolean): number {
  return retryable ? EXIT_RETRYABLE : EXIT_NON_RETRYABLE;
}

/** What a thrown value means: its message, and whether another attempt could succeed. */
export function describeFailure(error: unknown): { message: string; retryable: boolean } {
  if (error instanceof JobError) return { message: error.message, retryable: error.retryable };
  if (error instanceof Error) return { message: error.message || error.name, retryable: true };
  return { message: String(error), retryable: true };
}

/** One line, at most `max` characters: the failure message a record and a notification show. */
export function oneLine(message: string, max = 1024): string {
  const line = message.replace(/\s*[\r\n]+\s*/g, ' | ').trim() || 'failed';
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
