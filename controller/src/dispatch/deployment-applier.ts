// Keeps a QueueBinding's own dispatcher objects (deployment.ts) as the binding says: applied with
// server-side apply under Sluice's field manager on every reconcile (cheap when nothing changed,
// and it repairs hand edits), the KEDA objects only where KEDA's CRDs are served, all deleted when
// the binding goes back to the embedded dispatcher. Deleting the binding deletes them through
// their owner references.
import * as k8s from '@kubernetes/client-node';
import type { QueueBinding } from '../api/schemas.ts';
import { isNotFound } from '../kube/client.ts';
import type { ObjectCache } from '../reconcile/cache.ts';
import { dispatcherName, dispatcherObjects, type DispatcherObjectsOptions } from './deployment.ts';

export const FIELD_MANAGER = 'sluice';
const KEDA_CHECK_MS = 60_000;

export type DispatcherSummary = {
  name: string;
  keda: boolean;
  /** Replicas the Deployment asks for (KEDA's choice where it scales it) and those ready. */
  replicas: number;
  readyReplicas: number;
};

export type ObjectsApi = Pick<k8s.KubernetesObjectApi, 'patch' | 'delete'>;

export type DispatcherApplierOptions = Omit<DispatcherObjectsOptions, 'keda'> & {
  objects: ObjectsApi;
  /** The dispatcher Deployments (an informer of Sluice's dispatcher Deployments). */
  deployments: ObjectCache<k8s.V1Deployment>;
  /** Whether KEDA's ScaledObject API is served (asked at most once a minute). */
  kedaServed: () => Promise<boolean>;
  now?: () => number;
};

export class DispatcherApplier {
  readonly #options: DispatcherApplierOptions;
  #keda: { served: boolean; at: number } | undefined;

  constructor(options: DispatcherApplierOptions) {
    this.#options = options;
  }

  async apply(binding: QueueBinding): Promise<DispatcherSummary> {
    const keda = await this.#kedaServed();
    const objects = dispatcherObjects(binding, { ...this.#options, keda });
    const ordered = [objects.serviceAccount, objects.role, objects.roleBinding, objects.triggerAuthentication, objects.deployment, objects.scaledObject];
    for (const object of ordered) {
      if (object) await this.#options.objects.patch(object, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
    }
    const name = dispatcherName(binding.metadata.name);
    const deployment = this.#options.deployments.get(binding.metadata.namespace, name);
    return {
      name,
      keda,
      replicas: deployment?.spec?.replicas ?? (keda ? 0 : binding.spec.dispatcher.replicas),
      readyReplicas: deployment?.status?.readyReplicas ?? 0,
    };
  }

  /** The binding dispatches embedded again: its Deployment and the rest go. */
  async remove(binding: QueueBinding): Promise<void> {
    const name = dispatcherName(binding.metadata.name);
    if (!this.#options.deployments.get(binding.metadata.namespace, name)) return;
    const objects = dispatcherObjects(binding, { ...this.#options, keda: true });
    for (const object of [objects.scaledObject, objects.triggerAuthentication, objects.deployment, objects.roleBinding, objects.role, objects.serviceAccount]) {
      if (!object) continue;
      await this.#options.objects.delete(object, undefined, undefined, undefined, undefined, 'Background').catch((error: unknown) => {
        // KEDA's kinds are not served at all where it is not installed.
        if (!isNotFound(error) && (error as { code?: number }).code !== 404) throw error;
      });
    }
  }

  async #kedaServed(): Promise<boolean> {
    const now = this.#options.now?.() ?? Date.now();
    if (this.#keda && now - this.#keda.at < KEDA_CHECK_MS) return this.#keda.served;
    const served = await this.#options.kedaServed();
    this.#keda = { served, at: now };
    return served;
  }
}

/** Whether the API server serves KEDA's ScaledObjects (its CRDs installed). */
export function kedaServedBy(kubeConfig: k8s.KubeConfig): () => Promise<boolean> {
  const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  return async () => {
    try {
      await custom.getAPIResources({ group: 'keda.sh', version: 'v1alpha1' }).then((list) => {
        if (!list.resources.some((r) => r.name === 'scaledobjects')) throw Object.assign(new Error('no scaledobjects'), { code: 404 });
      });
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return false;
      throw error;
    }
  };
}
