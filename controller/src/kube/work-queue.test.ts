import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { done, type ReconcileRequest, type ReconcileResult, requeueAfter, TerminalError, WorkQueue } from './work-queue.ts';

const logger = pino({ level: 'silent' });

interface Call {
  request: ReconcileRequest;
  at: number;
  finish: (result?: ReconcileResult) => void;
  fail: (error: Error) => void;
}

/** A queue whose reconciles stay in flight until the test finishes or fails them. */
function harness(options: { concurrency?: number; baseRetryDelayMs?: number; maxRetryDelayMs?: number } = {}) {
  const calls: Call[] = [];
  const queue = new WorkQueue({
    name: 'test',
    logger,
    ...options,
    reconcile: (request) =>
      new Promise<ReconcileResult>((resolve, reject) => {
        calls.push({ request, at: Date.now(), finish: (result = done) => resolve(result), fail: reject });
      }),
  });
  const keys = () => calls.map((c) => c.request.key);
  return { queue, calls, keys };
}

/** Lets timers and promise callbacks up to `ms` from now run. */
const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => { vi.useFakeTimers({ now: 0 }); });
afterEach(() => { vi.useRealTimers(); });

describe('WorkQueue', () => {
  it('processes a key added several times while it waits only once', async () => {
    const { queue, calls, keys } = harness();
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    expect(queue.len()).toBe(2);
    queue.start();
    await tick();
    calls[0]!.finish();
    await tick();
    calls[1]!.finish();
    await tick();
    expect(keys()).toEqual(['ns/a', 'ns/b']);
  });

  it('takes high-priority keys first, and moves a waiting key ahead when it becomes urgent', async () => {
    const { queue, calls, keys } = harness();
    queue.add('ns/running-1');
    queue.add('ns/running-2');
    queue.add('ns/finished', 'high');
    queue.add('ns/running-3');
    queue.add('ns/running-2', 'high'); // it finished while waiting
    queue.add('ns/finished'); // a later normal add does not demote it
    expect(queue.len()).toBe(4);
    queue.start();
    for (let i = 0; i < 4; i += 1) {
      await tick();
      calls[i]!.finish();
    }
    await tick();
    expect(keys()).toEqual(['ns/finished', 'ns/running-2', 'ns/running-1', 'ns/running-3']);
  });

  it('requeues a key made urgent while it was being processed in the high lane', async () => {
    const { queue, calls, keys } = harness();
    queue.start();
    queue.add('ns/a');
    await tick();
    queue.add('ns/b');
    queue.add('ns/a', 'high'); // while ns/a is in flight
    calls[0]!.finish();
    await tick();
    calls[1]!.finish();
    await tick();
    calls[2]!.finish();
    await tick();
    expect(keys()).toEqual(['ns/a', 'ns/a', 'ns/b']);
  });

  it('keeps a key\'s priority when it asks to come back later or fails', async () => {
    const { queue, calls, keys } = harness({ baseRetryDelayMs: 100 });
    queue.start();
    queue.add('ns/due', 'high');
    await tick();
    calls[0]!.finish(requeueAfter(100)); // waiting on something; still due
    await tick();
    for (const key of ['ns/r1', 'ns/r2', 'ns/r3']) queue.add(key);
    await tick(100); // ns/r1 in flight; ns/due comes back
    calls[1]!.finish();
    await tick();
    calls[2]!.fail(new Error('store away')); // ns/due again: retried after 100 ms
    await tick(); // ns/r2 in flight
    await tick(100);
    calls[3]!.finish();
    await tick();
    expect(keys()).toEqual(['ns/due', 'ns/r1', 'ns/due', 'ns/r2', 'ns/due']);
  });

  it('hands the reconciler the namespace and name of the key', async () => {
    const { queue, calls } = harness();
    queue.start();
    queue.add('team-a/orders');
    queue.add('cluster-scoped');
    await tick();
    calls[0]!.finish();
    await tick();
    expect(calls.map((c) => [c.request.namespace, c.request.name])).toEqual([
      ['team-a', 'orders'],
      [undefined, 'cluster-scoped'],
    ]);
  });

  it('never runs one key on two workers; a key added while in flight runs once more afterwards', async () => {
    const { queue, calls, keys } = harness({ concurrency: 3 });
    queue.start();
    queue.add('ns/a');
    await tick();
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    await tick();
    expect(keys()).toEqual(['ns/a', 'ns/b']);
    expect(queue.inFlight()).toBe(2);
    calls[0]!.finish();
    await tick();
    expect(keys()).toEqual(['ns/a', 'ns/b', 'ns/a']);
    calls[2]!.finish();
    calls[1]!.finish();
    await tick();
    expect(keys()).toEqual(['ns/a', 'ns/b', 'ns/a']);
    expect(queue.inFlight()).toBe(0);
  });

  it('runs distinct keys concurrently up to the number of workers', async () => {
    const { queue, calls } = harness({ concurrency: 2 });
    queue.start();
    for (const key of ['ns/a', 'ns/b', 'ns/c']) queue.add(key);
    await tick();
    expect(calls).toHaveLength(2);
    expect(queue.len()).toBe(1);
    calls[1]!.finish();
    await tick();
    expect(calls.map((c) => c.request.key)).toEqual(['ns/a', 'ns/b', 'ns/c']);
  });

  it('retries a failing key with exponential backoff, capped, and resets it after a success', async () => {
    const { queue, calls } = harness({ baseRetryDelayMs: 100, maxRetryDelayMs: 350 });
    queue.start();
    queue.add('ns/a');
    await tick();
    for (const [i, delay] of [100, 200, 350, 350].entries()) {
      calls[i]!.fail(new Error('boom'));
      await tick(delay - 1);
      expect(calls).toHaveLength(i + 1);
      await tick(1);
    }
    expect(calls.map((c) => c.at)).toEqual([0, 100, 300, 650, 1000]);
    expect(calls.map((c) => c.request.retries)).toEqual([0, 1, 2, 3, 4]);
    calls[4]!.finish();
    await tick();
    expect(queue.numRequeues('ns/a')).toBe(0);
    queue.add('ns/a');
    await tick();
    calls[5]!.fail(new Error('boom'));
    await tick(99);
    expect(calls).toHaveLength(6);
    await tick(1);
    expect(calls).toHaveLength(7);
  });

  it('does not retry a terminal error, and counts it', async () => {
    const terminal: string[] = [];
    const results: string[] = [];
    const calls: Call[] = [];
    const queue = new WorkQueue({
      name: 'test', logger, baseRetryDelayMs: 100,
      metrics: { terminal: () => terminal.push('terminal'), reconciled: (result) => results.push(result) },
      reconcile: (request) => new Promise<ReconcileResult>((resolve, reject) => {
        calls.push({ request, at: Date.now(), finish: (result = done) => resolve(result), fail: reject });
      }),
    });
    queue.start();
    queue.add('ns/a');
    await tick();
    calls[0]!.fail(new TerminalError('the follow-up body can never evaluate'));
    await tick(10_000);
    expect(calls).toHaveLength(1);
    expect(queue.numRequeues('ns/a')).toBe(0);
    expect(terminal).toEqual(['terminal']);
    expect(results).toEqual(['error']);
    queue.add('ns/a');
    await tick();
    expect(calls).toHaveLength(2);
  });

  it('requeues after the requested delay without counting a failure', async () => {
    const { queue, calls } = harness({ baseRetryDelayMs: 10 });
    queue.start();
    queue.add('ns/a');
    await tick();
    calls[0]!.fail(new Error('first attempt fails'));
    await tick(10);
    calls[1]!.finish(requeueAfter(5_000));
    await tick(4_999);
    expect(calls).toHaveLength(2);
    await tick(1);
    expect(calls).toHaveLength(3);
    expect(calls[2]!.request.retries).toBe(0);
  });

  it('keeps the earliest of several delayed adds for a key', async () => {
    const { queue, calls } = harness();
    queue.start();
    queue.addAfter('ns/a', 1_000);
    queue.addAfter('ns/a', 300);
    queue.addAfter('ns/a', 2_000);
    await tick(299);
    expect(calls).toHaveLength(0);
    await tick(1);
    expect(calls).toHaveLength(1);
    calls[0]!.finish();
    await tick(5_000);
    expect(calls).toHaveLength(1);
  });

  it('forget clears the failure count', () => {
    const { queue } = harness({ baseRetryDelayMs: 100 });
    queue.addRateLimited('ns/a');
    queue.addRateLimited('ns/a');
    expect(queue.numRequeues('ns/a')).toBe(2);
    queue.forget('ns/a');
    expect(queue.numRequeues('ns/a')).toBe(0);
    expect(queue.retryDelayMs(0)).toBe(100);
  });

  it('shutDown waits for reconciles in flight, drops waiting keys and ignores new ones', async () => {
    const { queue, calls } = harness({ concurrency: 1 });
    queue.start();
    queue.add('ns/a');
    queue.add('ns/b');
    queue.addAfter('ns/c', 100);
    await tick();
    let stopped = false;
    const stopping = queue.shutDown().then(() => { stopped = true; });
    queue.add('ns/d');
    await tick(1_000);
    expect(stopped).toBe(false);
    calls[0]!.finish();
    await stopping;
    expect(calls.map((c) => c.request.key)).toEqual(['ns/a']);
    expect(queue.isShuttingDown()).toBe(true);
  });

  it('reports how long the oldest reconcile has been running', async () => {
    const { queue, calls } = harness();
    queue.start();
    queue.add('ns/a');
    await tick(2_500);
    expect(queue.longestRunningSeconds()).toBe(2.5);
    calls[0]!.finish();
    await tick();
    expect(queue.longestRunningSeconds()).toBe(0);
  });
});
