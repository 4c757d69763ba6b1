import { describe, expect, it } from 'vitest';
import { parseMemoryQuantity } from './cgroup.ts';

describe('parseMemoryQuantity', () => {
  it('reads a memory limit as a pod spec writes it', () => {
    expect(parseMemoryQuantity('512Mi')).toBe(512 * 2 ** 20);
    expect(parseMemoryQuantity('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(parseMemoryQuantity('300M')).toBe(300e6);
    expect(parseMemoryQuantity('4096')).toBe(4096);
  });

  it('refuses what is not a quantity', () => {
    expect(() => parseMemoryQuantity('512 MiB')).toThrow(/expected a memory quantity such as 512Mi/);
    expect(() => parseMemoryQuantity('lots')).toThrow(/lots/);
  });
});
