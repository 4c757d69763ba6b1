import { afterEach, describe, expect, it, vi } from 'vitest';
import { deferReasons, sqsOperations } from '../metrics.ts';
import { deadLetterReasons } from '../sqs/dead-letter.ts';
import { dispatchHarness, type DispatchHarness } from '../testing/dispatch-harness.ts';
import { jobType, NAMESPACE, until } from '../testing/fixtures.ts';
import { histogram, labelSets, metricValue } from '../testing/metrics.ts';
import { OldestMessageAge } from './oldest-message-age.ts';

let h: DispatchHarness | undefined;
afterEach(async () => {
  await h?.stopAll();
  h = undefined;
});

const drained = (harness: DispatchHarness) => until('the queue to be empty', () => harness.sqs.messages(harness.queueUrl).length === 0);
/** Each test has its own binding and JobType, so their series stay apart. */
const harness = (binding: string, jobTypeName: string, options: Parameters<typeof dispatchHarness>[0] = {}) => dispatchHarness({
  bindingName: binding,
  jobTypes: [jobType({}, jobTypeName)],
  ...options,
  spec: { routes: [{ name: 'all', when: 'true', jobType: jobTypeName }], ...options.spec },
});

describe('dispatcher metrics', () => {
  it('start every series of a binding at 0 when its dispatcher starts, and drop the oldest-message age when it stops', async () => {
    h = harness('fresh', 'fresh-work', { spec: { suspend: true } });
    const binding = { namespace: NAMESPACE, binding: 'fresh' };
    h.start();
    expect(await metricValue('sluice_messages_received_total', binding)).toBe(0);
    expect(await metricValue('sluice_messages_dispatched_total', { ...binding, job_type: 'fresh-work' })).toBe(0);
    expect(await metricValue('sluice_jobs_created_total', { namespace: NAMESPACE, job_type: 'fresh-work' })).toBe(0);
    expect(await metricValue('sluice_job_create_errors_total', binding)).toBe(0);
    expect(await histogram('sluice_message_to_job_seconds', binding)).toEqual({ count: 0, sum: 0 });
    expect(await metricValue('sluice_queue_oldest_message_age_seconds', binding)).toBe(0);
    for (const operation of sqsOperations) expect(await metricValue('sluice_sqs_errors_total', { ...binding, operation }), operation).toBe(0);
    const ofBinding = async (name: string) => (await labelSets(name)).filter((l) => l.binding === 'fresh').map((l) => l.reason).sort();
    expect(await ofBinding('sluice_messages_dead_lettered_total')).toEqual([...deadLetterReasons].sort());
    expect(await ofBinding('sluice_messages_deferred_total')).toEqual([...deferReasons].sort());

    await h.stopAll();
    expect(await metricValue('sluice_queue_oldest_message_age_seconds', binding)).toBeUndefined();
  });

  it('count received, dispatched and dead-lettered messages, Jobs created, and message → Job latency', async () => {
    h = harness('counted', 'counted-work');
    const binding = { namespace: NAMESPACE, binding: 'counted' };
    h.sqs.put(h.queueUrl, '{"n":1}');
    h.sqs.put(h.queueUrl, '{"n":2}');
    h.sqs.put(h.queueUrl, '{"n": broken');
    h.start();
    await drained(h);
    expect(await metricValue('sluice_messages_received_total', binding)).toBe(3);
    expect(await metricValue('sluice_messages_dispatched_total', { ...binding, job_type: 'counted-work' })).toBe(2);
    expect(await metricValue('sluice_jobs_created_total', { namespace: NAMESPACE, job_type: 'counted-work' })).toBe(2);
    expect(await metricValue('sluice_messages_dead_lettered_total', { ...binding, reason: 'MalformedJson' })).toBe(1);
    expect((await histogram('sluice_message_to_job_seconds', binding))?.count).toBe(2);
  });

  it('count a Job as created once, however many redeliveries find it', async () => {
    h = harness('dedupe', 'dedupe-work', { spec: { dedupeKey: 'body.jobId' } });
    for (let i = 0; i < 3; i += 1) h.sqs.put(h.queueUrl, '{"jobId":"j-1"}');
    h.start();
    await drained(h);
    expect(h.jobs()).toHaveLength(1);
    expect(await metricValue('sluice_jobs_created_total', { namespace: NAMESPACE, job_type: 'dedupe-work' })).toBe(1);
    expect(await metricValue('sluice_messages_dispatched_total', { namespace: NAMESPACE, binding: 'dedupe', job_type: 'dedupe-work' })).toBe(3);
  });

  it('count a message that cannot run and has no dead-letter queue as deferred', async () => {
    h = harness('no-dlq', 'no-dlq-work', { spec: { deadLetter: undefined } });
    h.sqs.put(h.queueUrl, '{"type": broken}');
    h.start();
    await until('the message to be returned', () => h!.sqs.count('changeVisibility') === 1);
    expect(await metricValue('sluice_messages_deferred_total', { namespace: NAMESPACE, binding: 'no-dlq', reason: 'NoDeadLetterQueue' })).toBe(1);
    expect(await metricValue('sluice_messages_dead_lettered_total', { namespace: NAMESPACE, binding: 'no-dlq', reason: 'MalformedJson' })).toBe(0);
  });

  it('report the age of the oldest message received, hold it while not receiving, and 0 once a receive finds the queue empty', async () => {
    // maxConcurrency 1: after the one Job exists, the dispatcher stops receiving until it finishes.
    h = dispatchHarness({ bindingName: 'aging', jobTypes: [jobType({ maxConcurrency: 1 }, 'aging-work')], spec: { routes: [{ name: 'all', when: 'true', jobType: 'aging-work' }] } });
    const binding = { namespace: NAMESPACE, binding: 'aging' };
    h.sqs.put(h.queueUrl, '{"n":1}');
    h.sqs.advance(90_000);
    h.start({ now: () => h!.sqs.now() });
    await until('the Job', () => h!.jobs().length === 1);
    const age = await metricValue('sluice_queue_oldest_message_age_seconds', binding);
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(95);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(await metricValue('sluice_queue_oldest_message_age_seconds', binding)).toBe(age);

    h.finish(h.jobs()[0]!.metadata!.name!);
    await vi.waitFor(async () => expect(await metricValue('sluice_queue_oldest_message_age_seconds', binding)).toBe(0), { timeout: 5_000 });
  });
});

describe('OldestMessageAge', () => {
  const message = (sentAt: number) => ({ Attributes: { SentTimestamp: String(sentAt) } });
  const value = () => metricValue('sluice_queue_oldest_message_age_seconds', { namespace: 'ns', binding: 'window' });

  it('takes the oldest message of the receives in the last 10 s, and resets on an empty receive', async () => {
    const age = new OldestMessageAge('ns', 'window');
    expect(await value()).toBe(0);
    age.received([message(40_000), message(70_000)], 100_000);
    expect(await value()).toBe(60);
    // A later receive of younger messages within the window does not hide the older one.
    age.received([message(99_000)], 105_000);
    expect(await value()).toBe(60);
    // Once the first receive is out of the window, the second's oldest counts.
    age.received([message(109_000)], 110_500);
    expect(await value()).toBe(6);
    age.received([], 111_000);
    expect(await value()).toBe(0);
    age.received([{ Attributes: {} }], 112_000);
    expect(await value()).toBe(0);
    age.forget();
    expect(await value()).toBeUndefined();
  });
});
