import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { namespaceList } from './namespace-list.ts';

describe('--namespace', () => {
  it('takes a comma-separated list, trimmed and without repeats', () => {
    expect(namespaceList('media')).toEqual(['media']);
    expect(namespaceList('media, interviews,media,')).toEqual(['media', 'interviews']);
  });

  it('means every namespace when empty', () => {
    expect(namespaceList('')).toEqual([]);
    expect(namespaceList(' , ')).toEqual([]);
  });

  it('refuses names Kubernetes would not accept', () => {
    expect(() => namespaceList('media,Team_A')).toThrow(InvalidArgumentError);
    expect(() => namespaceList('media,Team_A')).toThrow('not a namespace name: Team_A');
    expect(() => namespaceList(`a${'b'.repeat(63)}`)).toThrow(/not a namespace name/);
  });
});
