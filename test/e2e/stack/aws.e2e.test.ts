// The local AWS endpoint behaves like SQS, S3, SES and DynamoDB where Sluice depends on it.
import {
  ConditionalCheckFailedException, CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { SESClient, SendEmailCommand, VerifyEmailIdentityCommand } from '@aws-sdk/client-ses';
import {
  CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, SendMessageCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stack } from '../support/stack.ts';

const sqs = new SQSClient({});
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return QueueUrl!;
}

async function receive(queueUrl: string, options: { wait?: number; visibility?: number; max?: number } = {}): Promise<Message[]> {
  const { Messages } = await sqs.send(new ReceiveMessageCommand({
    QueueUrl: queueUrl,
    WaitTimeSeconds: options.wait ?? 0,
    VisibilityTimeout: options.visibility,
    MaxNumberOfMessages: options.max ?? 1,
    MessageSystemAttributeNames: ['All'],
  }));
  return Messages ?? [];
}

describe('SQS', () => {
  it('long polling returns as soon as a message arrives, not at the end of the wait', async () => {
    const queueUrl = await createQueue(unique('long-poll'));
    const started = Date.now();
    const received = receive(queueUrl, { wait: 20 });
    await sleep(500);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"hello":"world"}' }));
    const messages = await received;
    expect(messages.map((m) => m.Body)).toEqual(['{"hello":"world"}']);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  // SQS takes 1 MiB since 2025; ElasticMQ refuses anything over 256 KiB whatever MaximumMessageSize
  // says, so 256 KiB is the largest body the local stack can test (larger ones: the extended client).
  it('carries a body of 256 KiB intact and refuses one byte more', async () => {
    const queueUrl = await createQueue(unique('large'), { MaximumMessageSize: '262144' });
    const largest = `{"blob":"${'x'.repeat(262_144 - 11)}"}`;
    expect(Buffer.byteLength(largest)).toBe(262_144);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: largest }));
    const [message] = await receive(queueUrl, { wait: 5 });
    expect(message?.Body).toBe(largest);
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `${largest} ` }))).rejects.toThrow(/too long|MessageTooLong|InvalidParameterValue/i);
  });

  it('an empty long poll waits for WaitTimeSeconds and returns nothing', async () => {
    const queueUrl = await createQueue(unique('empty'));
    const started = Date.now();
    expect(await receive(queueUrl, { wait: 2 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  });

  it('the visibility timeout hides a received message, then exposes it again', async () => {
    const queueUrl = await createQueue(unique('visibility'));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hide me' }));
    const [first] = await receive(queueUrl, { visibility: 2 });
    expect(first?.Body).toBe('hide me');
    expect(await receive(queueUrl)).toEqual([]);
    const [again] = await receive(queueUrl, { wait: 10 });
    expect(again?.MessageId).toBe(first?.MessageId);
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('redrives a message to the dead-letter queue after maxReceiveCount receives', async () => {
    const dlqUrl = await createQueue(unique('dlq'));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
    const queueUrl = await createQueue(unique('redriven'), {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: 2 }),
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'poison' }));
    expect(await receive(queueUrl, { visibility: 1 })).toHaveLength(1);
    await sleep(1_200);
    expect(await receive(queueUrl, { visibility: 1 })).toHaveLength(1);
    await sleep(1_200);
    expect(await receive(queueUrl, { wait: 1 })).toEqual([]);
    const [dead] = await receive(dlqUrl, { wait: 5 });
    expect(dead?.Body).toBe('poison');
  });

  it('FIFO queues deliver a message group in order', async () => {
    const queueUrl = await createQueue(`${unique('ordered')}.fifo`, {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
    });
    for (let i = 0; i < 5; i++) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `step-${i}`, MessageGroupId: 'g1' }));
    }
    const bodies: string[] = [];
    while (bodies.length < 5) {
      const batch = await receive(queueUrl, { wait: 2, max: 10, visibility: 30 });
      expect(batch.length).toBeGreaterThan(0);
      bodies.push(...batch.map((m) => m.Body!));
    }
    expect(bodies).toEqual(['step-0', 'step-1', 'step-2', 'step-3', 'step-4']);
  });
});

describe('S3', () => {
  it('stores and returns an object (path-style addressing)', async () => {
    const s3 = new S3Client({ forcePathStyle: true });
    const bucket = unique('payloads');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big/1.json', Body: '{"large":true}' }));
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big/1.json' }));
    expect(await object.Body?.transformToString()).toBe('{"large":true}');
  });
});

describe('SES', () => {
  it('sends an e-mail that can be read back from the emulator', async () => {
    const ses = new SESClient({});
    const subject = unique('Job failed');
    await ses.send(new VerifyEmailIdentityCommand({ EmailAddress: 'alerts@sluice.test' }));
    await ses.send(new SendEmailCommand({
      Source: 'alerts@sluice.test',
      Destination: { ToAddresses: ['oncall@sluice.test'] },
      Message: { Subject: { Data: subject }, Body: { Html: { Data: '<p>render-42 failed</p>' } } },
    }));
    const data = await (await fetch(`${stack.awsEndpoint}/moto-api/data.json`)).json() as {
      ses?: { Message?: { subject?: string; body?: string; destinations?: unknown }[] };
    };
    const sent = data.ses?.Message?.find((m) => m.subject === subject);
    expect(sent?.body).toContain('render-42 failed');
  });
});

describe('DynamoDB', () => {
  it('a conditional update rejects a stale write', async () => {
    const dynamo = new DynamoDBClient({});
    const table = unique('interviews');
    await dynamo.send(new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: 'interview_id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'interview_id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    await dynamo.send(new PutItemCommand({
      TableName: table,
      Item: { interview_id: { S: 'i-1' }, state: { S: 'processing' }, version: { N: '1' } },
    }));
    const update = (state: string, expectedVersion: number) => dynamo.send(new UpdateItemCommand({
      TableName: table,
      Key: { interview_id: { S: 'i-1' } },
      UpdateExpression: 'SET #s = :s, version = version + :one',
      ConditionExpression: 'version = :v',
      ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: { ':s': { S: state }, ':v': { N: String(expectedVersion) }, ':one': { N: '1' } },
    }));
    await update('completed', 1);
    await expect(update('processing', 1)).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const { Item } = await dynamo.send(new GetItemCommand({ TableName: table, Key: { interview_id: { S: 'i-1' } } }));
    expect(Item?.state?.S).toBe('completed');
    expect(Item?.version?.N).toBe('2');
  });
});
