// Turns one routed message and its JobType into the Job (and, for large or sensitive payloads, the
// Secret) that runs it. Pure: the dispatcher creates what this returns.
import type * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { JobType } from '../api/schemas.ts';
import {
  ANNOTATION_DEAD_LETTER_QUEUE, ANNOTATION_DECODE, ANNOTATION_DEDUPE_KEY, ANNOTATION_FAN_IN_EXPECTED, ANNOTATION_FAN_IN_GROUP,
  ANNOTATION_MESSAGE_ATTRIBUTES, ANNOTATION_MESSAGE_ID, ANNOTATION_PAYLOAD, ANNOTATION_PAYLOAD_DIGEST, ANNOTATION_PAYLOAD_FORMAT, ANNOTATION_QUEUE_URL,
  ANNOTATION_RECEIPT_HANDLE,
  ANNOTATION_ROUTE, ANNOTATION_SENT_AT, ANNOTATION_STATUS_KEY, FINALIZER_OUTCOME, LABEL_BINDING, LABEL_JOB_TYPE,
  LABEL_MANAGED_BY, LABEL_MESSAGE_GROUP, LABEL_MESSAGE_ID, MANAGED_BY, LABEL_DISPATCHER, PROGRESS_AUDIENCE,
} from './labels.ts';
import { jobName, labelValue, messageGroupLabel } from './naming.ts';

/** Payloads above this ride in a Secret: pod annotations share a 256 KiB budget. */
export const ANNOTATION_PAYLOAD_MAX_BYTES = 64 * 1024;
export const CONTAINER_NAME = 'job';
const PAYLOAD_VOLUME = 'sluice-payload';
const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';

export type JobRequest = {
  namespace: string;
  binding: string;
  queueUrl: string;
  route: string;
  messageId: string;
  dedupeKey: string;
  /** SQS SentTimestamp (ms since epoch), kept for latency measurements. */
  sentTimestamp?: number;
  payload: { raw: string; format: string; bytes: number };
  /** How the payload was decoded (decode/record.ts), JSON. */
  decodeRecord?: string;
  /** The SQS receipt handle of the receive this Job comes from (outcome/message-release.ts). */
  receiptHandle?: string;
  /** FIFO queues: the message's MessageGroupId. */
  messageGroup?: string;
  /** String message attributes of the original message, kept for its dead-letter record. */
  messageAttributes?: Record<string, string>;
  deadLetterQueueUrl?: string;
  /** The application record's key (JobType statusSink.key). */
  statusKey?: string;
  fanIn?: { group: string; expected: number };
  /** Where the container reports progress (the controller's progress API); none: no reporting. */
  progressUrl?: string;
  /** The dispatcher process creating the Job (shared capacity counts each holder's Jobs). */
  dispatcher?: string;
};

/** The job's token for the progress API: projected, bound to its pod, for the audience `sluice`. */
export const PROGRESS_TOKEN_DIR = '/var/run/secrets/sluice';
const PROGRESS_TOKEN_VOLUME = 'sluice-token';

/** Producer attributes bigger than this are not kept on the Job. */
const MAX_KEPT_ATTRIBUTES_BYTES = 8 * 1024;

export type BuiltJob = { job: k8s.V1Job; secret?: k8s.V1Secret };

