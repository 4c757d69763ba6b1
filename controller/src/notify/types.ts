// What the notifier is told about a failed Job.
export type FailureReport = {
  namespace: string;
  jobType: string;
  binding: string;
  jobName: string;
  messageId: string;
  /** Why the Job failed: BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy, Unschedulable, … */
  reason: string;
  exitCode?: number;
  attempts: number;
  /** The container's termination message or its last log lines. */
  message?: string;
  /** The message body as the producer sent it (callers truncate what goes into a notification). */
  payload: string;
  /** The whole payload's size in bytes, when `payload` is already only its beginning. */
  payloadBytes?: number;
  failedAt: Date;
};

/** Failures of one (job type, reason) pair within a digest. */
export type FailureGroup = {
  jobType: string;
  reason: string;
  count: number;
  /** Distinct exit codes seen, ascending. */
  exitCodes: number[];
  /** The first few Job names, for finding them with kubectl. */
  jobNames: string[];
  firstFailedAt: Date;
  lastFailedAt: Date;
};

/** The failures held back by the rate limit of one channel during one window. */
export type FailureDigest = {
  namespace: string;
  /** The channel's job type; groups may still name others when a digest spans several. */
  jobType: string;
  windowStart: Date;
  windowEnd: Date;
  /** How many failures this digest stands for. */
  count: number;
  /** How many failures of the same window were already sent on their own. */
  sentIndividually: number;
  groups: FailureGroup[];
  /** The first few failures, shown in full. */
  detailed: FailureReport[];
};
