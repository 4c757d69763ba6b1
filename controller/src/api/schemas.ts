// The Sluice API (group sluice.dev, version v1alpha1), defined once. These zod schemas validate
// objects at run time and generate the CRD OpenAPI schemas in crds/ (see generate-crds.ts), so the
// API server and the controller always agree. `.meta()` keys starting with `x-kubernetes-` pass
// through to the CRD unchanged.
import { z } from 'zod';

export const GROUP = 'sluice.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A Kubernetes object embedded as-is (tolerations, env entries, pod template overrides). */
const kubeObject = (description: string) =>
  z.looseObject({}).describe(description).meta({ 'x-kubernetes-preserve-unknown-fields': true });

// A resource.Quantity ("500m", "2Gi") or a whole number; the pattern is Kubernetes' own. Not
// z.number(): the CRD's int-or-string type rejects fractions, and the controller must agree.
const quantity = z.union([
  z
    .string()
    .regex(/^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/),
  z.int(),
]);

const dnsLabel = z.string().min(1).max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
const celExpression = (description: string) => z.string().min(1).max(4096).describe(description);

export const conditionSchema = z.object({
  type: z.string().describe('Condition type, e.g. Ready'),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().describe('CamelCase reason for the last transition'),
  message: z.string().optional(),
  observedGeneration: z.int().min(0).optional(),
  lastTransitionTime: z.string().describe('RFC 3339 time of the last status change'),
});
export type Condition = z.infer<typeof conditionSchema>;

