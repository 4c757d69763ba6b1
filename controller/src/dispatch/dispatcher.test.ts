import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { callLimit } from '../kube/call-limit.ts';
import { compileBinding } from './plan.ts';
import { apiError } from '../testing/fake-kube.ts';
import { networkError } from '../testing/fake-sqs.ts';
import { dispatchHarness, type DispatchHarness } from '../testing/dispatch-harness.ts';
import { jobType, until } from '../testing/fixtures.ts';

let h: DispatchHarness | undefined;
afterEach(async () => {
  await h?.stopAll();
  h = undefined;
});

/** Receives in flight at once on the harness's SQS client, each held 5 ms (as a real round trip is). */
function countConcurrentReceives(harness: DispatchHarness): { most: number; now: number } {
  const counts = { most: 0, now: 0 };
  const send = harness.sqs.client.send.bind(harness.sqs.client) as (command: unknown, options?: unknown) => Promise<unknown>;
  (harness.sqs.client as { send: unknown }).send = async (command: unknown, options?: unknown) => {
    if (!(command instanceof ReceiveMessageCommand)) return send(command, options);
    counts.most = Math.max(counts.most, (counts.now += 1));
    try {
      await new Promise((r) => setTimeout(r, 5));
      return await send(command, options);
    } finally {
      counts.now -= 1;
    }
  };
  return counts;
}

const drained = (harness: DispatchHarness) => until('the queue to be empty', () => harness.sqs.messages(harness.queueUrl).length === 0);

