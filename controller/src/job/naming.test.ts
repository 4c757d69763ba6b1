import { describe, expect, it } from 'vitest';
import { jobName, labelValue } from './naming.ts';

describe('jobName', () => {
  it('is the same for the same binding and key, so redeliveries collide', () => {
    expect(jobName('ns', 'videos', 'msg-1')).toBe(jobName('ns', 'videos', 'msg-1'));
  });

  it('differs across keys, bindings and namespaces', () => {
    const names = new Set([
      jobName('ns', 'videos', 'msg-1'),
      jobName('ns', 'videos', 'msg-2'),
      jobName('ns', 'reports', 'msg-1'),
      jobName('other', 'videos', 'msg-1'),
    ]);
    expect(names.size).toBe(4);
  });

  it('is a valid DNS label of at most 63 characters, even for long binding names', () => {
    const name = jobName('ns', `${'a'.repeat(45)}-${'b'.repeat(40)}`, 'k');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(jobName('ns', 'videos', 'k')).toMatch(/^videos-[0-9a-f]{16}$/);
  });

  it('does not end the prefix with a dash when truncation lands on one', () => {
    const binding = `${'a'.repeat(45)}-tail`;
    expect(jobName('ns', binding, 'k')).not.toContain('--');
  });
});

describe('labelValue', () => {
  it('keeps valid label values and hashes the rest', () => {
    expect(labelValue('0f4c1f2a-7d5e-4c5b-9a8e-3b1d2c4e5f60')).toBe('0f4c1f2a-7d5e-4c5b-9a8e-3b1d2c4e5f60');
    expect(labelValue('job 42/with spaces')).toMatch(/^[0-9a-f]{63}$/);
    expect(labelValue('x'.repeat(64))).toHaveLength(63);
  });
});
