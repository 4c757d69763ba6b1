import type * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { messageGroupLabel } from '../job/naming.ts';
import { dispatchHarness, type DispatchHarness } from '../testing/dispatch-harness.ts';
import { until } from '../testing/fixtures.ts';

let h: DispatchHarness | undefined;
afterEach(async () => {
  await h?.stopAll();
  h = undefined;
});

type Sent = { group: string; seq: number; bad?: boolean };
const bodyOf = (m: Sent) => (m.bad ? `{"group":"${m.group}","seq":${m.seq}` : JSON.stringify({ group: m.group, seq: m.seq }));
const payload = (job: k8s.V1Job) => JSON.parse(job.spec!.template.metadata!.annotations!['sluice.dev/payload']!) as { group: string; seq: number };
const active = (harness: DispatchHarness) => harness.jobs().filter((j) => !j.status?.conditions?.some((c) => c.status === 'True'));

function fifoHarness() {
  h = dispatchHarness({ queueName: `orders-${Math.random().toString(36).slice(2, 6)}.fifo` });
  const created: { group: string; seq: number; concurrentInGroup: number }[] = [];
  h.kube.watch(({ type, kind, object }) => {
    if (kind !== 'Job' || type !== 'ADDED') return;
    const { group, seq } = payload(object);
    const others = active(h!).filter((j) => j.metadata?.name !== object.metadata.name && payload(j).group === group);
    created.push({ group, seq, concurrentInGroup: others.length });
  });
  const send = (messages: Sent[]) => {
    for (const m of messages) h!.sqs.put(h!.queueUrl, bodyOf(m), { groupId: m.group, deduplicationId: `${m.group}-${m.seq}` });
  };
  return { h, created, send };
}

/**
 * Waits until dispatching settles: every group's next message is either a Job or waiting for one,
 * seen as no new Job or delete for 250 ms (a loaded machine can pause the dispatcher for tens of ms).
 */
async function settle(harness: DispatchHarness): Promise<void> {
  const progress = () => harness.jobs().length + harness.sqs.deleted(harness.queueUrl).length;
  let last = progress();
  let quietSince = Date.now();
  while (Date.now() - quietSince < 250) {
    await new Promise((r) => setTimeout(r, 25));
    const now = progress();
    if (now === last) continue;
    last = now;
    quietSince = Date.now();
  }
}

describe('FIFO queues', () => {
  it('runs each group\'s messages one Job at a time, in order, other groups in parallel, across interleaved failures', async () => {
    const { h, created, send } = fifoHarness();
    send([
      { group: 'a', seq: 1 }, { group: 'b', seq: 1 }, { group: 'a', seq: 2, bad: true }, { group: 'c', seq: 1 },
      { group: 'a', seq: 3 }, { group: 'b', seq: 2 }, { group: 'c', seq: 2 }, { group: 'b', seq: 3 }, { group: 'a', seq: 4 },
    ]);
    h.start();
    await until('the first Jobs', () => active(h).length >= 3);
    await settle(h);
    // One Job per group at a time: the first of each.
    expect(active(h).map((j) => `${payload(j).group}${payload(j).seq}`).sort()).toEqual(['a1', 'b1', 'c1']);

    // Finish the running Jobs round by round, failing some; the next of each group follows.
    let round = 0;
    while (h.sqs.messages(h.queueUrl).length > 0 || active(h).length > 0) {
      round += 1;
      if (round > 20) throw new Error('FIFO dispatch did not finish');
      for (const job of active(h)) h.finish(job.metadata!.name!, payload(job).seq === 2 ? 'Failed' : 'Complete');
      await settle(h);
    }

    const order = (group: string) => created.filter((c) => c.group === group).map((c) => c.seq);
    expect(order('a')).toEqual([1, 3, 4]);
    expect(order('b')).toEqual([1, 2, 3]);
    expect(order('c')).toEqual([1, 2]);
    expect(created.every((c) => c.concurrentInGroup === 0)).toBe(true);
    expect(h.deadLetters()).toMatchObject([{ reason: 'MalformedJson' }]);
    // Waiting messages were held, not handed back to SQS and received again.
    expect(h.sqs.deleted(h.queueUrl).every((m) => m.receiveCount === 1)).toBe(true);
  });

  it('waits for a Job of the group that another replica created and this cache has not seen', async () => {
    const { h, created, send } = fifoHarness();
    h.informer.lagging = true;
    h.kube.create('Job', 'media', {
      apiVersion: 'batch/v1', kind: 'Job',
      metadata: { name: 'other-replica', labels: { 'sluice.dev/binding': h.binding.metadata.name, 'sluice.dev/message-group': messageGroupLabel('a'), 'app.kubernetes.io/managed-by': 'sluice' } },
      spec: { template: { metadata: { annotations: { 'sluice.dev/payload': '{"group":"a","seq":0}' } }, spec: { containers: [] } } },
    } as k8s.V1Job);
    h.informer.lagging = false;
    send([{ group: 'a', seq: 1 }, { group: 'b', seq: 1 }]);
    h.start();
    await until('b to run', () => created.some((c) => c.group === 'b'));
    await settle(h);
    expect(created.filter((c) => c.group === 'a').map((c) => c.seq)).toEqual([0]);
    h.finish('other-replica');
    await until('a1 to run', () => created.some((c) => c.group === 'a' && c.seq === 1));
  });

  it('hands a waiting message back to SQS at once when the dispatcher stops', async () => {
    const { h, send } = fifoHarness();
    send([{ group: 'a', seq: 1 }, { group: 'a', seq: 2 }]);
    const dispatcher = h.start();
    await until('a1 to run', () => h.jobs().length === 1);
    await settle(h);
    await dispatcher.stop();
    expect(h.sqs.visible(h.queueUrl).map((m) => m.body)).toEqual([bodyOf({ group: 'a', seq: 2 })]);
  });
});
