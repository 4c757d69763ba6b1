// Outcome steps that can never succeed are recorded and given up, with a running controller: a
// follow-up body that does not evaluate leaves the Job's message in the dead-letter queue as
// OutcomeFailed, a Warning Event, the JobType's OutcomesHealthy=False, and the finalizer comes off
// (a JSON patch against the real API server). Extended-client payloads are deleted from S3 once
// their message became a Job.
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { core, createTestNamespace, eventually, kubeConfig } from '../support/kube.ts';
import { apply, cleanUp, createQueue, installCrds, queueDepth, sluiceJobs, sqs } from '../support/sluice.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess | undefined;
let queueUrl: string;
let dlqUrl: string;
let nextUrl: string;
const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
const s3 = new S3Client({ forcePathStyle: true });
const bucket = `sluice-payloads-${Date.now()}`;

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('terminal');
  queueUrl = await createQueue(`${ns.name}-jobs`);
  dlqUrl = await createQueue(`${ns.name}-jobs-dlq`);
  nextUrl = await createQueue(`${ns.name}-next`);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await apply('JobType', ns.name, 'broken-pipeline', {
    image: 'registry.invalid/step:1',
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/message': '{"frames":12}' } } },
    onSuccess: { queueUrl: nextUrl, body: '{"id": body.id, "n": result.missing}' },
  });
  await apply('JobType', ns.name, 'large', { image: 'registry.invalid/large:1' });
  await apply('QueueBinding', ns.name, 'jobs', {
    queueUrl,
    deadLetter: { queueUrl: dlqUrl },
    receive: { waitTimeSeconds: 1 },
    routes: [
      { name: 'large', when: 'type(body) == map && body.?kind.orValue("") == "large"', jobType: 'large' },
      { name: 'broken', when: 'true', jobType: 'broken-pipeline' },
    ],
  });
  controller = await startController({ namespace: ns.name });
});

afterAll(() => cleanUp(ns, [controller]));

describe('a follow-up body that can never evaluate', () => {
  it('is recorded and given up: dead letter OutcomeFailed, Events, OutcomesHealthy=False, finalizer released', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"id":"t-1"}' }));
    const job = await eventually('the Job to be released', async () => {
      const [found] = await sluiceJobs(ns.name, 'sluice.dev/job-type=broken-pipeline');
      return found?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') && !found.metadata?.finalizers?.length ? found : undefined;
    }, 90_000);

    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5, MessageAttributeNames: ['All'] }));
    expect(Messages).toHaveLength(1);
    expect(Messages[0]!.Body).toBe('{"id":"t-1"}');
    expect(Messages[0]!.MessageAttributes?.['Sluice.Reason']?.StringValue).toBe('OutcomeFailed');
    expect(Messages[0]!.MessageAttributes?.['Sluice.Detail']?.StringValue).toContain('No such key: missing');
    expect(await queueDepth(nextUrl)).toBe(0);

    const events = await eventually('an OutcomeFailed Event on the Job', async () => {
      const list = await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: `involvedObject.name=${job.metadata!.name!}` });
      return list.items.some((e) => e.reason === 'OutcomeFailed') ? list.items : undefined;
    });
    expect(events.find((e) => e.reason === 'OutcomeFailed')?.type).toBe('Warning');
    const condition = await eventually('OutcomesHealthy=False on the JobType', async () => {
      const jobType = await custom.getNamespacedCustomObject({ group: 'sluice.dev', version: 'v1alpha1', namespace: ns.name, plural: 'jobtypes', name: 'broken-pipeline' }) as { status?: { conditions?: { type: string; status: string; reason: string }[] } };
      return jobType.status?.conditions?.find((c) => c.type === 'OutcomesHealthy' && c.status === 'False');
    }, 30_000);
    expect(condition.reason).toBe('FollowUpInvalid');
    expect(await controller!.metrics()).toMatch(/sluice_outcome_terminal_errors_total\{namespace="[^"]+",job_type="broken-pipeline",reason="FollowUpInvalid"\} 1/);
  });
});

describe('SQS Extended Client payloads', () => {
  it('are deleted from S3 once their message became a Job', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'payload-1', Body: '{"kind":"large","data":"..."}' }));
    await sqs.send(new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(['software.amazon.payloadoffloading.PayloadS3Pointer', { s3BucketName: bucket, s3Key: 'payload-1' }]),
      MessageAttributes: { ExtendedPayloadSize: { DataType: 'Number', StringValue: '29' } },
    }));
    const [job] = await eventually('the Job', async () => {
      const found = await sluiceJobs(ns.name, 'sluice.dev/job-type=large');
      return found.length ? found : undefined;
    }, 60_000);
    expect(job!.spec?.template.metadata?.annotations?.['sluice.dev/payload']).toBe('{"kind":"large","data":"..."}');
    await eventually('the payload to be gone from S3', async () => {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'payload-1' }));
        return undefined;
      } catch (error) {
        return (error as Error).name === 'NotFound' ? true : undefined;
      }
    }, 30_000);
  });
});
