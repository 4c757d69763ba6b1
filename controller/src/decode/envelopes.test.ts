import { describe, expect, it } from 'vitest';
import { queueBindingSpecSchema } from '../api/schemas.ts';
import { DecodeError, decodeMessage } from './index.ts';
import type { DecodeOptions, MessageAttributes, PayloadStore } from './index.ts';
import { decodeError } from './test-support.ts';

const defaults: DecodeOptions = queueBindingSpecSchema.shape.message.parse({});
const only = (...unwrap: DecodeOptions['unwrap']): DecodeOptions => ({ ...defaults, unwrap });

/** The injected S3 boundary, in memory; records what was fetched. */
function memoryStore(objects: Record<string, string | Uint8Array> = {}) {
  const fetched: string[] = [];
  const store: PayloadStore = {
    getObject(bucket, key) {
      fetched.push(`${bucket}/${key}`);
      const object = objects[`${bucket}/${key}`];
      if (object === undefined) {
        return Promise.reject(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }));
      }
      return Promise.resolve(typeof object === 'string' ? new TextEncoder().encode(object) : object);
    },
  };
  return { store, fetched };
}

const decode = (body: string, options = defaults, store = memoryStore().store, messageAttributes: MessageAttributes = {}) =>
  decodeMessage({ body, messageAttributes }, options, store);


function snsNotification(message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:media-events',
    Subject: 'video uploaded',
    Message: message,
    Timestamp: '2024-05-02T00:54:06.655Z',
    SignatureVersion: '1',
    Signature: 'EXAMPLEw6JRN',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem',
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
    MessageAttributes: {
      tenant: { Type: 'String', Value: 'acme' },
      priority: { Type: 'Number', Value: '5' },
    },
    ...extra,
  });
}

const eventBridgeEvent = (detail: string) =>
  `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Video Uploaded",` +
  `"source":"com.example.media","account":"111122223333","time":"2024-05-02T18:43:48Z",` +
  `"region":"eu-west-1","resources":["arn:aws:s3:::media-uploads"],"detail":${detail}}`;

const s3Event = JSON.stringify({
  Records: [
    {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: '2024-05-02T10:00:00.000Z',
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'uploads',
        bucket: { name: 'media-uploads', arn: 'arn:aws:s3:::media-uploads' },
        object: { key: 'videos/My+Talk+%282024%29.mp4', size: 1048576, eTag: 'd41d8cd98f00b204e9800998ecf8427e' },
      },
    },
  ],
});

const javaPointer = (bucket: string, key: string) =>
  JSON.stringify(['software.amazon.payloadoffloading.PayloadS3Pointer', { s3BucketName: bucket, s3Key: key }]);
const sizeAttribute = (bytes: number, name = 'ExtendedPayloadSize'): MessageAttributes => ({
  [name]: { DataType: 'Number', StringValue: String(bytes) },
});

