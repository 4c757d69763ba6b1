// Every reason Sluice writes on a Kubernetes Event, in one place (like KEDA's eventreason.go), so
// SREs can grep and alert on them. Reasons are CamelCase and stable: changing one breaks alerts.
// Add new reasons here, grouped by the object they are recorded on.
export const EventReason = {
  // Lease
  /** This replica became the leader. */
  LeaderElection: 'LeaderElection',

  // QueueBinding
  /** A dispatcher started receiving from the binding's queue. */
  DispatcherStarted: 'DispatcherStarted',
  /** Receiving from SQS failed; the dispatcher backs off and retries. */
  ReceiveFailed: 'ReceiveFailed',
  /** The binding's routes or dedupe key are not valid CEL. */
  InvalidExpression: 'InvalidExpression',
  /** The binding's credentials Secret is missing or incomplete. */
  CredentialsUnavailable: 'CredentialsUnavailable',
  /** A route names a JobType that is missing or invalid; its messages wait in SQS. */
  JobTypeUnavailable: 'JobTypeUnavailable',
  /** The binding's own dispatcher Deployment (or its ScaledObject) could not be applied. */
  DispatcherDeploymentFailed: 'DispatcherDeploymentFailed',
  /** A binding asked for KEDA-scaled dispatchers where KEDA is not installed; it runs a fixed count. */
  KedaNotInstalled: 'KedaNotInstalled',
  /** A message could not run and the binding has no dead-letter queue; it stays in SQS. */
  NoDeadLetterQueue: 'NoDeadLetterQueue',
  /** A message with different content reused another message's dedupe key; it was dead-lettered. */
  DedupeKeyConflict: 'DedupeKeyConflict',

  // Job (and its JobType)
  /** A Job failed; its message goes to the dead-letter queue and the notifier. */
  JobFailed: 'JobFailed',
  /** Writing a Job's phase to its StatusSink failed; retried with backoff, the finalizer stays. */
  SinkWriteFailed: 'SinkWriteFailed',
  /** The application record to update does not exist and createIfMissing is false. */
  StatusRecordMissing: 'StatusRecordMissing',
  /** A pipeline's next message (onSuccess or fan-in) was sent. */
  FollowUpSent: 'FollowUpSent',
  /** An outcome step can never succeed (a follow-up body that does not evaluate, a write the store refuses): recorded, not retried. */
  OutcomeFailed: 'OutcomeFailed',

  // StatusSink
  /** The sink's store answered. */
  SinkReachable: 'SinkReachable',
  /** The sink's store could not be reached. */
  SinkUnreachable: 'SinkUnreachable',

  // QueueBinding, JobType, StatusSink
  /** The spec fails validation; the message says which field and why. */
  InvalidSpec: 'InvalidSpec',

  // Any reconciled object
  /** A reconcile failed and will be retried with backoff. */
  ReconcileError: 'ReconcileError',
} as const;

export type EventReason = (typeof EventReason)[keyof typeof EventReason];
