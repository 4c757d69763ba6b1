import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ANNOTATION_OUTCOME_DONE } from '../job/labels.ts';
import { TerminalError } from '../kube/work-queue.ts';
import { jobType, NAMESPACE, queueBinding } from '../testing/fixtures.ts';
import { histogram, metricValue } from '../testing/metrics.ts';
import { outcomeHarness } from '../testing/outcome-harness.ts';

const followUpQueue = 'https://sqs.us-east-1.amazonaws.com/000000000000/next';

const withSink = (spec: Record<string, unknown> = {}) => jobType({
  statusSink: { name: 'db', key: { field: 'id', value: 'body.id' }, fields: { error: 'message', exit: 'exitCode' } },
  ...spec,
});

const name = (job: k8s.V1Job) => job.metadata!.name!;

describe('JobOutcomeReconciler', () => {
  it('writes queued, then the outcome, and releases the Job only after the outcome is recorded', async () => {
    const h = outcomeHarness({ jobTypes: [withSink()] });
    const job = h.createJob('{"id":"r-1"}', { statusKey: 'r-1' });
    expect(await h.reconcile(name(job))).toEqual({ outcome: 'done' });
    expect(h.sink.phases()).toEqual(['queued']);
    expect(h.job(name(job))?.metadata?.finalizers).toEqual(['sluice.dev/outcome']);

    h.finish(name(job), { result: 'Complete', message: '{"frames":12}' });
    await h.reconcile(name(job));
    expect(h.sink.phases()).toEqual(['queued', 'succeeded']);
    expect(h.sink.writes[1]).toMatchObject({ key: 'r-1', keyField: 'id', fields: { exit: 0 } });
    expect(h.job(name(job))?.metadata?.finalizers).toEqual([]);
  });

  it('dead-letters and notifies a failed Job, with its diagnostics, once', async () => {
    const h = outcomeHarness({ jobTypes: [withSink({ notifications: { slack: { webhookUrlSecretRef: { name: 'slack', key: 'url' } } } })] });
    const job = h.createJob('{"id":"r-2"}', { statusKey: 'r-2' });
    h.finish(name(job), { result: 'Failed', exitCode: 3, message: 'ffmpeg: invalid data', reason: 'BackoffLimitExceeded' });
    await h.reconcile(name(job));
    await h.reconcile(name(job));

    const [record, ...more] = h.sqs.messages(h.dlqUrl);
    expect(more).toEqual([]);
    expect(record?.body).toBe('{"id":"r-2"}');
    expect(Object.fromEntries(Object.entries(record!.messageAttributes).map(([k, v]) => [k, v.StringValue]))).toMatchObject({
      'Sluice.Reason': 'JobFailed',
      'Sluice.Detail': 'BackoffLimitExceeded: ffmpeg: invalid data',
      'Sluice.JobName': name(job),
      'Sluice.ExitCode': '3',
      tenant: 'acme',
    });
    expect(h.notified).toHaveLength(1);
    expect(h.notified[0]).toMatchObject({ jobName: name(job), reason: 'BackoffLimitExceeded', exitCode: 3 });
    expect(h.sink.writes.at(-1)?.fields).toMatchObject({ status: 'failed', error: 'ffmpeg: invalid data', exit: 3 });
    expect(h.events.filter((e) => e.reason === 'JobFailed').map((e) => e.kind)).toEqual(['Job']);
    expect(h.job(name(job))?.metadata?.finalizers).toEqual([]);
  });

  it('sends the follow-up of a success built from the message and the result', async () => {
    const h = outcomeHarness({ jobTypes: [jobType({ onSuccess: { queueUrl: followUpQueue, body: '{"id": body.id, "frames": result.frames}' } })] });
    h.sqs.createQueue('next');
    const job = h.createJob('{"id":"r-3"}');
    h.finish(name(job), { result: 'Complete', message: '{"frames":12}' });
    await h.reconcile(name(job));
    const [sent] = h.sqs.messages(followUpQueue);
    expect(JSON.parse(sent!.body)).toEqual({ id: 'r-3', frames: 12 });
    expect(sent!.messageAttributes['Sluice.DedupeKey']?.StringValue).toBe(`media/${name(job)}/on-success`);
    expect(h.events.map((e) => e.reason)).toContain('FollowUpSent');
  });

  it('keeps the finalizer and retries while the status sink fails', async () => {
    const h = outcomeHarness({ jobTypes: [withSink()] });
    const job = h.createJob('{"id":"r-4"}', { statusKey: 'r-4' });
    h.finish(name(job), { result: 'Complete' });
    h.sink.errors.push(new Error('connection refused'));
    await expect(h.reconcile(name(job))).rejects.toThrow(/writing succeeded to StatusSink db failed: connection refused/);
    expect(h.job(name(job))?.metadata?.finalizers).toEqual(['sluice.dev/outcome']);
    expect(h.events.map((e) => e.reason)).toContain('SinkWriteFailed');
    await h.reconcile(name(job));
    expect(h.job(name(job))?.metadata?.finalizers).toEqual([]);
  });

  it('counts a fan-in group and sends its message once, when the last member finishes', async () => {
    const assemble = 'https://sqs.us-east-1.amazonaws.com/000000000000/assemble';
    const visual = jobType({ fanIn: { group: 'body.note', expected: 'body.total', send: { queueUrl: assemble, body: '{"note": body.note, "visuals": job.finished}' } } });
    const h = outcomeHarness({ jobTypes: [visual] });
    h.sqs.createQueue('assemble');
    const members = [0, 1, 2].map((i) => h.createJob(JSON.stringify({ note: 'n-1', i, total: 3 }), { fanIn: { group: 'n-1', expected: 3 } }));
    for (const member of members) {
      h.finish(name(member), { result: 'Complete' });
      await h.reconcile(name(member));
    }
    for (const member of members) await h.reconcile(name(member));
    expect(h.sqs.messages(assemble).map((m) => JSON.parse(m.body) as unknown)).toEqual([{ note: 'n-1', visuals: 3 }]);
  });

  it('fails a Job whose pod cannot be scheduled within maxPendingSeconds, and deletes it', async () => {
    let now = new Date('2026-01-01T10:00:00Z');
    const h = outcomeHarness({ jobTypes: [withSink({ retries: { maxPendingSeconds: 60 } })], deps: { now: () => now } });
    h.kube.now = () => now;
    const job = h.createJob('{"id":"r-5"}', { statusKey: 'r-5' });
    h.kube.create('Pod', 'media', {
      metadata: { name: 'pending', labels: { 'batch.kubernetes.io/controller-uid': job.metadata!.uid! } },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes have nvidia.com/gpu' }] },
    } as k8s.V1Pod);
    expect(await h.reconcile(name(job))).toEqual({ outcome: 'requeue', afterMs: 60_500 });
    now = new Date('2026-01-01T10:01:01Z');
    await h.reconcile(name(job));
    expect(h.sink.writes.at(-1)?.fields).toMatchObject({ status: 'failed', error: 'no node could run the pod for 60s: 0/3 nodes have nvidia.com/gpu' });
    expect(h.job(name(job))).toBeUndefined();
    // The cache kept the unfinished Job without its message: its dead letter read the Job once.
    expect(h.sqs.messages(h.dlqUrl).map((m) => m.body)).toEqual(['{"id":"r-5"}']);
    expect(h.kube.count('read', 'Job')).toBe(1);
  });

  it('reads a finished Job\'s outcome from the cache alone, its message included', async () => {
    const h = outcomeHarness({ jobTypes: [withSink()] });
    const job = h.createJob('{"id":"r-6"}', { statusKey: 'r-6' });
    await h.reconcile(name(job));
    h.finish(name(job), { result: 'Failed', message: 'boom' });
    await h.reconcile(name(job));
    expect(h.sqs.messages(h.dlqUrl).map((m) => m.body)).toEqual(['{"id":"r-6"}']);
    expect(h.kube.count('read', 'Job')).toBe(0);
  });
});

