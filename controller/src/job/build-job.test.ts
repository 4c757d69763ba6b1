import { describe, expect, it } from 'vitest';
import { jobTypeSpecSchema, type JobType } from '../api/schemas.ts';
import { ANNOTATION_PAYLOAD_MAX_BYTES, buildJob, type JobRequest } from './build-job.ts';

const jobType = (spec: Record<string, unknown>, name = 'transcode'): JobType => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'JobType',
  metadata: { name, namespace: 'media' },
  spec: jobTypeSpecSchema.parse({ image: 'registry.invalid/transcoder:1', ...spec }),
});

const request = (raw = '{"jobId":"j-1"}', extra: Partial<JobRequest> = {}): JobRequest => ({
  namespace: 'media',
  binding: 'fable-jobs',
  queueUrl: 'http://127.0.0.1:15000/000000000000/fable-jobs',
  route: 'transcode',
  messageId: '0f4c1f2a-7d5e-4c5b-9a8e-3b1d2c4e5f60',
  dedupeKey: '0f4c1f2a-7d5e-4c5b-9a8e-3b1d2c4e5f60',
  sentTimestamp: 1_700_000_000_000,
  payload: { raw, format: 'json', bytes: Buffer.byteLength(raw) },
  ...extra,
});

describe('buildJob', () => {
  it('gives the container the progress API and a token bound to its pod for audience sluice, only when offered', () => {
    const { job } = buildJob(request('{}', { progressUrl: 'http://10.96.0.20:8082/v1/progress', dispatcher: 'sluice-controller-7d9f-x2' }), jobType({}));
    const pod = job.spec!.template;
    const container = pod.spec!.containers[0]!;
    expect(container.env).toEqual(expect.arrayContaining([
      { name: 'SLUICE_PROGRESS_URL', value: 'http://10.96.0.20:8082/v1/progress' },
      { name: 'SLUICE_TOKEN_FILE', value: '/var/run/secrets/sluice/token' },
    ]));
    expect(pod.spec?.volumes).toContainEqual({
      name: 'sluice-token',
      projected: { sources: [{ serviceAccountToken: { audience: 'sluice', expirationSeconds: 3600, path: 'token' } }] },
    });
    expect(container.volumeMounts).toContainEqual({ name: 'sluice-token', mountPath: '/var/run/secrets/sluice', readOnly: true });
    expect(job.metadata?.labels?.['sluice.dev/dispatcher']).toBe('sluice-controller-7d9f-x2');

    const without = buildJob(request(), jobType({})).job.spec!.template.spec!;
    expect(without.containers[0]!.env?.map((e) => e.name)).not.toContain('SLUICE_PROGRESS_URL');
    expect(without.volumes?.map((v) => v.name)).not.toContain('sluice-token');
  });

  it('labels, names and finalizes the Job so it can be found and its outcome recorded', () => {
    const { job, secret } = buildJob(request(), jobType({}));
    expect(secret).toBeUndefined();
    expect(job.metadata?.name).toMatch(/^fable-jobs-[0-9a-f]{16}$/);
    expect(job.metadata?.labels).toMatchObject({
      'sluice.dev/binding': 'fable-jobs',
      'sluice.dev/job-type': 'transcode',
      'sluice.dev/message-id': '0f4c1f2a-7d5e-4c5b-9a8e-3b1d2c4e5f60',
      'app.kubernetes.io/managed-by': 'sluice',
    });
    expect(job.metadata?.annotations?.['sluice.dev/sent-at']).toBe('2023-11-14T22:13:20.000Z');
    expect(job.metadata?.finalizers).toEqual(['sluice.dev/outcome']);
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
  });

  it('delivers a small payload as a file through the downward API and as $SLUICE_PAYLOAD', () => {
    const { job } = buildJob(request(), jobType({}));
    const pod = job.spec!.template;
    const container = pod.spec!.containers[0]!;
    expect(pod.metadata?.annotations?.['sluice.dev/payload']).toBe('{"jobId":"j-1"}');
    expect(pod.spec?.volumes).toContainEqual({
      name: 'sluice-payload',
      downwardAPI: { items: [{ path: 'payload', fieldRef: { fieldPath: "metadata.annotations['sluice.dev/payload']" } }] },
    });
    expect(container.volumeMounts).toContainEqual({ name: 'sluice-payload', mountPath: '/var/run/sluice', readOnly: true });
    expect(container.env).toContainEqual({ name: 'SLUICE_PAYLOAD', value: '{"jobId":"j-1"}' });
    expect(container.env).toContainEqual({ name: 'SLUICE_PAYLOAD_FILE', value: '/var/run/sluice/payload' });
  });

  it('keeps payloads over envMaxBytes out of the environment', () => {
    const raw = JSON.stringify({ data: 'x'.repeat(5000) });
    const { job } = buildJob(request(raw), jobType({}));
    const env = job.spec!.template.spec!.containers[0]!.env!;
    expect(env.find((e) => e.name === 'SLUICE_PAYLOAD')).toBeUndefined();
    expect(job.spec!.template.metadata?.annotations?.['sluice.dev/payload']).toBe(raw);
  });

  it('moves sensitive payloads into a Secret, never into env or annotations', () => {
    const { job, secret } = buildJob(request(), jobType({ payload: { sensitive: true } }));
    expect(secret?.metadata?.name).toBe(job.metadata?.name);
    expect(secret?.stringData).toEqual({ payload: '{"jobId":"j-1"}' });
    expect(job.spec!.template.metadata?.annotations?.['sluice.dev/payload']).toBeUndefined();
    expect(job.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === 'SLUICE_PAYLOAD')).toBeUndefined();
    expect(job.spec!.template.spec!.volumes).toContainEqual({
      name: 'sluice-payload',
      secret: { secretName: job.metadata!.name, items: [{ key: 'payload', path: 'payload' }] },
    });
  });

  it('moves payloads too large for an annotation into a Secret', () => {
    const raw = 'y'.repeat(ANNOTATION_PAYLOAD_MAX_BYTES + 1);
    expect(buildJob(request(raw), jobType({})).secret?.stringData?.payload).toBe(raw);
  });

  it('requests GPUs and places them on the GPU pool with the default toleration', () => {
    const { job } = buildJob(request(), jobType({ gpu: { count: 2, nodeSelector: { pool: 'gpu' } } }));
    const pod = job.spec!.template.spec!;
    expect(pod.containers[0]!.resources?.limits).toEqual({ 'nvidia.com/gpu': '2' });
    expect(pod.nodeSelector).toEqual({ pool: 'gpu' });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
  });

  it('has no GPU placement for CPU job types', () => {
    const { job } = buildJob(request(), jobType({ resources: { requests: { cpu: '500m', memory: 1024 } } }));
    const pod = job.spec!.template.spec!;
    expect(pod.tolerations).toBeUndefined();
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.containers[0]!.resources).toEqual({ requests: { cpu: '500m', memory: '1024' }, limits: {} });
  });

  it('maps retries onto backoffLimit and a podFailurePolicy for non-retryable exit codes', () => {
    const { job } = buildJob(request(), jobType({
      retries: { backoffLimit: 3, nonRetryableExitCodes: [2, 42] },
      activeDeadlineSeconds: 900,
      ttlSecondsAfterFinished: 60,
    }));
    expect(job.spec).toMatchObject({ backoffLimit: 3, activeDeadlineSeconds: 900, ttlSecondsAfterFinished: 60 });
    expect(job.spec?.podFailurePolicy?.rules).toContainEqual({
      action: 'FailJob',
      onExitCodes: { containerName: 'job', operator: 'In', values: [2, 42] },
    });
  });

  it('merges the pod template beneath the generated fields', () => {
    const { job } = buildJob(request(), jobType({
      podTemplate: {
        metadata: { annotations: { 'sim.sluice.dev/outcome': 'fail' }, labels: { team: 'media' } },
        spec: { priorityClassName: 'batch', volumes: [{ name: 'scratch', emptyDir: {} }] },
      },
    }));
    const template = job.spec!.template;
    expect(template.metadata?.annotations?.['sim.sluice.dev/outcome']).toBe('fail');
    expect(template.metadata?.labels).toMatchObject({ team: 'media', 'sluice.dev/binding': 'fable-jobs' });
    expect(template.spec?.priorityClassName).toBe('batch');
    expect(template.spec?.volumes?.map((v) => v.name)).toEqual(['scratch', 'sluice-payload']);
  });

  it('submits to Kueue suspended, with the queue label', () => {
    const { job } = buildJob(request(), jobType({ kueue: { queueName: 'gpu-queue' } }));
    expect(job.spec?.suspend).toBe(true);
    expect(job.metadata?.labels?.['kueue.x-k8s.io/queue-name']).toBe('gpu-queue');
  });
});
