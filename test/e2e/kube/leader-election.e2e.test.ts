// Leader election against the real API server: Leases, resourceVersion conflicts and MicroTimes
// as the API server really handles them. Short timings keep the file fast.
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderElector } from '../../../controller/src/kube/leader-election.ts';
import { createTestNamespace, eventually, kubeConfig } from '../support/kube.ts';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const coordination = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
const timings = { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 };

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
beforeAll(async () => { ns = await createTestNamespace('kube-lease'); });
afterAll(async () => { await ns?.remove(); });

interface Candidate {
  identity: string;
  elector: LeaderElector;
  crash: AbortController;
  running: Promise<void>;
  work: () => AbortSignal | undefined;
  stoppedLeading: () => boolean;
}

function candidate(lease: string, identity: string): Candidate {
  const elector = new LeaderElector({ coordination, namespace: ns.name, name: lease, identity, logger, ...timings });
  const crash = new AbortController();
  let work: AbortSignal | undefined;
  let stopped = false;
  const running = elector.run({
    onStartedLeading: (signal) => { work = signal; },
    onStoppedLeading: () => { stopped = true; },
    signal: crash.signal,
  });
  return { identity, elector, crash, running, work: () => work, stoppedLeading: () => stopped };
}

const readLease = (name: string) => coordination.readNamespacedLease({ namespace: ns.name, name });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until one of the candidates leads, checking that never more than one does. */
async function soleLeader(candidates: Candidate[]): Promise<Candidate> {
  return eventually('one candidate to lead', () => {
    const leaders = candidates.filter((c) => c.elector.isLeader());
    expect(leaders.length).toBeLessThanOrEqual(1);
    return Promise.resolve(leaders[0]);
  }, 15_000, 50);
}

describe('LeaderElector on a real Lease', () => {
  it('lets exactly one of two candidates lead, and the Lease names it', async () => {
    const candidates = [candidate('exclusive', 'replica-a'), candidate('exclusive', 'replica-b')];
    const leader = await soleLeader(candidates);
    // Keep watching through several renewals: still one leader, the same one.
    for (let i = 0; i < 20; i++) {
      await sleep(100);
      expect(candidates.filter((c) => c.elector.isLeader())).toEqual([leader]);
    }
    const lease = await readLease('exclusive');
    expect(lease.spec?.holderIdentity).toBe(leader.identity);
    expect(lease.spec?.leaseDurationSeconds).toBe(4);
    expect(String(lease.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
    for (const c of candidates) c.crash.abort();
    await Promise.all(candidates.map((c) => c.running));
  });

  it('hands over after the leader crashes, within leaseDuration plus a few seconds', async () => {
    const a = candidate('crash', 'replica-a');
    expect(await soleLeader([a])).toBe(a);
    const b = candidate('crash', 'replica-b');
    await sleep(1_500);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.elector.leader()).toBe('replica-a');

    // A crash: no release, the Lease simply stops being renewed.
    a.crash.abort();
    await a.running;
    const crashedAt = Date.now();
    expect(a.work()?.aborted).toBe(true);
    expect(await soleLeader([a, b])).toBe(b);
    const takeoverMs = Date.now() - crashedAt;
    // Not before the Lease could have expired, and not much after.
    expect(takeoverMs).toBeGreaterThan((timings.leaseDurationSeconds - 2 * timings.retryPeriodSeconds) * 1000);
    expect(takeoverMs).toBeLessThan((timings.leaseDurationSeconds + 3) * 1000);
    const lease = await readLease('crash');
    expect(lease.spec).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 1 });
    expect(a.stoppedLeading()).toBe(false);
    b.crash.abort();
    await b.running;
  });

  it('hands over within seconds when the leader releases the Lease', async () => {
    const a = candidate('release', 'replica-a');
    expect(await soleLeader([a])).toBe(a);
    const b = candidate('release', 'replica-b');
    await sleep(1_000);
    await a.elector.release();
    const releasedAt = Date.now();
    expect(a.elector.isLeader()).toBe(false);
    expect(a.work()?.aborted).toBe(true);
    expect(await soleLeader([a, b])).toBe(b);
    expect(Date.now() - releasedAt).toBeLessThan(2_000);
    expect((await readLease('release')).spec?.holderIdentity).toBe('replica-b');
    await b.elector.release();
    expect((await readLease('release')).spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
  });

  it('stops leading when another holder takes the Lease from under it', async () => {
    const a = candidate('stolen', 'replica-a');
    await soleLeader([a]);
    const lease = await readLease('stolen');
    await coordination.replaceNamespacedLease({
      namespace: ns.name,
      name: 'stolen',
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', leaseDurationSeconds: 30 } },
    });
    await eventually('the leader to step down', () => Promise.resolve(a.stoppedLeading() || undefined), 5_000, 50);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.work()?.aborted).toBe(true);
    await a.running;
  });
});
