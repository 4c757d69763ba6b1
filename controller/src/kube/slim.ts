// What the caches keep of each object. At 10,000 Jobs a full Job and its pod are ~15 KiB of JSON
// each, mostly managedFields and pod specs nobody here reads; keeping only the fields the
// reconcilers use holds the controller's memory near flat as Jobs pile up (issue 10's budget).
// A field a reconciler starts to read must be kept here too: slim.test.ts lists them.
import type * as k8s from '@kubernetes/client-node';
import {
  ANNOTATION_DECODE, ANNOTATION_DEDUPE_KEY, ANNOTATION_MESSAGE_ATTRIBUTES, ANNOTATION_MESSAGE_ID, ANNOTATION_PAYLOAD,
  ANNOTATION_PAYLOAD_DIGEST, ANNOTATION_RECEIPT_HANDLE, ANNOTATION_SENT_AT, ANNOTATION_STATUS_KEY, LABEL_MESSAGE_ID,
} from '../job/labels.ts';
import { jobPhase } from '../reconcile/job-phase.ts';

/** Every cached object: server-side apply bookkeeping is never read. */
export function withoutManagedFields<T extends k8s.KubernetesObject>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const metadata = { ...object.metadata };
  delete metadata.managedFields;
  return { ...object, metadata };
}

// Each parsed object has its own copy of every string. The values thousands of Jobs and pods repeat
// (namespace, binding, JobType, route, queue URL, condition types) are kept once; the pool is
// bounded, and clearing it only loses sharing.
const pool = new Map<string, string>();
const POOL_LIMIT = 20_000;
const POOLED_LENGTH = 512;

function pooled<T extends string | undefined>(value: T): T {
  if (value === undefined || value.length > POOLED_LENGTH) return value;
  const held = pool.get(value);
  if (held !== undefined) return held as T;
  if (pool.size >= POOL_LIMIT) pool.clear();
  pool.set(value, value);
  return value;
}

/** Values of these are one per message: pooling them would only churn the pool. */
const UNIQUE_VALUES = new Set([
  LABEL_MESSAGE_ID, ANNOTATION_MESSAGE_ID, ANNOTATION_DEDUPE_KEY, ANNOTATION_RECEIPT_HANDLE, ANNOTATION_SENT_AT,
  ANNOTATION_PAYLOAD, ANNOTATION_PAYLOAD_DIGEST, ANNOTATION_DECODE, ANNOTATION_MESSAGE_ATTRIBUTES, ANNOTATION_STATUS_KEY,
  'batch.kubernetes.io/controller-uid', 'batch.kubernetes.io/job-name', 'controller-uid', 'job-name',
]);

/** A timestamp at second granularity: thousands of Jobs and pods created in the same second share it. */
function pooledTime<T>(value: T): T {
  return typeof value === 'string' ? pooled(value) : value;
}

/**
 * One copy of each value within an object: a message id is a label, two annotations and part of
 * the receipt handle, and a pod names its Job's uid twice; each parsed as its own string.
 */
type Local = (value: string) => string;
function localCopies(): Local {
  const seen = new Map<string, string>();
  return (value) => {
    const held = seen.get(value);
    if (held !== undefined) return held;
    seen.set(value, value);
    return value;
  };
}

function pooledValues(map: Record<string, string> | undefined, local: Local, leftOut?: ReadonlySet<string>): Record<string, string> | undefined {
  if (!map) return map;
  const out: Record<string, string> = {};
  for (const key in map) {
    if (leftOut?.has(key)) continue;
    out[key] = UNIQUE_VALUES.has(key) ? local(map[key]!) : pooled(map[key]!);
  }
  return out;
}