describe('outcome steps that can never succeed (terminal)', () => {
  it('records a follow-up body whose CEL fails, dead-letters the message as OutcomeFailed, marks the record failed and lets the Job go', async () => {
    const h = outcomeHarness({ jobTypes: [withSink({ onSuccess: { queueUrl: followUpQueue, body: '{"id": body.id, "n": result.missing}' } })] });
    h.sqs.createQueue('next');
    const job = h.createJob('{"id":"r-1"}', { statusKey: 'r-1' });
    h.finish(name(job), { result: 'Complete', message: '{"frames":1}' });
    await expect(h.reconcile(name(job))).rejects.toBeInstanceOf(TerminalError);

    expect(h.job(name(job))?.metadata?.finalizers).toEqual([]);
    const [record] = h.sqs.messages(h.dlqUrl);
    expect(record?.messageAttributes['Sluice.Reason']?.StringValue).toBe('OutcomeFailed');
    expect(record?.messageAttributes['Sluice.Detail']?.StringValue).toMatch(/^OutcomeFailed: onSuccess.body .*: No such key: missing/);
    expect(h.sink.writes.at(-1)?.fields).toMatchObject({ status: 'failed', error: expect.stringContaining('No such key: missing') as unknown });
    expect(h.events.filter((e) => e.reason === 'OutcomeFailed' && e.type === 'Warning').map((e) => e.kind).sort()).toEqual(['Job', 'JobType']);
    expect(h.health.condition('media', 'work')).toMatchObject({ type: 'OutcomesHealthy', status: 'False', reason: 'FollowUpInvalid' });
    expect(h.sqs.messages(followUpQueue)).toEqual([]);
    expect(await h.reconcile(name(job))).toEqual({ outcome: 'done' });
  });

  it.each([
    ['a number', '42'],
    ['a list', '[body.id]'],
    ['an empty string', '""'],
  ])('treats a follow-up body that gives %s as terminal', async (_what, body) => {
    const h = outcomeHarness({ jobTypes: [jobType({ onSuccess: { queueUrl: followUpQueue, body } })] });
    const job = h.createJob('{"id":"r-2"}');
    h.finish(name(job), { result: 'Complete' });
    await expect(h.reconcile(name(job))).rejects.toThrow(/FollowUpInvalid: onSuccess.body/);
    expect(h.job(name(job))?.metadata?.finalizers).toEqual([]);
  });

  it.each([
    ['PostgreSQL undefined column (42703)', Object.assign(new Error('column "state" does not exist'), { code: '42703' })],
    ['PostgreSQL invalid input (22P02)', Object.assign(new Error('invalid input syntax for type uuid'), { code: '22P02' })],
    ['a MongoDB validation error', Object.assign(new Error('Document failed validation'), { name: 'MongoServerError', code: 121 })],
    ['a DynamoDB ValidationException', Object.assign(new Error('One or more parameter values were invalid'), { name: 'ValidationException' })],
  ])('gives up a status write the store refuses for good: %s, and still sends the follow-up', async (_what, error) => {
    const h = outcomeHarness({ jobTypes: [withSink({ onSuccess: { queueUrl: followUpQueue, body: '{"id": body.id}' } })] });
    h.sqs.createQueue('next');
    const job = h.createJob('{"id":"r-3"}', { statusKey: 'r-3' });
    h.finish(name(job), { result: 'Complete' });
    h.sink.errors.push(error);
    await expect(h.reconcile(name(job))).rejects.toThrow(/SinkWriteRejected: writing succeeded to StatusSink db failed/);
    expect(h.job(name(job))?.metadata?.finalizers).toEqual([]);
    expect(h.sqs.messages(followUpQueue)).toHaveLength(1);
    expect(h.health.condition('media', 'work')).toMatchObject({ status: 'False', reason: 'SinkWriteRejected' });
  });

  it('sets OutcomesHealthy back to True when a later Job\'s outcome is recorded in full', async () => {
    const h = outcomeHarness({ jobTypes: [withSink()] });
    const first = h.createJob('{"id":"a"}', { statusKey: 'a' });
    h.finish(name(first), { result: 'Complete' });
    h.sink.errors.push(Object.assign(new Error('null value in column "state"'), { code: '23502' }));
    await expect(h.reconcile(name(first))).rejects.toBeInstanceOf(TerminalError);
    const second = h.createJob('{"id":"b"}', { statusKey: 'b' });
    h.finish(name(second), { result: 'Complete' });
    await h.reconcile(name(second));
    expect(h.health.condition('media', 'work')).toMatchObject({ status: 'True', reason: 'OutcomesRecorded' });
  });
});

