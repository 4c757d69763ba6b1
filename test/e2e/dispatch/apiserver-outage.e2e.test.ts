// The API server going away while messages arrive: creates fail and are retried (the messages
// kept invisible meanwhile); when it is back every message becomes exactly one Job. The controller
// may lose its lease and exit on the way — then a restarted one finishes the work.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { createTestNamespace, eventually } from '../support/kube.ts';
import { apply, cleanUp, createQueue, installCrds, queueDepth, sluiceJobs, sqs, waitForJobCount } from '../support/sluice.ts';
import { hack } from '../support/outage.ts';

const MESSAGES = 30;
let ns: Awaited<ReturnType<typeof createTestNamespace>>;
const controllers: ControllerProcess[] = [];
let queueUrl: string;

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('api-outage');
  queueUrl = await createQueue(`${ns.name}-work`);
  await apply('JobType', ns.name, 'work', { image: 'registry.invalid/worker:1' });
  await apply('QueueBinding', ns.name, 'work', {
    queueUrl,
    receive: { visibilityTimeoutSeconds: 10 },
    routes: [{ name: 'all', when: 'true', jobType: 'work' }],
  });
  controllers.push(await startController({ namespace: ns.name, leaseDurationSeconds: 15 }));
});

afterAll(async () => {
  hack('local-up.sh'); // the API server back, whatever happened
  await cleanUp(ns, controllers);
});

describe('kube-apiserver down while messages arrive', () => {
  it('turns every message into exactly one Job once it is back', async () => {
    hack('local-down.sh', 'kube-apiserver');
    try {
      for (let i = 0; i < MESSAGES; i += 10) {
        await sqs.send(new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: JSON.stringify({ n: i + j }) })),
        }));
      }
      await new Promise((r) => setTimeout(r, 4_000));
    } finally {
      hack('local-up.sh');
    }
    // A controller that lost its lease during the outage exits (when depends on its renew deadline,
    // possibly after the API server is back): restart it, as a Deployment would.
    let restarting: Promise<void> | undefined;
    const restarts = setInterval(() => {
      if (controllers.every((c) => c.child.exitCode !== null || c.child.signalCode !== null) && !restarting) {
        restarting = startController({ namespace: ns.name }).then((c) => void controllers.push(c)).finally(() => { restarting = undefined; });
      }
    }, 500);
    const jobs = await waitForJobCount(ns.name, MESSAGES, undefined, 120_000).finally(() => clearInterval(restarts));
    const payloads = new Set(jobs.map((j) => j.spec?.template.metadata?.annotations?.['sluice.dev/payload']));
    expect(payloads.size).toBe(MESSAGES);
    await eventually('the queue to drain', async () => ((await queueDepth(queueUrl)) === 0 ? true : undefined), 60_000);
    expect(await sluiceJobs(ns.name)).toHaveLength(MESSAGES);
  });
});
