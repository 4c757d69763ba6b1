import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { statusMappingSchema } from '../api/schemas.ts';
import { observedPhase, outcomeFacts, parseResult, sentAtMillis, sinkFields } from './outcome-facts.ts';

const job = (status: k8s.V1JobStatus, annotations: Record<string, string> = {}): k8s.V1Job => ({
  metadata: {
    name: 'interviews-0123456789abcdef',
    namespace: 'ns',
    uid: 'u1',
    creationTimestamp: new Date('2026-11-23T10:00:00Z'),
    annotations: { 'sluice.dev/message-id': 'm-1', 'sluice.dev/sent-at': '2026-11-23T09:59:59.250Z', ...annotations },
  },
  status,
});

const terminatedPod = (exitCode: number, message: string, created: string): k8s.V1Pod => ({
  metadata: { creationTimestamp: new Date(created) },
  status: { containerStatuses: [{ name: 'job', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, message } } }] },
});

describe('observedPhase', () => {
  it('is queued until a pod is ready, running while one is, then the Job controller\'s verdict', () => {
    expect(observedPhase(job({ active: 1 }))).toBe('queued');
    expect(observedPhase(job({ active: 1, ready: 1 }))).toBe('running');
    expect(observedPhase(job({ conditions: [{ type: 'Complete', status: 'True' }] }))).toBe('succeeded');
    expect(observedPhase(job({ conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] }))).toBe('failed');
  });
});

describe('parseResult', () => {
  it('parses a JSON termination message and keeps other text', () => {
    expect(parseResult('{"questions":5}')).toEqual({ questions: 5 });
    expect(parseResult('  done\n')).toBe('done');
    expect(parseResult('')).toBeUndefined();
  });
});

describe('outcomeFacts', () => {
  it('takes exit code and message from the last pod and the reason from the Job', () => {
    const failed = job({
      failed: 2,
      startTime: new Date('2026-11-23T10:00:01Z'),
      conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', lastTransitionTime: new Date('2026-11-23T10:00:11Z') }],
    });
    const facts = outcomeFacts(failed, [
      terminatedPod(1, 'first try', '2026-11-23T10:00:01Z'),
      terminatedPod(3, 'ffmpeg: invalid data found', '2026-11-23T10:00:05Z'),
    ], 'failed');
    expect(facts).toMatchObject({
      phase: 'failed', attempts: 2, exitCode: 3, reason: 'BackoffLimitExceeded', message: 'ffmpeg: invalid data found',
      messageId: 'm-1', durationSeconds: 10, result: undefined,
    });
  });

  it('reports a success\'s termination message as its result', () => {
    const facts = outcomeFacts(job({ succeeded: 1, completionTime: new Date('2026-11-23T10:00:03Z'), startTime: new Date('2026-11-23T10:00:01Z') }),
      [terminatedPod(0, '{"score":7}', '2026-11-23T10:00:01Z')], 'succeeded');
    expect(facts).toMatchObject({ result: { score: 7 }, reason: undefined, exitCode: 0, durationSeconds: 2 });
  });

  it('reports a container the kernel killed for its memory as OOMKilled, not the Job\'s BackoffLimitExceeded', () => {
    const failed = job({ failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] });
    const pod = terminatedPod(137, '', '2026-11-23T10:00:01Z');
    pod.status!.containerStatuses![0]!.state!.terminated!.reason = 'OOMKilled';
    const facts = outcomeFacts(failed, [pod], 'failed');
    expect(facts).toMatchObject({ reason: 'OOMKilled', exitCode: 137, message: 'the container exceeded its memory limit and was killed' });
  });

  it('lets Sluice\'s own verdict (Unschedulable, Deleted) override the reason', () => {
    const facts = outcomeFacts(job({ active: 1 }), [], 'failed', { reason: 'Unschedulable', message: 'no GPU node' });
    expect(facts).toMatchObject({ reason: 'Unschedulable', message: 'no GPU node' });
  });
});

describe('sinkFields', () => {
  it('writes the mapped status value, known facts and constants', () => {
    const mapping = statusMappingSchema.parse({
      name: 'interviews-db',
      key: { field: 'interview_id', value: 'body.interview_id' },
      statusField: 'state',
      values: { queued: 'processing', running: 'processing', succeeded: 'completed' },
      fields: { error: 'message', exit_code: 'exitCode', job: 'jobName' },
      constants: { processingStage: 'transcribe' },
    });
    const facts = outcomeFacts(job({ active: 1, ready: 1 }), [], 'running');
    expect(sinkFields(mapping, facts)).toEqual({ processingStage: 'transcribe', state: 'processing', job: 'interviews-0123456789abcdef' });
  });
});

describe('sentAtMillis', () => {
  it('orders writes by the producer\'s send time, falling back to the Job\'s creation', () => {
    expect(sentAtMillis(job({}))).toBe(Date.parse('2026-11-23T09:59:59.250Z'));
    const withoutSentAt = job({});
    delete withoutSentAt.metadata!.annotations!['sluice.dev/sent-at'];
    expect(sentAtMillis(withoutSentAt)).toBe(Date.parse('2026-11-23T10:00:00Z'));
  });
});
