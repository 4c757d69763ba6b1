import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { memoryLedgerStore as memoryStore } from '../testing/memory-ledger.ts';
import { SharedCapacity, type CapacityScope, type LedgerStore } from './shared-capacity.ts';

const scope: CapacityScope = { kind: 'jobtype', namespace: 'media', name: 'transcode', limit: 4 };
const log = pino({ level: 'silent' });

function holders(store: LedgerStore, clock: { now: number }, active: Map<string, number>) {
  const make = (holder: string) => new SharedCapacity({
    store, holder, log, now: () => clock.now, leaseMs: 15_000, renewMs: 5_000,
    activeByHolder: () => active,
  });
  return make;
}

describe('SharedCapacity', () => {
  it('grants nothing before the ledger says so, then what was asked within the limit', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    const a = holders(store, clock, new Map())('a');
    expect(a.granted(scope)).toBe(0);
    a.want(scope, 3);
    await a.sync(scope);
    expect(a.granted(scope)).toBe(3);
    a.want(scope, 10);
    await a.sync(scope);
    expect(a.granted(scope)).toBe(4);
  });

  it('never lets the holders together exceed the limit, even when they ask at the same moment', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    const make = holders(store, clock, new Map());
    const all = ['a', 'b', 'c'].map(make);
    for (const h of all) h.want(scope, 4);
    await Promise.all(all.map((h) => h.sync(scope)));
    await Promise.all(all.map((h) => h.sync(scope)));
    const total = all.reduce((sum, h) => sum + h.granted(scope), 0);
    expect(total).toBeLessThanOrEqual(4);
    expect(total).toBeGreaterThan(0);
  });

  it('shares fairly when every holder wants more than it has', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    const active = new Map<string, number>();
    const make = holders(store, clock, active);
    const a = make('a');
    const b = make('b');
    a.want(scope, 4);
    await a.sync(scope);
    expect(a.granted(scope)).toBe(4);
    b.want(scope, 4);
    await b.sync(scope);
    expect(b.granted(scope)).toBe(0); // a holds every slot, but b now says it is waiting
    // a has no unfinished Jobs yet: at its next renewal it keeps only its fair share.
    clock.now += 5_000;
    await a.sync(scope);
    await b.sync(scope);
    expect(a.granted(scope)).toBe(2);
    expect(b.granted(scope)).toBe(2);
  });

  it('makes a busy holder over its share start nothing new while others wait, without overrunning the limit', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    const active = new Map<string, number>([['a', 4]]);
    const make = holders(store, clock, active);
    const a = make('a');
    const b = make('b');
    a.want(scope, 4);
    await a.sync(scope); // a runs all 4 and keeps refilling them
    b.want(scope, 4);
    await b.sync(scope);
    expect(b.granted(scope)).toBe(0);
    clock.now += 5_000;
    await a.sync(scope); // b waits: a shrinks to its fair share of 2, its 4 running still count
    expect(a.granted(scope)).toBe(2);
    await b.sync(scope);
    expect(b.granted(scope)).toBe(0);
    active.set('a', 2); // two of a's Jobs finished; a may not replace them
    clock.now += 5_000;
    await a.sync(scope);
    await b.sync(scope);
    expect(a.granted(scope) + b.granted(scope)).toBeLessThanOrEqual(4);
    expect(b.granted(scope)).toBe(2);
  });

  it('gives a SIGKILLed holder\'s slots to others after its lease, less the Jobs it left running', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    const active = new Map<string, number>([['a', 3]]);
    const make = holders(store, clock, active);
    const a = make('a');
    a.want(scope, 1);
    await a.sync(scope); // a: 3 unfinished + 1 wanted = all 4
    expect(a.granted(scope)).toBe(4);
    const b = make('b');
    b.want(scope, 4);
    await b.sync(scope);
    expect(b.granted(scope)).toBe(0);
    // a dies: no more renewals. Its lease runs out; its 3 unfinished Jobs still count.
    clock.now += 16_000;
    await b.sync(scope);
    expect(b.granted(scope)).toBe(1);
    active.set('a', 1); // two of them finished
    clock.now += 5_000;
    await b.sync(scope);
    expect(b.granted(scope)).toBe(3);
    active.set('a', 0);
    clock.now += 5_000;
    await b.sync(scope);
    expect(b.granted(scope)).toBe(4);
    expect(Object.keys(store.ledger()!.holders)).toEqual(['b']);
  });

  it('stops granting when its own renewals stop landing (fencing by its own clock)', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    const a = holders(store, clock, new Map())('a');
    a.want(scope, 2);
    await a.sync(scope);
    expect(a.granted(scope)).toBe(2);
    clock.now += 10_001; // lease 15 s, renew 5 s: its grant ends before anyone else may take over
    expect(a.granted(scope)).toBe(0);
  });

  it('gives back unused slots when stopped', async () => {
    const store = memoryStore();
    const clock = { now: 1_000_000 };
    const active = new Map<string, number>([['a', 1]]);
    const a = holders(store, clock, active)('a');
    a.want(scope, 3);
    await a.sync(scope);
    expect(store.ledger()!.holders.a!.slots).toBe(4);
    await a.stop();
    expect(store.ledger()!.holders.a!.slots).toBe(1);
  });
});
