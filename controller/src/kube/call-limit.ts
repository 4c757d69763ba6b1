// One bound per process on the Job (and payload Secret) creates its dispatchers have in flight.
// Without it, many bindings each creating up to maxInFlight Jobs at once open as many connections
// to the API server (client-node pools them without a cap): the API server slows for everyone and
// this process's own Lease renewal times out behind them, so the controller steps down — what a
// 100-binding, 10,000-message start did before (hack/bench/scale.ts). client-go bounds the same
// with its QPS limiter; a concurrency bound keeps throughput where the API server is fast. 256: at
// 64 a 2,000-message burst ran at 0.73 of a bare loop creating the same Jobs 64 at a time (the
// outcome path's own patches share the API server), at 256 at 0.95 (hack/bench/dispatch.ts). While
// the bound is saturated the dispatchers stop receiving, so the backlog waits in SQS, not in memory
// (holding thousands of received messages here cost heap and let their visibility lapse).
import pLimit from 'p-limit';

export const DEFAULT_MAX_CONCURRENT_CREATES = 256;

/**
 * Runs a call within the bound; `busy` while many calls wait (receive nothing then); `free`: the
 * slots no call runs in or waits for (receive in parallel only while there are some).
 */
export type CallLimit = (<T>(call: () => Promise<T>) => Promise<T>) & { busy: () => boolean; free: () => number };

/**
 * Calls that may wait, per running one, before `busy`: enough that receiving (10 messages a round
 * trip) keeps the running slots full, few enough that a backlog stays in SQS.
 */
const WAITING_PER_SLOT = 4;

export function callLimit(concurrency: number = DEFAULT_MAX_CONCURRENT_CREATES): CallLimit {
  const limit = pLimit(concurrency);
  return Object.assign(<T>(call: () => Promise<T>) => limit(call), {
    busy: () => limit.pendingCount >= concurrency * WAITING_PER_SLOT,
    free: () => concurrency - limit.activeCount - limit.pendingCount,
  });
}

/** No bound (tests, and callers that bound their calls themselves). */
export const unlimited: CallLimit = Object.assign(<T>(call: () => Promise<T>) => call(), { busy: () => false, free: () => Infinity });