export function buildJob(request: JobRequest, jobType: JobType): BuiltJob {
  const spec = jobType.spec;
  const name = jobName(request.namespace, request.binding, request.dedupeKey);
  const { payload } = spec;
  const payloadPath = `${payload.mountPath.replace(/\/$/, '')}/${payload.fileName}`;
  const viaSecret = payload.sensitive || request.payload.bytes > ANNOTATION_PAYLOAD_MAX_BYTES;
  const inEnv = !payload.sensitive && request.payload.bytes <= payload.envMaxBytes;

  const labels = {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_BINDING]: request.binding,
    [LABEL_JOB_TYPE]: jobType.metadata.name,
    [LABEL_MESSAGE_ID]: labelValue(request.messageId),
    ...(request.messageGroup !== undefined && { [LABEL_MESSAGE_GROUP]: messageGroupLabel(request.messageGroup) }),
    ...(request.dispatcher !== undefined && { [LABEL_DISPATCHER]: labelValue(request.dispatcher) }),
  };
  const annotations: Record<string, string> = {
    [ANNOTATION_DEDUPE_KEY]: request.dedupeKey,
    [ANNOTATION_ROUTE]: request.route,
    [ANNOTATION_QUEUE_URL]: request.queueUrl,
    [ANNOTATION_MESSAGE_ID]: request.messageId,
    [ANNOTATION_PAYLOAD_FORMAT]: request.payload.format,
    [ANNOTATION_PAYLOAD_DIGEST]: payloadDigest(request.payload.raw),
  };
  if (request.sentTimestamp !== undefined) annotations[ANNOTATION_SENT_AT] = new Date(request.sentTimestamp).toISOString();
  if (request.decodeRecord !== undefined) annotations[ANNOTATION_DECODE] = request.decodeRecord;
  if (request.receiptHandle) annotations[ANNOTATION_RECEIPT_HANDLE] = request.receiptHandle;
  if (request.deadLetterQueueUrl) annotations[ANNOTATION_DEAD_LETTER_QUEUE] = request.deadLetterQueueUrl;
  if (request.statusKey !== undefined) annotations[ANNOTATION_STATUS_KEY] = request.statusKey;
  if (request.fanIn) {
    annotations[ANNOTATION_FAN_IN_GROUP] = request.fanIn.group;
    annotations[ANNOTATION_FAN_IN_EXPECTED] = String(request.fanIn.expected);
  }
  const attributes = JSON.stringify(request.messageAttributes ?? {});
  if (attributes !== '{}' && attributes.length <= MAX_KEPT_ATTRIBUTES_BYTES) annotations[ANNOTATION_MESSAGE_ATTRIBUTES] = attributes;

  const podAnnotations: Record<string, string> = { ...spec.podTemplate?.metadata?.annotations };
  if (!viaSecret) podAnnotations[ANNOTATION_PAYLOAD] = request.payload.raw;

  const env: k8s.V1EnvVar[] = [
    { name: 'SLUICE_PAYLOAD_FILE', value: payloadPath },
    { name: 'SLUICE_PAYLOAD_FORMAT', value: request.payload.format },
    { name: 'SLUICE_MESSAGE_ID', value: request.messageId },
    { name: 'SLUICE_DEDUPE_KEY', value: request.dedupeKey },
    { name: 'SLUICE_BINDING', value: request.binding },
    { name: 'SLUICE_JOB_TYPE', value: jobType.metadata.name },
    { name: 'SLUICE_JOB_NAME', value: name },
  ];
  if (inEnv) env.push({ name: 'SLUICE_PAYLOAD', value: request.payload.raw });
  if (request.progressUrl) {
    env.push({ name: 'SLUICE_PROGRESS_URL', value: request.progressUrl }, { name: 'SLUICE_TOKEN_FILE', value: `${PROGRESS_TOKEN_DIR}/token` });
  }
  env.push(...((spec.env ?? []) as unknown as k8s.V1EnvVar[]));

  const limits: Record<string, string> = stringValues(spec.resources?.limits);
  const nodeSelector: Record<string, string> = { ...spec.nodeSelector };
  let tolerations = (spec.tolerations ?? []) as k8s.V1Toleration[];
  if (spec.gpu) {
    limits[spec.gpu.resourceName] = String(spec.gpu.count);
    Object.assign(nodeSelector, spec.gpu.nodeSelector);
    const gpuTolerations = (spec.gpu.tolerations as k8s.V1Toleration[] | undefined) ?? [
      { key: spec.gpu.resourceName, operator: 'Exists', effect: 'NoSchedule' },
    ];
    tolerations = [...tolerations, ...gpuTolerations];
  }

  const payloadVolume: k8s.V1Volume = viaSecret
    ? { name: PAYLOAD_VOLUME, secret: { secretName: name, items: [{ key: 'payload', path: payload.fileName }] } }
    : {
        name: PAYLOAD_VOLUME,
        downwardAPI: {
          items: [{ path: payload.fileName, fieldRef: { fieldPath: `metadata.annotations['${ANNOTATION_PAYLOAD}']` } }],
        },
      };

  // podTemplate.spec is the base; the fields Sluice generates are set on top of it.
  const base = (spec.podTemplate?.spec ?? {}) as unknown as k8s.V1PodSpec;
  const container: k8s.V1Container = {
    name: CONTAINER_NAME,
    image: spec.image,
    command: spec.command,
    args: spec.args,
    env,
    resources: {
      requests: stringValues(spec.resources?.requests),
      limits,
    },
    volumeMounts: [
      { name: PAYLOAD_VOLUME, mountPath: payload.mountPath, readOnly: true },
      ...(request.progressUrl ? [{ name: PROGRESS_TOKEN_VOLUME, mountPath: PROGRESS_TOKEN_DIR, readOnly: true }] : []),
    ],
    // On failure the last log lines become the termination message, which outcomes report.
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  const podSpec: k8s.V1PodSpec = {
    ...base,
    restartPolicy: 'Never', // podFailurePolicy requires it; retries are the Job's backoffLimit
    containers: [container, ...(base.containers ?? [])],
    volumes: [
      ...(base.volumes ?? []),
      payloadVolume,
      // The kubelet rotates it; an hour keeps a stolen copy short-lived.
      ...(request.progressUrl ? [{ name: PROGRESS_TOKEN_VOLUME, projected: { sources: [{ serviceAccountToken: { audience: PROGRESS_AUDIENCE, expirationSeconds: 3600, path: 'token' } }] } }] : []),
    ],
  };
  if (Object.keys(nodeSelector).length > 0) podSpec.nodeSelector = { ...base.nodeSelector, ...nodeSelector };
  if (tolerations.length > 0) podSpec.tolerations = [...(base.tolerations ?? []), ...tolerations];
  if (spec.serviceAccountName) podSpec.serviceAccountName = spec.serviceAccountName;

  const podFailurePolicy: k8s.V1PodFailurePolicy = {
    rules: [
      // Evictions and preemptions are the cluster's doing, not the job's: do not count them.
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ],
  };
  if (spec.retries.nonRetryableExitCodes?.length) {
    podFailurePolicy.rules.push({
      action: 'FailJob',
      onExitCodes: { containerName: CONTAINER_NAME, operator: 'In', values: spec.retries.nonRetryableExitCodes },
    });
  }

  const jobLabels: Record<string, string> = { ...labels };
  if (spec.kueue) jobLabels[KUEUE_QUEUE_LABEL] = spec.kueue.queueName;

  const job: k8s.V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: request.namespace,
      labels: jobLabels,
      annotations,
      finalizers: [FINALIZER_OUTCOME],
    },
    spec: {
      backoffLimit: spec.retries.backoffLimit,
      podFailurePolicy,
      activeDeadlineSeconds: spec.activeDeadlineSeconds,
      ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
      // Kueue admits suspended Jobs; without it they start at once.
      suspend: spec.kueue ? true : undefined,
      template: {
        metadata: {
          labels: { ...spec.podTemplate?.metadata?.labels, ...labels },
          annotations: podAnnotations,
        },
        spec: podSpec,
      },
    },
  };

  if (!viaSecret) return { job };
  const secret: k8s.V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: request.namespace, labels },
    type: 'Opaque',
    stringData: { payload: request.payload.raw },
  };
  return { job, secret };
}

/** What a Job records of its payload to recognise the same content later, without keeping it. */
export function payloadDigest(raw: string): string {
  return createHash('sha256').update(raw, 'utf8').digest('hex');
}

/** The Secret's owner is the Job, so garbage collection removes it with the Job. */
export function ownedBy(job: k8s.V1Job): k8s.V1OwnerReference[] {
  return [{
    apiVersion: 'batch/v1',
    kind: 'Job',
    name: job.metadata!.name!,
    uid: job.metadata!.uid!,
    controller: true,
    blockOwnerDeletion: true,
  }];
}

/** Resource quantities as the API's string map. */
export function stringValues(record: Record<string, string | number> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(record ?? {}).map(([k, v]) => [k, String(v)]));
}
