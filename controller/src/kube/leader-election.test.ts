import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withLeaderMetric } from '../metrics.ts';
import { metricValue } from '../testing/metrics.ts';
import { type LeaseApi, LeaderElector } from './leader-election.ts';

const logger = pino({ level: 'silent' });

function apiError(code: number, reason: string): k8s.ApiException<string> {
  return new k8s.ApiException(code, reason, JSON.stringify({ kind: 'Status', code, reason }), {});
}

/** One Lease in memory with the API server's optimistic concurrency. */
function fakeLeaseApi() {
  let stored: k8s.V1Lease | undefined;
  let version = 0;
  const state = { down: false };
  const save = (lease: k8s.V1Lease) => {
    stored = structuredClone({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++version) } });
    return structuredClone(stored);
  };
  const api: LeaseApi = {
    readNamespacedLease: () => {
      if (state.down) return Promise.reject(apiError(503, 'ServiceUnavailable'));
      return stored ? Promise.resolve(structuredClone(stored)) : Promise.reject(apiError(404, 'NotFound'));
    },
    createNamespacedLease: ({ body }) => {
      if (state.down) return Promise.reject(apiError(503, 'ServiceUnavailable'));
      return stored ? Promise.reject(apiError(409, 'AlreadyExists')) : Promise.resolve(save(body));
    },
    replaceNamespacedLease: ({ body }) => {
      if (state.down) return Promise.reject(apiError(503, 'ServiceUnavailable'));
      if (body.metadata?.resourceVersion !== stored?.metadata?.resourceVersion) return Promise.reject(apiError(409, 'Conflict'));
      return Promise.resolve(save(body));
    },
  };
  return { api, state, lease: () => stored, overwrite: (spec: k8s.V1LeaseSpec) => save({ ...stored, spec }) };
}

function elector(api: LeaseApi, identity: string) {
  const e = new LeaderElector({ coordination: api, namespace: 'sluice', name: 'sluice-controller', identity, logger });
  const events: string[] = [];
  let work: AbortSignal | undefined;
  const crash = new AbortController();
  const running = e.run({
    onStartedLeading: (signal) => { work = signal; events.push('started'); },
    onStoppedLeading: () => events.push('stopped'),
    signal: crash.signal,
  });
  return { e, events, running, crash, work: () => work };
}

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => { vi.useFakeTimers({ now: 0 }); });
afterEach(() => { vi.useRealTimers(); });

