import { describe, expect, it } from 'vitest';
import { lazy } from './lazy.ts';

describe('lazy', () => {
  it('makes the value on first use only, and keeps it (undefined too)', () => {
    let calls = 0;
    const value = lazy(() => { calls += 1; return calls === 1 ? undefined : 'again'; });
    expect(calls).toBe(0);
    expect(value()).toBeUndefined();
    expect(value()).toBeUndefined();
    expect(calls).toBe(1);
  });
});
