// Deletes a fan-in group's ConfigMap once the group is over — its message sent, or given up for
// good — and a retention period has passed. Until then a late redelivered member counts into the
// finished group (and sends nothing) instead of starting a new group that could never complete.
import type * as k8s from '@kubernetes/client-node';
import { ANNOTATION_FAN_IN_GROUP } from '../job/labels.ts';
import { isConflict, isNotFound, type CoreApi } from '../kube/client.ts';
import { done, requeueAfter, type ReconcileRequest, type ReconcileResult } from '../kube/work-queue.ts';
import { FAN_IN_FAILED_AT, FAN_IN_SENT_AT } from '../outcome/fan-in.ts';
import type { ObjectCache } from './cache.ts';

export const FAN_IN_RETENTION_MS = 60 * 60_000;

export type FanInRetentionDeps = {
  configMaps: ObjectCache<k8s.V1ConfigMap>;
  core: Pick<CoreApi, 'deleteNamespacedConfigMap'>;
  retentionMs?: number;
  now?: () => number;
};

export function fanInRetentionReconciler(deps: FanInRetentionDeps) {
  return async ({ namespace, name, logger }: ReconcileRequest): Promise<ReconcileResult> => {
    const state = deps.configMaps.get(namespace!, name);
    if (!state?.metadata?.annotations?.[ANNOTATION_FAN_IN_GROUP]) return done;
    const over = Date.parse(state.data?.[FAN_IN_SENT_AT] ?? state.data?.[FAN_IN_FAILED_AT] ?? '');
    // A group still counting changes with every member, and each change comes back here.
    if (Number.isNaN(over)) return done;
    const remaining = over + (deps.retentionMs ?? FAN_IN_RETENTION_MS) - (deps.now?.() ?? Date.now());
    if (remaining > 0) return requeueAfter(remaining);
    try {
      // Only the version we judged: a member counted meanwhile is judged again.
      await deps.core.deleteNamespacedConfigMap({ namespace: namespace!, name, body: { preconditions: { resourceVersion: state.metadata.resourceVersion } } });
    } catch (error) {
      if (isNotFound(error)) return done;
      if (isConflict(error)) return requeueAfter(1_000);
      throw error;
    }
    logger.info({ group: state.metadata.annotations[ANNOTATION_FAN_IN_GROUP] }, 'Deleted finished fan-in group');
    return done;
  };
}