function slimMetadata(metadata: k8s.V1ObjectMeta, local: Local, annotationsLeftOut?: ReadonlySet<string>): k8s.V1ObjectMeta {
  const { namespace, labels, annotations, finalizers, creationTimestamp, ...rest } = metadata;
  delete rest.managedFields;
  return {
    ...rest,
    ...(creationTimestamp !== undefined && { creationTimestamp: pooledTime(creationTimestamp) }),
    ...(namespace !== undefined && { namespace: pooled(namespace) }),
    ...(labels && { labels: pooledValues(labels, local) }),
    ...(annotations && { annotations: pooledValues(annotations, local, annotationsLeftOut) }),
    ...(finalizers && { finalizers: finalizers.map(pooled) }),
  };
}

// The message itself (its payload on the pod template, how it was decoded, its attributes, the
// receipt handle) is read only when a Job's outcome is recorded: once it has finished or is being
// deleted. Until then the cache leaves it out: an inline payload may be 256 KiB, a receipt handle
// is hundreds of bytes, and thousands of Jobs may run for hours. The rare outcome of an unfinished
// Job (one that cannot be scheduled) reads the whole Job from the API server (messageLeftOut).
const MESSAGE_ANNOTATIONS = new Set([ANNOTATION_DECODE, ANNOTATION_MESSAGE_ATTRIBUTES, ANNOTATION_RECEIPT_HANDLE]);

/** Whether this cached Job (slimJob) was kept without its message: its outcome is not due yet. */
export function messageLeftOut(job: k8s.V1Job): boolean {
  return !job.metadata?.deletionTimestamp && jobPhase(job) === 'active';
}

/** A Job: its metadata, status, TTL and, once its outcome is due, its message. */
export function slimJob(job: k8s.V1Job): k8s.V1Job {
  const spec = job.spec;
  const keepMessage = !messageLeftOut(job);
  const templateAnnotations = keepMessage ? spec?.template?.metadata?.annotations : undefined;
  const local = localCopies();
  const metadata = job.metadata && slimMetadata(job.metadata, local, keepMessage ? undefined : MESSAGE_ANNOTATIONS);
  return {
    apiVersion: pooled(job.apiVersion),
    kind: pooled(job.kind),
    ...(metadata && { metadata }),
    ...(spec && { spec: templateAnnotations ? slimSpec(spec, { metadata: { annotations: pooledValues(templateAnnotations, local) } }) : sharedSpec(spec) }),
    ...(job.status && { status: slimStatus(job.status) }),
  };
}

// selector and template.spec are required by the type, never read from the cache
function slimSpec(spec: k8s.V1JobSpec, template: k8s.V1PodTemplateSpec): k8s.V1JobSpec {
  return {
    ...(spec.ttlSecondsAfterFinished !== undefined && { ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished }),
    ...(spec.suspend !== undefined && { suspend: spec.suspend }),
    template,
  };
}

// Without the message, what is kept of a spec is the same few values for every Job of a JobType:
// one frozen copy of each serves them all.
const sharedSpecs = new Map<string, k8s.V1JobSpec>();

function sharedSpec(spec: k8s.V1JobSpec): k8s.V1JobSpec {
  const key = `${spec.ttlSecondsAfterFinished}/${spec.suspend}`;
  let shared = sharedSpecs.get(key);
  if (!shared) {
    shared = Object.freeze(slimSpec(spec, Object.freeze({}) as k8s.V1PodTemplateSpec));
    if (sharedSpecs.size < 1_000) sharedSpecs.set(key, shared);
  }
  return shared;
}

/** A Job's status, less the empty uncountedTerminatedPods the Job controller sets on every Job (never read). */
function slimStatus(status: k8s.V1JobStatus): k8s.V1JobStatus {
  const { uncountedTerminatedPods, ...rest } = status;
  const uncounted = uncountedTerminatedPods && ((uncountedTerminatedPods.failed?.length ?? 0) + (uncountedTerminatedPods.succeeded?.length ?? 0) > 0);
  return {
    ...rest,
    ...(uncounted && { uncountedTerminatedPods }),
    ...(rest.startTime !== undefined && { startTime: pooledTime(rest.startTime) }),
  };
}

