// Labels, annotations and the finalizer that Sluice puts on the objects it creates.
export const LABEL_BINDING = 'sluice.dev/binding';
export const LABEL_JOB_TYPE = 'sluice.dev/job-type';
/** The SQS MessageId (valid as a label value: at most 63 characters of [A-Za-z0-9-]). */
export const LABEL_MESSAGE_ID = 'sluice.dev/message-id';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** FIFO queues: a label-safe hash of the message's MessageGroupId (at most one unfinished Job per group). */
export const LABEL_MESSAGE_GROUP = 'sluice.dev/message-group';
/** The dispatcher process (a label-safe form of its identity) that created the Job: shared capacity counts by it. */
export const LABEL_DISPATCHER = 'sluice.dev/dispatcher';
export const MANAGED_BY = 'sluice';

export const ANNOTATION_DEDUPE_KEY = 'sluice.dev/dedupe-key';
export const ANNOTATION_ROUTE = 'sluice.dev/route';
export const ANNOTATION_QUEUE_URL = 'sluice.dev/queue-url';
/** The receipt handle of the receive that created the Job: lets the outcome path delete its message. */
export const ANNOTATION_RECEIPT_HANDLE = 'sluice.dev/receipt-handle';
export const ANNOTATION_SENT_AT = 'sluice.dev/sent-at';
/** Small payloads ride on the pod as an annotation and reach the container through a downward API file. */
export const ANNOTATION_PAYLOAD = 'sluice.dev/payload';
export const ANNOTATION_PAYLOAD_FORMAT = 'sluice.dev/payload-format';
/** How the message was decoded (decode/record.ts), so the outcome path sees the body routing saw. */
export const ANNOTATION_DECODE = 'sluice.dev/decode';
export const ANNOTATION_MESSAGE_ID = 'sluice.dev/message-id';
/** sha256 (hex) of the payload: tells a redelivery (same content) from another message reusing the dedupe key. */
export const ANNOTATION_PAYLOAD_DIGEST = 'sluice.dev/payload-digest';
/** The producer's string message attributes (JSON), sent along when the message is dead-lettered. */
export const ANNOTATION_MESSAGE_ATTRIBUTES = 'sluice.dev/message-attributes';
export const ANNOTATION_DEAD_LETTER_QUEUE = 'sluice.dev/dead-letter-queue';
/** The application record's key, computed from the message when the Job was created. */
export const ANNOTATION_STATUS_KEY = 'sluice.dev/status-key';
export const ANNOTATION_FAN_IN_GROUP = 'sluice.dev/fan-in-group';
export const ANNOTATION_FAN_IN_EXPECTED = 'sluice.dev/fan-in-expected';
/** Side effects of a finished Job already done, so a retried reconcile does not repeat them. */
export const ANNOTATION_OUTCOME_DONE = 'sluice.dev/outcome-done';

/** A message attribute Sluice puts on the messages it sends; the dispatcher uses it as the dedupe key. */
export const ATTRIBUTE_DEDUPE_KEY = 'Sluice.DedupeKey';
/**
 * Set by `sluice dlq redrive` to the dead letter's MessageId: a new attempt identity, so the message
 * runs again although its failed Job may still exist, while a repeated redrive of the same dead
 * letter (a crash before it was deleted) still collides.
 */
export const ATTRIBUTE_REDRIVE = 'Sluice.Redrive';
/** On a dead letter: the id of the message it records (redrive runs that message once). */
export const ATTRIBUTE_SOURCE_MESSAGE_ID = 'Sluice.SourceMessageId';

/** Kept on every Job Sluice creates until its outcome is recorded. */
export const FINALIZER_OUTCOME = 'sluice.dev/outcome';

/** The audience of the projected token a job presents to the progress API. */
export const PROGRESS_AUDIENCE = 'sluice';
