// Concurrency limits hold under a burst: never more unfinished Jobs of a type than its
// maxConcurrency; the backlog waits in SQS, and every message is eventually dispatched.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { batch, createTestNamespace, eventually, jobCondition } from '../support/kube.ts';
import { apply, createQueue, installCrds, queueDepth, sqs, cleanUp } from '../support/sluice.ts';

const MESSAGES = 500;
const LIMIT = 20;
let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess;
let queueUrl: string;

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('concurrency');
  queueUrl = await createQueue(`${ns.name}-burst`);
  await apply('JobType', ns.name, 'render', {
    image: 'registry.invalid/render:1',
    maxConcurrency: LIMIT,
    ttlSecondsAfterFinished: 1,
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/duration': '300ms' } } },
  });
  await apply('QueueBinding', ns.name, 'burst', {
    queueUrl,
    maxInFlight: 200,
    routes: [{ name: 'all', when: 'true', jobType: 'render' }],
  });
  for (let i = 0; i < MESSAGES; i += 10) {
    await sqs.send(new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: JSON.stringify({ frame: i + j }) })),
    }));
  }
  controller = await startController({ namespace: ns.name });
});

afterAll(() => cleanUp(ns, [controller]));

describe('a burst of 500 messages on a JobType limited to 20', () => {
  it('never has more than 20 unfinished Jobs and dispatches every message', async () => {
    let maxActive = 0;
    const seen = new Set<string>();
    await eventually('every message to be dispatched', async () => {
      const jobs = (await batch.listNamespacedJob({ namespace: ns.name, labelSelector: 'sluice.dev/job-type=render' })).items;
      const active = jobs.filter((j) => !jobCondition(j, 'Complete') && !jobCondition(j, 'Failed')).length;
      maxActive = Math.max(maxActive, active);
      for (const job of jobs) seen.add(job.metadata!.name!);
      return seen.size >= MESSAGES && (await queueDepth(queueUrl)) === 0 ? true : undefined;
    }, 240_000, 100);
    expect(seen.size).toBe(MESSAGES);
    // Reached, never exceeded (a probe error would be retried by eventually, so check here).
    expect(maxActive).toBe(LIMIT);
  });
});
