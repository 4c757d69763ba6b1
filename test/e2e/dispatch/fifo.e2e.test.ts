// FIFO queues keep their order on the local SQS (ElasticMQ FIFO): each MessageGroupId runs one Job
// at a time, in order, the next only after the previous finished or was dead-lettered; other groups
// run meanwhile. Failures are interleaved: failing Jobs and an undecodable message.
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { createTestNamespace, eventually } from '../support/kube.ts';
import { watchJobs, type JobLog, type JobRecord } from '../support/job-log.ts';
import { apply, cleanUp, createQueue, installCrds, queueDepth, sqs } from '../support/sluice.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess | undefined;
let queueUrl: string;
let dlqUrl: string;
let log: JobLog;

const GROUPS = ['g0', 'g1', 'g2', 'g3', 'g4'];
const PER_GROUP = 4;
/** Messages that fail as Jobs, and one that cannot be decoded. */
const failing = new Set(['g1-1', 'g3-0', 'g3-2']);
const malformed = 'g2-1';

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('fifo');
  queueUrl = await createQueue(`${ns.name}-orders.fifo`, { FifoQueue: 'true' });
  dlqUrl = await createQueue(`${ns.name}-orders-dlq.fifo`, { FifoQueue: 'true' });
  const step = (outcome: string) => ({
    image: 'registry.invalid/step:1',
    retries: { backoffLimit: 0 },
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/outcome': outcome, 'sim.sluice.dev/duration': '1500ms' } } },
  });
  await apply('JobType', ns.name, 'step', step('succeed'));
  await apply('JobType', ns.name, 'failing-step', step('fail'));
  await apply('QueueBinding', ns.name, 'orders', {
    queueUrl,
    deadLetter: { queueUrl: dlqUrl },
    receive: { waitTimeSeconds: 1, visibilityTimeoutSeconds: 20 },
    routes: [
      { name: 'fails', when: 'body.?fail.orValue(false)', jobType: 'failing-step' },
      { name: 'all', when: 'true', jobType: 'step' },
    ],
  });
  log = await watchJobs(ns.name);
});

afterAll(async () => {
  await log?.stop();
  await cleanUp(ns, [controller]);
});

describe('a FIFO queue', () => {
  it('runs each group in order, one Job at a time, groups side by side, across failures', async () => {
    const overlaps: string[] = [];
    let mostGroupsAtOnce = 0;
    const groupOf = (r: JobRecord) => (JSON.parse(r.payload ?? '{}') as { group?: string }).group;
    log.onCreate((job, unfinished) => {
      const group = groupOf(job);
      const sameGroup = unfinished.filter((r) => groupOf(r) === group);
      if (sameGroup.length > 0) overlaps.push(`${job.payload ?? ''} began while ${sameGroup.map((r) => r.payload).join(', ')} ran`);
      mostGroupsAtOnce = Math.max(mostGroupsAtOnce, new Set([...unfinished, job].map(groupOf)).size);
    });

    // Interleaved across groups, in each group's order.
    for (let seq = 0; seq < PER_GROUP; seq += 1) {
      for (const group of GROUPS) {
        const id = `${group}-${seq}`;
        const body = id === malformed ? `{"group":"${group}","seq":${seq}` : JSON.stringify({ group, seq, ...(failing.has(id) && { fail: true }) });
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: id }));
      }
    }
    controller = await startController({ namespace: ns.name });

    const expectedJobs = GROUPS.length * PER_GROUP - 1;
    await eventually('every message to be a Job or a dead letter', async () => ((await queueDepth(queueUrl)) === 0 && log.records.length === expectedJobs ? true : undefined), 240_000);
    await eventually('every Job to finish', () => Promise.resolve(log.records.every((r) => r.finishedAt !== undefined) ? true : undefined), 60_000);

    expect(overlaps).toEqual([]);
    expect(mostGroupsAtOnce).toBeGreaterThanOrEqual(2);
    for (const group of GROUPS) {
      const order = log.records.filter((r) => groupOf(r) === group).map((r) => (JSON.parse(r.payload!) as { seq: number }).seq);
      const expected = Array.from({ length: PER_GROUP }, (_, seq) => seq).filter((seq) => `${group}-${seq}` !== malformed);
      expect(order, `order of ${group}`).toEqual(expected);
    }
    const dead: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
      dead.push(...Messages.map((m) => m.MessageAttributes?.['Sluice.Reason']?.StringValue ?? ''));
    }
    expect(dead.sort()).toEqual(['JobFailed', 'JobFailed', 'JobFailed', 'MalformedJson']);
  }, 300_000);
});