describe('LeaderElector', () => {
  it('creates the Lease when it is absent and leads', async () => {
    const server = fakeLeaseApi();
    const a = elector(server.api, 'a');
    await tick();
    expect(a.e.isLeader()).toBe(true);
    expect(a.events).toEqual(['started']);
    expect(a.work()?.aborted).toBe(false);
    expect(server.lease()?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    a.crash.abort();
    await a.running;
  });

  it('lets exactly one of two candidates lead, and renews every retry period', async () => {
    const server = fakeLeaseApi();
    const a = elector(server.api, 'a');
    const b = elector(server.api, 'b');
    await tick(30_000);
    expect([a.e.isLeader(), b.e.isLeader()].filter(Boolean)).toHaveLength(1);
    expect(a.e.leader()).toBe(b.e.leader());
    const renewed = server.lease()?.metadata?.resourceVersion;
    await tick(2_000);
    expect(server.lease()?.metadata?.resourceVersion).not.toBe(renewed);
    a.crash.abort();
    b.crash.abort();
  });

  it('takes over a crashed leader once the lease has gone unrenewed for leaseDurationSeconds', async () => {
    const server = fakeLeaseApi();
    const a = elector(server.api, 'a');
    await tick();
    const b = elector(server.api, 'b');
    await tick(5_000);
    a.crash.abort();
    await a.running;
    const crashedAt = Date.now();
    // a's last renewal was at most one retry period before the crash.
    await tick(15_000 - 2_000 - 1);
    expect(b.e.isLeader()).toBe(false);
    await tick(2_000 + 2_400 + 1);
    expect(b.e.isLeader()).toBe(true);
    expect(Date.now() - crashedAt).toBeLessThanOrEqual(15_000 + 2_400);
    expect(server.lease()?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(a.events).toEqual(['started']);
    b.crash.abort();
  });

  it('stops leading when it cannot renew within renewDeadlineSeconds', async () => {
    const server = fakeLeaseApi();
    const a = elector(server.api, 'a');
    await tick();
    server.state.down = true;
    await tick(9_000);
    expect(a.e.isLeader()).toBe(true);
    await tick(3_000);
    expect(a.e.isLeader()).toBe(false);
    expect(a.events).toEqual(['started', 'stopped']);
    expect(a.work()?.aborted).toBe(true);
    await a.running;
  });

  it('stops leading at once when another replica holds the lease', async () => {
    const server = fakeLeaseApi();
    const a = elector(server.api, 'a');
    await tick();
    server.overwrite({ holderIdentity: 'intruder', leaseDurationSeconds: 15 });
    await tick(2_000);
    expect(a.e.isLeader()).toBe(false);
    expect(a.events).toEqual(['started', 'stopped']);
    expect(a.e.leader()).toBe('intruder');
  });

  it('release hands the lease to a standby within a retry period', async () => {
    const server = fakeLeaseApi();
    const a = elector(server.api, 'a');
    await tick();
    const b = elector(server.api, 'b');
    await tick(5_000);
    await a.e.release();
    expect(a.e.isLeader()).toBe(false);
    expect(a.work()?.aborted).toBe(true);
    expect(a.events).toEqual(['started']);
    expect(server.lease()?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    await tick(2_400);
    expect(b.e.isLeader()).toBe(true);
    b.crash.abort();
  });

  it('release by a standby leaves the lease alone', async () => {
    const server = fakeLeaseApi();
    const a = elector(server.api, 'a');
    await tick();
    const b = elector(server.api, 'b');
    await tick(3_000);
    const before = server.lease();
    await b.e.release();
    expect(server.lease()).toEqual(before);
    a.crash.abort();
  });

  it('steps down and releases the lease when the leader work fails', async () => {
    const server = fakeLeaseApi();
    const e = new LeaderElector({ coordination: server.api, namespace: 'n', name: 'l', identity: 'a', logger });
    let stopped = false;
    let work: AbortSignal | undefined;
    const running = e.run({
      onStartedLeading: (signal) => {
        work = signal;
        return Promise.reject(new Error('cache never synced'));
      },
      onStoppedLeading: () => { stopped = true; },
    });
    await tick();
    await running;
    expect(stopped).toBe(true);
    expect(work?.aborted).toBe(true);
    expect(e.isLeader()).toBe(false);
    expect(server.lease()?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
  });

  it('rejects timings that could let two replicas lead', () => {
    const { api } = fakeLeaseApi();
    const make = (leaseDurationSeconds: number, renewDeadlineSeconds: number, retryPeriodSeconds: number) =>
      () => new LeaderElector({ coordination: api, namespace: 'n', name: 'l', identity: 'a', logger, leaseDurationSeconds, renewDeadlineSeconds, retryPeriodSeconds });
    expect(make(10, 10, 2)).toThrow(/leaseDurationSeconds/);
    expect(make(15, 2, 2)).toThrow(/renewDeadlineSeconds/);
    expect(make(15, 10, 2)).not.toThrow();
  });
});

describe('sluice_leader', () => {
  const run = (api: LeaseApi, identity: string) => {
    const e = new LeaderElector({ coordination: api, namespace: 'sluice', name: 'sluice-controller', identity, logger });
    const running = e.run(withLeaderMetric({ onStartedLeading: () => undefined }));
    return { e, running };
  };

  it('is 0 while waiting, 1 while leading, and 0 again once the lease is lost or released', async () => {
    expect(await metricValue('sluice_leader')).toBeUndefined();
    const server = fakeLeaseApi();
    server.overwrite({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: new k8s.V1MicroTime(Date.now()) });
    const a = run(server.api, 'a');
    expect(await metricValue('sluice_leader')).toBe(0);
    await tick(5_000);
    expect(a.e.isLeader()).toBe(false);
    expect(await metricValue('sluice_leader')).toBe(0);
    // The other holder stops renewing: a takes over once the lease has expired.
    await tick(15_000);
    expect(a.e.isLeader()).toBe(true);
    expect(await metricValue('sluice_leader')).toBe(1);

    server.overwrite({ holderIdentity: 'intruder', leaseDurationSeconds: 15 });
    await tick(2_000);
    expect(a.e.isLeader()).toBe(false);
    expect(await metricValue('sluice_leader')).toBe(0);
    await a.running;

    const b = run(fakeLeaseApi().api, 'b');
    await tick();
    expect(await metricValue('sluice_leader')).toBe(1);
    await b.e.release();
    expect(await metricValue('sluice_leader')).toBe(0);
  });
});