describe('never acting twice on a stale cache', () => {
  it('does not repeat a dead letter when a retry sees the Job from before the step was marked', async () => {
    const h = outcomeHarness({ jobTypes: [jobType({ notifications: { slack: { webhookUrlSecretRef: { name: 's', key: 'k' } } } })] });
    const job = h.createJob('{"id":"r-4"}');
    h.finish(name(job), { result: 'Failed', reason: 'BackoffLimitExceeded' });
    h.jobs.hold();
    const push = h.notified.push.bind(h.notified);
    let failures = 1;
    h.notified.push = (...items) => {
      if (failures-- > 0) throw new Error('smtp down');
      return push(...items);
    };
    await expect(h.reconcile(name(job))).rejects.toThrow('smtp down');
    await h.reconcile(name(job));
    expect(h.sqs.messages(h.dlqUrl)).toHaveLength(1);
    expect(h.notified).toHaveLength(1);
  });

  it('does nothing for a stale copy that still shows the finalizer it removed', async () => {
    const h = outcomeHarness({ jobTypes: [jobType({ onSuccess: { queueUrl: followUpQueue, body: '{"id": body.id}' } })] });
    h.sqs.createQueue('next');
    const job = h.createJob('{"id":"r-5"}');
    h.finish(name(job), { result: 'Complete' });
    h.jobs.hold();
    const before = h.kube.calls.length;
    await h.reconcile(name(job));
    await h.reconcile(name(job));
    expect(h.sqs.messages(followUpQueue)).toHaveLength(1);
    // The finalizer, once: with one step, its mark would be followed at once by the finalizer removal.
    expect(h.kube.calls.slice(before).map((c) => `${c.verb} ${c.kind}`)).toEqual(['patch Job']);
  });
});

