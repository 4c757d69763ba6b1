// Level-triggered handling of a finished Job that Sluice created: once its outcome is recorded, the
// finalizer comes off, and only then can ttlSecondsAfterFinished or a manual delete remove it.
import * as k8s from '@kubernetes/client-node';
import { FINALIZER_OUTCOME } from '../job/labels.ts';
import { isConflict, isNotFound } from '../kube/client.ts';
import { done, type ReconcileRequest, type ReconcileResult } from '../kube/work-queue.ts';
import type { ObjectCache } from './cache.ts';
import { hasOutcomeFinalizer, jobPhase } from './job-phase.ts';

export type JobOutcomeDeps = {
  batch: k8s.BatchV1Api;
  jobs: ObjectCache<k8s.V1Job>;
};

export function jobOutcomeReconciler(deps: JobOutcomeDeps) {
  return async ({ namespace, name, logger }: ReconcileRequest): Promise<ReconcileResult> => {
    const job = deps.jobs.get(namespace!, name);
    if (!job || !hasOutcomeFinalizer(job)) return done;
    const phase = jobPhase(job);
    const deleting = Boolean(job.metadata?.deletionTimestamp);
    if (phase === 'active' && !deleting) return done;

    await removeFinalizer(deps.batch, job);
    logger.info({ phase, deleting }, 'Recorded Job outcome; removed finalizer');
    return done;
  };
}

/** Removes only our finalizer, guarded by resourceVersion so a concurrent change is re-read, not lost. */
async function removeFinalizer(batch: k8s.BatchV1Api, job: k8s.V1Job): Promise<void> {
  const finalizers = (job.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER_OUTCOME);
  try {
    await batch.patchNamespacedJob(
      {
        namespace: job.metadata!.namespace!,
        name: job.metadata!.name!,
        body: { metadata: { finalizers, resourceVersion: job.metadata!.resourceVersion } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  } catch (error) {
    if (isNotFound(error)) return;
    if (isConflict(error)) throw new Error('Job changed while removing the finalizer; retrying from the cache', { cause: error });
    throw error;
  }
}
