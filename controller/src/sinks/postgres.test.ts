import { describe, expect, it } from 'vitest';
import { quoteTable, toPgValue } from './postgres.ts';

describe('quoteTable', () => {
  it('quotes each part of a schema-qualified name', () => {
    expect(quoteTable('interviews')).toBe('"interviews"');
    expect(quoteTable('app.Interviews')).toBe('"app"."Interviews"');
  });

  it('keeps hostile names inside their quotes', () => {
    expect(quoteTable('x"; DROP TABLE y; --')).toBe('"x""; DROP TABLE y; --"');
  });

  it('rejects names that are not one or two parts', () => {
    for (const name of ['a.b.c', '.a', 'a.']) expect(() => quoteTable(name)).toThrow(/invalid PostgreSQL table name/);
  });
});

describe('toPgValue', () => {
  it('sends anything bound for a json or jsonb column as JSON, strings included', () => {
    expect(toPgValue('plain text', 'jsonb')).toBe('"plain text"');
    expect(toPgValue({ score: 3 }, 'json')).toBe('{"score":3}');
    expect(toPgValue([1, 2], 'jsonb')).toBe('[1,2]');
  });

  it('sends documents as JSON and arrays as arrays only to array columns', () => {
    expect(toPgValue({ score: 3 }, 'text')).toBe('{"score":3}');
    expect(toPgValue(['a'], 'text[]')).toEqual(['a']);
    expect(toPgValue(['a'], undefined)).toBe('["a"]');
  });

  it('sends Dates as timestamps and scalars and null unchanged', () => {
    const at = new Date(0);
    expect(toPgValue(at, 'timestamp with time zone')).toBe(at);
    expect(toPgValue('running', 'text')).toBe('running');
    expect(toPgValue(3, 'integer')).toBe(3);
    expect(toPgValue(null, 'jsonb')).toBeNull();
  });
});