describe('the message as routing saw it', () => {
  it('gives follow-ups the body decoded with the binding\'s pipe fields, and the SQS attributes routing had', async () => {
    const binding = queueBinding({
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/jobs',
      message: { format: 'pipe', pipeFields: ['kind', 'id', 'meta'] },
      routes: [{ name: 'all', when: 'body.kind == "RENDER"', jobType: 'work' }],
    });
    const h = outcomeHarness({ jobTypes: [jobType({ onSuccess: { queueUrl: followUpQueue, body: '{"kind": body.kind, "id": body.id, "meta": body.meta, "group": attributes.?MessageGroupId.orValue("none")}' } })] });
    h.sqs.createQueue('next');
    const job = await h.dispatch(binding, { MessageId: 'm-1', Body: 'RENDER|r-9|{"w":1}', Attributes: { SentTimestamp: '1', MessageGroupId: 'g-1' } });
    h.finish(name(job), { result: 'Complete' });
    await h.reconcile(name(job));
    expect(h.sqs.messages(followUpQueue).map((m) => JSON.parse(m.body) as unknown)).toEqual([{ kind: 'RENDER', id: 'r-9', meta: { w: 1 }, group: 'g-1' }]);
  });

  it('gives follow-ups the envelope facts of an SNS notification', async () => {
    const binding = queueBinding({ queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/jobs', routes: [{ name: 'all', when: 'true', jobType: 'work' }] });
    const h = outcomeHarness({ jobTypes: [jobType({ onSuccess: { queueUrl: followUpQueue, body: '{"topic": envelope.sns.topicArn, "id": body.id}' } })] });
    h.sqs.createQueue('next');
    const sns = JSON.stringify({ Type: 'Notification', MessageId: 'n-1', TopicArn: 'arn:aws:sns:us-east-1:1:media', Message: '{"id":12345678901234567}' });
    const job = await h.dispatch(binding, { MessageId: 'm-2', Body: sns, Attributes: { SentTimestamp: '1' } });
    h.finish(name(job), { result: 'Complete' });
    await h.reconcile(name(job));
    // The int64 id passes through exactly, beyond 2^53.
    expect(h.sqs.messages(followUpQueue).map((m) => m.body)).toEqual(['{"topic":"arn:aws:sns:us-east-1:1:media","id":12345678901234567}']);
  });
});

describe('reads from caches only', () => {
  it('lists no pods and reads no Job over a Job\'s life', async () => {
    const h = outcomeHarness({ jobTypes: [jobType({})] });
    const job = h.createJob('{"id":"r-6"}');
    await h.reconcile(name(job));
    h.finish(name(job), { result: 'Complete', message: 'ok' });
    await h.reconcile(name(job));
    expect(h.job(name(job))?.metadata?.finalizers).toEqual([]);
    expect(h.kube.count('list', 'Pod')).toBe(0);
    expect(h.kube.count('read', 'Job')).toBe(0);
  });

  it('writes only the finalizer removal for a success, and one step mark for a dead-lettered, notified failure', async () => {
    const h = outcomeHarness({ jobTypes: [withSink({ notifications: { slack: { webhookUrlSecretRef: { name: 'slack', key: 'url' } } } })] });
    const ok = h.createJob('{"id":"r-7"}', { statusKey: 'r-7' });
    const bad = h.createJob('{"id":"r-8"}', { statusKey: 'r-8' });
    const before = h.kube.calls.length;
    await h.reconcile(name(ok));
    await h.reconcile(name(bad));
    const finishedAt = h.kube.calls.length;
    h.finish(name(ok), { result: 'Complete', message: 'ok' });
    h.finish(name(bad), { result: 'Failed', exitCode: 3, reason: 'BackoffLimitExceeded' });
    // What the harness wrote as the Job controller and the kubelet is not the controller's.
    h.kube.calls.splice(finishedAt);
    await h.reconcile(name(ok));
    await h.reconcile(name(bad));
    const writes = (job: k8s.V1Job) => h.kube.calls.slice(before).filter((c) => c.verb !== 'read' && c.verb !== 'list' && c.name === name(job)).map((c) => c.verb);
    expect(writes(ok)).toEqual(['patch']);
    // The dead letter's mark (notify follows it), then the finalizer.
    expect(writes(bad)).toEqual(['patch', 'patch']);
    expect(h.job(name(bad))?.metadata?.annotations?.[ANNOTATION_OUTCOME_DONE]).toBe('dead-letter');
    expect(h.sqs.messages(h.dlqUrl)).toHaveLength(1);
    expect(h.notified).toHaveLength(1);
  });

  it('marks the steps done on the Job before coming back for a message still being released', async () => {
    const h = outcomeHarness({ jobTypes: [withSink({})] });
    const job = h.createJob('{"id":"r-9"}', { statusKey: 'r-9' });
    h.finish(name(job), { result: 'Failed', exitCode: 3, reason: 'BackoffLimitExceeded' });
    // The finalizer patch fails; the mark that follows it goes through.
    h.kube.fail('patch', 'Job', () => new Error('apiserver gone'), 1);
    await expect(h.reconcile(name(job))).rejects.toThrow('apiserver gone');
    expect(h.job(name(job))?.metadata?.annotations?.[ANNOTATION_OUTCOME_DONE]).toBe('dead-letter');
  });

  it('does not drop a finalizer another controller added meanwhile: it comes back with a newer copy', async () => {
    const h = outcomeHarness({ jobTypes: [jobType({})] });
    const job = h.createJob('{"id":"r-7"}');
    h.finish(name(job), { result: 'Complete' });
    h.jobs.hold();
    h.kube.patch('Job', 'media', name(job), { metadata: { finalizers: ['example.com/audit', 'sluice.dev/outcome'] } });
    expect(await h.reconcile(name(job))).toEqual({ outcome: 'requeue', afterMs: 1_000 });
    h.jobs.sync();
    await h.reconcile(name(job));
    expect(h.job(name(job))?.metadata?.finalizers).toEqual(['example.com/audit']);
  });

  it('waits briefly for a finished Job\'s pod to reach the cache, so its result is not lost', async () => {
    const h = outcomeHarness({ jobTypes: [jobType({ onSuccess: { queueUrl: followUpQueue, body: '{"frames": result.frames}' } })], deps: { now: () => new Date('2026-01-01T10:00:06Z') } });
    h.sqs.createQueue('next');
    const job = h.createJob('{"id":"r-8"}');
    h.kube.patch('Job', 'media', name(job), { status: { succeeded: 1, completionTime: '2026-01-01T10:00:05Z', conditions: [{ type: 'Complete', status: 'True' }] } });
    expect(await h.reconcile(name(job))).toEqual({ outcome: 'requeue', afterMs: 1_000 });
    expect(h.sqs.messages(followUpQueue)).toEqual([]);
    h.finish(name(job), { result: 'Complete', message: '{"frames":7}' });
    await h.reconcile(name(job));
    expect(h.sqs.messages(followUpQueue).map((m) => m.body)).toEqual(['{"frames":7}']);
  });
});

describe('onSuccess.forEach', () => {
  const placeholders = '{"placeholders":[{"id":"p-1"},{"id":"p-2"},{"id":"p-3"}]}';
  const fanOut = (extra: Record<string, unknown> = {}) => jobType({
    onSuccess: { queueUrl: followUpQueue, forEach: 'result.placeholders', body: '"GENERATE_VISUAL|" + body.note + "-" + string(index) + "|" + item.id', ...extra },
  });

  it('sends one message per element, each with its own dedupe key, in batches of at most ten', async () => {
    const h = outcomeHarness({ jobTypes: [fanOut()] });
    h.sqs.createQueue('next');
    const job = h.createJob('{"note":"n-7"}');
    h.finish(name(job), { result: 'Complete', message: placeholders });
    await h.reconcile(name(job));
    const sent = h.sqs.messages(followUpQueue);
    expect(sent.map((m) => m.body)).toEqual(['GENERATE_VISUAL|n-7-0|p-1', 'GENERATE_VISUAL|n-7-1|p-2', 'GENERATE_VISUAL|n-7-2|p-3']);
    expect(sent.map((m) => m.messageAttributes['Sluice.DedupeKey']?.StringValue)).toEqual([0, 1, 2].map((i) => `media/${name(job)}/on-success/${i}`));
  });

  it('splits 25 elements into three SendMessageBatch calls', async () => {
    const h = outcomeHarness({ jobTypes: [fanOut({ body: '{"id": item.id}' })] });
    h.sqs.createQueue('next');
    const job = h.createJob('{"note":"n-8"}');
    h.finish(name(job), { result: 'Complete', message: JSON.stringify({ placeholders: Array.from({ length: 25 }, (_, i) => ({ id: `p-${i}` })) }) });
    await h.reconcile(name(job));
    expect(h.sqs.messages(followUpQueue)).toHaveLength(25);
    expect(h.sqs.count('sendBatch')).toBe(3);
  });

  it('sends nothing for an empty list', async () => {
    const h = outcomeHarness({ jobTypes: [fanOut()] });
    h.sqs.createQueue('next');
    const job = h.createJob('{"note":"n-9"}');
    h.finish(name(job), { result: 'Complete', message: '{"placeholders":[]}' });
    expect(await h.reconcile(name(job))).toEqual({ outcome: 'done' });
    expect(h.sqs.messages(followUpQueue)).toEqual([]);
  });

  it('treats a forEach that is not a list as terminal', async () => {
    const h = outcomeHarness({ jobTypes: [fanOut()] });
    const job = h.createJob('{"note":"n-10"}');
    h.finish(name(job), { result: 'Complete', message: '{"placeholders":"p-1"}' });
    await expect(h.reconcile(name(job))).rejects.toThrow(/onSuccess.forEach result.placeholders gave a string, not a list/);
  });

  it('collides downstream when a crash makes it send again: the same dedupe keys', async () => {
    const h = outcomeHarness({ jobTypes: [fanOut()] });
    h.sqs.createQueue('next');
    const job = h.createJob('{"note":"n-11"}');
    h.finish(name(job), { result: 'Complete', message: placeholders });
    // The finalizer patch and the mark after it: the apiserver is gone, then the controller too.
    h.kube.fail('patch', 'Job', () => new Error('apiserver gone'), 2);
    await expect(h.reconcile(name(job))).rejects.toThrow('apiserver gone');
    // A restarted controller does not know the step ran, and sends again.
    const restarted = outcomeHarness({ jobTypes: [fanOut()], kube: h.kube, sqs: h.sqs });
    await restarted.reconcile(name(job));
    const keys = h.sqs.messages(followUpQueue).map((m) => m.messageAttributes['Sluice.DedupeKey']?.StringValue);
    expect(keys).toHaveLength(6);
    expect(new Set(keys).size).toBe(3);
  });
});

describe('a result with keys named like JavaScript internals', () => {
  it('is plain data for the follow-up body', async () => {
    const h = outcomeHarness({ jobTypes: [jobType({ onSuccess: { queueUrl: followUpQueue, body: '{"c": result.constructor}' } })] });
    h.sqs.createQueue('next');
    const job = h.createJob('{"id":"r-12"}');
    h.finish(name(job), { result: 'Complete', message: '{"constructor":"ok","__proto__":{"x":1}}' });
    await h.reconcile(name(job));
    expect(h.sqs.messages(followUpQueue).map((m) => m.body)).toEqual(['{"c":"ok"}']);
  });
});

describe('an incomplete outcome across reconciles', () => {
  it('still counts as incomplete when the Job comes back after its message grace', async () => {
    let now = new Date('2026-01-01T10:00:06Z');
    const h = outcomeHarness({ jobTypes: [withSink()], deps: { now: () => now } });
    const binding = queueBinding({ queueUrl: h.queueUrl, routes: [{ name: 'all', when: 'true', jobType: 'work' }] });
    // A Job whose message this process did not delete: its release waits a grace.
    const job = await h.dispatch(binding, { MessageId: 'm-g', ReceiptHandle: 'stale-handle', Body: '{"id":"g-1"}', Attributes: { SentTimestamp: '1' } });
    h.finish(name(job), { result: 'Complete' });
    h.kube.patch('Job', 'media', name(job), { metadata: { annotations: { 'sluice.dev/status-key': 'g-1' } } });
    h.sink.errors.push(Object.assign(new Error('column "status" does not exist'), { code: '42703' }));
    expect(await h.reconcile(name(job))).toMatchObject({ outcome: 'requeue' });
    now = new Date(now.getTime() + 60_000);
    await expect(h.reconcile(name(job))).rejects.toBeInstanceOf(TerminalError);
    expect(h.health.condition('media', 'work')).toMatchObject({ status: 'False', reason: 'SinkWriteRejected' });
  });
});

describe('outcome metrics', () => {
  const orZero = (value: number | undefined) => value ?? 0;

  it('count a finished Job once, with its start → finish duration, when its outcome is recorded', async () => {
    const h = outcomeHarness({ jobTypes: [jobType({}, 'timed')] });
    const labels = { namespace: NAMESPACE, job_type: 'timed', result: 'succeeded' };
    const job = h.createJob('{"id":"t-1"}');
    await h.reconcile(name(job));
    expect(orZero(await metricValue('sluice_jobs_finished_total', labels))).toBe(0);

    h.finish(name(job), { result: 'Complete' });
    await h.reconcile(name(job));
    await h.reconcile(name(job));
    expect(await metricValue('sluice_jobs_finished_total', labels)).toBe(1);
    expect(await histogram('sluice_job_duration_seconds', labels)).toEqual({ count: 1, sum: 5 });
    expect(orZero(await metricValue('sluice_jobs_finished_total', { ...labels, result: 'failed' }))).toBe(0);
  });

  it('count a failed Job as failed, and its message as dead-lettered with reason JobFailed', async () => {
    const h = outcomeHarness({ jobTypes: [jobType({}, 'doomed')] });
    const labels = { namespace: NAMESPACE, job_type: 'doomed', result: 'failed' };
    const deadLettered = { namespace: NAMESPACE, binding: 'jobs', reason: 'JobFailed' };
    const before = orZero(await metricValue('sluice_messages_dead_lettered_total', deadLettered));
    const job = h.createJob('{"id":"d-1"}');
    h.finish(name(job), { result: 'Failed', exitCode: 1, reason: 'BackoffLimitExceeded' });
    await h.reconcile(name(job));
    await h.reconcile(name(job));
    expect(await metricValue('sluice_jobs_finished_total', labels)).toBe(1);
    expect(await histogram('sluice_job_duration_seconds', labels)).toEqual({ count: 1, sum: 5 });
    expect(await metricValue('sluice_messages_dead_lettered_total', deadLettered)).toBe(before + 1);
  });

  it('time every StatusSink write and count the ones that fail', async () => {
    const h = outcomeHarness({ jobTypes: [withSink()] });
    const sink = { namespace: NAMESPACE, sink: 'db' };
    const errorsBefore = orZero(await metricValue('sluice_sink_write_errors_total', sink));
    const writesBefore = (await histogram('sluice_sink_write_seconds', sink))?.count ?? 0;
    const job = h.createJob('{"id":"s-1"}', { statusKey: 's-1' });
    h.sink.errors.push(new Error('connection refused'));
    await expect(h.reconcile(name(job))).rejects.toThrow(/connection refused/);
    expect(await metricValue('sluice_sink_write_errors_total', sink)).toBe(errorsBefore + 1);
    await h.reconcile(name(job));
    expect(await metricValue('sluice_sink_write_errors_total', sink)).toBe(errorsBefore + 1);
    expect((await histogram('sluice_sink_write_seconds', sink))?.count).toBe(writesBefore + 2);
  });
});
