import { DeleteMessageBatchCommand, type ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { redrive } from '../cli/sre.ts';
import { sendToDeadLetter } from '../sqs/dead-letter.ts';
import { dispatchHarness, type DispatchHarness } from '../testing/dispatch-harness.ts';
import { until } from '../testing/fixtures.ts';

let h: DispatchHarness | undefined;
afterEach(async () => {
  await h?.stopAll();
  h = undefined;
});

/** What the outcome path sends when a Job fails: the payload and Sluice's diagnostics. */
async function deadLetterFailedJob(harness: DispatchHarness, body: string): Promise<void> {
  await sendToDeadLetter(harness.sqs.client, harness.dlqUrl, {
    Body: body, MessageId: 'original-id', MessageAttributes: { tenant: { DataType: 'String', StringValue: 'acme' } },
  }, { reason: 'JobFailed', detail: 'BackoffLimitExceeded: boom', binding: 'jobs', sourceQueueUrl: harness.queueUrl, extra: { JobName: 'x' } });
}

describe('redrive', () => {
  it('runs a redriven message again although its failed Job still exists, and only once per dead letter', async () => {
    h = dispatchHarness({ spec: { dedupeKey: 'body.jobId' } });
    const body = '{"jobId":"j-1"}';
    h.sqs.put(h.queueUrl, body);
    h.start();
    await until('the first Job', () => h!.jobs().length === 1);
    h.finish(h.jobs()[0]!.metadata!.name!, 'Failed');
    await deadLetterFailedJob(h, body);

    // The first redrive sends, then fails to delete the dead letter: it stays and is redriven again.
    h.sqs.fail('deleteBatch', () => new Error('connection reset'), { when: (input) => (input as { QueueUrl?: string }).QueueUrl === h!.dlqUrl });
    await expect(redrive(h.sqs.client, h.dlqUrl, h.queueUrl, 10)).rejects.toThrow(/connection reset/);
    await until('the redriven message to run', () => h!.jobs().length === 2);
    h.sqs.advance(61_000);
    expect(await redrive(h.sqs.client, h.dlqUrl, h.queueUrl, 10)).toBe(1);
    await until('both redriven copies to be handled', () => h!.sqs.messages(h!.queueUrl).length === 0);

    const keys = h.jobs().map((j) => j.metadata?.annotations?.['sluice.dev/dedupe-key']).sort();
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe('j-1');
    expect(keys[1]).toBe('j-1#redrive:original-id');
    expect(h.sqs.messages(h.dlqUrl)).toEqual([]);
    expect(h.deadLetters()).toEqual([]);
  });

  it('runs a failed message once again even when a crash recorded its dead letter twice', async () => {
    h = dispatchHarness({ spec: { dedupeKey: 'body.jobId' } });
    const body = '{"jobId":"j-2"}';
    h.sqs.put(h.queueUrl, body);
    h.start();
    await until('the first Job', () => h!.jobs().length === 1);
    h.finish(h.jobs()[0]!.metadata!.name!, 'Failed');
    await deadLetterFailedJob(h, body);
    await deadLetterFailedJob(h, body);
    expect(await redrive(h.sqs.client, h.dlqUrl, h.queueUrl, 10)).toBe(2);
    await until('both redriven copies to be handled', () => h!.sqs.messages(h!.queueUrl).length === 0);
    expect(h.jobs()).toHaveLength(2);
  });

  it('carries the producer\'s attributes and not Sluice\'s diagnostics', async () => {
    h = dispatchHarness();
    await deadLetterFailedJob(h, '{"n":1}');
    await redrive(h.sqs.client, h.dlqUrl, h.queueUrl, 10);
    const [message] = h.sqs.messages(h.queueUrl);
    expect(Object.keys(message!.messageAttributes).sort()).toEqual(['Sluice.Redrive', 'tenant']);
  });

  it('reports a dead letter it could not delete', async () => {
    h = dispatchHarness();
    await deadLetterFailedJob(h, '{"n":1}');
    const sqs = h.sqs.client;
    const refusingDeletes = {
      send: (command: unknown) => command instanceof DeleteMessageBatchCommand
        ? Promise.resolve({ Successful: [], Failed: [{ Id: '0', Code: 'ReceiptHandleIsInvalid', Message: 'stale', SenderFault: true }] })
        : sqs.send(command as ReceiveMessageCommand),
    } as unknown as SQSClient;
    await expect(redrive(refusingDeletes, h.dlqUrl, h.queueUrl, 1)).rejects.toThrow(/could not delete dead letter .*: ReceiptHandleIsInvalid stale/);
  });
});
