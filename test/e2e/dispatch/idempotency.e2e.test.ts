// Nothing runs twice: duplicates of a message collide on their Job's deterministic name, and a
// controller killed between creating a Job and deleting its message recovers without a second Job.
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { createTestNamespace, eventually } from '../support/kube.ts';
import { apply, createQueue, installCrds, queueDepth, releaseJobs, sluiceJobs, sqs, waitForJobCount } from '../support/sluice.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
const running: ControllerProcess[] = [];

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('idempotency');
  await apply('JobType', ns.name, 'work', { image: 'registry.invalid/worker:1', ttlSecondsAfterFinished: 600 });
});

afterAll(async () => {
  await Promise.all(running.map((c) => c.kill()));
  if (ns) {
    await releaseJobs(ns.name);
    await ns.remove();
  }
});

async function binding(name: string, spec: Record<string, unknown> = {}): Promise<string> {
  const queueUrl = await createQueue(`${ns.name}-${name}`);
  await apply('QueueBinding', ns.name, name, {
    queueUrl,
    receive: { visibilityTimeoutSeconds: 5, waitTimeSeconds: 1 },
    routes: [{ name: 'all', when: 'true', jobType: 'work' }],
    ...spec,
  });
  return queueUrl;
}

async function controller(env?: Record<string, string>): Promise<ControllerProcess> {
  const started = await startController({ namespace: ns.name, env });
  running.push(started);
  return started;
}

async function sendMany(queueUrl: string, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    const entries = bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body }));
    const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    expect(result.Failed ?? []).toEqual([]);
  }
}

const jobsOf = async (bindingName: string) => sluiceJobs(ns.name, `sluice.dev/binding=${bindingName}`);
const emptied = (queueUrl: string) => eventually(`${queueUrl} to be empty`, async () => ((await queueDepth(queueUrl)) === 0 ? true : undefined), 90_000);

describe('duplicates', () => {
  it('turns a burst with duplicate job ids into one Job per id', async () => {
    const queueUrl = await binding('dupes', { dedupeKey: 'body.jobId' });
    const ids = Array.from({ length: 40 }, (_, i) => `job-${i}`);
    const bodies = [...ids, ...ids, ...ids.slice(0, 20)].map((jobId) => JSON.stringify({ jobId, step: 'render' }));
    const c = await controller();
    await sendMany(queueUrl, bodies);
    await emptied(queueUrl);
    const jobs = await waitForJobCount(ns.name, 40, 'sluice.dev/binding=dupes');
    expect(new Set(jobs.map((j) => j.metadata?.annotations?.['sluice.dev/dedupe-key']))).toEqual(new Set(ids));
    await c.stop();
  });

  it('counts the same message sent twice with one dedupe key once', async () => {
    const queueUrl = await binding('twice', { dedupeKey: 'body.interview_id' });
    const c = await controller();
    const body = '{"interview_id":"7d1f0c9e-0b6e-4c1e-9f3a-2a8b1c9d0e11"}';
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    await emptied(queueUrl);
    expect(await jobsOf('twice')).toHaveLength(1);
    await c.stop();
  });
});

describe('crash recovery', () => {
  it('SIGKILL after the Job is created and before the message is deleted: still one Job, message gone', async () => {
    const queueUrl = await binding('crash-once');
    const crashing = await controller({ SLUICE_TEST_CRASH_AFTER_JOB_CREATE: '1' });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"interview_id":"crash-1"}' }));
    const exit = await crashing.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(await jobsOf('crash-once')).toHaveLength(1);
    expect(await queueDepth(queueUrl)).toBe(1); // received, not deleted

    const restarted = await controller();
    await emptied(queueUrl);
    expect(await jobsOf('crash-once')).toHaveLength(1);
    await restarted.stop();
  });

  it('killed at random moments during a burst: every message ends as exactly one Job', async () => {
    const queueUrl = await binding('crash-burst', { maxInFlight: 40 });
    const bodies = Array.from({ length: 150 }, (_, i) => JSON.stringify({ n: i }));
    await sendMany(queueUrl, bodies);
    for (let round = 0; round < 3; round += 1) {
      const c = await controller();
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 1200));
      await c.kill();
    }
    const last = await controller();
    await emptied(queueUrl);
    const jobs = await waitForJobCount(ns.name, 150, 'sluice.dev/binding=crash-burst', 90_000);
    const payloads = jobs.map((j) => j.spec?.template.metadata?.annotations?.['sluice.dev/payload']);
    expect(new Set(payloads).size).toBe(150);
    await last.stop();
  });
});