describe('BindingDispatcher', () => {
  it('turns each message into one Job and deletes the message only after the Job exists', async () => {
    h = dispatchHarness();
    for (let i = 0; i < 25; i += 1) h.sqs.put(h.queueUrl, JSON.stringify({ n: i }));
    const dispatcher = h.start();
    await drained(h);
    expect(h.jobs()).toHaveLength(25);
    expect(dispatcher.stats).toMatchObject({ received: 25, dispatched: 25, deadLettered: 0 });
    // Deletes went out in batches after the creates.
    expect(h.sqs.count('deleteBatch')).toBeLessThan(25);
    expect(h.sqs.count('delete')).toBe(0);
  });

  it('waits while suspended and receives as soon as the binding resumes', async () => {
    h = dispatchHarness({ spec: { suspend: true } });
    h.sqs.put(h.queueUrl, JSON.stringify({ n: 1 }));
    const dispatcher = h.start();
    await new Promise((r) => setTimeout(r, 50)); // the loop is waiting out its suspension
    expect(h.sqs.count('receive')).toBe(0);
    dispatcher.update({ ...h.binding, spec: { ...h.binding.spec, suspend: false } }, compileBinding(h.binding));
    await drained(h);
    expect(h.jobs()).toHaveLength(1);
  });

  it('receives a backlog with several receives at once, and goes back to the one long poll once it is drained', async () => {
    h = dispatchHarness();
    for (let i = 0; i < 60; i += 1) h.sqs.put(h.queueUrl, JSON.stringify({ n: i }));
    const receives = countConcurrentReceives(h);
    h.start();
    await drained(h);
    expect(h.jobs()).toHaveLength(60);
    expect(receives.most).toBeGreaterThan(1);
    expect(receives.most).toBeLessThanOrEqual(4);
    await until('the helpers to end', () => receives.now === 1);
  });

  it('receives a FIFO queue one batch at a time', async () => {
    h = dispatchHarness({ queueName: 'orders.fifo' });
    for (let i = 0; i < 40; i += 1) h.sqs.put(h.queueUrl, JSON.stringify({ n: i }), { groupId: `g-${i}`, deduplicationId: `d-${i}` });
    const receives = countConcurrentReceives(h);
    h.start();
    await drained(h);
    expect(receives.most).toBe(1);
  });

  it('keeps the creates of every dispatcher sharing a limit within it, and still makes every Job', async () => {
    h = dispatchHarness();
    const other = dispatchHarness({ kube: h.kube, sqs: h.sqs });
    for (let i = 0; i < 20; i += 1) {
      h.sqs.put(h.queueUrl, JSON.stringify({ n: i }));
      h.sqs.put(other.queueUrl, JSON.stringify({ n: i }));
    }
    let inFlight = 0;
    let most = 0;
    const create = h.kube.batch.createNamespacedJob;
    h.kube.batch.createNamespacedJob = async (request) => {
      most = Math.max(most, (inFlight += 1));
      try {
        await new Promise((r) => setTimeout(r, 5));
        return await create(request);
      } finally {
        inFlight -= 1;
      }
    };
    const createLimit = callLimit(3);
    h.start({ createLimit });
    other.start({ createLimit });
    await drained(h);
    await drained(other);
    await other.stopAll();
    expect(h.jobs()).toHaveLength(40);
    expect(most).toBe(3);
  });

  it('stops receiving while the creates are saturated, so the backlog waits in SQS', async () => {
    h = dispatchHarness();
    for (let i = 0; i < 50; i += 1) h.sqs.put(h.queueUrl, JSON.stringify({ n: i }));
    const create = h.kube.batch.createNamespacedJob;
    let mostWaiting = 0;
    h.kube.batch.createNamespacedJob = async (request) => {
      mostWaiting = Math.max(mostWaiting, dispatcher.stats.received - h!.jobs().length);
      await new Promise((r) => setTimeout(r, 10));
      return create(request);
    };
    const dispatcher = h.start({ createLimit: callLimit(2) });
    await drained(h);
    expect(h.jobs()).toHaveLength(50);
    // Two creating, eight waiting, and what the receives before the limit filled up brought (10
    // each); unbounded, all 50 would be held at once.
    expect(mostWaiting).toBeLessThanOrEqual(30);
  });

  it('makes one Job of duplicates that share a dedupe key and deletes them all', async () => {
    h = dispatchHarness({ spec: { dedupeKey: 'body.jobId' } });
    for (let i = 0; i < 3; i += 1) h.sqs.put(h.queueUrl, '{"jobId":"j-1","step":"render"}');
    h.start();
    await drained(h);
    expect(h.jobs()).toHaveLength(1);
    expect(h.deadLetters()).toEqual([]);
  });

  it('dead-letters a different message that reuses a dedupe key, naming the Job it collided with', async () => {
    h = dispatchHarness({ spec: { dedupeKey: 'body.jobId' } });
    h.sqs.put(h.queueUrl, '{"jobId":"j-1","step":"render"}');
    const dispatcher = h.start();
    await drained(h);
    h.sqs.put(h.queueUrl, '{"jobId":"j-1","step":"render"}');
    h.sqs.put(h.queueUrl, '{"jobId":"j-1","step":"publish"}');
    await drained(h);
    const [job, ...others] = h.jobs();
    expect(others).toEqual([]);
    expect(job!.metadata?.annotations?.['sluice.dev/payload-digest']).toMatch(/^[0-9a-f]{64}$/);
    expect(h.deadLetters()).toEqual([{
      body: '{"jobId":"j-1","step":"publish"}',
      reason: 'DedupeKeyConflict',
      detail: expect.stringContaining(`dedupe key j-1 is already Job ${job!.metadata!.name!}'s`) as unknown,
    }]);
    expect(h.warnings).toMatchObject([{ reason: 'DedupeKeyConflict', message: expect.stringContaining(job!.metadata!.name!) as unknown }]);
    expect(dispatcher.stats).toMatchObject({ dispatched: 2, deadLettered: 1 });
  });

  it('dead-letters a message that cannot run, with its reason, and deletes it', async () => {
    h = dispatchHarness();
    h.sqs.put(h.queueUrl, '{"type": broken}');
    const dispatcher = h.start();
    await drained(h);
    expect(h.deadLetters()).toEqual([{ body: '{"type": broken}', reason: 'MalformedJson', detail: expect.stringMatching(/^body is not valid JSON/) as unknown }]);
    expect(dispatcher.stats.deadLettered).toBe(1);
    expect(h.jobs()).toHaveLength(0);
  });

  it('leaves a message that cannot run in SQS, hidden, when the binding has no dead-letter queue', async () => {
    h = dispatchHarness({ spec: { deadLetter: undefined } });
    h.sqs.put(h.queueUrl, '{"type": broken}');
    const dispatcher = h.start();
    await until('the message to be returned', () => h!.sqs.count('changeVisibility') === 1);
    expect(h.sqs.messages(h.queueUrl)).toHaveLength(1);
    expect(h.sqs.visible(h.queueUrl)).toHaveLength(0);
    expect(h.warnings.map((w) => w.reason)).toEqual(['NoDeadLetterQueue']);
    expect(dispatcher.stats.missingDeadLetterQueue).toBe(true);
  });

  it('retries a Job create that fails for a while', async () => {
    h = dispatchHarness();
    h.kube.fail('create', 'Job', () => apiError(500, 'InternalError', 'etcdserver: request timed out'), 2);
    h.sqs.put(h.queueUrl, '{"n":1}');
    h.start();
    await drained(h);
    expect(h.jobs()).toHaveLength(1);
    expect(h.kube.count('create', 'Job')).toBe(3);
  });

  it('dead-letters a Job the API server rejects', async () => {
    h = dispatchHarness();
    h.kube.fail('create', 'Job', () => apiError(422, 'Invalid', 'Job.batch "x" is invalid: spec.template.spec.containers[0].image: Required value'));
    h.sqs.put(h.queueUrl, '{"n":1}');
    h.start();
    await drained(h);
    expect(h.deadLetters()).toMatchObject([{ reason: 'JobRejected', detail: expect.stringContaining('Required value') as unknown }]);
  });

  it('waits in SQS while the JobType is at its concurrency limit', async () => {
    h = dispatchHarness({ jobTypes: [jobType({ maxConcurrency: 1 })] });
    h.sqs.put(h.queueUrl, '{"n":1}');
    h.sqs.put(h.queueUrl, '{"n":2}');
    h.start();
    await until('one Job', () => h!.jobs().length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.jobs()).toHaveLength(1);
    expect(h.sqs.messages(h.queueUrl)).toHaveLength(1);
    h.finish(h.jobs()[0]!.metadata!.name!);
    h.sqs.advance(60_000);
    await drained(h);
    expect(h.jobs()).toHaveLength(2);
  });

  it('backs off while SQS fails and reports the error until a receive works', async () => {
    h = dispatchHarness();
    h.sqs.fail('receive', () => networkError(), { times: 1 });
    h.sqs.put(h.queueUrl, '{"n":1}');
    const dispatcher = h.start();
    await until('the receive error', () => dispatcher.stats.receiveError !== undefined);
    expect(dispatcher.stats.receiveError).toContain('ECONNREFUSED');
    await drained(h);
    expect(dispatcher.stats.receiveError).toBeUndefined();
  });

  it('recovers from a crash between creating the Job and deleting the message: the redelivery collides', async () => {
    h = dispatchHarness();
    h.sqs.put(h.queueUrl, '{"n":1}');
    const crashing = h.start({ afterJobCreated: () => { throw new Error('killed'); } });
    await until('the Job', () => h!.jobs().length === 1);
    await crashing.stop();
    expect(h.sqs.messages(h.queueUrl)).toHaveLength(1);
    h.sqs.advance(30_000);
    const restarted = h.start();
    await drained(h);
    expect(h.jobs()).toHaveLength(1);
    expect(restarted.stats.dispatched).toBe(1);
  });
});

