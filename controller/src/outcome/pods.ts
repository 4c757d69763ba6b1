// The pods of each Job, from a pod informer limited to Sluice's pods (label
// app.kubernetes.io/managed-by=sluice, which build-job puts on every pod template), indexed by the
// Job controller's batch.kubernetes.io/controller-uid label: no LIST per reconcile.
import type * as k8s from '@kubernetes/client-node';
import type { InformerHandlers } from '../kube/informer.ts';

const CONTROLLER_UID = 'batch.kubernetes.io/controller-uid';

export class PodsByJob {
  readonly #byJob = new Map<string, Map<string, k8s.V1Pod>>();

  readonly handlers: InformerHandlers<k8s.V1Pod> = {
    add: (pod) => this.#put(pod),
    update: (pod) => this.#put(pod),
    delete: (pod) => {
      const uid = pod.metadata?.labels?.[CONTROLLER_UID];
      if (!uid) return;
      const pods = this.#byJob.get(uid);
      pods?.delete(pod.metadata?.name ?? '');
      if (pods?.size === 0) this.#byJob.delete(uid);
    },
  };

  podsOf(job: k8s.V1Job): k8s.V1Pod[] {
    return [...(this.#byJob.get(job.metadata?.uid ?? '')?.values() ?? [])];
  }

  #put(pod: k8s.V1Pod): void {
    const uid = pod.metadata?.labels?.[CONTROLLER_UID];
    if (!uid) return;
    let pods = this.#byJob.get(uid);
    if (!pods) this.#byJob.set(uid, (pods = new Map<string, k8s.V1Pod>()));
    pods.set(pod.metadata?.name ?? '', pod);
  }
}

/** The Job's name, for routing a pod's change to its Job's reconcile. */
export function jobNameOfPod(pod: k8s.V1Pod): string | undefined {
  return pod.metadata?.labels?.['batch.kubernetes.io/job-name'] ?? pod.metadata?.ownerReferences?.find((o) => o.kind === 'Job')?.name;
}
