// One bound per process on the Job (and payload Secret) creates its dispatchers have in flight.
// Without it, many bindings each creating up to maxInFlight Jobs at once open as many connections
// to the API server (client-node pools them without a cap): the API server slows for everyone and
// this process's own Lease renewal times out behind them, so the controller steps down — what a
// 100-binding, 10,000-message start did before (hack/bench/scale.ts). client-go bounds the same
// with its QPS limiter; a concurrency bound keeps throughput where the API server is fast. While
// the bound is saturated the dispatchers stop receiving, so the backlog waits in SQS, not in memory
// (holding thousands of received messages here cost heap and let their visibility lapse).
import pLimit from 'p-limit';

export const DEFAULT_MAX_CONCURRENT_CREATES = 64;

/** Runs a call within the bound; `busy` while as many calls wait as may run (receive less then). */
export type CallLimit = (<T>(call: () => Promise<T>) => Promise<T>) & { busy: () => boolean };

export function callLimit(concurrency: number = DEFAULT_MAX_CONCURRENT_CREATES): CallLimit {
  const limit = pLimit(concurrency);
  return Object.assign(<T>(call: () => Promise<T>) => limit(call), { busy: () => limit.pendingCount >= concurrency });
}

/** No bound (tests, and callers that bound their calls themselves). */
export const unlimited: CallLimit = Object.assign(<T>(call: () => Promise<T>) => call(), { busy: () => false });
