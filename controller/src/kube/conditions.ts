// Status conditions with apimachinery's meta.SetStatusCondition semantics: lastTransitionTime moves
// only when the status changes, so it tells an SRE how long a resource has been (not) Ready.
import type { Condition } from '../api/schemas.ts';

export type { Condition };
export type ConditionStatus = Condition['status'];

export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  /** CamelCase, e.g. QueueUnreachable. */
  reason: string;
  message?: string;
  observedGeneration?: number;
}

/** RFC 3339 with whole seconds, as metav1.Time serialises. */
export function formatConditionTime(now: Date): string {
  return new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Returns the conditions with `update` applied; the input is not modified. When nothing changes it
 * returns the input array itself, so `next !== previous` tells a caller whether to write status.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date,
): Condition[] {
  const current = conditions ?? [];
  const existing = current.find((c) => c.type === update.type);
  if (!existing) {
    return [...current, { ...definedFields(update), lastTransitionTime: formatConditionTime(now) }];
  }
  const next: Condition = {
    ...definedFields(update),
    lastTransitionTime: existing.status === update.status ? existing.lastTransitionTime : formatConditionTime(now),
  };
  if (sameCondition(existing, next)) return current as Condition[];
  return current.map((c) => (c === existing ? next : c));
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** Returns the conditions without `type`; the input array itself when it has none. */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  const current = (conditions ?? []) as Condition[];
  return current.some((c) => c.type === type) ? current.filter((c) => c.type !== type) : current;
}

// Leaves out undefined optional fields so the result serialises and compares cleanly.
function definedFields(update: ConditionUpdate): Omit<Condition, 'lastTransitionTime'> {
  const condition: Omit<Condition, 'lastTransitionTime'> = {
    type: update.type,
    status: update.status,
    reason: update.reason,
  };
  if (update.message !== undefined) condition.message = update.message;
  if (update.observedGeneration !== undefined) condition.observedGeneration = update.observedGeneration;
  return condition;
}

function sameCondition(a: Condition, b: Condition): boolean {
  return (
    a.type === b.type &&
    a.status === b.status &&
    a.reason === b.reason &&
    a.message === b.message &&
    a.observedGeneration === b.observedGeneration &&
    a.lastTransitionTime === b.lastTransitionTime
  );
}
