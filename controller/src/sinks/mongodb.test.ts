import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { keyMatch, nestDottedPaths } from './mongodb.ts';

describe('keyMatch', () => {
  it('matches a plain string or a number as it is', () => {
    expect(keyMatch('interview-7')).toBe('interview-7');
    expect(keyMatch(42)).toBe(42);
  });

  it('lets a string key match the ObjectId it spells', () => {
    const id = new ObjectId();
    expect(keyMatch(id.toHexString())).toEqual({ $in: [id.toHexString(), id] });
  });

  it('lets a string key match the integer it spells', () => {
    expect(keyMatch('42')).toEqual({ $in: ['42', 42] });
    expect(keyMatch('-3')).toEqual({ $in: ['-3', -3] });
  });

  it('does not read numbers into strings that are not canonical integers', () => {
    expect(keyMatch('007')).toBe('007');
    expect(keyMatch('1.5')).toBe('1.5');
    expect(keyMatch('99999999999999999999')).toBe('99999999999999999999');
  });
});

describe('nestDottedPaths', () => {
  it('turns dotted paths into nested documents, as $set would', () => {
    const at = new Date(0);
    expect(nestDottedPaths({ status: 'queued', 'progress.step': 2, 'progress.at': at, 'a.b.c': true })).toEqual({
      status: 'queued', progress: { step: 2, at }, a: { b: { c: true } },
    });
  });

  it('keeps values that are documents, dates and arrays intact', () => {
    const result = { score: 3, tags: ['x'] };
    expect(nestDottedPaths({ result, when: new Date(5), list: [1, 2] })).toEqual({ result, when: new Date(5), list: [1, 2] });
  });
});
