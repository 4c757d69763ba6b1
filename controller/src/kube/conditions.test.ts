import { describe, expect, it } from 'vitest';
import {
  type Condition, findCondition, formatConditionTime, isConditionTrue, removeCondition, setCondition,
} from './conditions.ts';

const t0 = new Date('2026-01-02T03:04:05.678Z');
const t1 = new Date('2026-01-02T03:09:00.000Z');

const ready = (status: Condition['status'], reason: string, message?: string, observedGeneration?: number) =>
  ({ type: 'Ready', status, reason, message, observedGeneration });

describe('setCondition', () => {
  it('adds a missing condition with lastTransitionTime now, in whole seconds', () => {
    const result = setCondition(undefined, ready('True', 'Polling', 'receiving', 3), t0);
    expect(result).toEqual([{
      type: 'Ready', status: 'True', reason: 'Polling', message: 'receiving', observedGeneration: 3,
      lastTransitionTime: '2026-01-02T03:04:05Z',
    }]);
  });

  it('keeps lastTransitionTime when the status stays, updating reason, message and generation', () => {
    const before = setCondition([], ready('False', 'QueueUnreachable', 'timeout', 1), t0);
    const after = setCondition(before, ready('False', 'AccessDenied', 'forbidden', 2), t1);
    expect(after).toEqual([{
      type: 'Ready', status: 'False', reason: 'AccessDenied', message: 'forbidden', observedGeneration: 2,
      lastTransitionTime: '2026-01-02T03:04:05Z',
    }]);
  });

  it('moves lastTransitionTime when the status changes', () => {
    const before = setCondition([], ready('False', 'QueueUnreachable'), t0);
    const after = setCondition(before, ready('True', 'Polling'), t1);
    expect(findCondition(after, 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: '2026-01-02T03:09:00Z' });
  });

  it('returns the same array when nothing changes, and never mutates its input', () => {
    const before = setCondition([], ready('True', 'Polling', 'ok', 4), t0);
    const frozen = Object.freeze(before.map((c) => Object.freeze({ ...c })));
    expect(setCondition(frozen, ready('True', 'Polling', 'ok', 4), t1)).toBe(frozen);
    const changed = setCondition(frozen, ready('True', 'Polling', 'ok', 5), t1);
    expect(changed).not.toBe(frozen);
    expect(frozen[0]?.observedGeneration).toBe(4);
  });

  it('leaves other conditions and their order alone', () => {
    let conditions = setCondition([], { type: 'Ready', status: 'True', reason: 'Ok' }, t0);
    conditions = setCondition(conditions, { type: 'Polling', status: 'True', reason: 'Ok' }, t0);
    conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: 'Broken' }, t1);
    expect(conditions.map((c) => [c.type, c.status])).toEqual([['Ready', 'False'], ['Polling', 'True']]);
    expect(findCondition(conditions, 'Polling')?.lastTransitionTime).toBe('2026-01-02T03:04:05Z');
  });

  it('omits optional fields that were not given', () => {
    const [condition] = setCondition([], { type: 'Ready', status: 'Unknown', reason: 'Starting' }, t0);
    expect(Object.keys(condition!).sort()).toEqual(['lastTransitionTime', 'reason', 'status', 'type']);
  });
});

describe('condition helpers', () => {
  const conditions = setCondition([], ready('True', 'Polling'), t0);

  it('finds a condition by type', () => {
    expect(findCondition(conditions, 'Ready')?.reason).toBe('Polling');
    expect(findCondition(conditions, 'Missing')).toBeUndefined();
    expect(findCondition(undefined, 'Ready')).toBeUndefined();
  });

  it('tells whether a condition is True', () => {
    expect(isConditionTrue(conditions, 'Ready')).toBe(true);
    expect(isConditionTrue(setCondition(conditions, ready('Unknown', 'Starting'), t1), 'Ready')).toBe(false);
    expect(isConditionTrue(conditions, 'Missing')).toBe(false);
  });

  it('removes a condition, returning the input when it is absent', () => {
    expect(removeCondition(conditions, 'Ready')).toEqual([]);
    expect(removeCondition(conditions, 'Missing')).toBe(conditions);
  });

  it('formats times as metav1.Time does', () => {
    expect(formatConditionTime(new Date('2026-05-06T07:08:09.999Z'))).toBe('2026-05-06T07:08:09Z');
  });
});
