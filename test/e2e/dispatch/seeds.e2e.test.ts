// Each producer shape from the seed systems becomes exactly one Job of the right JobType, with the
// payload the producer sent readable in the container spec. Producers are unchanged: these are
// the bodies they send today.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { core, createTestNamespace, eventually } from '../support/kube.ts';
import {
  apply, cleanUp, createQueue, installCrds, payloadOf, queueDepth, sluiceJobs, sqs, waitForJobCount,
} from '../support/sluice.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess;
const queues: Record<string, string> = {};

const cpuJobType = (extra: Record<string, unknown> = {}) => ({ image: 'registry.invalid/worker:1', maxConcurrency: 5, ...extra });

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('seeds');
  for (const name of ['training', 'interviews', 'fable-jobs']) queues[name] = await createQueue(`${ns.name}-${name}`);

  // 000: one queue, routed by key presence and field values; video generation needs a GPU.
  for (const name of ['roleplay-grading', 'interview-eval', 'report', 'nudge']) await apply('JobType', ns.name, name, cpuJobType());
  await apply('JobType', ns.name, 'roleplay-video', cpuJobType({ gpu: { count: 1, nodeSelector: { pool: 'gpu' } } }));
  await apply('QueueBinding', ns.name, 'training', {
    queueUrl: queues.training,
    routes: [
      { name: 'roleplay-video', when: 'has(body.roleplayVideo)', jobType: 'roleplay-video' },
      { name: 'roleplay', when: 'has(body.roleplay)', jobType: 'roleplay-grading' },
      { name: 'interview', when: 'has(body.evaluationType) && body.evaluationType == "interview"', jobType: 'interview-eval' },
      { name: 'reports', when: 'has(body.reportType) && body.reportType in ["reports", "activities", "employee-export"]', jobType: 'report' },
      { name: 'nudges', when: 'has(body.smartNudge) || has(body.autoNudge) || has(body.managerNudge) || has(body.trainingExpiry)', jobType: 'nudge' },
    ],
  });
  // 001: {"interview_id": …} → one processing Job per interview.
  await apply('JobType', ns.name, 'interview-processing', cpuJobType({ retries: { backoffLimit: 3 } }));
  await apply('QueueBinding', ns.name, 'interviews', {
    queueUrl: queues.interviews,
    routes: [{ name: 'process', when: 'has(body.interview_id)', jobType: 'interview-processing' }],
  });
  // 002: legacy TYPE|jobId|metadata strings beside JSON {type, jobId, metadata}, deduplicated by jobId.
  await apply('JobType', ns.name, 'transcode', cpuJobType());
  await apply('JobType', ns.name, 'fable-event', cpuJobType());
  await apply('QueueBinding', ns.name, 'fable-jobs', {
    queueUrl: queues['fable-jobs'],
    dedupeKey: 'body.jobId',
    routes: [
      { name: 'transcode', when: 'body.type in ["TRANSCODE_VIDEO", "TRANSCODE_AUDIO"]', jobType: 'transcode' },
      { name: 'events', when: 'body.type in ["NF", "CBE", "SUBS_UPGRADE_DOWNGRADE_SIDE_EFFECT", "TRIGGER_ANALYTICS_JOB"]', jobType: 'fable-event' },
    ],
  });
  controller = await startController({ namespace: ns.name });
});

afterAll(() => cleanUp(ns, [controller]));

async function send(queue: string, body: string): Promise<string> {
  const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: queues[queue], MessageBody: body }));
  return MessageId!;
}

async function jobFor(messageId: string): Promise<k8s.V1Job> {
  const [job] = await waitForJobCount(ns.name, 1, `sluice.dev/message-id=${messageId}`);
  return job!;
}

const env = (job: k8s.V1Job, name: string) => job.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === name)?.value;

describe('000 training platform: routing by key presence and field value', () => {
  it.each([
    ['{"roleplay":{"sessionId":"rp-1","transcript":"…","userAudioDuration":93}}', 'roleplay-grading'],
    ['{"roleplayVideo":{"sessionId":"rp-2"},"roleplay":{"sessionId":"rp-2"}}', 'roleplay-video'],
    ['{"evaluationType":"interview","userId":"u-7","interviewId":"iv-3"}', 'interview-eval'],
    ['{"reportType":"activities","companyId":"c-1"}', 'report'],
    ['{"smartNudge":true,"userIds":["u-1","u-2"]}', 'nudge'],
    ['{"trainingExpiry":{"days":3}}', 'nudge'],
  ])('%s → %s', async (body, jobType) => {
    const job = await jobFor(await send('training', body));
    expect(job.metadata?.labels?.['sluice.dev/job-type']).toBe(jobType);
    expect(job.metadata?.labels?.['sluice.dev/binding']).toBe('training');
    expect(payloadOf(job)).toBe(body);
    expect(env(job, 'SLUICE_PAYLOAD')).toBe(body);
  });
});