describe('SNS notification', () => {
  it('unwraps Message and exposes topic, subject and attributes', async () => {
    const decoded = await decode(snsNotification('{"interview_id": "5f0c"}'));
    expect(decoded).toEqual({
      raw: '{"interview_id": "5f0c"}',
      format: 'json',
      body: { interview_id: '5f0c' },
      envelopes: ['sns'],
      envelope: {
        sns: {
          messageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
          topicArn: 'arn:aws:sns:us-east-1:123456789012:media-events',
          subject: 'video uploaded',
          timestamp: '2024-05-02T00:54:06.655Z',
          messageAttributes: { tenant: 'acme', priority: '5' },
        },
      },
      bytes: 24,
    });
  });

  it('keeps Message byte for byte, whatever its format', async () => {
    const decoded = await decode(snsNotification('TRANSCODE_VIDEO|job-1|{"url": "s3://in/a.mov"}'));
    expect(decoded.raw).toBe('TRANSCODE_VIDEO|job-1|{"url": "s3://in/a.mov"}');
    expect(decoded.format).toBe('pipe');
    expect(decoded.body).toEqual({ type: 'TRANSCODE_VIDEO', jobId: 'job-1', metadata: { url: 's3://in/a.mov' } });
  });

  it('works without Subject and MessageAttributes', async () => {
    const body = JSON.stringify({ Type: 'Notification', MessageId: 'm-1', TopicArn: 'arn:aws:sns:us-east-1:1:t', Message: 'hi' });
    const decoded = await decode(body);
    expect(decoded.envelope.sns).toEqual({ messageId: 'm-1', topicArn: 'arn:aws:sns:us-east-1:1:t', messageAttributes: {} });
    expect(decoded).toMatchObject({ raw: 'hi', format: 'text', body: 'hi' });
  });

  it('with raw message delivery there is no envelope', async () => {
    const decoded = await decode('{"interview_id": "5f0c"}');
    expect(decoded.envelopes).toEqual([]);
    expect(decoded.envelope).toEqual({});
  });

  it('leaves other SNS message types (subscription confirmations) as the JSON body', async () => {
    const confirmation = JSON.stringify({
      Type: 'SubscriptionConfirmation',
      MessageId: 'm-1',
      TopicArn: 'arn:aws:sns:us-east-1:1:t',
      Message: 'You have chosen to subscribe',
      SubscribeURL: 'https://sns.example/confirm',
    });
    const decoded = await decode(confirmation);
    expect(decoded.envelopes).toEqual([]);
    expect(decoded.body).toMatchObject({ Type: 'SubscriptionConfirmation' });
  });

  it('is left alone when sns is not in unwrap', async () => {
    const decoded = await decode(snsNotification('hi'), only('eventbridge'));
    expect(decoded.envelopes).toEqual([]);
    expect(decoded.body).toMatchObject({ Type: 'Notification', Message: 'hi' });
  });

  it('rejects a notification without a Message string', async () => {
    const error = await decodeError(decode(snsNotification('x', { Message: { not: 'a string' } })));
    expect(error.reason).toBe('MalformedEnvelope');
    expect(error.message).toBe(
      'SNS notification 22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324 from arn:aws:sns:us-east-1:123456789012:media-events has no Message string',
    );
  });
});

describe('EventBridge event', () => {
  it('unwraps detail and exposes source, detail-type, id and time', async () => {
    const decoded = await decode(eventBridgeEvent('{"videoId": "v-1", "sizeBytes": 1048576}'));
    expect(decoded).toEqual({
      raw: '{"videoId":"v-1","sizeBytes":1048576}',
      format: 'json',
      body: { videoId: 'v-1', sizeBytes: 1048576n },
      envelopes: ['eventbridge'],
      envelope: {
        eventbridge: {
          id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
          source: 'com.example.media',
          detailType: 'Video Uploaded',
          time: '2024-05-02T18:43:48Z',
          account: '111122223333',
          region: 'eu-west-1',
          resources: ['arn:aws:s3:::media-uploads'],
        },
      },
      bytes: 37,
    });
  });

  it('keeps numbers in detail exactly as written', async () => {
    const decoded = await decode(eventBridgeEvent('{"id": 12345678901234567891, "score": 1.0}'));
    expect(decoded.raw).toBe('{"id":12345678901234567891,"score":1.0}');
    expect(decoded.body).toEqual({ id: Number('12345678901234567891'), score: 1 });
  });

  it('needs every EventBridge field; a partial lookalike is a plain body', async () => {
    const decoded = await decode('{"source": "app", "detail-type": "x", "detail": {}}');
    expect(decoded.envelopes).toEqual([]);
  });

  it('rejects an event whose fields have the wrong types', async () => {
    const error = await decodeError(decode(eventBridgeEvent('{}').replace('"source":"com.example.media"', '"source":7')));
    expect(error.reason).toBe('MalformedEnvelope');
    expect(error.message).toBe('EventBridge event has a non-string "source"');
    const resources = eventBridgeEvent('{}').replace('"resources":["arn:aws:s3:::media-uploads"]', '"resources":"x"');
    expect((await decodeError(decode(resources))).message).toBe('EventBridge event has a non-array "resources"');
  });
});

