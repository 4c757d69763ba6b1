import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { jobType } from '../testing/fixtures.ts';
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
    expect(h.events.filter((e) => e.reason === 'JobFailed').map((e) => e.kind)).toEqual(expect.arrayContaining(['Job', 'JobType']));
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
    expect(h.sqs.messages(h.dlqUrl)).toHaveLength(1);
  });
});
