// A Job deleted before its message cannot make the message run twice. With
// ttlSecondsAfterFinished: 0 a finished Job disappears at once; the controller is SIGKILLed again and
// again right after creating Jobs and before deleting their messages (SLUICE_TEST_CRASH_AFTER_JOB_CREATE
// as a probability), so messages come back after their Jobs finished. Every message must still be
// exactly one Job: counted from a watch, since the Jobs themselves are gone.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { createTestNamespace, eventually } from '../support/kube.ts';
import { watchJobs, type JobLog } from '../support/job-log.ts';
import { apply, cleanUp, createQueue, installCrds, queueDepth, sluiceJobs, sqs } from '../support/sluice.ts';

const MESSAGES = 240;
let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let queueUrl: string;
let log: JobLog;
const running: ControllerProcess[] = [];

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('ttlzero');
  queueUrl = await createQueue(`${ns.name}-quick`);
  await apply('JobType', ns.name, 'quick', {
    image: 'registry.invalid/quick:1',
    ttlSecondsAfterFinished: 0,
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/duration': '200ms' } } },
  });
  await apply('QueueBinding', ns.name, 'quick', {
    queueUrl,
    maxInFlight: 40,
    receive: { waitTimeSeconds: 1, visibilityTimeoutSeconds: 5 },
    routes: [{ name: 'all', when: 'true', jobType: 'quick' }],
  });
  log = await watchJobs(ns.name);
});

afterAll(async () => {
  await log?.stop();
  await cleanUp(ns, running);
});

describe('ttlSecondsAfterFinished 0 and a controller killed between create and delete', () => {
  it('turns every message into exactly one Job', async () => {
    for (let i = 0; i < MESSAGES; i += 10) {
      await sqs.send(new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: JSON.stringify({ n: i + j }) })),
      }));
    }
    // Each run dies after about one Job in twenty, right after creating it.
    let crashes = 0;
    for (let round = 0; round < 60 && (await queueDepth(queueUrl)) > 0; round += 1) {
      const crashing = await startController({ namespace: ns.name, env: { SLUICE_TEST_CRASH_AFTER_JOB_CREATE: '0.05' } });
      running.push(crashing);
      const exit = await Promise.race([crashing.exited, new Promise<undefined>((r) => setTimeout(r, 15_000, undefined))]);
      if (exit?.signal === 'SIGKILL') crashes += 1;
      await crashing.kill();
    }
    expect(crashes).toBeGreaterThanOrEqual(2);

    // A controller that lives on finishes the rest: messages of the killed ones are deleted before their Jobs go.
    running.push(await startController({ namespace: ns.name }));
    await eventually('the queue to be empty', async () => ((await queueDepth(queueUrl)) === 0 ? true : undefined), 180_000);
    await eventually('every Job to be released and gone', async () => ((await sluiceJobs(ns.name)).length === 0 ? true : undefined), 180_000);
    await new Promise((r) => setTimeout(r, 15_000)); // any redelivery still on its way would show now
    expect(await queueDepth(queueUrl)).toBe(0);

    expect(log.recreated()).toEqual([]);
    const payloads = log.records.map((r) => r.payload);
    expect(new Set(payloads).size).toBe(MESSAGES);
    expect(log.records).toHaveLength(MESSAGES);
  }, 900_000);
});