describe('S3 event notification', () => {
  it('keeps the event as the body and exposes bucket, key and event name', async () => {
    const decoded = await decode(s3Event);
    expect(decoded.raw).toBe(s3Event);
    expect(decoded.format).toBe('json');
    expect(decoded.body).toMatchObject({ Records: [{ eventName: 'ObjectCreated:Put' }] });
    expect(decoded.envelopes).toEqual(['s3Event']);
    expect(decoded.envelope).toEqual({
      s3: {
        bucket: 'media-uploads',
        key: 'videos/My Talk (2024).mp4',
        eventName: 'ObjectCreated:Put',
        eventTime: '2024-05-02T10:00:00.000Z',
        region: 'us-east-1',
        size: 1048576n,
      },
    });
  });

  it('treats the s3:TestEvent as a plain JSON body', async () => {
    const testEvent =
      '{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-05-02T10:00:00.000Z","Bucket":"media-uploads","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR"}';
    const decoded = await decode(testEvent);
    expect(decoded).toMatchObject({ format: 'json', envelopes: [], envelope: {} });
    expect(decoded.body).toMatchObject({ Event: 's3:TestEvent' });
  });

  it('ignores Records from other event sources', async () => {
    const decoded = await decode('{"Records": [{"eventSource": "aws:dynamodb"}]}');
    expect(decoded.envelopes).toEqual([]);
  });

  it('rejects a record without bucket or key', async () => {
    const error = await decodeError(decode('{"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "b"}}}]}'));
    expect(error.reason).toBe('MalformedEnvelope');
    expect(error.message).toBe('S3 event record has no s3.bucket.name or s3.object.key');
  });

  it('rejects a key that is not valid URL encoding', async () => {
    const body = s3Event.replace('videos/My+Talk+%282024%29.mp4', 'bad%E0%A4%A');
    const error = await decodeError(decode(body));
    expect(error.message).toBe('S3 event object key "bad%E0%A4%A" is not valid URL encoding');
  });

  it('with the text format the event is the text body', async () => {
    const decoded = await decode(s3Event, { ...defaults, format: 'text' });
    expect(decoded).toMatchObject({ format: 'text', body: s3Event, envelopes: ['s3Event'] });
    expect(decoded.envelope.s3?.bucket).toBe('media-uploads');
  });
});

