import type * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { DeleteConfirmations } from '../dispatch/delete-confirmations.ts';
import { dispatchHarness, type DispatchHarness } from '../testing/dispatch-harness.ts';
import { networkError } from '../testing/fake-sqs.ts';
import { jobType, until } from '../testing/fixtures.ts';
import { GRACE_MS, outcomeHarness, type OutcomeHarness } from '../testing/outcome-harness.ts';
import { messageGraceMs } from './message-release.ts';

const types = [jobType({ ttlSecondsAfterFinished: 0 })];
let d: DispatchHarness | undefined;
afterEach(async () => {
  await d?.stopAll();
  d = undefined;
});

/** A dispatcher that dies between creating the Job and deleting its message, and the controller that recovers. */
async function crashAfterCreate(): Promise<{ d: DispatchHarness; o: OutcomeHarness; created: () => number; clock: { now: number }; jobName: string }> {
  d = dispatchHarness({ jobTypes: types });
  let created = 0;
  d.kube.watch((e) => { if (e.kind === 'Job' && e.type === 'ADDED') created += 1; });
  d.sqs.put(d.queueUrl, '{"n":1}');
  const crashing = d.start({ afterJobCreated: () => { throw new Error('SIGKILL'); } });
  await until('the Job', () => d!.jobs().length === 1);
  await crashing.stop();
  const clock = { now: Date.now() };
  // A restarted controller: its registry knows nothing of that delete.
  const o = outcomeHarness({ jobTypes: types, kube: d.kube, sqs: d.sqs, deps: { now: () => new Date(clock.now) } });
  return { d, o, created: () => created, clock, jobName: d.jobs()[0]!.metadata!.name! };
}

/** Reconciles until the Job is released, deleting it then as ttlSecondsAfterFinished: 0 does. */
async function reconcileUntilGone(o: OutcomeHarness, jobName: string, clock: { now: number }): Promise<number[]> {
  const waits: number[] = [];
  for (let i = 0; i < 10 && o.job(jobName); i += 1) {
    const result = await o.reconcile(jobName);
    if (result.outcome === 'requeue') {
      waits.push(result.afterMs);
      clock.now += result.afterMs;
    }
    const job = o.job(jobName);
    if (job && !job.metadata?.finalizers?.length) o.kube.delete('Job', 'media', jobName);
  }
  return waits;
}

describe('a Job is let go only once its message is gone from SQS', () => {
  it('crash between create and delete, ttlSecondsAfterFinished 0: the message is deleted before the Job goes; exactly one Job', async () => {
    const { d, o, created, clock, jobName } = await crashAfterCreate();
    o.finish(jobName, { result: 'Complete' });
    expect(await reconcileUntilGone(o, jobName, clock)).toEqual([GRACE_MS]);
    expect(d.sqs.messages(d.queueUrl)).toEqual([]);
    d.sqs.advance(31_000);
    d.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(created()).toBe(1);
  });

  it('keeps the Job through the grace while another dispatcher holds the redelivery, so its create collides', async () => {
    const { d, o, created, clock, jobName } = await crashAfterCreate();
    o.finish(jobName, { result: 'Complete' });
    // The message comes back; a dispatcher in another process receives it and is slow to create.
    d.sqs.advance(31_000);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const slowBatch = { ...d.kube.batch, createNamespacedJob: async (request: { namespace: string; body: k8s.V1Job }) => { await gate; return d.kube.batch.createNamespacedJob(request); } };
    d.start({ batch: slowBatch, confirmations: new DeleteConfirmations() });
    await until('the redelivery to be received', () => d.sqs.count('receive') > 0 && d.sqs.inFlight(d.queueUrl).length === 1);

    // Our handle is stale now: SQS refuses it, and the Job stays for the grace.
    expect(await o.reconcile(jobName)).toEqual({ outcome: 'requeue', afterMs: GRACE_MS });
    release();
    await until('the redelivery to collide and be deleted', () => d.sqs.messages(d.queueUrl).length === 0);
    clock.now += GRACE_MS;
    await reconcileUntilGone(o, jobName, clock);
    expect(o.job(jobName)).toBeUndefined();
    expect(created()).toBe(1);
  });

  it('lets go at once when this process\'s dispatcher confirmed the delete', async () => {
    const confirmations = new DeleteConfirmations();
    d = dispatchHarness({ jobTypes: types });
    const o = outcomeHarness({ jobTypes: types, kube: d.kube, sqs: d.sqs, confirmations });
    d.sqs.put(d.queueUrl, '{"n":2}');
    d.start({ confirmations });
    await until('the message to be deleted', () => d!.sqs.messages(d!.queueUrl).length === 0);
    const jobName = d.jobs()[0]!.metadata!.name!;
    o.finish(jobName, { result: 'Complete' });
    const deletes = d.sqs.count('deleteBatch');
    expect(await o.reconcile(jobName)).toEqual({ outcome: 'done' });
    expect(o.job(jobName)?.metadata?.finalizers).toEqual([]);
    expect(d.sqs.count('deleteBatch')).toBe(deletes);
  });

  it('keeps the finalizer and retries while SQS cannot be reached', async () => {
    const { d, o, jobName } = await crashAfterCreate();
    o.finish(jobName, { result: 'Complete' });
    d.sqs.fail('deleteBatch', () => networkError());
    await expect(o.reconcile(jobName)).rejects.toThrow(/ECONNREFUSED/);
    expect(o.job(jobName)?.metadata?.finalizers).toEqual(['sluice.dev/outcome']);
    expect(await o.reconcile(jobName)).toEqual({ outcome: 'requeue', afterMs: GRACE_MS });
    expect(d.sqs.messages(d.queueUrl)).toEqual([]);
  });
});

describe('messageGraceMs', () => {
  it('is twice the long-poll wait, within 5 to 40 seconds', () => {
    expect([0, 1, 10, 20, undefined].map((wait) => messageGraceMs(wait))).toEqual([5_000, 5_000, 20_000, 40_000, 40_000]);
  });

  it('is nothing for a Job that outlives it anyway (ttlSecondsAfterFinished)', () => {
    expect(messageGraceMs(20, 3600)).toBe(0);
    expect(messageGraceMs(20, 40)).toBe(0);
    expect(messageGraceMs(20, 39)).toBe(40_000);
    expect(messageGraceMs(20, 0)).toBe(40_000);
  });
});

describe('what a dispatcher confirms', () => {
  it('confirms a redelivery of the Job\'s own message, not a producer\'s second copy', async () => {
    const confirmations = new DeleteConfirmations();
    d = dispatchHarness({ jobTypes: types, spec: { dedupeKey: 'body.id' } });
    // The first copy made the Job, and its dispatcher died before deleting it.
    d.sqs.put(d.queueUrl, '{"id":"same"}');
    const crashing = d.start({ afterJobCreated: () => { throw new Error('SIGKILL'); } });
    await until('the Job', () => d!.jobs().length === 1);
    await crashing.stop();
    // A second copy with the same content collides and is deleted: the first one is still in SQS.
    d.sqs.put(d.queueUrl, '{"id":"same"}');
    d.start({ confirmations });
    await until('the second copy to be deleted', () => d!.sqs.deleted(d!.queueUrl).length === 1);
    expect(confirmations.has(d.jobs()[0]!.metadata!.uid!)).toBe(false);
  });
});
