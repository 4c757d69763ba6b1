// An outcome step that can never succeed: retrying the same Job with the same spec fails the same
// way. The reconciler records it (Events, the JobType's OutcomesHealthy condition, a metric), keeps
// the message in the dead-letter queue where something could not be sent, and moves on.

export const outcomeFailureReasons = [
  /** onSuccess.body or forEach does not evaluate, or gives something that is not a message. */
  'FollowUpInvalid',
  /** SQS refused a follow-up message for its content (characters, size, attributes). */
  'FollowUpRejected',
  /** fanIn.send.body does not evaluate, or gives something that is not a message. */
  'FanInInvalid',
  /** The status sink refused the write for good (schema, constraint, validation). */
  'SinkWriteRejected',
  /** The dead-letter queue refused the failed message for its content. */
  'DeadLetterRejected',
] as const;
export type OutcomeFailureReason = (typeof outcomeFailureReasons)[number];

export class OutcomeError extends Error {
  override readonly name = 'OutcomeError';
  readonly reason: OutcomeFailureReason;

  constructor(reason: OutcomeFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}