describe('SQS Extended Client pointer', () => {
  const payload = '{"roleplay": {"transcript": "long text"}}';

  it('fetches the Java/awslabs-Python pointer and decodes the payload', async () => {
    const { store, fetched } = memoryStore({ 'large-payloads/8f1c': payload });
    const decoded = await decode(javaPointer('large-payloads', '8f1c'), defaults, store, sizeAttribute(41));
    expect(fetched).toEqual(['large-payloads/8f1c']);
    expect(decoded).toEqual({
      raw: payload,
      format: 'json',
      body: { roleplay: { transcript: 'long text' } },
      envelopes: ['extendedClient'],
      envelope: { extendedClient: { bucket: 'large-payloads', key: '8f1c', bytes: 41 } },
      bytes: 41,
    });
  });

  it('recognizes the array pointer by its class name, with or without the size attribute', async () => {
    const { store } = memoryStore({ 'b/k': payload });
    const legacy = JSON.stringify(['com.amazon.sqs.javamessaging.MessageS3Pointer', { s3BucketName: 'b', s3Key: 'k' }]);
    expect((await decode(legacy, defaults, store, sizeAttribute(41, 'SQSLargePayloadSize'))).raw).toBe(payload);
    expect((await decode(javaPointer('b', 'k'), defaults, store)).raw).toBe(payload);
  });

  it('fetches the object pointer of boto3 ports when the size attribute is present', async () => {
    const { store } = memoryStore({ 'b/k': payload });
    const pointer = '{"s3BucketName": "b", "s3Key": "k"}';
    expect((await decode(pointer, defaults, store, sizeAttribute(41, 'SQSLargePayloadSize'))).raw).toBe(payload);
    expect((await decode(pointer, defaults, store, sizeAttribute(41))).raw).toBe(payload);
  });

  it('treats an {s3BucketName, s3Key} object without the size attribute as an application body', async () => {
    const { store, fetched } = memoryStore();
    const decoded = await decode('{"s3BucketName": "uploads", "s3Key": "video.mp4"}', defaults, store);
    expect(fetched).toEqual([]);
    expect(decoded).toMatchObject({ envelopes: [], body: { s3BucketName: 'uploads', s3Key: 'video.mp4' } });
  });

  it('fetches the JavaScript clients\u2019 S3MessageBodyKey attribute pointer', async () => {
    const { store, fetched } = memoryStore({ 'payload-bucket/2f0b-key(1)': 'TRANSCODE|job-1|{}' });
    const attributes = { S3MessageBodyKey: { DataType: 'String', StringValue: '(payload-bucket)2f0b-key(1)' } };
    const decoded = await decode('2f0b-key(1)', defaults, store, attributes);
    expect(fetched).toEqual(['payload-bucket/2f0b-key(1)']);
    expect(decoded).toMatchObject({ raw: 'TRANSCODE|job-1|{}', format: 'pipe', envelopes: ['extendedClient'] });
  });

  it('decodes a non-ASCII payload and drops a UTF-8 byte order mark', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"name": "Zoë 🎬"}')]);
    const { store } = memoryStore({ 'b/k': bytes });
    const decoded = await decode(javaPointer('b', 'k'), defaults, store);
    expect(decoded.raw).toBe('{"name": "Zoë 🎬"}');
    expect(decoded.bytes).toBe(bytes.byteLength - 3);
    expect(decoded.envelope.extendedClient?.bytes).toBe(bytes.byteLength);
  });

  it('passes maxBodyBytes to the store', async () => {
    const calls: unknown[][] = [];
    const store: PayloadStore = {
      getObject(...args) {
        calls.push(args);
        return Promise.resolve(new TextEncoder().encode('x'));
      },
    };
    await decode(javaPointer('b', 'k'), { ...defaults, maxBodyBytes: 4096 }, store);
    expect(calls).toEqual([['b', 'k', { maxBytes: 4096 }]]);
  });

  it('is left alone when extendedClient is not in unwrap', async () => {
    const { store, fetched } = memoryStore({ 'b/k': payload });
    const decoded = await decode(javaPointer('b', 'k'), only('sns'), store, sizeAttribute(41));
    expect(fetched).toEqual([]);
    expect(decoded.body).toEqual(['software.amazon.payloadoffloading.PayloadS3Pointer', { s3BucketName: 'b', s3Key: 'k' }]);
  });

  it.each([
    [JSON.stringify(['software.amazon.payloadoffloading.PayloadS3Pointer', { s3BucketName: 'b' }]), {}],
    [JSON.stringify(['software.amazon.payloadoffloading.PayloadS3Pointer', 'b', 'k']), {}],
    ['{"s3BucketName": "", "s3Key": "k"}', sizeAttribute(1)],
    ['k', { S3MessageBodyKey: { DataType: 'String', StringValue: 'no-parens' } }],
    ['k', { S3MessageBodyKey: { DataType: 'String', StringValue: '()k' } }],
  ])('rejects the malformed pointer %s', async (body, attributes) => {
    const error = await decodeError(decode(body, defaults, memoryStore().store, attributes));
    expect(error.reason).toBe('MalformedEnvelope');
  });

  it('explains a malformed pointer', async () => {
    const body = JSON.stringify(['software.amazon.payloadoffloading.PayloadS3Pointer', { s3Key: 'k' }]);
    expect((await decodeError(decode(body))).message).toBe(
      'extended-client pointer software.amazon.payloadoffloading.PayloadS3Pointer has no s3BucketName and s3Key strings',
    );
  });

  it('fails with PayloadFetchFailed, not retryable, when the object is missing', async () => {
    const error = await decodeError(decode(javaPointer('large-payloads', 'gone')));
    expect(error.reason).toBe('PayloadFetchFailed');
    expect(error.message).toBe(
      'could not fetch extended-client payload s3://large-payloads/gone: NoSuchKey: The specified key does not exist. (envelopes: extendedClient)',
    );
    expect(error.retryable).toBe(false);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('marks transient fetch failures retryable', async () => {
    for (const failure of [
      Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      'a thrown string',
    ]) {
      // Stores may reject with anything; a plain string included.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      const store: PayloadStore = { getObject: () => Promise.reject(failure) };
      const error = await decodeError(decode(javaPointer('b', 'k'), defaults, store));
      expect(error.reason).toBe('PayloadFetchFailed');
      expect(error.retryable).toBe(true);
    }
    const notFound: PayloadStore = {
      getObject: () => Promise.reject(Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } })),
    };
    expect((await decodeError(decode(javaPointer('b', 'k'), defaults, notFound))).retryable).toBe(false);
  });

  it('passes a DecodeError from the store through unchanged', async () => {
    const refusal = new DecodeError('BodyTooLarge', 'object s3://b/k is 3 GiB, over the maxBodyBytes limit of 1048576');
    const store: PayloadStore = { getObject: () => Promise.reject(refusal) };
    const error = await decodeError(decode(javaPointer('b', 'k'), defaults, store));
    expect(error.reason).toBe('BodyTooLarge');
    expect(error.message).toBe(`${refusal.message} (envelopes: extendedClient)`);
  });

  it('rejects a payload that is not valid UTF-8', async () => {
    const { store } = memoryStore({ 'b/k': new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]) });
    const error = await decodeError(decode(javaPointer('b', 'k'), defaults, store));
    expect(error.reason).toBe('InvalidUtf8');
    expect(error.message).toBe('extended-client payload s3://b/k is not valid UTF-8 (envelopes: extendedClient)');
  });

  it('rejects UTF-8-encoded surrogates (CESU-8) as invalid UTF-8', async () => {
    const { store } = memoryStore({ 'b/k': new Uint8Array([0xed, 0xa0, 0x80]) });
    expect((await decodeError(decode(javaPointer('b', 'k'), defaults, store))).reason).toBe('InvalidUtf8');
  });

  it('refuses a payload over maxBodyBytes by its size attribute, before fetching', async () => {
    const { store, fetched } = memoryStore({ 'b/k': payload });
    const error = await decodeError(decode(javaPointer('b', 'k'), { ...defaults, maxBodyBytes: 1000 }, store, sizeAttribute(5_000_000)));
    expect(fetched).toEqual([]);
    expect(error.reason).toBe('BodyTooLarge');
    expect(error.message).toBe(
      'extended-client payload s3://b/k is 5000000 bytes (by its size attribute), over the maxBodyBytes limit of 1000 (envelopes: extendedClient)',
    );
  });

  it('refuses a fetched payload over maxBodyBytes', async () => {
    const { store } = memoryStore({ 'b/k': 'x'.repeat(2000) });
    const error = await decodeError(decode(javaPointer('b', 'k'), { ...defaults, maxBodyBytes: 1000 }, store));
    expect(error.reason).toBe('BodyTooLarge');
    expect(error.message).toBe(
      'extended-client payload s3://b/k is 2000 bytes, over the maxBodyBytes limit of 1000 (envelopes: extendedClient)',
    );
  });

  it('stops a pointer that points at itself', async () => {
    const { store, fetched } = memoryStore({ 'b/loop': javaPointer('b', 'loop') });
    const error = await decodeError(decode(javaPointer('b', 'loop'), defaults, store));
    expect(error.reason).toBe('MalformedEnvelope');
    expect(error.message).toMatch(/^more than 8 nested envelopes \(envelopes: extendedClient > /);
    expect(fetched).toHaveLength(8);
  });
});