/** The pod labels the pod index and the Job routing read (outcome/pods.ts). */
const POD_LABELS_KEPT = ['batch.kubernetes.io/controller-uid', 'batch.kubernetes.io/job-name'];

/**
 * What is read of a pod is why it could not be scheduled (while pending) and how its containers
 * ended (once one has). A pod whose containers are all running has neither: the cache does not
 * hold it, so 10,000 long-running Jobs cost no pod entries (a pod that was cached and starts
 * running leaves the cache as deleted; it comes back when it ends).
 */
export function podWorthCaching(pod: k8s.V1Pod): boolean {
  const status = pod.status;
  if (status?.phase !== 'Running' || pod.metadata?.deletionTimestamp) return true;
  const containers = status.containerStatuses ?? [];
  return containers.length === 0 || containers.some((c) => c.state?.running === undefined);
}

/**
 * A pod worth caching: who owns it, when it was made, and how its scheduling and containers went.
 * Its annotations (a copy of the template's, the payload included), images, IPs and timestamps of
 * conditions are never read. Undefined: not worth caching (podWorthCaching).
 */
export function slimPod(pod: k8s.V1Pod): k8s.V1Pod | undefined {
  if (!podWorthCaching(pod)) return undefined;
  const metadata = pod.metadata;
  const status = pod.status;
  const local = localCopies();
  const labels = Object.fromEntries(POD_LABELS_KEPT.flatMap((key) => metadata?.labels?.[key] === undefined ? [] : [[key, local(metadata.labels[key])]]));
  return {
    apiVersion: pooled(pod.apiVersion),
    kind: pooled(pod.kind),
    ...(metadata && {
      metadata: {
        namespace: pooled(metadata.namespace),
        name: metadata.name,
        uid: metadata.uid,
        resourceVersion: metadata.resourceVersion,
        creationTimestamp: pooledTime(metadata.creationTimestamp),
        ...(metadata.deletionTimestamp && { deletionTimestamp: metadata.deletionTimestamp }),
        labels,
        ...(metadata.ownerReferences && {
          ownerReferences: metadata.ownerReferences.map(({ apiVersion, kind, name, uid }) => ({ apiVersion: pooled(apiVersion), kind: pooled(kind), name: local(name), uid: local(uid) })),
        }),
      },
    }),
    ...(status && {
      status: {
        ...(status.phase && { phase: pooled(status.phase) }),
        ...(status.reason && { reason: pooled(status.reason) }),
        ...(status.message && { message: status.message }),
        ...(status.conditions && { conditions: status.conditions.map(slimPodCondition) }),
        ...(status.containerStatuses && { containerStatuses: status.containerStatuses.map(slimContainerStatus) }),
        ...(status.initContainerStatuses && { initContainerStatuses: status.initContainerStatuses.map(slimContainerStatus) }),
      },
    }),
  };
}

// A pod's usual conditions ({Ready, True} and the like) are the same few objects for every pod.
const plainConditions = new Map<string, k8s.V1PodCondition>();

function slimPodCondition({ type, status, reason, message }: k8s.V1PodCondition): k8s.V1PodCondition {
  if (reason !== undefined || message !== undefined) return { type: pooled(type), status: pooled(status), reason: pooled(reason), message };
  const key = `${type}/${status}`;
  let plain = plainConditions.get(key);
  if (!plain) {
    plain = Object.freeze({ type, status });
    if (plainConditions.size < 100) plainConditions.set(key, plain);
  }
  return plain;
}

function slimContainerStatus({ name, state, lastState, restartCount }: k8s.V1ContainerStatus): k8s.V1ContainerStatus {
  // image, imageID and ready are required by the type, never read from the cache
  return {
    name: pooled(name), image: '', imageID: '', ready: false, restartCount,
    ...(state && { state: state.running?.startedAt === undefined ? state : { ...state, running: { ...state.running, startedAt: pooledTime(state.running.startedAt) } } }),
    ...(lastState && Object.keys(lastState).length > 0 && { lastState }),
  };
}
