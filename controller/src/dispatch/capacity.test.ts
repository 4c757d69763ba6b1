import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { memoryLedgerStore } from '../testing/memory-ledger.ts';
import { CapacityTracker } from './capacity.ts';
import { SharedCapacity } from './shared-capacity.ts';

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

  it('counts each creating process\'s unfinished Jobs per scope, each Job once', () => {
    const capacity = new CapacityTracker();
    const mine = (name: string, jobType?: string) => ({ ...job(name, jobType), dispatcher: 'me' });
    const jobTypeScope = { kind: 'jobtype' as const, namespace: 'ns', name: 'render' };
    capacity.jobActive(mine('a'));
    capacity.jobActive(mine('a'));
    capacity.jobActive({ ...job('b'), dispatcher: 'other' });
    capacity.jobActive(job('c')); // created here, its label not seen yet
    capacity.jobActive(mine('c'));
    capacity.jobActive(mine('d', 'transcode'));
    expect(capacity.activeByHolder(jobTypeScope)).toEqual(new Map([['me', 2], ['other', 1]]));
    expect(capacity.activeByHolder({ kind: 'binding', namespace: 'ns', name: 'videos' })).toEqual(new Map([['me', 3], ['other', 1]]));
    expect(capacity.activeForType('ns', 'render')).toBe(3);
    expect(capacity.freeForBinding('ns', 'videos', 10)).toBe(6);
    capacity.jobFinished(mine('a'));
    capacity.jobFinished(mine('a'));
    capacity.jobFinished({ ...job('b'), dispatcher: 'other' });
    expect(capacity.activeByHolder(jobTypeScope)).toEqual(new Map([['me', 1]]));
    expect(capacity.freeForBinding('ns', 'videos', 10)).toBe(8);
    capacity.jobFinished(mine('c'));
    expect(capacity.activeByHolder(jobTypeScope)).toEqual(new Map());
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

describe('CapacityTracker with capacity shared across processes', () => {
  const scopeOf = (kind: 'jobtype' | 'binding', name: string) => ({ kind, namespace: 'ns', name });
  it('keeps two processes together within a JobType\'s maxConcurrency', async () => {
    const store = memoryLedgerStore();
    const clock = { now: 1_000_000 };
    const trackers = ['a', 'b'].map((holder) => {
      const shared: SharedCapacity = new SharedCapacity({ store, holder, log: pino({ level: 'silent' }), now: () => clock.now, activeByHolder: (s) => tracker.activeByHolder(s) });
      const tracker: CapacityTracker = new CapacityTracker({ shared, holderLabel: holder, isShared: (s) => s.kind === 'jobtype' && s.name === 'render' });
      return { tracker, shared };
    });
    // Both ask; the ledger answers; then each takes what it may.
    for (const { tracker } of trackers) tracker.freeForType('ns', 'render', 3);
    await Promise.all(trackers.map(({ shared }) => shared.sync({ ...scopeOf('jobtype', 'render'), limit: 3 })));
    for (const { tracker } of trackers) tracker.freeForType('ns', 'render', 3);
    await Promise.all(trackers.map(({ shared }) => shared.sync({ ...scopeOf('jobtype', 'render'), limit: 3 })));
    let started = 0;
    for (const { tracker } of trackers) {
      while (tracker.tryReserveType('ns', 'render', 3)) started += 1;
    }
    expect(started).toBeLessThanOrEqual(3);
    expect(started).toBeGreaterThan(0);
    // A scope no other process creates Jobs for is not held back by the ledger.
    expect(trackers[0]!.tracker.freeForType('ns', 'other', 5)).toBe(5);
  });
});
