import { describe, expect, it } from 'vitest';
import { CapacityTracker } from './capacity.ts';

const job = (name: string, jobType = 'render') => ({ namespace: 'ns', name, binding: 'videos', jobType });

describe('CapacityTracker', () => {
  it('counts active Jobs and reserved messages against maxInFlight', () => {
    const capacity = new CapacityTracker();
    capacity.jobActive(job('a'));
    capacity.jobActive(job('a')); // seen again by the informer: still one Job
    capacity.reserveBinding('ns', 'videos', 3);
    expect(capacity.freeForBinding('ns', 'videos', 10)).toBe(6);
    capacity.releaseBinding('ns', 'videos', 3);
    capacity.jobFinished(job('a'));
    expect(capacity.freeForBinding('ns', 'videos', 10)).toBe(10);
  });

  it('grants JobType slots only up to maxConcurrency, counting reservations', () => {
    const capacity = new CapacityTracker();
    capacity.jobActive(job('a'));
    expect(capacity.tryReserveType('ns', 'render', 2)).toBe(true);
    expect(capacity.tryReserveType('ns', 'render', 2)).toBe(false);
    capacity.jobActive(job('b'));
    capacity.releaseType('ns', 'render');
    expect(capacity.activeForType('ns', 'render')).toBe(2);
    expect(capacity.tryReserveType('ns', 'other', undefined)).toBe(true);
  });

  it('ignores a late "active" for a Job already seen finished', () => {
    const capacity = new CapacityTracker();
    capacity.jobFinished(job('quick'));
    capacity.jobActive(job('quick'));
    expect(capacity.activeForType('ns', 'render')).toBe(0);
  });

  it('wakes waiters when capacity is freed', async () => {
    const capacity = new CapacityTracker();
    capacity.jobActive(job('a'));
    const woken = capacity.waitForChange(10_000);
    capacity.jobFinished(job('a'));
    await expect(woken).resolves.toBeUndefined();
  });
});