describe('nested envelopes', () => {
  it('SNS wrapping an S3 event', async () => {
    const decoded = await decode(snsNotification(s3Event, { Subject: 'Amazon S3 Notification' }));
    expect(decoded.raw).toBe(s3Event);
    expect(decoded.envelopes).toEqual(['sns', 's3Event']);
    expect(decoded.envelope.sns?.subject).toBe('Amazon S3 Notification');
    expect(decoded.envelope.s3).toMatchObject({ bucket: 'media-uploads', key: 'videos/My Talk (2024).mp4' });
  });

  it('SNS wrapping an extended-client pointer, with the size in the SNS message attributes', async () => {
    const { store, fetched } = memoryStore({ 'sns-payloads/p-1': '{"reportType": "weekly"}' });
    const body = snsNotification(javaPointer('sns-payloads', 'p-1'), {
      MessageAttributes: { ExtendedPayloadSize: { Type: 'Number', Value: '24' } },
    });
    const decoded = await decode(body, defaults, store);
    expect(fetched).toEqual(['sns-payloads/p-1']);
    expect(decoded).toMatchObject({
      raw: '{"reportType": "weekly"}',
      body: { reportType: 'weekly' },
      envelopes: ['sns', 'extendedClient'],
      envelope: { sns: { messageAttributes: { ExtendedPayloadSize: '24' } }, extendedClient: { bucket: 'sns-payloads', key: 'p-1' } },
    });
  });

  it('uses the SNS attributes, not the SQS ones, for the layer inside SNS', async () => {
    const { store, fetched } = memoryStore();
    const body = snsNotification('{"s3BucketName": "uploads", "s3Key": "v.mp4"}', { MessageAttributes: {} });
    const decoded = await decode(body, defaults, store, sizeAttribute(10));
    expect(fetched).toEqual([]);
    expect(decoded.body).toEqual({ s3BucketName: 'uploads', s3Key: 'v.mp4' });
  });

  it('SNS wrapping EventBridge', async () => {
    const decoded = await decode(snsNotification(eventBridgeEvent('{"jobId": "j-7"}')));
    expect(decoded).toMatchObject({ raw: '{"jobId":"j-7"}', envelopes: ['sns', 'eventbridge'], body: { jobId: 'j-7' } });
    expect(decoded.envelope.eventbridge?.source).toBe('com.example.media');
  });

  it('an extended-client payload holding an SNS notification', async () => {
    const { store } = memoryStore({ 'b/k': snsNotification('hello') });
    const decoded = await decode(javaPointer('b', 'k'), defaults, store);
    expect(decoded).toMatchObject({ raw: 'hello', envelopes: ['extendedClient', 'sns'] });
  });

  it('keeps the outermost facts when a kind is nested in itself', async () => {
    const inner = snsNotification('x', { TopicArn: 'arn:aws:sns:us-east-1:1:inner' });
    const decoded = await decode(snsNotification(inner));
    expect(decoded.envelopes).toEqual(['sns', 'sns']);
    expect(decoded.envelope.sns?.topicArn).toBe('arn:aws:sns:us-east-1:123456789012:media-events');
    expect(decoded.raw).toBe('x');
  });

  it('names the envelopes when the inner body fails', async () => {
    const error = await decodeError(decode(snsNotification('{"a": }')));
    expect(error.reason).toBe('MalformedJson');
    expect(error.message).toBe("body is not valid JSON: Unexpected token '}' at position 6 (line 1 column 7) (envelopes: sns)");
    expect(error.envelopes).toEqual(['sns']);
    expect(error.position).toBe(6);
  });

  it('rejects a lone surrogate that an envelope escaped', async () => {
    const error = await decodeError(decode(snsNotification('bad \ud800 text')));
    expect(error.reason).toBe('InvalidUtf8');
    expect(error.message).toBe('body is not valid UTF-8: the JSON string at key "Message" holds a lone surrogate \\uD800');
  });
});
