import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { jobTypeSpecSchema, type JobType } from '../api/schemas.ts';
import { histogram, metricValue } from '../testing/metrics.ts';
import type { SinkWrite, StatusSinkClient } from '../sinks/types.ts';
import { writeVersion } from '../sinks/types.ts';
import { podIdentity, PodTokenVerifier, type PodIdentity } from './identity.ts';
import { ProgressService } from './progress.ts';

const sentAt = '2026-11-23T10:00:00.000Z';
const job = (overrides: Partial<k8s.V1Job> = {}): k8s.V1Job => ({
  metadata: {
    name: 'courses-0123456789abcdef', namespace: 'ns', uid: 'job-uid',
    labels: { 'app.kubernetes.io/managed-by': 'sluice', 'sluice.dev/job-type': 'generate-course' },
    annotations: { 'sluice.dev/status-key': 'course-7', 'sluice.dev/sent-at': sentAt, 'sluice.dev/message-id': 'm-1' },
    finalizers: ['sluice.dev/outcome'],
  },
  status: { active: 1, ready: 1 },
  ...overrides,
});
const pod: k8s.V1Pod = {
  metadata: { name: 'courses-0123456789abcdef-x7k2p', namespace: 'ns', uid: 'pod-uid', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'courses-0123456789abcdef', uid: 'job-uid', controller: true }] },
};
const jobType: JobType = {
  apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'generate-course', namespace: 'ns' },
  spec: jobTypeSpecSchema.parse({
    image: 'x',
    statusSink: { name: 'db', table: 'courses', key: { field: 'course_id', value: 'body.courseId' }, values: { running: 'generating' }, fields: { progress: 'progress', current_step: 'progressStep' } },
  }),
};
const identity: PodIdentity = { namespace: 'ns', serviceAccount: 'default', podName: pod.metadata!.name!, podUid: 'pod-uid' };

function service(options: { job?: k8s.V1Job; identity?: PodIdentity | undefined; sinkErrors?: Error[] } = {}) {
  const writes: SinkWrite[] = [];
  const sink: StatusSinkClient = {
    write: (w) => {
      const error = options.sinkErrors?.shift();
      if (error) return Promise.reject(error);
      writes.push(w);
      return Promise.resolve('written');
    },
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  let now = 1_000;
  const progress = new ProgressService({
    verify: (token) => Promise.resolve(token === 'good' ? ('identity' in options ? options.identity : identity) : undefined),
    getPod: (_, name) => Promise.resolve(name === pod.metadata!.name ? pod : undefined),
    getJob: () => Promise.resolve(options.job ?? job()),
    getJobType: () => Promise.resolve(jobType),
    sink: () => Promise.resolve(sink),
    now: () => (now += 50),
  });
  return { progress, writes };
}

describe('ProgressService', () => {
  it('times its StatusSink writes and counts the failed ones, as the outcome path does', async () => {
    const labels = { namespace: 'ns', sink: 'db' };
    const { progress } = service({ sinkErrors: [new Error('connection refused')] });
    expect(await progress.report('good', { percent: 10 })).toMatchObject({ status: 503 });
    expect(await metricValue('sluice_sink_write_errors_total', labels)).toBe(1);
    expect(await progress.report('good', { percent: 20 })).toEqual({ status: 204 });
    expect(await metricValue('sluice_sink_write_errors_total', labels)).toBe(1);
    expect((await histogram('sluice_sink_write_seconds', labels))?.count).toBe(2);
    expect(await metricValue('sluice_progress_reports_total', { namespace: 'ns', job_type: 'generate-course', result: 'accepted' })).toBe(1);
  });

  it('writes the percentage and step into the record with a version between running and the end', async () => {
    const { progress, writes } = service();
    expect(await progress.report('good', { percent: 40, step: 'lessons', job: 'courses-0123456789abcdef' })).toEqual({ status: 204 });
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ table: 'courses', keyField: 'course_id', key: 'course-7', fields: { status: 'generating', progress: 40, current_step: 'lessons' } });
    const sent = Date.parse(sentAt);
    expect(writes[0]!.version).toBeGreaterThan(writeVersion(sent, 'running'));
    expect(writes[0]!.version).toBeLessThan(writeVersion(sent, 'succeeded'));
  });

  it.each([
    ['no token', undefined, { percent: 5 }, 401],
    ['a forged token', 'forged', { percent: 5 }, 401],
    ['a percentage over 100', 'good', { percent: 140 }, 400],
    ['a body without a percentage', 'good', { step: 'x' }, 400],
    ['another Job named in the report', 'good', { percent: 5, job: 'someone-elses-job' }, 403],
  ])('refuses %s and writes nothing', async (_, token, body, status) => {
    const { progress, writes } = service();
    expect((await progress.report(token, body)).status).toBe(status);
    expect(writes).toHaveLength(0);
  });

  it('refuses a pod that is not the one the token was issued to (same name, new pod)', async () => {
    const { progress, writes } = service({ identity: { ...identity, podUid: 'other-uid' } });
    expect((await progress.report('good', { percent: 5 })).status).toBe(403);
    expect(writes).toHaveLength(0);
  });

  it('refuses a pod whose owner is not a Job Sluice created', async () => {
    const foreign = job();
    foreign.metadata!.labels = {};
    const { progress } = service({ job: foreign });
    expect((await progress.report('good', { percent: 5 })).status).toBe(403);
  });

  it('answers 409 once the Job finished, so the job stops reporting, and writes nothing', async () => {
    const { progress, writes } = service({ job: job({ status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } }) });
    expect((await progress.report('good', { percent: 100 })).status).toBe(409);
    expect(writes).toHaveLength(0);
  });

  it('limits a Job to a few reports a second', async () => {
    const { progress } = service();
    const statuses = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await progress.report('good', { percent: i })).status);
    expect(statuses).toContain(429);
  });
});

describe('PodTokenVerifier', () => {
  const review = (status: k8s.V1TokenReviewStatus) => {
    const calls: string[] = [];
    const verifier = new PodTokenVerifier((token) => { calls.push(token); return Promise.resolve(status); });
    return { verifier, calls };
  };
  const authenticated: k8s.V1TokenReviewStatus = {
    authenticated: true, audiences: ['sluice'],
    user: { username: 'system:serviceaccount:ns:default', extra: { 'authentication.kubernetes.io/pod-name': ['p-1'], 'authentication.kubernetes.io/pod-uid': ['u-1'] } },
  };

  it('reads the pod from a bound token\'s review and reviews each token once', async () => {
    const { verifier, calls } = review(authenticated);
    expect(await verifier.verify('t')).toEqual({ namespace: 'ns', serviceAccount: 'default', podName: 'p-1', podUid: 'u-1' });
    await verifier.verify('t');
    expect(calls).toEqual(['t']);
  });

  it('refuses tokens for another audience, unauthenticated ones and ones bound to no pod', () => {
    expect(podIdentity({ ...authenticated, audiences: ['https://kubernetes.default.svc'] })).toBeUndefined();
    expect(podIdentity({ ...authenticated, authenticated: false })).toBeUndefined();
    expect(podIdentity({ ...authenticated, user: { username: 'system:serviceaccount:ns:default' } })).toBeUndefined();
    expect(podIdentity({ ...authenticated, user: { ...authenticated.user, username: 'alice' } })).toBeUndefined();
  });
});
