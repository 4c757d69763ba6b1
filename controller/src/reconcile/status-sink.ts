// StatusSink reconcile: checks the store answers and reports it in the Reachable condition,
// re-checking every 30 seconds so an outage shows on `kubectl get statussinks`.
import { API_VERSION, type StatusSink } from '../api/schemas.ts';
import { parseSpec } from '../api/validate.ts';
import { setCondition, type ConditionUpdate } from '../kube/conditions.ts';
import { EventReason } from '../kube/event-reasons.ts';
import { requeueAfter, done, type ReconcileRequest, type ReconcileResult } from '../kube/work-queue.ts';
import { initSinkMetrics } from '../metrics.ts';
import type { StatusSinkClient } from '../sinks/types.ts';
import type { ObjectCache } from './cache.ts';
import type { EventSink } from './queue-binding.ts';
import type { StatusWriter } from './status-writer.ts';

export const SINK_CHECK_INTERVAL_MS = 30_000;

export type StatusSinkDeps = {
  sinks: ObjectCache<StatusSink>;
  open: (namespace: string, name: string) => Promise<StatusSinkClient>;
  status: StatusWriter;
  event: EventSink;
  now?: () => Date;
};

export function statusSinkReconciler(deps: StatusSinkDeps) {
  return async ({ namespace, name }: ReconcileRequest): Promise<ReconcileResult> => {
    const stored = deps.sinks.get(namespace!, name);
    if (!stored) return done;
    initSinkMetrics(namespace!, name);
    const generation = stored.metadata.generation;
    let reachable: ConditionUpdate;
    const parsed = parseSpec('StatusSink', stored.spec);
    if (!parsed.success) {
      reachable = { type: 'Reachable', status: 'False', reason: EventReason.InvalidSpec, message: parsed.message };
    } else {
      try {
        await (await deps.open(namespace!, name)).ping();
        reachable = { type: 'Reachable', status: 'True', reason: EventReason.SinkReachable, message: 'the store answered' };
      } catch (error) {
        reachable = { type: 'Reachable', status: 'False', reason: EventReason.SinkUnreachable, message: (error as Error).message };
      }
    }
    const before = stored.status?.conditions?.find((c) => c.type === 'Reachable');
    if (reachable.status === 'False' && before?.message !== reachable.message) {
      deps.event(stored, 'Warning', reachable.reason as EventReason, reachable.message ?? '');
    }
    const conditions = setCondition(stored.status?.conditions, { ...reachable, observedGeneration: generation }, deps.now?.() ?? new Date());
    await deps.status.write(
      { apiVersion: API_VERSION, kind: 'StatusSink', namespace: namespace!, name },
      stored.status,
      { ...stored.status, observedGeneration: generation, conditions },
    );
    return parsed.success ? requeueAfter(SINK_CHECK_INTERVAL_MS) : done;
  };
}
