// Resources and helpers shared by the business-path unit tests.
import type * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION, type JobType, type QueueBinding } from '../api/schemas.ts';
import { parseSpec } from '../api/validate.ts';
import type { JobTypeLookup } from '../dispatch/plan.ts';
import type { EventReason } from '../kube/event-reasons.ts';
import type { EventSink } from '../reconcile/queue-binding.ts';

export const silentLogger = pino({ level: 'silent' });
export const NAMESPACE = 'media';

export function queueBinding(spec: Record<string, unknown>, name = 'jobs', namespace = NAMESPACE): QueueBinding {
  const parsed = parseSpec('QueueBinding', spec);
  if (!parsed.success) throw new Error(parsed.message);
  return {
    apiVersion: API_VERSION, kind: 'QueueBinding',
    metadata: { name, namespace, uid: `uid-qb-${name}`, generation: 1, resourceVersion: '1' },
    spec: parsed.spec,
  };
}

export function jobType(spec: Record<string, unknown>, name = 'work', namespace = NAMESPACE): JobType {
  const parsed = parseSpec('JobType', { image: 'registry.invalid/worker:1', ...spec });
  if (!parsed.success) throw new Error(parsed.message);
  return {
    apiVersion: API_VERSION, kind: 'JobType',
    metadata: { name, namespace, uid: `uid-jt-${name}`, generation: 1, resourceVersion: '1' },
    spec: parsed.spec,
  };
}

/** A JobTypeLookup over a fixed set of JobTypes. */
export function lookup(...types: JobType[]): JobTypeLookup {
  return (namespace, name) => {
    const found = types.find((t) => t.metadata.namespace === namespace && t.metadata.name === name);
    return found ? { jobType: found } : { problem: `JobType ${name} not found` };
  };
}

export type RecordedEvent = { kind: string | undefined; name: string | undefined; type: 'Normal' | 'Warning'; reason: EventReason; message: string };

/** An EventSink that keeps what it was given. */
export function eventLog(): { sink: EventSink; events: RecordedEvent[]; reasons: () => string[] } {
  const events: RecordedEvent[] = [];
  const sink: EventSink = (object: k8s.KubernetesObject, type, reason, message) => {
    events.push({ kind: object.kind, name: object.metadata?.name, type, reason, message });
  };
  return { sink, events, reasons: () => events.map((e) => e.reason) };
}

/**
 * Polls until `probe` holds (real time), failing after `timeoutMs`: generous, as a loaded CI machine
 * (tools building beside the tests) runs these harnesses several times slower than a quiet one.
 */
export async function until(what: string, probe: () => boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}