describe('001 interview pipeline', () => {
  it('turns {"interview_id": …} into one processing Job carrying the message', async () => {
    const body = '{"interview_id":"5b0c6c1e-2f65-4a0e-9d51-0e8f2b8f3c11"}';
    const job = await jobFor(await send('interviews', body));
    expect(job.metadata?.labels?.['sluice.dev/job-type']).toBe('interview-processing');
    expect(job.spec?.backoffLimit).toBe(3);
    expect(payloadOf(job)).toBe(body);
  });
});

describe('002 Fable jobs service', () => {
  it('routes a legacy pipe string and delivers it unchanged', async () => {
    const body = 'TRANSCODE_VIDEO|job-id-456|{"src":"s3://fable-assets/in.mov","preset":"1080p"}';
    const job = await jobFor(await send('fable-jobs', body));
    expect(job.metadata?.labels?.['sluice.dev/job-type']).toBe('transcode');
    expect(job.metadata?.annotations?.['sluice.dev/dedupe-key']).toBe('job-id-456');
    expect(payloadOf(job)).toBe(body);
    expect(env(job, 'SLUICE_PAYLOAD_FORMAT')).toBe('pipe');
  });

  it('routes the JSON {type, jobId, metadata} shape', async () => {
    const body = '{"type":"NF","jobId":"job-789","metadata":{"event":"signup","orgId":42}}';
    const job = await jobFor(await send('fable-jobs', body));
    expect(job.metadata?.labels?.['sluice.dev/job-type']).toBe('fable-event');
    expect(env(job, 'SLUICE_PAYLOAD_FORMAT')).toBe('json');
  });
});

describe('envelopes producers already use', () => {
  it('unwraps an SNS notification and routes on the message inside', async () => {
    const inner = '{"interview_id":"from-sns"}';
    const sns = JSON.stringify({
      Type: 'Notification', MessageId: 'a1b2', TopicArn: 'arn:aws:sns:us-east-1:123456789012:interviews',
      Message: inner, Timestamp: '2026-11-23T10:00:00.000Z',
    });
    const job = await jobFor(await send('interviews', sns));
    expect(job.metadata?.labels?.['sluice.dev/job-type']).toBe('interview-processing');
    expect(payloadOf(job)).toBe(inner);
  });

  it('unwraps an EventBridge event and hands its detail to the Job', async () => {
    const event = JSON.stringify({
      version: '0', id: 'e-1', 'detail-type': 'InterviewUploaded', source: 'app.interviews', account: '123456789012',
      time: '2026-11-23T10:00:00Z', region: 'us-east-1', resources: [], detail: { interview_id: 'from-eventbridge' },
    });
    const job = await jobFor(await send('interviews', event));
    expect(JSON.parse(payloadOf(job)!)).toEqual({ interview_id: 'from-eventbridge' });
  });
});

describe('placement', () => {
  it('runs the GPU JobType on the GPU pool and every CPU JobType elsewhere', async () => {
    const jobs = await sluiceJobs(ns.name);
    expect(jobs.length).toBe(11); // one per message above
    const pods = await eventually('every Sluice pod to be scheduled', async () => {
      const list = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app.kubernetes.io/managed-by=sluice' })).items;
      return list.length >= jobs.length && list.every((p) => p.spec?.nodeName) ? list : undefined;
    });
    for (const pod of pods) {
      const node = await core.readNode({ name: pod.spec!.nodeName! });
      const expected = pod.metadata?.labels?.['sluice.dev/job-type'] === 'roleplay-video' ? 'gpu' : 'cpu';
      expect(node.metadata?.labels?.pool, pod.metadata?.name).toBe(expected);
    }
  });

  it('exposes what happened as Prometheus metrics', async () => {
    const metrics = await controller.metrics();
    const value = (pattern: RegExp) => Number(pattern.exec(metrics)?.[1] ?? NaN);
    expect(value(/sluice_messages_dispatched_total\{namespace="[^"]+",binding="training",job_type="nudge"\} (\d+)/)).toBe(2);
    expect(value(/sluice_messages_received_total\{namespace="[^"]+",binding="fable-jobs"\} (\d+)/)).toBe(2);
    expect(value(/controller_runtime_reconcile_total\{controller="queuebinding",result="requeue_after"\} (\d+)/)).toBeGreaterThan(0);
    expect(metrics).toMatch(/workqueue_depth\{name="job",controller="job"\} \d+/);
  });

  it('deletes every dispatched message from its queue', async () => {
    for (const queueUrl of Object.values(queues)) {
      await eventually(`${queueUrl} to be empty`, async () => ((await queueDepth(queueUrl)) === 0 ? true : undefined));
    }
  });
});
