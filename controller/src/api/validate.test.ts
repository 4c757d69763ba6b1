import { describe, expect, it } from 'vitest';
import { parseJobTypeSpec, parseQueueBindingSpec, parseSpec, parseStatusSinkSpec } from './validate.ts';

const queueUrl = 'http://127.0.0.1:15000/000000000000/orders';
const minimalBinding = { queueUrl, routes: [{ name: 'all', jobType: 'transcode' }] };
const mongodb = { uriSecretRef: { name: 'mongo', key: 'uri' }, database: 'app' };

function failure(result: { success: true } | { success: false; message: string }): string {
  if (result.success) throw new Error('expected the spec to be rejected');
  return result.message;
}

describe('parseQueueBindingSpec', () => {
  it('applies the defaults, nested ones included', () => {
    const result = parseQueueBindingSpec(minimalBinding);
    expect(result).toEqual({
      success: true,
      spec: {
        queueUrl,
        routes: [{ name: 'all', when: 'true', jobType: 'transcode' }],
        receive: { waitTimeSeconds: 20, maxMessages: 10, visibilityTimeoutSeconds: 60 },
        message: {
          format: 'auto',
          unwrap: ['sns', 'eventbridge', 's3Event', 'extendedClient'],
          pipeFields: ['type', 'jobId', 'metadata'],
          maxBodyBytes: 1048576,
          deleteExtendedPayloads: true,
        },
        maxInFlight: 100,
        suspend: false,
        dispatcher: {
          mode: 'embedded',
          replicas: 1,
          autoscaling: {
            minReplicas: 0, maxReplicas: 10, messagesPerReplica: 10, activationMessages: 0,
            pollingIntervalSeconds: 10, cooldownSeconds: 60, scaleDownStabilizationSeconds: 60, podIdentityProvider: 'aws',
          },
        },
      },
    });
  });

  it('names the field and the limit of an out-of-range value', () => {
    const message = failure(parseQueueBindingSpec({ ...minimalBinding, receive: { waitTimeSeconds: 21 } }));
    expect(message).toBe('spec.receive.waitTimeSeconds: Too big: expected number to be <=20');
  });

  it('reports every problem on one line, as a condition message needs', () => {
    const message = failure(parseQueueBindingSpec({ queueUrl: 'not a url', routes: [{ name: 'all' }], message: { format: 'xml' } }));
    expect(message).not.toContain('\n');
    expect(message).toContain('spec.queueUrl: Invalid URL');
    expect(message).toContain('spec.routes[0].jobType: Invalid input: expected string, received undefined');
    expect(message).toMatch(/spec\.message\.format: Invalid option: expected one of "auto"\|"json"\|"pipe"\|"text"/);
  });

  it("enforces the CRD's CEL rule that the dead-letter queue differs from the source", () => {
    expect(failure(parseQueueBindingSpec({ ...minimalBinding, deadLetter: { queueUrl } }))).toBe(
      'spec: deadLetter.queueUrl must differ from queueUrl',
    );
    expect(parseQueueBindingSpec({ ...minimalBinding, deadLetter: { queueUrl: `${queueUrl}-dlq` } }).success).toBe(true);
  });
});

describe('parseJobTypeSpec', () => {
  it('applies the defaults of payload, retries, TTL and the GPU resource name', () => {
    const result = parseJobTypeSpec({ image: 'media:1', gpu: { count: 2 } });
    expect(result).toEqual({
      success: true,
      spec: {
        image: 'media:1',
        gpu: { count: 2, resourceName: 'nvidia.com/gpu' },
        payload: { mountPath: '/var/run/sluice', fileName: 'payload', envMaxBytes: 4096, sensitive: false },
        retries: { backoffLimit: 2 },
        ttlSecondsAfterFinished: 3600,
      },
    });
  });

  it('keeps embedded Kubernetes objects as they are', () => {
    const env = [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } }];
    const result = parseJobTypeSpec({ image: 'media:1', env });
    expect(result.success && result.spec.env).toEqual(env);
  });

  it('accepts resource quantities as strings or whole numbers, not fractions or words', () => {
    const withResources = (resources: unknown) => parseJobTypeSpec({ image: 'a', resources });
    expect(withResources({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 2 } }).success).toBe(true);
    expect(failure(withResources({ requests: { cpu: 0.5 } }))).toMatch(/^spec\.resources\.requests\.cpu: /);
    expect(failure(withResources({ limits: { memory: 'lots' } }))).toMatch(/^spec\.resources\.limits\.memory: /);
  });

  it('rejects GPUs set through resources.limits, as the CRD rule does', () => {
    const spec = { image: 'a', gpu: { count: 1 }, resources: { limits: { 'nvidia.com/gpu': 1 } } };
    expect(failure(parseJobTypeSpec(spec))).toBe('spec: set GPUs with gpu.count, not resources.limits');
    expect(parseJobTypeSpec({ ...spec, resources: { limits: { cpu: 1 } } }).success).toBe(true);
  });
});

describe('parseStatusSinkSpec', () => {
  it('accepts exactly one backend', () => {
    expect(parseStatusSinkSpec({ mongodb }).success).toBe(true);
    expect(parseStatusSinkSpec({ dynamodb: { table: 'jobs' } }).success).toBe(true);
  });

  it('rejects two backends or none with the CRD rule message', () => {
    const expected = 'spec: exactly one of mongodb, dynamodb or postgres must be set';
    expect(failure(parseStatusSinkSpec({ mongodb, dynamodb: { table: 'jobs' } }))).toBe(expected);
    expect(failure(parseStatusSinkSpec({}))).toBe(expected);
  });
});

describe('parseSpec', () => {
  it('rejects what is not an object at all', () => {
    expect(failure(parseSpec('JobType', undefined))).toBe('spec: Invalid input: expected object, received undefined');
  });
});
