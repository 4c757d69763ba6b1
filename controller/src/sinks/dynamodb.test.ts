import { describe, expect, it } from 'vitest';
import { keyAttribute, toAttributeValue } from './dynamodb.ts';

describe('keyAttribute', () => {
  it("follows the table's key type, whatever type the key arrived as", () => {
    expect(keyAttribute('42', 'N', 't', 'id')).toEqual({ N: '42' });
    expect(keyAttribute(42, 'S', 't', 'id')).toEqual({ S: '42' });
    expect(keyAttribute('abc', 'S', 't', 'id')).toEqual({ S: 'abc' });
  });

  it('uses the key as given when the key type is unknown', () => {
    expect(keyAttribute('abc', undefined, 't', 'id')).toEqual({ S: 'abc' });
    expect(keyAttribute(7, undefined, 't', 'id')).toEqual({ N: '7' });
  });

  it('refuses a non-numeric key for a numeric table key, and binary keys', () => {
    expect(() => keyAttribute('abc', 'N', 'interviews', 'id')).toThrow('key "abc" is not a number, but interviews.id is numeric');
    expect(() => keyAttribute(' ', 'N', 'interviews', 'id')).toThrow(/not a number/);
    expect(() => keyAttribute('abc', 'B', 'interviews', 'id')).toThrow(/binary key/);
  });
});

describe('toAttributeValue', () => {
  it('stores Dates as ISO 8601 strings, also inside documents and lists', () => {
    const at = new Date('2025-01-02T03:04:05.678Z');
    expect(toAttributeValue(at)).toEqual({ S: '2025-01-02T03:04:05.678Z' });
    expect(toAttributeValue({ at, list: [at] })).toEqual({
      M: { at: { S: '2025-01-02T03:04:05.678Z' }, list: { L: [{ S: '2025-01-02T03:04:05.678Z' }] } },
    });
  });

  it('stores documents as maps, dropping unknown values, and null as NULL', () => {
    expect(toAttributeValue({ score: 3, ok: true, missing: undefined, none: null })).toEqual({
      M: { score: { N: '3' }, ok: { BOOL: true }, none: { NULL: true } },
    });
  });
});
