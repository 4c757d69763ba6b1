// Messages meant to break a consumer — encodings, sizes, nesting, numbers, keys, envelopes that lie,
// pointers to nothing, odd attribute names — each with what Sluice must make of it: a Job through a
// given route, or a dead letter with a precise reason. Never a crash, never a silent drop. The unit
// tests run every one through planMessage and the dispatcher; the chaos soak sends the ones that can
// travel on SQS (travelsOnSqs) to a binding made from HOSTILE_BINDING.
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { DeadLetterReason } from '../sqs/dead-letter.ts';
import { SQS_MAX_ATTRIBUTES, sqsTextProblem } from '../sqs/limits.ts';

export type HostileMessage = {
  name: string;
  body: string;
  messageAttributes?: Record<string, MessageAttributeValue>;
  /** SQS system attributes as received; SentTimestamp and ApproximateReceiveCount by default. */
  attributes?: Record<string, string>;
  /** null: a message without a MessageId. */
  messageId?: string | null;
  /** What an extended-client pointer may name: "bucket/key" → content. */
  objects?: Record<string, string | Uint8Array>;
  /** Overrides of HOSTILE_BINDING's spec for this message. */
  binding?: { message?: Record<string, unknown>; dedupeKey?: string };
  expect: { route: string } | { deadLetter: DeadLetterReason };
};

/** The binding the corpus is judged against (queueUrl and deadLetter are the caller's). */
export const HOSTILE_BINDING = {
  routes: [
    { name: 'attribute', when: 'messageAttributes.?kind.orValue("") == "work"', jobType: 'work' },
    { name: 'topic', when: 'envelope.?sns.?topicArn.orValue("").endsWith(":work")', jobType: 'work' },
    { name: 'event', when: 'envelope.?eventbridge.?source.orValue("") == "app.work"', jobType: 'work' },
    { name: 'upload', when: 'has(envelope.s3) && envelope.s3.key.startsWith("in/")', jobType: 'work' },
    { name: 'json', when: 'type(body) == map && body.?type.orValue("") == "work"', jobType: 'work' },
    { name: 'pipe', when: 'type(body) == map && body.?type.orValue("") == "WORK"', jobType: 'work' },
    { name: 'keyed', when: 'type(body) == map && body.?type.orValue("") == "keyed"', jobType: 'keyed' },
    { name: 'fanned', when: 'type(body) == map && body.?type.orValue("") == "fanned"', jobType: 'fanned' },
    { name: 'strict', when: 'type(body) == map && body.?type.orValue("") == "strict" && body.level > 2', jobType: 'work' },
    { name: 'text', when: 'type(body) == string && body.startsWith("run:")', jobType: 'work' },
  ],
};

