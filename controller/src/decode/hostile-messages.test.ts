import type { Message } from '@aws-sdk/client-sqs';
import type * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { compileBinding, planMessage } from '../dispatch/plan.ts';
import { dispatchHarness, type DispatchHarness } from '../testing/dispatch-harness.ts';
import { jobType, lookup, queueBinding, until } from '../testing/fixtures.ts';
import { HOSTILE_BINDING, HOSTILE_JOB_TYPES, hostileMessages, travelsOnSqs, type HostileMessage } from './hostile-messages.ts';
import type { PayloadStore } from './types.ts';

const queueUrl = 'https://sqs.us-east-1.amazonaws.com/000000000000/hostile';
const jobTypes = Object.entries(HOSTILE_JOB_TYPES).map(([name, spec]) => jobType(spec, name));

function store(message: HostileMessage): PayloadStore {
  return {
    getObject: (bucket, key) => {
      const found = message.objects?.[`${bucket}/${key}`];
      if (found === undefined) return Promise.reject(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }));
      return Promise.resolve(typeof found === 'string' ? new TextEncoder().encode(found) : found);
    },
  };
}

const specFor = (message: HostileMessage, deadLetter = true) => ({
  ...HOSTILE_BINDING,
  ...(deadLetter && { deadLetter: { queueUrl: `${queueUrl}-dlq` } }),
  ...(message.binding?.dedupeKey && { dedupeKey: message.binding.dedupeKey }),
  ...(message.binding?.message && { message: message.binding.message }),
});

describe('the hostile corpus', () => {
  it('has at least 50 distinct messages', () => {
    expect(new Set(hostileMessages.map((m) => m.name)).size).toBe(hostileMessages.length);
    expect(hostileMessages.length).toBeGreaterThanOrEqual(50);
  });

  it.each(hostileMessages.map((m) => [m.name, m] as const))('%s', async (_name, hostile) => {
    const binding = queueBinding({ queueUrl, ...specFor(hostile) });
    const message: Message = {
      ...(hostile.messageId !== null && { MessageId: hostile.messageId ?? 'b3f0c2de-1111-4a4a-9b9b-000000000001' }),
      ReceiptHandle: 'rh',
      Body: hostile.body,
      Attributes: hostile.attributes ?? { SentTimestamp: '1767225600000', ApproximateReceiveCount: '1' },
      ...(hostile.messageAttributes && { MessageAttributes: hostile.messageAttributes }),
    };
    const plan = await planMessage(binding, compileBinding(binding), message, lookup(...jobTypes), store(hostile));
    if ('route' in hostile.expect) {
      expect(plan).toMatchObject({ action: 'create', route: hostile.expect.route });
    } else {
      expect(plan).toMatchObject({ action: 'dead-letter', reason: hostile.expect.deadLetter });
      if (plan.action === 'dead-letter') expect(plan.detail.length).toBeGreaterThan(10);
    }
  });
});

describe('the hostile corpus through a dispatcher', () => {
  let h: DispatchHarness | undefined;
  afterEach(async () => {
    await h?.stopAll();
    h = undefined;
  });

  // One dispatcher per binding variant; every message that SQS would carry ends as a Job or a dead letter.
  const variants = Map.groupBy(hostileMessages.filter((m) => travelsOnSqs(m, 1024 * 1024)), (m) => JSON.stringify(m.binding ?? {}));
  it.each([...variants.entries()])('binding %s', async (_variant, messages) => {
    const objects = Object.assign({}, ...messages.map((m) => m.objects ?? {})) as HostileMessage['objects'];
    // The harness brings its own dead-letter queue.
    h = dispatchHarness({ spec: specFor(messages[0]!, false), jobTypes, payloads: store({ name: 'all', body: '', objects, expect: { route: '' } }) });
    h.start();
    for (const m of messages) h.sqs.put(h.queueUrl, m.body, { ...(m.messageAttributes && { attributes: m.messageAttributes }) });
    await until('every message to be handled', () => h!.sqs.messages(h!.queueUrl).length === 0, 20_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; left: ${h!.sqs.messages(h!.queueUrl).map((m) => m.body.slice(0, 80)).join(' | ')}`);
    });
    const routes = h.jobs().map((j: k8s.V1Job) => j.metadata?.annotations?.['sluice.dev/route']).sort();
    const reasons = h.deadLetters().map((d) => d.reason).sort();
    const expectedRoutes = messages.flatMap((m) => ('route' in m.expect ? [m.expect.route] : [])).sort();
    const expectedReasons = messages.flatMap((m) => ('deadLetter' in m.expect ? [m.expect.deadLetter] : [])).sort();
    expect({ routes, reasons }).toEqual({ routes: expectedRoutes, reasons: expectedReasons });
  }, 30_000);
});