describe('extended-client payloads', () => {
  const pointer = '["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"large","s3Key":"k-1"}]';
  const store = (options: { failDelete?: boolean } = {}) => {
    const objects = new Map([['large/k-1', '{"big":true}']]);
    const deleted: string[] = [];
    return {
      deleted,
      objects,
      getObject: (bucket: string, key: string) => {
        const found = objects.get(`${bucket}/${key}`);
        return found === undefined ? Promise.reject(Object.assign(new Error('gone'), { name: 'NoSuchKey' })) : Promise.resolve(new TextEncoder().encode(found));
      },
      deleteObject: (bucket: string, key: string) => {
        if (options.failDelete) return Promise.reject(new Error('AccessDenied'));
        deleted.push(`${bucket}/${key}`);
        objects.delete(`${bucket}/${key}`);
        return Promise.resolve();
      },
    };
  };

  it('deletes the S3 object once the message is deleted: the payload travels on the Job', async () => {
    const payloads = store();
    h = dispatchHarness({ payloads });
    h.sqs.put(h.queueUrl, pointer, { attributes: { ExtendedPayloadSize: { DataType: 'Number', StringValue: '12' } } });
    h.start();
    await drained(h);
    await until('the payload to be deleted', () => payloads.deleted.length === 1);
    expect(payloads.deleted).toEqual(['large/k-1']);
    expect(h.jobs()[0]!.spec?.template.metadata?.annotations?.['sluice.dev/payload']).toBe('{"big":true}');
  });

  it('keeps it with message.deleteExtendedPayloads: false, and for a dead-lettered message', async () => {
    const payloads = store();
    h = dispatchHarness({ payloads, spec: { message: { deleteExtendedPayloads: false } } });
    h.sqs.put(h.queueUrl, pointer);
    h.start();
    await drained(h);
    const strict = store();
    const dead = dispatchHarness({ payloads: strict, spec: { routes: [{ name: 'none', when: 'false', jobType: 'work' }] } });
    dead.sqs.put(dead.queueUrl, pointer);
    dead.start();
    await drained(dead);
    await new Promise((r) => setTimeout(r, 20));
    await dead.stopAll();
    expect(payloads.deleted).toEqual([]);
    expect(strict.deleted).toEqual([]);
    expect(dead.deadLetters()).toMatchObject([{ body: pointer, reason: 'NoRouteMatched' }]);
  });

  it('deletes a redelivery whose payload it already deleted as the duplicate it is, not as a dead letter', async () => {
    const payloads = store();
    h = dispatchHarness({ payloads });
    h.sqs.put(h.queueUrl, pointer);
    h.start();
    await drained(h);
    await until('the payload to be deleted', () => payloads.deleted.length === 1);
    // SQS delivers the same message (same MessageId) once more.
    const [first] = h.sqs.deleted(h.queueUrl);
    h.sqs.put(h.queueUrl, first!.body);
    const redelivered = h.sqs.messages(h.queueUrl)[0]!;
    redelivered.messageId = first!.messageId;
    await drained(h);
    expect(h.deadLetters()).toEqual([]);
    expect(h.jobs()).toHaveLength(1);
  });

  it('goes on when the object cannot be deleted', async () => {
    h = dispatchHarness({ payloads: store({ failDelete: true }) });
    h.sqs.put(h.queueUrl, pointer);
    const dispatcher = h.start();
    await drained(h);
    expect(dispatcher.stats.dispatched).toBe(1);
  });
});