/** The JobTypes HOSTILE_BINDING routes to (name → spec; the caller adds an image). */
export const HOSTILE_JOB_TYPES: Record<string, Record<string, unknown>> = {
  work: {},
  keyed: { statusSink: { name: 'records', key: { field: 'id', value: 'body.recordId' } } },
  fanned: { fanIn: { group: 'body.note', expected: 'body.total', send: { queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/assemble', body: '{"note": body.note}' } } },
};

const MiB = 1024 * 1024;
const json = (value: unknown) => JSON.stringify(value);
const string = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
const sns = (message: unknown, extra: Record<string, unknown> = {}) => json({
  Type: 'Notification', MessageId: 'a1b2c3d4-0000-4000-8000-000000000001', TopicArn: 'arn:aws:sns:us-east-1:000000000000:media',
  Message: message, Timestamp: '2026-01-01T00:00:00.000Z', SignatureVersion: '1', Signature: 'c2lnbmF0dXJl', ...extra,
});
const eventBridge = (extra: Record<string, unknown>) => json({
  version: '0', id: 'e-1', 'detail-type': 'Work Requested', source: 'app.other', account: '000000000000',
  time: '2026-01-01T00:00:00Z', region: 'us-east-1', resources: [], detail: { type: 'work' }, ...extra,
});
const s3Event = (record: Record<string, unknown>) => json({ Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventName: 'ObjectCreated:Put', ...record }] });
const pointer = (bucket: string, key: string) => json(['software.amazon.payloadoffloading.PayloadS3Pointer', { s3BucketName: bucket, s3Key: key }]);
const nested = (depth: number) => `{"type":"work","deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;

export const hostileMessages: HostileMessage[] = [
  // Text, whitespace, characters
  { name: 'an empty body', body: '', expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'only whitespace', body: ' \n\t\r ', expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'plain text that routes', body: 'run:nightly', expect: { route: 'text' } },
  { name: 'a NUL byte in the text (via an envelope)', body: sns('run:\u0000x'), expect: { deadLetter: 'UnsupportedCharacters' } },
  { name: 'a C0 control character (via an envelope)', body: sns('run:\u0007bell'), expect: { deadLetter: 'UnsupportedCharacters' } },
  { name: 'the noncharacter U+FFFF (via an envelope)', body: sns('run:\uffff'), expect: { deadLetter: 'UnsupportedCharacters' } },
  { name: 'a lone high surrogate', body: 'run:\ud800', expect: { deadLetter: 'InvalidUtf8' } },
  { name: 'a lone low surrogate escaped in JSON', body: '{"type":"work","x":"\\udc00"}', expect: { deadLetter: 'InvalidUtf8' } },
  { name: 'a lone surrogate escaped in an SNS Message', body: '{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:1:t","Message":"run:\\ud800"}', expect: { deadLetter: 'InvalidUtf8' } },
  { name: 'a byte order mark before JSON', body: '\ufeff{"type":"work"}', expect: { route: 'json' } },
  { name: 'emoji and other astral characters', body: '{"type":"work","note":"😀 𝄞"}', expect: { route: 'json' } },
  { name: 'a zero-width space inside the type', body: '{"type":"wo\u200brk"}', expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'a key spelled with a unicode escape', body: '{"\\u0074ype":"work"}', expect: { route: 'json' } },
  { name: 'an escaped NUL inside a JSON string', body: '{"type":"work","x":"\\u0000"}', expect: { route: 'json' } },
  { name: 'invalid UTF-8 in an extended-client payload', body: pointer('large', 'bad-utf8'), objects: { 'large/bad-utf8': new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }, expect: { deadLetter: 'InvalidUtf8' } },

  // Sizes and nesting
  { name: 'a body of exactly maxBodyBytes (1 MiB)', body: `run:${'x'.repeat(MiB - 4)}`, expect: { route: 'text' } },
  { name: 'a body one byte over maxBodyBytes', body: `run:${'x'.repeat(MiB - 3)}`, expect: { deadLetter: 'BodyTooLarge' } },
  { name: 'fewer characters than bytes over the limit (multibyte)', body: `run:${'é'.repeat(MiB / 2)}`, expect: { deadLetter: 'BodyTooLarge' } },
  { name: 'a 900 KB JSON string value', body: json({ type: 'work', blob: 'y'.repeat(900_000) }), expect: { route: 'json' } },
  { name: 'JSON nested 100 deep', body: nested(100), expect: { route: 'json' } },
  { name: 'JSON nested 600 deep', body: nested(600), expect: { deadLetter: 'MalformedJson' } },
  { name: 'JSON nested 200,000 deep', body: nested(200_000), expect: { deadLetter: 'MalformedJson' } },
  { name: 'an object with 50,000 keys', body: json({ type: 'work', ...Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i])) }), expect: { route: 'json' } },

  // Numbers and keys
  { name: 'an integer beyond int64', body: '{"type":"work","n":9223372036854775808}', expect: { route: 'json' } },
  { name: 'a number beyond double (1e400)', body: '{"type":"work","n":1e400}', expect: { route: 'json' } },
  { name: 'negative zero', body: '{"type":"work","n":-0.0}', expect: { route: 'json' } },
  { name: 'a dedupe key beyond 2^53 that would round', body: '{"type":"work","id":12345678901234567890}', binding: { dedupeKey: 'body.id' }, expect: { deadLetter: 'DedupeKeyFailed' } },
  { name: 'an int64 dedupe key beyond 2^53, exact', body: '{"type":"work","id":9007199254740993}', binding: { dedupeKey: 'body.id' }, expect: { route: 'json' } },
  { name: 'an empty dedupe key', body: '{"type":"work","id":""}', binding: { dedupeKey: 'body.id' }, expect: { deadLetter: 'DedupeKeyFailed' } },
  { name: 'a 5,000-character dedupe key', body: json({ type: 'work', id: 'k'.repeat(5000) }), binding: { dedupeKey: 'body.id' }, expect: { deadLetter: 'DedupeKeyFailed' } },
  { name: 'a dedupe key that is a map', body: '{"type":"work","id":{"a":1}}', binding: { dedupeKey: 'body.id' }, expect: { deadLetter: 'DedupeKeyFailed' } },
  { name: 'duplicate keys (the last one wins, as in JSON.parse, Python and Go)', body: '{"type":"evil","type":"work"}', expect: { route: 'json' } },
  { name: 'a __proto__ key', body: '{"type":"work","__proto__":{"admin":true}}', expect: { route: 'json' } },
  { name: 'a constructor key', body: '{"constructor":{"name":"Object"},"type":"work"}', expect: { route: 'json' } },
  { name: 'a prototype key', body: '{"prototype":null,"type":"work"}', expect: { route: 'json' } },
  { name: 'a top-level array', body: '[1,2,3]', expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'a JSON string scalar', body: '"work"', expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'the JSON literal null', body: 'null', expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'a truncated JSON object', body: '{"type":"work","jobId":"j-1"', expect: { deadLetter: 'MalformedJson' } },
  { name: 'JSON followed by garbage', body: '{"type":"work"} trailing', expect: { deadLetter: 'MalformedJson' } },
  { name: 'a single quote JSON look-alike', body: "{'type':'work'}", expect: { deadLetter: 'MalformedJson' } },
  { name: 'a route that cannot compare a string with an int', body: '{"type":"strict","level":"high"}', expect: { deadLetter: 'RouteEvaluationFailed' } },
  { name: 'a status key that does not exist', body: '{"type":"keyed"}', expect: { deadLetter: 'StatusKeyFailed' } },
  { name: 'a fan-in count that is not a number', body: '{"type":"fanned","note":"n-1","total":"five"}', expect: { deadLetter: 'FanInKeyFailed' } },

  // The legacy pipe format
  { name: 'a pipe body with JSON metadata', body: 'WORK|j-1|{"a":1}', expect: { route: 'pipe' } },
  { name: 'a pipe body with too few fields (auto: text)', body: 'WORK|j-1', expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'a pipe body with too few fields (format pipe)', body: 'WORK', binding: { message: { format: 'pipe' } }, expect: { deadLetter: 'MalformedPipe' } },
  { name: 'a pipe body whose metadata is broken JSON', body: 'WORK|j-1|{broken', expect: { route: 'pipe' } },
  { name: 'a pipe body ending in CRLF', body: 'WORK|j-1|meta\r\n', expect: { route: 'pipe' } },
  { name: 'a pipe body with an empty type', body: '|j-1|meta', expect: { deadLetter: 'NoRouteMatched' } },

  // Envelopes that lie
  { name: 'an SNS notification', body: sns('{"type":"work"}'), expect: { route: 'json' } },
  { name: 'an SNS notification with a garbage signature (SQS delivery is authenticated by the queue policy)', body: sns('{"type":"work"}', { Signature: '!!not base64!!', SigningCertURL: 'http://evil.invalid/cert.pem' }), expect: { route: 'json' } },
  { name: 'an SNS notification whose Message is not a string', body: sns({ type: 'work' }), expect: { deadLetter: 'MalformedEnvelope' } },
  { name: 'an SNS look-alike without TopicArn', body: json({ Type: 'Notification', MessageId: 'm', Message: '{"type":"work"}' }), expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'an SNS attribute named constructor', body: sns('run:x', { MessageAttributes: { constructor: { Type: 'String', Value: 'x' }, ['__proto__']: { Type: 'String', Value: 'y' } } }), expect: { route: 'text' } },
  { name: 'SNS wrapped in SNS nine times', body: Array.from({ length: 9 }).reduce<string>((inner) => sns(inner), '{"type":"work"}'), expect: { deadLetter: 'MalformedEnvelope' } },
  { name: 'an SNS topic that routes whatever the Message', body: sns('anything', { TopicArn: 'arn:aws:sns:us-east-1:000000000000:work' }), expect: { route: 'topic' } },
  { name: 'an EventBridge event without detail', body: json({ version: '0', id: 'e', 'detail-type': 'x', source: 'app.work', account: '1', time: 't', region: 'r', resources: [] }), expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'an EventBridge event with a numeric source', body: eventBridge({ source: 42 }), expect: { deadLetter: 'MalformedEnvelope' } },
  { name: 'an EventBridge event that routes by source', body: eventBridge({ source: 'app.work', detail: { anything: 1 } }), expect: { route: 'event' } },
  { name: 'an EventBridge detail that is a JSON string', body: eventBridge({ detail: '{"type":"work"}' }), expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'an S3 event with a form-encoded key', body: s3Event({ s3: { bucket: { name: 'uploads' }, object: { key: 'in/a+b%2Bc.mp4', size: 12 } } }), expect: { route: 'upload' } },
  { name: 'an S3 event without records', body: json({ Records: [] }), expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'an S3 event without an object key', body: s3Event({ s3: { bucket: { name: 'uploads' }, object: {} } }), expect: { deadLetter: 'MalformedEnvelope' } },
  { name: 'an S3 event with broken URL encoding', body: s3Event({ s3: { bucket: { name: 'uploads' }, object: { key: 'in/%ZZ' } } }), expect: { deadLetter: 'MalformedEnvelope' } },
  { name: 'the S3 test event', body: json({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-01-01T00:00:00.000Z', Bucket: 'uploads' }), expect: { deadLetter: 'NoRouteMatched' } },

  // SQS Extended Client pointers
  { name: 'a pointer to a payload', body: pointer('large', 'ok'), objects: { 'large/ok': '{"type":"work"}' }, expect: { route: 'json' } },
  { name: 'a pointer to a missing object', body: pointer('large', 'gone'), expect: { deadLetter: 'PayloadFetchFailed' } },
  { name: 'a pointer to itself', body: pointer('large', 'loop'), objects: { 'large/loop': pointer('large', 'loop') }, expect: { deadLetter: 'MalformedEnvelope' } },
  { name: 'a pointer whose size attribute is over the limit', body: pointer('large', 'ok'), objects: { 'large/ok': '{"type":"work"}' }, messageAttributes: { ExtendedPayloadSize: { DataType: 'Number', StringValue: '2000000' } }, expect: { deadLetter: 'BodyTooLarge' } },
  { name: 'a pointer with three elements', body: json(['software.amazon.payloadoffloading.PayloadS3Pointer', { s3BucketName: 'b', s3Key: 'k' }, 'extra']), expect: { deadLetter: 'MalformedEnvelope' } },
  { name: 'a malformed S3MessageBodyKey attribute', body: 'k', messageAttributes: { S3MessageBodyKey: string('no-brackets') }, expect: { deadLetter: 'MalformedEnvelope' } },
  { name: 'a forged S3MessageBodyKey to a missing object', body: 'run:x', messageAttributes: { S3MessageBodyKey: string('(large)forged') }, expect: { deadLetter: 'PayloadFetchFailed' } },
  { name: 'a pointer-shaped object without the size attribute (a body)', body: '{"s3BucketName":"large","s3Key":"ok"}', expect: { deadLetter: 'NoRouteMatched' } },
  { name: 'a pointer to an empty object', body: pointer('large', 'empty'), objects: { 'large/empty': '' }, expect: { deadLetter: 'NoRouteMatched' } },

  // Attributes and identities
  { name: 'message attributes named constructor and __proto__', body: 'anything', messageAttributes: { kind: string('work'), constructor: string('c'), ['__proto__']: string('p') }, expect: { route: 'attribute' } },
  { name: 'only a binary attribute', body: 'run:x', messageAttributes: { blob: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 255]) } }, expect: { route: 'text' } },
  { name: 'ten attributes, one of 200 KB', body: 'run:x', messageAttributes: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, string(i === 0 ? 'v'.repeat(200_000) : 'v')])), expect: { route: 'text' } },
  { name: 'absurd system attributes', body: 'run:x', attributes: { SentTimestamp: 'garbage', ApproximateReceiveCount: '999999999' }, expect: { route: 'text' } },
  { name: 'a forged Sluice.DedupeKey', body: 'run:x', messageAttributes: { 'Sluice.DedupeKey': string('someone-else/job/on-success') }, expect: { route: 'text' } },
  { name: 'a Sluice.Redrive attribute', body: 'run:x', messageAttributes: { 'Sluice.Redrive': string('dead-letter-1') }, expect: { route: 'text' } },
  { name: 'no MessageId', body: 'run:x', messageId: null, expect: { deadLetter: 'DedupeKeyFailed' } },
];

/** Whether SQS itself would carry the message (the soak can only send those). */
export function travelsOnSqs(message: HostileMessage, maxMessageBytes = 256 * 1024): boolean {
  const attributes = Object.entries(message.messageAttributes ?? {});
  const bytes = Buffer.byteLength(message.body) + attributes.reduce((sum, [name, a]) => sum + name.length + (a.StringValue?.length ?? a.BinaryValue?.length ?? 0), 0);
  return sqsTextProblem(message.body) === undefined && attributes.length <= SQS_MAX_ATTRIBUTES && bytes <= maxMessageBytes
    && message.messageId !== null && message.attributes === undefined;
}
