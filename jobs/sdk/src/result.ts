// How a job ends: a result in the termination message (exit 0), or one clear failure line and exit
// 2 (bad input, never retried) or 1 (retried by the Job's backoffLimit).
import { writeFileSync } from 'node:fs';
import { EXIT_SUCCESS, exitCodeFor, JobError, oneLine, type FailureOptions } from './errors.ts';
import { progressReporter, type ProgressReporter } from './progress.ts';

/** Kubernetes truncates termination messages at 4096 bytes. */
export const TERMINATION_MESSAGE_LIMIT = 4096;
export const DEFAULT_RESULT_FILE = '/dev/termination-log';

/** Stores a result too large for the termination message (in S3) and returns what goes there instead. */
export type LargeResultUpload = (json: string, result: unknown) => Promise<{ resultUri: string } & Record<string, unknown>>;

export type SucceedOptions = {
  upload?: LargeResultUpload;
  progress?: ProgressReporter;
};

export function resultFile(env: Record<string, string | undefined> = process.env): string {
  return env.SLUICE_RESULT_FILE || DEFAULT_RESULT_FILE;
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** The termination message for a result: its JSON when it fits, else the upload's small replacement. */
export async function terminationMessage(result: unknown, upload?: LargeResultUpload): Promise<string> {
  const json = JSON.stringify(result ?? null);
  if (bytes(json) <= TERMINATION_MESSAGE_LIMIT) return json;
  if (upload === undefined) {
    throw new JobError(
      `the result is ${bytes(json)} bytes, over the ${TERMINATION_MESSAGE_LIMIT}-byte termination message: ` +
        'upload it to S3 and return {"resultUri": "s3://…"} with a small summary',
    );
  }
  const small = JSON.stringify(await upload(json, result));
  if (bytes(small) > TERMINATION_MESSAGE_LIMIT) {
    throw new JobError(`the uploaded result's summary is ${bytes(small)} bytes, over the ${TERMINATION_MESSAGE_LIMIT}-byte termination message`);
  }
  return small;
}

/** Writes the termination message; outside a pod (no /dev/termination-log) it goes to stdout instead. */
export function writeTerminationMessage(text: string, file = resultFile()): void {
  try {
    writeFileSync(file, text);
  } catch (error) {
    process.stderr.write(`cannot write the result to ${file} (${(error as Error).message}); it follows on stdout\n`);
    process.stdout.write(`${text}\n`);
  }
}

/** Ends the job successfully: progress 100 flushed, the result written, exit 0. */
export async function succeed(result: unknown, options: SucceedOptions = {}): Promise<never> {
  const message = await terminationMessage(result, options.upload);
  const progress = options.progress ?? progressReporter();
  progress.report(100, 'done');
  await progress.flush();
  writeTerminationMessage(message);
  return process.exit(EXIT_SUCCESS);
}

/**
 * Ends the job with a failure: pending progress flushed (never 100), one line on stderr and in the
 * termination message (so that earlier log lines do not become the message), exit 2 when not
 * retryable, else 1.
 */
export async function fail(message: string, options: FailureOptions & { progress?: ProgressReporter } = {}): Promise<never> {
  const line = oneLine(message);
  await (options.progress ?? progressReporter()).flush(2000);
  writeTerminationMessage(line);
  process.stderr.write(`${line}\n`);
  return process.exit(exitCodeFor(options.retryable ?? true));
}
