// Labels, annotations and the finalizer that Sluice puts on the objects it creates.
export const LABEL_BINDING = 'sluice.dev/binding';
export const LABEL_JOB_TYPE = 'sluice.dev/job-type';
/** The SQS MessageId (valid as a label value: at most 63 characters of [A-Za-z0-9-]). */
export const LABEL_MESSAGE_ID = 'sluice.dev/message-id';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'sluice';

export const ANNOTATION_DEDUPE_KEY = 'sluice.dev/dedupe-key';
export const ANNOTATION_ROUTE = 'sluice.dev/route';
export const ANNOTATION_QUEUE_URL = 'sluice.dev/queue-url';
export const ANNOTATION_SENT_AT = 'sluice.dev/sent-at';
/** Small payloads ride on the pod as an annotation and reach the container through a downward API file. */
export const ANNOTATION_PAYLOAD = 'sluice.dev/payload';

/** Kept on every Job Sluice creates until its outcome is recorded. */
export const FINALIZER_OUTCOME = 'sluice.dev/outcome';
