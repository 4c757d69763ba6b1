import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { sqsRequests } from '../metrics.ts';
import { awsClientOptions, makeSqsClient, regionFromQueueUrl, SharedAwsClients } from './client.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/renders';
const keys = { accessKeyId: 'AKIA1', secretAccessKey: 'one' };

describe('regionFromQueueUrl', () => {
  it('reads the region of an AWS queue URL, none from a local endpoint', () => {
    expect(regionFromQueueUrl(queueUrl)).toBe('eu-west-1');
    expect(regionFromQueueUrl('https://eu-west-2.queue.amazonaws.com/1/q')).toBe('eu-west-2');
    expect(regionFromQueueUrl('http://127.0.0.1:9324/000000000000/q')).toBeUndefined();
  });
});

describe('SharedAwsClients', () => {
  it('gives bindings with the same region, endpoint and credentials one client', async () => {
    const clients = new SharedAwsClients();
    const first = clients.sqs(awsClientOptions({ queueUrl }, keys));
    expect(clients.sqs(awsClientOptions({ queueUrl: `${queueUrl}-other` }, { ...keys }))).toBe(first);
    // Two callers at once, before the S3 module has loaded, get the one client too.
    const [s3, again] = await Promise.all([clients.s3(awsClientOptions({ queueUrl }, keys)), clients.s3(awsClientOptions({ queueUrl }, keys))]);
    expect(s3).toBe(again);
    expect(await clients.s3(awsClientOptions({ queueUrl }))).not.toBe(s3);
  });

  it('gives other credentials, a rotated secret, another region or endpoint a client of their own', () => {
    const clients = new SharedAwsClients();
    const first = clients.sqs(awsClientOptions({ queueUrl }, keys));
    expect(clients.sqs(awsClientOptions({ queueUrl }, { ...keys, secretAccessKey: 'two' }))).not.toBe(first);
    expect(clients.sqs(awsClientOptions({ queueUrl }, { ...keys, accessKeyId: 'AKIA2' }))).not.toBe(first);
    expect(clients.sqs(awsClientOptions({ queueUrl }, { ...keys, sessionToken: 't' }))).not.toBe(first);
    expect(clients.sqs(awsClientOptions({ queueUrl }))).not.toBe(first);
    expect(clients.sqs(awsClientOptions({ queueUrl, region: 'us-east-1' }, keys))).not.toBe(first);
    expect(clients.sqs(awsClientOptions({ queueUrl, endpoint: 'http://127.0.0.1:9324' }, keys))).not.toBe(first);
  });

  it('lets a client nothing else holds be collected, and makes a new one after', async () => {
    const clients = new SharedAwsClients();
    const marked = new WeakSet<object>();
    marked.add(clients.sqs(awsClientOptions({ queueUrl }, keys)));
    const held = clients.sqs(awsClientOptions({ queueUrl: 'http://127.0.0.1:9324/000000000000/q' }));
    marked.add(held);
    // A WeakRef keeps its target until the current job ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(marked.has(clients.sqs(awsClientOptions({ queueUrl }, keys)))).toBe(false);
    expect(clients.sqs(awsClientOptions({ queueUrl: 'http://127.0.0.1:9324/000000000000/q' }))).toBe(held);
  });
});

describe('sluice_sqs_requests_total', () => {
  const count = async (operation: string) => (await sqsRequests.get()).values.find((v) => v.labels.operation === operation)?.value ?? 0;

  it('counts each call of a binding\'s client once by operation, however often the SDK retries it', async () => {
    // Nothing listens on port 1: every attempt fails, and the SDK retries up to maxAttempts.
    const options = awsClientOptions({ queueUrl: 'http://127.0.0.1:1/000000000000/q', endpoint: 'http://127.0.0.1:1' }, keys);
    const before = { receive: await count('ReceiveMessage'), delete: await count('DeleteMessageBatch') };
    const shared = new SharedAwsClients().sqs({ ...options, region: 'us-east-1' });
    await expect(shared.send(new ReceiveMessageCommand({ QueueUrl: 'http://127.0.0.1:1/000000000000/q' }))).rejects.toThrow();
    await expect(makeSqsClient({ ...options, region: 'us-east-1' }).send(new DeleteMessageBatchCommand({ QueueUrl: 'http://127.0.0.1:1/000000000000/q', Entries: [{ Id: '0', ReceiptHandle: 'r' }] }))).rejects.toThrow();
    expect(await count('ReceiveMessage')).toBe(before.receive + 1);
    expect(await count('DeleteMessageBatch')).toBe(before.delete + 1);
  });
});
