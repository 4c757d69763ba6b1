// runJob: the whole contract around one handler. The handler gets the decoded message and a progress
// function; what it returns is the result, what it throws becomes the failure (JobError's
// retryable decides the exit code).
import { describeFailure } from './errors.ts';
import { jobIdentity, type JobIdentity } from './identity.ts';
import { readPayload, type Payload } from './payload.ts';
import { progressReporter, type ProgressReporter } from './progress.ts';
import { fail, succeed, type LargeResultUpload } from './result.ts';

export type JobContext = {
  payload: Payload;
  identity: JobIdentity;
  /** Integer percent 0..100 and a short step; coalesced, never throws. */
  progress: (percent: number, step?: string) => void;
};

export type RunOptions = {
  /** Where results over the termination message's 4 KiB go (e.g. S3); without it such a result fails the job. */
  upload?: LargeResultUpload;
  progress?: ProgressReporter;
};

export async function runJob(handler: (context: JobContext) => unknown, options: RunOptions = {}): Promise<never> {
  const progress = options.progress ?? progressReporter();
  try {
    const context: JobContext = {
      payload: readPayload(),
      identity: jobIdentity(),
      progress: (percent, step) => progress.report(percent, step),
    };
    const result = await handler(context);
    return await succeed(result, { upload: options.upload, progress });
  } catch (error) {
    const { message, retryable } = describeFailure(error);
    return await fail(message, { retryable, progress });
  }
}
