// What the caches keep of each object. At 10,000 Jobs a full Job and its pod are ~15 KiB of JSON
// each, mostly managedFields and pod specs nobody here reads; keeping only the fields the
// reconcilers use holds the controller's memory near flat as Jobs pile up (issue 10's budget).
// A field a reconciler starts to read must be kept here too: slim.test.ts lists them.
import type * as k8s from '@kubernetes/client-node';

/** Every cached object: server-side apply bookkeeping is never read. */
export function withoutManagedFields<T extends k8s.KubernetesObject>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const metadata = { ...object.metadata };
  delete metadata.managedFields;
  return { ...object, metadata };
}

/** A Job: its metadata, status, TTL and the pod template's annotations (the inline payload). */
export function slimJob(job: k8s.V1Job): k8s.V1Job {
  const spec = job.spec;
  const annotations = spec?.template?.metadata?.annotations;
  return {
    apiVersion: job.apiVersion,
    kind: job.kind,
    metadata: withoutManagedFields(job).metadata,
    ...(spec && {
      spec: {
        ...(spec.ttlSecondsAfterFinished !== undefined && { ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished }),
        ...(spec.suspend !== undefined && { suspend: spec.suspend }),
        template: { ...(annotations && { metadata: { annotations } }) },
        // selector and template.spec are required by the type, never read from the cache
      },
    }),
    ...(job.status && { status: job.status }),
  };
}

/** The pod labels the pod index and the Job routing read (outcome/pods.ts). */
const POD_LABELS_KEPT = ['batch.kubernetes.io/controller-uid', 'batch.kubernetes.io/job-name'];

/**
 * A pod: who owns it, when it was made, and how its scheduling and containers went. Its
 * annotations (a copy of the template's, the payload included), images, IPs and timestamps of
 * conditions are never read.
 */
export function slimPod(pod: k8s.V1Pod): k8s.V1Pod {
  const metadata = pod.metadata;
  const status = pod.status;
  const labels = Object.fromEntries(POD_LABELS_KEPT.flatMap((key) => metadata?.labels?.[key] === undefined ? [] : [[key, metadata.labels[key]]]));
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    ...(metadata && {
      metadata: {
        namespace: metadata.namespace,
        name: metadata.name,
        uid: metadata.uid,
        resourceVersion: metadata.resourceVersion,
        creationTimestamp: metadata.creationTimestamp,
        ...(metadata.deletionTimestamp && { deletionTimestamp: metadata.deletionTimestamp }),
        labels,
        ...(metadata.ownerReferences && {
          ownerReferences: metadata.ownerReferences.map(({ apiVersion, kind, name, uid }) => ({ apiVersion, kind, name, uid })),
        }),
      },
    }),
    ...(status && {
      status: {
        ...(status.phase && { phase: status.phase }),
        ...(status.reason && { reason: status.reason }),
        ...(status.message && { message: status.message }),
        ...(status.conditions && { conditions: status.conditions.map(({ type, status, reason, message }) => ({ type, status, reason, message })) }),
        ...(status.containerStatuses && { containerStatuses: status.containerStatuses.map(slimContainerStatus) }),
        ...(status.initContainerStatuses && { initContainerStatuses: status.initContainerStatuses.map(slimContainerStatus) }),
      },
    }),
  };
}

function slimContainerStatus({ name, state, lastState, restartCount }: k8s.V1ContainerStatus): k8s.V1ContainerStatus {
  // image, imageID and ready are required by the type, never read from the cache
  return { name, image: '', imageID: '', ready: false, restartCount, ...(state && { state }), ...(lastState && { lastState }) };
}