const conditions = z.array(conditionSchema).optional().meta({
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

const secretKeyRef = z.object({
  name: dnsLabel.describe('Secret in the same namespace'),
  key: z.string().min(1),
});

// ---------------------------------------------------------------------------------------------
// QueueBinding: one SQS queue, how to read its messages and where each one goes.

export const routeSchema = z.object({
  name: dnsLabel.describe('Route name, shown in metrics, events and dead-letter reasons'),
  when: celExpression(
    'CEL predicate over body, attributes (SQS system attributes), messageAttributes and envelope; the first route that holds wins',
  ).default('true'),
  jobType: dnsLabel.describe('JobType in the same namespace that runs matching messages'),
});
export type Route = z.infer<typeof routeSchema>;

export const envelopeKinds = ['sns', 'eventbridge', 's3Event', 'extendedClient'] as const;
export type EnvelopeKind = (typeof envelopeKinds)[number];

export const messageFormatSchema = z.enum(['auto', 'json', 'pipe', 'text']);

const resourceRequirements = z.object({
  requests: z.record(z.string(), quantity).optional(),
  limits: z.record(z.string(), quantity).optional(),
});

export const dispatcherSchema = z
  .object({
    mode: z
      .enum(['embedded', 'deployment'])
      .default('embedded')
      .describe('embedded: the controller receives for this binding; deployment: its own Deployment of `sluice dispatch` pods does, scaled by KEDA on queue depth where KEDA is installed'),
    replicas: z.int().min(0).max(1000).default(1).describe('Replicas of the Deployment where KEDA is not installed'),
    autoscaling: z
      .object({
        minReplicas: z.int().min(0).max(1000).default(0).describe('0 scales to zero when the queue is empty'),
        maxReplicas: z.int().min(1).max(1000).default(10),
        messagesPerReplica: z.int().min(1).default(10).describe('Target messages (visible and in flight) per replica (KEDA queueLength)'),
        activationMessages: z.int().min(0).default(0).describe('Scale up from zero above this many messages (KEDA activationQueueLength)'),
        pollingIntervalSeconds: z.int().min(1).max(3600).default(10).describe('How often KEDA reads the queue depth'),
        cooldownSeconds: z.int().min(0).max(86400).default(60).describe('How long the queue must stay empty before scaling to zero'),
        scaleDownStabilizationSeconds: z.int().min(0).max(3600).default(60).describe('HPA scale-down stabilization window'),
        podIdentityProvider: z
          .enum(['aws', 'aws-eks', 'none'])
          .default('aws')
          .describe('How KEDA authenticates to SQS when the binding has no credentials Secret: aws (EKS Pod Identity or IRSA of the KEDA operator) or none'),
      })
      .prefault({})
      .meta({ 'x-kubernetes-validations': [{ rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas', message: 'minReplicas must not exceed maxReplicas' }] }),
    resources: resourceRequirements.optional(),
    serviceAccountName: z
      .string()
      .optional()
      .describe('Run the dispatcher pods as this ServiceAccount; by default Sluice makes one with exactly what a dispatcher needs'),
    serviceAccountAnnotations: z
      .record(z.string(), z.string())
      .optional()
      .describe('Annotations of the ServiceAccount Sluice makes, e.g. eks.amazonaws.com/role-arn for IRSA'),
    env: z.array(kubeObject('core/v1 EnvVar')).optional().describe('Extra environment of the dispatcher container (e.g. AWS_ENDPOINT_URL)'),
    nodeSelector: z.record(z.string(), z.string()).optional(),
    tolerations: z.array(kubeObject('core/v1 Toleration')).optional(),
  })
  .describe('Where this binding\'s messages are received');
export type DispatcherSpec = z.infer<typeof dispatcherSchema>;

export const queueBindingSpecSchema = z
  .object({
    queueUrl: z.url().describe('SQS queue URL'),
    region: z.string().optional().describe('AWS region; derived from the queue URL when omitted'),
    endpoint: z.url().optional().describe('SQS endpoint override (local emulators, VPC endpoints)'),
    credentials: z
      .object({
        secretRef: z
          .object({
            name: dnsLabel,
            accessKeyIdKey: z.string().default('AWS_ACCESS_KEY_ID'),
            secretAccessKeyKey: z.string().default('AWS_SECRET_ACCESS_KEY'),
            sessionTokenKey: z.string().optional(),
          })
          .describe('Secret in the same namespace holding static AWS credentials'),
      })
      .optional()
      .describe('Omit to use the pod identity (IRSA, EKS Pod Identity, instance role)'),
    receive: z
      .object({
        waitTimeSeconds: z.int().min(0).max(20).default(20).describe('Long-poll wait'),
        maxMessages: z.int().min(1).max(10).default(10),
        visibilityTimeoutSeconds: z
          .int()
          .min(5)
          .max(43200)
          .default(60)
          .describe('How long a received message stays hidden while its Job is created'),
      })
      .prefault({}),
    message: z
      .object({
        format: messageFormatSchema
          .default('auto')
          .describe('auto: JSON when the body opens like a JSON object, or like an array and closes like one (a parse error, a truncated body included, is reported as MalformedJson, not treated as text), else the legacy TYPE|jobId|metadata pipe format when it matches, else text'),
        unwrap: z
          .array(z.enum(envelopeKinds))
          .default([...envelopeKinds])
          .describe('Envelopes to unwrap before decoding the body'),
        pipeFields: z
          .array(z.string().min(1))
          .min(1)
          .default(['type', 'jobId', 'metadata'])
          .describe('Field names of the pipe format; the last one takes the rest of the line'),
        maxBodyBytes: z
          .int()
          .min(1)
          .max(2 * 1024 * 1024 * 1024)
          .default(1024 * 1024)
          .describe('Larger bodies (after unwrapping) are dead-lettered'),
        deleteExtendedPayloads: z
          .boolean()
          .default(true)
          .describe('Delete an SQS Extended Client payload from S3 once its message became a Job and was deleted (the Job carries the payload), as the AWS extended clients do'),
      })
      .prefault({}),
    routes: z.array(routeSchema).min(1).max(64).meta({
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
    dedupeKey: celExpression(
      'CEL expression giving the idempotency key of a message (e.g. body.jobId); defaults to the SQS MessageId',
    ).optional(),
    deadLetter: z
      .object({ queueUrl: z.url() })
      .optional()
      .describe('Where undecodable, unroutable and failed messages go; without it they stay in SQS for its redrive policy'),
    maxInFlight: z
      .int()
      .min(1)
      .max(100000)
      .default(100)
      .describe('Most unfinished Jobs this binding may have; beyond it messages wait in SQS'),
    suspend: z.boolean().default(false).describe('Stop receiving; Jobs already created keep running'),
    dispatcher: dispatcherSchema.prefault({}),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: "!has(self.deadLetter) || self.deadLetter.queueUrl != self.queueUrl",
        message: 'deadLetter.queueUrl must differ from queueUrl',
      },
    ],
  });
export type QueueBindingSpec = z.infer<typeof queueBindingSpecSchema>;

export const queueBindingStatusSchema = z.object({
  observedGeneration: z.int().min(0).optional(),
  conditions,
  approximateMessages: z.int().min(0).optional().describe('Visible messages in the queue'),
  approximateMessagesNotVisible: z.int().min(0).optional().describe('Messages received and not yet deleted'),
  approximateMessagesDelayed: z.int().min(0).optional(),
  received: z.int().min(0).optional().describe('Messages received (redeliveries included)'),
  dispatched: z.int().min(0).optional().describe('Messages turned into Jobs'),
  deadLettered: z.int().min(0).optional().describe('Messages sent to the dead-letter queue'),
  lastReceiveTime: z.string().optional(),
});
export type QueueBindingStatus = z.infer<typeof queueBindingStatusSchema>;

// ---------------------------------------------------------------------------------------------
// Outcomes: where a JobType writes each Job's progress, who hears of failures, what comes next.

export const phases = ['queued', 'running', 'succeeded', 'failed'] as const;
export type Phase = (typeof phases)[number];

/** What Sluice knows about a Job, for `statusSink.fields`. */
export const outcomeFacts = [
  'phase', 'jobName', 'messageId', 'attempts', 'exitCode', 'reason', 'message', 'result',
  'queuedAt', 'startedAt', 'finishedAt', 'durationSeconds', 'updatedAt',
  // Reported by the job while it runs (jobs/README.md): a percentage 0-100 and the current step.
  'progress', 'progressStep',
] as const;
export type OutcomeFact = (typeof outcomeFacts)[number];

export const statusMappingSchema = z
  .object({
    name: dnsLabel.describe('StatusSink in the same namespace'),
    table: z
      .string()
      .min(1)
      .optional()
      .describe("MongoDB collection, or the DynamoDB/PostgreSQL table when it differs from the sink's"),
    key: z
      .object({
        field: z.string().min(1).describe('Key field (column, attribute) of the record'),
        value: celExpression('CEL over body, attributes and messageAttributes giving the key, e.g. body.interview_id'),
      })
      .describe("Which record is this message's"),
    createIfMissing: z.boolean().default(true).describe('Insert the record when it does not exist yet'),
    statusField: z.string().min(1).default('status'),
    values: z
      .object({
        queued: z.string().default('queued'),
        running: z.string().default('running'),
        succeeded: z.string().default('succeeded'),
        failed: z.string().default('failed'),
      })
      .prefault({})
      .describe('The status value written for each phase, e.g. processing / completed / failed'),
    fields: z
      .record(z.string(), z.enum(outcomeFacts))
      .optional()
      .describe('More fields to write: record field → fact (jobName, attempts, exitCode, reason and message of a failure, result of a success, startedAt, progress and progressStep while running, …)'),
    constants: z
      .record(z.string(), z.string())
      .optional()
      .describe('Fixed string values written with every update, e.g. processingStage: visuals'),
    versionField: z
      .string()
      .min(1)
      .default('sluiceVersion')
      .describe('Numeric field Sluice keeps on the record so it never moves backwards'),
  })
  .describe("How a Job's progress is written into the application's record");
export type StatusMapping = z.infer<typeof statusMappingSchema>;

export const notificationsSchema = z
  .object({
    email: z
      .object({
        from: z.string().min(3),
        to: z.array(z.string().min(3)).min(1),
        via: z.enum(['ses', 'smtp']).default('ses'),
        region: z.string().optional(),
        endpoint: z.url().optional().describe('SES endpoint override'),
        smtp: z
          .object({ host: z.string().min(1), port: z.int().min(1).max(65535).default(587), secure: z.boolean().default(false) })
          .optional(),
      })
      .optional(),
    slack: z
      .object({ webhookUrlSecretRef: secretKeyRef.describe('Secret key holding the incoming-webhook URL') })
      .optional(),
    digestWindowSeconds: z
      .int()
      .min(1)
      .default(60)
      .describe('Failures beyond maxPerWindow within this window are sent as one digest'),
    maxPerWindow: z.int().min(1).default(5),
  })
  .describe('Who hears of failed Jobs');
export type Notifications = z.infer<typeof notificationsSchema>;

export const followUpSchema = z.object({
  queueUrl: z.url(),
  body: celExpression('CEL over body (the message), result (the termination message) and job; a string, or a map sent as JSON'),
  region: z.string().optional(),
  endpoint: z.url().optional(),
});
export type FollowUp = z.infer<typeof followUpSchema>;

export const onSuccessSchema = followUpSchema.extend({
  forEach: celExpression(
    'CEL giving a list (e.g. result.placeholders): one message per element, whose body also sees item and index; each carries the dedupe key <namespace>/<job>/on-success/<index>',
  ).optional(),
});
export type OnSuccess = z.infer<typeof onSuccessSchema>;

export const fanInSchema = z
  .object({
    group: celExpression('CEL giving the group key shared by the fanned-out messages, e.g. body.noteId'),
    expected: celExpression('CEL giving how many Jobs the group has, e.g. body.totalVisuals'),
    send: followUpSchema,
  })
  .describe('When every Job of a group has finished, send one message');
export type FanIn = z.infer<typeof fanInSchema>;

// ---------------------------------------------------------------------------------------------
// JobType: the workload one message becomes.

export const jobTypeSpecSchema = z
  .object({
    image: z.string().min(1).describe('Container image'),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    env: z.array(kubeObject('core/v1 EnvVar')).optional(),
    resources: resourceRequirements.optional(),
    gpu: z
      .object({
        count: z.int().min(1).max(64),
        resourceName: z.string().default('nvidia.com/gpu'),
        nodeSelector: z.record(z.string(), z.string()).optional().describe('Placement on the GPU pool'),
        tolerations: z
          .array(kubeObject('core/v1 Toleration'))
          .optional()
          .describe('Defaults to tolerating the resource name taint (e.g. nvidia.com/gpu)'),
      })
      .optional(),
    nodeSelector: z.record(z.string(), z.string()).optional(),
    tolerations: z.array(kubeObject('core/v1 Toleration')).optional(),
    serviceAccountName: z.string().optional(),
    podTemplate: z
      .object({
        metadata: z
          .object({
            labels: z.record(z.string(), z.string()).optional(),
            annotations: z.record(z.string(), z.string()).optional(),
          })
          .optional(),
        spec: kubeObject('core/v1 PodSpec fields merged under the generated ones (volumes, sidecars, …)').optional(),
      })
      .optional(),
    payload: z
      .object({
        mountPath: z.string().startsWith('/').default('/var/run/sluice').describe('Directory holding the payload file'),
        fileName: z.string().min(1).default('payload'),
        envMaxBytes: z
          .int()
          .min(0)
          .max(32768)
          .default(4096)
          .describe('Payloads up to this size are also in $SLUICE_PAYLOAD; 0 disables'),
        sensitive: z
          .boolean()
          .default(false)
          .describe('Deliver through a Secret owned by the Job, never in env or annotations'),
      })
      .prefault({}),
    retries: z
      .object({
        backoffLimit: z.int().min(0).max(100).default(2),
        nonRetryableExitCodes: z
          .array(z.int().min(1).max(255))
          .max(255)
          .optional()
          .describe('Exit codes that fail the Job at once (podFailurePolicy FailJob)'),
        maxPendingSeconds: z
          .int()
          .min(10)
          .optional()
          .describe('Fail the Job (reason Unschedulable) when its pod cannot be scheduled for this long'),
      })
      .prefault({}),
    activeDeadlineSeconds: z.int().min(1).optional(),
    ttlSecondsAfterFinished: z.int().min(0).default(3600),
    maxConcurrency: z
      .int()
      .min(1)
      .optional()
      .describe('Most unfinished Jobs of this type at once; further messages wait in SQS'),
    kueue: z.object({ queueName: z.string().min(1) }).optional().describe('Submit Jobs to this Kueue LocalQueue'),
    statusSink: statusMappingSchema.optional(),
    notifications: notificationsSchema.optional(),
    onSuccess: onSuccessSchema.optional().describe('A message (or, with forEach, one per element of a list) to send when a Job succeeds: the next step of a pipeline'),
    fanIn: fanInSchema.optional(),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '!has(self.gpu) || !has(self.resources) || !has(self.resources.limits) || !(self.gpu.resourceName in self.resources.limits)',
        message: 'set GPUs with gpu.count, not resources.limits',
      },
    ],
  });
export type JobTypeSpec = z.infer<typeof jobTypeSpecSchema>;

export const jobTypeStatusSchema = z.object({
  observedGeneration: z.int().min(0).optional(),
  conditions,
  active: z.int().min(0).optional(),
  succeeded: z.int().min(0).optional(),
  failed: z.int().min(0).optional(),
  lastFailureReason: z.string().optional(),
});
export type JobTypeStatus = z.infer<typeof jobTypeStatusSchema>;

// ---------------------------------------------------------------------------------------------
// StatusSink: a connection to the application's own store.

export const statusSinkSpecSchema = z
  .object({
    mongodb: z
      .object({
        uriSecretRef: secretKeyRef.describe('Secret key holding the MongoDB connection string'),
        database: z.string().min(1),
      })
      .optional(),
    dynamodb: z
      .object({
        region: z.string().optional(),
        endpoint: z.url().optional(),
        table: z.string().min(3).max(255).optional().describe("Default table; a JobType's statusSink.table overrides it"),
      })
      .optional(),
    postgres: z
      .object({
        uriSecretRef: secretKeyRef.describe('Secret key holding the PostgreSQL connection string'),
        table: z.string().min(1).optional().describe("Default table; a JobType's statusSink.table overrides it"),
      })
      .optional(),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '[has(self.mongodb), has(self.dynamodb), has(self.postgres)].filter(x, x).size() == 1',
        message: 'exactly one of mongodb, dynamodb or postgres must be set',
      },
    ],
  });
export type StatusSinkSpec = z.infer<typeof statusSinkSpecSchema>;

export const statusSinkStatusSchema = z.object({
  observedGeneration: z.int().min(0).optional(),
  conditions,
});

// ---------------------------------------------------------------------------------------------
// The resources as the controller sees them.

type Resource<Spec, Status> = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string; generation?: number; resourceVersion?: string };
  spec: Spec;
  status?: Status;
};
export type QueueBinding = Resource<QueueBindingSpec, QueueBindingStatus>;
export type JobType = Resource<JobTypeSpec, JobTypeStatus>;
export type StatusSink = Resource<StatusSinkSpec, z.infer<typeof statusSinkStatusSchema>>;
