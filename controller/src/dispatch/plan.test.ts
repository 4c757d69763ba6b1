import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { PayloadStore } from '../decode/index.ts';
import { jobName } from '../job/naming.ts';
import { jobType, lookup, NAMESPACE, queueBinding } from '../testing/fixtures.ts';
import { compileBinding, planMessage, type MessagePlan } from './plan.ts';

const queueUrl = 'https://sqs.us-east-1.amazonaws.com/000000000000/jobs';
const noStore: PayloadStore = { getObject: () => Promise.reject(Object.assign(new Error('gone'), { name: 'NoSuchKey' })) };

const binding = (spec: Record<string, unknown> = {}) => queueBinding({
  queueUrl,
  deadLetter: { queueUrl: `${queueUrl}-dlq` },
  routes: [
    { name: 'render', when: 'type(body) == map && body.?type.orValue("") == "render"', jobType: 'render' },
    { name: 'legacy', when: 'type(body) == map && body.?type.orValue("") == "TRANSCODE"', jobType: 'transcode' },
    { name: 'strict', when: 'type(body) == map && body.?type.orValue("") == "strict" && body.level > 2', jobType: 'render' },
  ],
  ...spec,
});

const types = lookup(
  jobType({}, 'render'),
  jobType({ statusSink: { name: 'db', key: { field: 'id', value: 'body.recordId' } } }, 'transcode'),
);

const message = (body: string, extra: Partial<Message> = {}): Message => ({
  MessageId: 'm-1',
  ReceiptHandle: 'rh-1',
  Body: body,
  Attributes: { SentTimestamp: '1700000000000', ApproximateReceiveCount: '1' },
  ...extra,
});

async function plan(body: string, options: { spec?: Record<string, unknown>; extra?: Partial<Message>; jobTypes?: typeof types } = {}): Promise<MessagePlan> {
  const b = binding(options.spec);
  return planMessage(b, compileBinding(b), message(body, options.extra), options.jobTypes ?? types, noStore);
}

describe('planMessage', () => {
  it('routes a message to its JobType and builds a Job named after the binding and MessageId', async () => {
    const result = await plan('{"type":"render","jobId":"j-1"}');
    expect(result).toMatchObject({ action: 'create', route: 'render', sentTimestamp: 1700000000000 });
    if (result.action !== 'create') return;
    expect(result.jobType.metadata.name).toBe('render');
    expect(result.built.job.metadata?.name).toBe(jobName(NAMESPACE, 'jobs', 'm-1'));
    expect(result.built.job.metadata?.annotations).toMatchObject({ 'sluice.dev/dedupe-key': 'm-1', 'sluice.dev/route': 'render', 'sluice.dev/queue-url': queueUrl });
  });

  it.each([
    ['the binding\'s dedupeKey expression', { spec: { dedupeKey: 'body.jobId' } }, 'j-1'],
    ['the Sluice.DedupeKey attribute of messages Sluice sent', { extra: { MessageAttributes: { 'Sluice.DedupeKey': { DataType: 'String', StringValue: 'ns/job-a/on-success' } } } }, 'ns/job-a/on-success'],
    ['an integer key, as its decimal text', { spec: { dedupeKey: 'body.n' } }, '42'],
    ['a redriven message: its stable key and the dead letter\'s id', { spec: { dedupeKey: 'body.jobId' }, extra: { MessageAttributes: { 'Sluice.Redrive': { DataType: 'String', StringValue: 'dl-1' } } } }, 'j-1#redrive:dl-1'],
    ['a redriven message without a stable key: the dead letter\'s id, never its own MessageId', { extra: { MessageAttributes: { 'Sluice.Redrive': { DataType: 'String', StringValue: 'dl-1' } } } }, 'redrive:dl-1'],
    ['an empty Sluice.DedupeKey: the MessageId', { extra: { MessageAttributes: { 'Sluice.DedupeKey': { DataType: 'String', StringValue: '' } } } }, 'm-1'],
  ])('takes the dedupe key from %s', async (_what, options, key) => {
    const result = await plan('{"type":"render","jobId":"j-1","n":42}', options);
    expect(result.action === 'create' && result.built.job.metadata?.annotations?.['sluice.dev/dedupe-key']).toBe(key);
  });

  it.each([
    ['{"type":"unknown"}', {}, 'NoRouteMatched', 'no route matched (tried render, legacy, strict)'],
    ['{"type":"strict","level":"high"}', {}, 'RouteEvaluationFailed', /^route strict: /],
    ['{"type":"render"}', { spec: { dedupeKey: 'body.jobId' } }, 'DedupeKeyFailed', /^dedupeKey body.jobId: /],
    ['{"type":"render","jobId":[1]}', { spec: { dedupeKey: 'body.jobId' } }, 'DedupeKeyFailed', 'dedupeKey body.jobId: it did not return a string or number'],
    ['{"type":"TRANSCODE"}', {}, 'StatusKeyFailed', /^JobType transcode statusSink.key.value body.recordId: /],
    ['{"type":"render", oops}', {}, 'MalformedJson', /^body is not valid JSON/],
    ['{"type":"render"}', { spec: { message: { maxBodyBytes: 8 } } }, 'BodyTooLarge', /over the maxBodyBytes limit of 8/],
    ['TRANSCODE', { spec: { message: { format: 'pipe' } } }, 'MalformedPipe', /expected 3/],
    ['{"type":"render"}', { extra: { MessageId: undefined } }, 'DedupeKeyFailed', 'the message has no MessageId and no dedupe key'],
  ])('dead-letters %s as %s', async (body, options, reason, detail) => {
    const result = await plan(body, options);
    expect(result).toMatchObject({ action: 'dead-letter', reason });
    if (result.action === 'dead-letter') expect(result.detail).toMatch(detail);
  });

  it('waits in SQS while the route\'s JobType is missing', async () => {
    expect(await plan('{"type":"render"}', { jobTypes: lookup() })).toEqual({ action: 'defer', detail: 'route render: JobType render not found' });
  });

  it('dead-letters an extended-client pointer to a missing object and throws for a transient S3 failure', async () => {
    const pointer = '["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"b","s3Key":"k"}]';
    expect(await plan(pointer)).toMatchObject({ action: 'dead-letter', reason: 'PayloadFetchFailed' });
    const b = binding();
    const flaky: PayloadStore = { getObject: () => Promise.reject(Object.assign(new Error('slow down'), { name: 'SlowDown' })) };
    await expect(planMessage(b, compileBinding(b), message(pointer), types, flaky)).rejects.toThrow(/slow down/);
  });

  it('routes on message attributes and keeps the string ones for the dead-letter record', async () => {
    const b = binding({ routes: [{ name: 'urgent', when: 'messageAttributes.?priority.orValue("") == "high"', jobType: 'render' }] });
    const result = await planMessage(b, compileBinding(b), message('anything', {
      MessageAttributes: { priority: { DataType: 'String', StringValue: 'high' }, blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1]) } },
    }), types, noStore);
    expect(result.action === 'create' && result.built.job.metadata?.annotations?.['sluice.dev/message-attributes']).toBe('{"priority":"high"}');
  });
});

