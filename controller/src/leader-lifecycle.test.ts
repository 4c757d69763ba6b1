import { describe, expect, it } from 'vitest';
import { LeaderLifecycle, stopLeader } from './leader-lifecycle.ts';

describe('LeaderLifecycle', () => {
  it('is ready as a standby, not while the new leader\'s caches sync, and ready once they have', async () => {
    const lifecycle = new LeaderLifecycle();
    expect(lifecycle.ready()).toBe(true);
    let synced!: () => void;
    let finishStart!: () => void;
    const leading = lifecycle.lead((markSynced) => new Promise((resolve) => {
      synced = markSynced;
      finishStart = () => resolve({ stop: () => Promise.resolve() });
    }));
    expect(lifecycle.ready()).toBe(false);
    synced();
    expect(lifecycle.ready()).toBe(true);
    finishStart();
    await leading;
    expect(lifecycle.ready()).toBe(true);
  });
});

describe('stopLeader', () => {
  it('stops queues, then dispatchers, then connections and watches, and flushes Events last', async () => {
    const order: string[] = [];
    const step = (name: string) => () => {
      order.push(name);
      return Promise.resolve();
    };
    await stopLeader({
      queues: [{ shutDown: step('queue') }],
      dispatchers: { stopAll: step('dispatchers') },
      closers: [step('notifier')],
      informers: [{ stop: step('informer') }],
      recorders: [{ flush: step('events') }],
    });
    expect(order).toEqual(['queue', 'dispatchers', 'notifier', 'informer', 'events']);
  });
});
