// @sluice/job-sdk: the Sluice job contract (jobs/README.md) for TypeScript jobs.
export { badInput, describeFailure, EXIT_NON_RETRYABLE, EXIT_RETRYABLE, EXIT_SUCCESS, JobError, oneLine, type FailureOptions } from './errors.ts';
export { jobIdentity, type JobIdentity } from './identity.ts';
export { DEFAULT_PAYLOAD_FILE, decodePayload, parsePipe, payloadFormats, pick, readPayload, readRawPayload, type Payload, type PayloadFormat, type PipeBody } from './payload.ts';
export { progressBody, ProgressReporter, progressReporter, reportProgress, STEP_MAX_LENGTH, type ProgressBody, type ProgressOptions } from './progress.ts';
export { DEFAULT_RESULT_FILE, fail, resultFile, succeed, TERMINATION_MESSAGE_LIMIT, terminationMessage, writeTerminationMessage, type LargeResultUpload, type SucceedOptions } from './result.ts';
export { runJob, type JobContext, type RunOptions } from './run.ts';
