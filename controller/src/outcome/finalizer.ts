// Takes Sluice's finalizer off a Job without reading it first: a JSON patch that removes the entry
// at the index our copy shows, guarded by a `test` of that entry, so a concurrent change to the
// finalizers is never overwritten (the patch fails and the reconcile comes back with a newer copy).
import * as k8s from '@kubernetes/client-node';
import { FINALIZER_OUTCOME } from '../job/labels.ts';
import { apiStatus, isNotFound, type BatchApi } from '../kube/client.ts';

export type FinalizerRelease = 'released' | 'gone' | 'changed';

export async function releaseFinalizer(batch: Pick<BatchApi, 'patchNamespacedJob'>, job: k8s.V1Job): Promise<FinalizerRelease> {
  const index = job.metadata?.finalizers?.indexOf(FINALIZER_OUTCOME) ?? -1;
  if (index < 0) return 'released';
  const path = `/metadata/finalizers/${index}`;
  try {
    await batch.patchNamespacedJob(
      { namespace: job.metadata!.namespace!, name: job.metadata!.name!, body: [{ op: 'test', path, value: FINALIZER_OUTCOME }, { op: 'remove', path }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    return 'released';
  } catch (error) {
    if (isNotFound(error)) return 'gone';
    // A failed `test` is 422 (Invalid); a conflicting write, 409.
    const code = apiStatus(error)?.code;
    if (code === 422 || code === 409) return 'changed';
    throw error;
  }
}
