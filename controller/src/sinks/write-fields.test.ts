import { describe, expect, it } from 'vitest';
import { writeVersion, type SinkWrite } from './types.ts';
import { checkVersion, fieldsToSet, targetTable } from './write-fields.ts';

const write = (overrides: Partial<SinkWrite> = {}): SinkWrite => ({
  table: 'interviews', keyField: 'id', key: 'a', version: 17, versionField: 'sluiceVersion',
  fields: {}, createIfMissing: true, ...overrides,
});

describe('targetTable', () => {
  it("prefers the JobType's table, then the sink's default", () => {
    expect(targetTable(write(), 'fallback', 'table')).toBe('interviews');
    expect(targetTable(write({ table: '' }), 'fallback', 'table')).toBe('fallback');
  });

  it('refuses a write with no table anywhere, saying where to set one', () => {
    expect(() => targetTable(write({ table: '' }), undefined, 'collection')).toThrow(/statusSink\.table/);
    expect(() => targetTable(write({ table: '' }), undefined, 'table')).toThrow(/StatusSink's table/);
  });
});

describe('fieldsToSet', () => {
  it('leaves out unknown values, the key and the version, keeping null', () => {
    const fields = { status: 'running', id: 'other', sluiceVersion: 1, exitCode: undefined, reason: null };
    expect(fieldsToSet(write({ fields }))).toEqual([['status', 'running'], ['reason', null]]);
  });

  it('leaves out names a backend reserves', () => {
    expect(fieldsToSet(write({ fields: { _id: 'x', status: 'queued' } }), ['_id'])).toEqual([['status', 'queued']]);
  });
});

describe('checkVersion', () => {
  it('accepts versions built from millisecond timestamps', () => {
    expect(() => checkVersion(write({ version: writeVersion(Date.parse('2200-01-01'), 'succeeded') }))).not.toThrow();
  });

  it('rejects versions that a store would round or misorder', () => {
    for (const version of [1.5, -1, Number.NaN, 2 ** 60]) {
      expect(() => checkVersion(write({ version }))).toThrow(/safe integer/);
    }
  });
});

describe('writeVersion', () => {
  const sent = Date.parse('2026-11-23T10:00:00Z');
  it('orders a message\'s phases, with progress between running and the end', () => {
    const order = [
      writeVersion(sent, 'queued'), writeVersion(sent, 'running'), writeVersion(sent, 'running', 0),
      writeVersion(sent, 'running', 40), writeVersion(sent, 'running', 100), writeVersion(sent, 'succeeded'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(new Set(order).size).toBe(order.length);
    expect(writeVersion(sent, 'failed')).toBe(writeVersion(sent, 'succeeded'));
  });

  it('lets a later message supersede every write of an earlier one', () => {
    expect(writeVersion(sent + 1, 'queued')).toBeGreaterThan(writeVersion(sent, 'failed'));
  });

  it('clamps a percentage outside 0..100', () => {
    expect(writeVersion(sent, 'running', 250)).toBe(writeVersion(sent, 'running', 100));
    expect(writeVersion(sent, 'running', -3)).toBe(writeVersion(sent, 'running', 0));
  });
});
