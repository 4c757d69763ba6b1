// Messages that cannot become a Job go to the dead-letter queue with a readable reason, and the
// dispatcher keeps going; without a dead-letter queue they stay in SQS and the binding says so.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { core, createTestNamespace, eventually, kubeConfig } from '../support/kube.ts';
import {
  apply, cleanUp, createQueue, drainQueue, installCrds, queueDepth, sqs, waitForJobCount,
} from '../support/sluice.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess;
let queueUrl: string;
let dlqUrl: string;
let bareQueueUrl: string;
const bucket = `sluice-dlq-test-${Date.now()}`;
const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('deadletter');
  queueUrl = await createQueue(`${ns.name}-jobs`);
  dlqUrl = await createQueue(`${ns.name}-jobs-dlq`);
  bareQueueUrl = await createQueue(`${ns.name}-bare`);
  const s3 = new S3Client({ forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bad-utf8', Body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]) }));

  await apply('JobType', ns.name, 'transcode', { image: 'registry.invalid/worker:1' });
  await apply('QueueBinding', ns.name, 'fable', {
    queueUrl,
    deadLetter: { queueUrl: dlqUrl },
    message: { maxBodyBytes: 2048 },
    routes: [
      { name: 'transcode', when: 'has(body.type) && body.type == "TRANSCODE_VIDEO"', jobType: 'transcode' },
      // int("urgent") is an evaluation error: a routing failure, not a crash.
      { name: 'priority', when: 'has(body.priority) && int(body.priority) > 5', jobType: 'transcode' },
    ],
  });
  await apply('QueueBinding', ns.name, 'bare', {
    queueUrl: bareQueueUrl,
    message: { format: 'json' },
    routes: [{ name: 'all', when: 'true', jobType: 'transcode' }],
  });
  controller = await startController({ namespace: ns.name });
});

afterAll(() => cleanUp(ns, [controller]));

const send = async (url: string, body: string) => {
  const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
  return MessageId!;
};

describe('dead-letter queue', () => {
  it('dead-letters each kind of bad input with its reason and keeps dispatching', async () => {
    const cases: Record<string, string> = {
      MalformedJson: '{"type":"TRANSCODE_VIDEO","jobId": }',
      NoRouteMatched: 'UNKNOWN_TYPE|job-1|{"a":1}',
      RouteEvaluationFailed: '{"priority":"urgent"}',
      BodyTooLarge: JSON.stringify({ type: 'TRANSCODE_VIDEO', blob: 'x'.repeat(3000) }),
      InvalidUtf8: JSON.stringify(['software.amazon.payloadoffloading.PayloadS3Pointer', { s3BucketName: bucket, s3Key: 'bad-utf8' }]),
    };
    const ids = new Map<string, string>();
    for (const [reason, body] of Object.entries(cases)) ids.set(await send(queueUrl, body), reason);
    const goodId = await send(queueUrl, 'TRANSCODE_VIDEO|job-ok|after the bad ones');

    const dead = await drainQueue(dlqUrl, ids.size);
    expect(dead).toHaveLength(ids.size);
    for (const message of dead) {
      const source = message.MessageAttributes?.['Sluice.SourceMessageId']?.StringValue ?? '';
      const reason = message.MessageAttributes?.['Sluice.Reason']?.StringValue;
      expect(reason, `reason for ${source}`).toBe(ids.get(source));
      expect(message.MessageAttributes?.['Sluice.Detail']?.StringValue?.length).toBeGreaterThan(5);
      expect(message.MessageAttributes?.['Sluice.Binding']?.StringValue).toBe('fable');
      expect(message.Body).toBe(cases[reason!]);
    }
    const detail = (r: string) => dead.find((m) => m.MessageAttributes?.['Sluice.Reason']?.StringValue === r)
      ?.MessageAttributes?.['Sluice.Detail']?.StringValue;
    expect(detail('NoRouteMatched')).toContain('transcode, priority');
    expect(detail('RouteEvaluationFailed')).toContain('route priority');

    await waitForJobCount(ns.name, 1, `sluice.dev/message-id=${goodId}`);
    await eventually('the source queue to be empty', async () => ((await queueDepth(queueUrl)) === 0 ? true : undefined));
    expect(controller.child.exitCode).toBeNull();
  });

  it('counts dead letters in the binding status', async () => {
    const binding = await eventually('status to count dead letters', async () => {
      const object = await custom.getNamespacedCustomObject({ group: 'sluice.dev', version: 'v1alpha1', namespace: ns.name, plural: 'queuebindings', name: 'fable' }) as { status?: { deadLettered?: number; dispatched?: number } };
      return (object.status?.deadLettered ?? 0) >= 5 ? object : undefined;
    }, 30_000);
    expect(binding.status?.deadLettered).toBe(5);
    expect(binding.status?.dispatched).toBe(1);
  });
});

describe('without a dead-letter queue', () => {
  it('leaves the message in SQS and says so in a condition and an Event', async () => {
    await send(bareQueueUrl, 'not json at all');
    type Status = { status?: { conditions?: { type: string; status: string; reason: string; message?: string }[] } };
    const condition = await eventually('a DeadLetterQueue condition about the stuck message', async () => {
      const object = await custom.getNamespacedCustomObject({ group: 'sluice.dev', version: 'v1alpha1', namespace: ns.name, plural: 'queuebindings', name: 'bare' }) as Status;
      const found = object.status?.conditions?.find((c) => c.type === 'DeadLetterQueue');
      return found?.message?.startsWith('messages that cannot run stay in SQS') ? found : undefined;
    }, 30_000);
    expect(condition).toMatchObject({ status: 'False', reason: 'NoDeadLetterQueue' });
    const events = await eventually('a NoDeadLetterQueue event', async () => {
      const list = await core.listNamespacedEvent({ namespace: ns.name });
      const found = list.items.filter((e) => e.reason === 'NoDeadLetterQueue');
      return found.length ? found : undefined;
    });
    expect(events[0]?.type).toBe('Warning');
    expect(await queueDepth(bareQueueUrl)).toBe(1);
  });
});
