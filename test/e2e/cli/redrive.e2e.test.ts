// A redriven message runs again, with a running controller: `sluice dlq redrive` gives it a new
// attempt identity (Sluice.Redrive), so it does not collide with its failed Job, which still exists.
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { createTestNamespace, eventually } from '../support/kube.ts';
import { apply, cleanUp, createQueue, installCrds, queueDepth, sluiceJobs, sqs } from '../support/sluice.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess | undefined;
let queueUrl: string;
let dlqUrl: string;

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('redrive');
  queueUrl = await createQueue(`${ns.name}-renders`);
  dlqUrl = await createQueue(`${ns.name}-renders-dlq`);
  await apply('JobType', ns.name, 'render', {
    image: 'registry.invalid/render:1',
    retries: { backoffLimit: 0 },
    ttlSecondsAfterFinished: 3600,
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/outcome': 'fail', 'sim.sluice.dev/exit-code': '3' } } },
  });
  await apply('QueueBinding', ns.name, 'renders', {
    queueUrl,
    deadLetter: { queueUrl: dlqUrl },
    dedupeKey: 'body.jobId',
    receive: { waitTimeSeconds: 1, visibilityTimeoutSeconds: 10 },
    routes: [{ name: 'all', when: 'true', jobType: 'render' }],
  });
  controller = await startController({ namespace: ns.name });
});

afterAll(() => cleanUp(ns, [controller]));

const deadLetters = () => eventually('a dead letter', async () => ((await queueDepth(dlqUrl)) >= 1 ? true : undefined), 90_000);

describe('sluice dlq redrive with a running controller', () => {
  it('runs the failed message again as a new Job, while the failed Job still exists', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"jobId":"r-1"}' }));
    await deadLetters();
    const [failed] = await sluiceJobs(ns.name);
    expect(failed?.metadata?.annotations?.['sluice.dev/dedupe-key']).toBe('r-1');

    const redrive = await runSluice('dlq', 'redrive', 'renders', '-n', ns.name);
    expect(redrive.stdout).toContain('redrove 1 message(s)');
    const jobs = await eventually('a second Job', async () => {
      const found = await sluiceJobs(ns.name);
      return found.length === 2 ? found : undefined;
    }, 60_000);
    const keys = jobs.map((j) => j.metadata?.annotations?.['sluice.dev/dedupe-key']).sort();
    expect(keys[0]).toBe('r-1');
    expect(keys[1]).toMatch(/^r-1#redrive:\S+$/);
    expect(jobs.map((j) => j.metadata?.uid)).toContain(failed?.metadata?.uid);

    // The second attempt fails too and is dead-lettered again, naming its own Job.
    await deadLetters();
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2, MessageAttributeNames: ['All'] }));
    expect(Messages.map((m) => m.MessageAttributes?.['Sluice.JobName']?.StringValue)).toEqual([jobs.find((j) => j.metadata?.uid !== failed?.metadata?.uid)?.metadata?.name]);
    expect(await queueDepth(queueUrl)).toBe(0);
  });
});