describe('reasons that do not mislead', () => {
  it.each([
    ['a truncated JSON object', '{"type":"render","jobId":"j-1"'],
    ['a truncated JSON array of objects', '[{"type":"render"}'],
    ['a JSON object with trailing garbage', '{"type":"render"} and more'],
  ])('reports %s as MalformedJson, not as unroutable text', async (_what, body) => {
    expect(await plan(body)).toMatchObject({ action: 'dead-letter', reason: 'MalformedJson' });
  });

  it('still treats text that merely starts with a bracket as text', async () => {
    const b = binding({ routes: [{ name: 'logs', when: 'type(body) == string && body.startsWith("[INFO]")', jobType: 'render' }] });
    expect(await planMessage(b, compileBinding(b), message('[INFO] nightly export'), types, noStore)).toMatchObject({ action: 'create', route: 'logs' });
  });

  it.each([
    ['constructor', '{"constructor":"c","type":"render"}'],
    ['__proto__', '{"__proto__":{"polluted":true},"type":"render"}'],
    ['prototype', '{"prototype":1,"type":"render"}'],
    ['a nested constructor', '{"type":"render","meta":{"constructor":{"name":"x"}}}'],
  ])('routes a JSON body with a key named %s as plain data', async (_what, body) => {
    const result = await plan(body);
    expect(result).toMatchObject({ action: 'create', route: 'render' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('sees keys named constructor and __proto__ as data in CEL', async () => {
    const b = binding({ routes: [{ name: 'keys', when: 'body.constructor == "c" && body.__proto__.x == 1 && messageAttributes.constructor == "attr"', jobType: 'render' }] });
    const result = await planMessage(b, compileBinding(b), message('{"constructor":"c","__proto__":{"x":1}}', {
      MessageAttributes: { constructor: { DataType: 'String', StringValue: 'attr' }, ['__proto__']: { DataType: 'String', StringValue: 'p' } },
    }), types, noStore);
    expect(result).toMatchObject({ action: 'create', route: 'keys' });
  });
});
