// Recognizes the envelopes producers already use. Each function looks at one layer and says what
// is inside; fetching an extended-client payload is left to payload.ts.
import { DecodeError } from './errors.ts';
import { stringifyMemberExactly } from './json.ts';
import { plainData } from './plain-data.ts';
import type {
  EnvelopeKind,
  EventBridgeFacts,
  MessageAttributes,
  S3EventFacts,
  SnsFacts,
} from './types.ts';

export type Layer = {
  text: string;
  /** The text parsed as JSON when it is a JSON object or array, else undefined. */
  json: unknown;
  /** Message attributes that travelled with this layer (SQS ones outside, SNS ones inside SNS). */
  attributes: MessageAttributes;
};

export type PayloadPointer = { bucket: string; key: string; declaredBytes?: number };

export type EnvelopeMatch =
  | { kind: 'sns'; facts: SnsFacts; inner: { text: string; attributes: MessageAttributes } }
  | { kind: 'eventbridge'; facts: EventBridgeFacts; inner: { text: string; attributes: MessageAttributes } }
  | { kind: 's3Event'; facts: S3EventFacts }
  | { kind: 'extendedClient'; pointer: PayloadPointer };

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(message: string): DecodeError {
  return new DecodeError('MalformedEnvelope', message);
}

// ---------------------------------------------------------------------------------------------
// SNS notification (raw message delivery has no envelope, so nothing to do there).

function snsAttributes(value: unknown): { values: SnsFacts['messageAttributes']; attributes: MessageAttributes } {
  const values: [string, string][] = [];
  // No prototype: an attribute named __proto__ is an attribute like any other.
  const attributes: MessageAttributes = Object.create(null) as MessageAttributes;
  if (!isObject(value) && !(value instanceof Map)) return { values: {}, attributes };
  for (const [name, attribute] of value instanceof Map ? [...(value as Map<string, unknown>)] : Object.entries(value)) {
    const fields = attribute instanceof Map ? Object.fromEntries(attribute as Map<string, unknown>) : attribute;
    if (!isObject(fields) || typeof fields.Value !== 'string') continue;
    values.push([name, fields.Value]);
    attributes[name] = {
      StringValue: fields.Value,
      ...(typeof fields.Type === 'string' ? { DataType: fields.Type } : {}),
    };
  }
  return { values: plainData(values), attributes };
}

export function matchSns(json: unknown): EnvelopeMatch | undefined {
  if (!isObject(json) || json.Type !== 'Notification') return undefined;
  const { MessageId: messageId, TopicArn: topicArn, Message: message } = json;
  if (typeof messageId !== 'string' || typeof topicArn !== 'string') return undefined;
  if (typeof message !== 'string') {
    throw malformed(`SNS notification ${messageId} from ${topicArn} has no Message string`);
  }
  const { values, attributes } = snsAttributes(json.MessageAttributes);
  const facts: SnsFacts = {
    messageId,
    topicArn,
    ...(typeof json.Subject === 'string' ? { subject: json.Subject } : {}),
    ...(typeof json.Timestamp === 'string' ? { timestamp: json.Timestamp } : {}),
    messageAttributes: values,
  };
  return { kind: 'sns', facts, inner: { text: message, attributes } };
}

// ---------------------------------------------------------------------------------------------
// EventBridge event (a rule with an SQS target sends the whole event).

const eventBridgeKeys = ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail'];
const eventBridgeStrings = ['id', 'detail-type', 'source', 'account', 'time', 'region'] as const;

export function matchEventBridge(layer: Layer): EnvelopeMatch | undefined {
  const { json } = layer;
  if (!isObject(json) || !eventBridgeKeys.every((key) => key in json)) return undefined;
  for (const key of eventBridgeStrings) {
    if (typeof json[key] !== 'string') throw malformed(`EventBridge event has a non-string "${key}"`);
  }
  if (!Array.isArray(json.resources)) throw malformed('EventBridge event has a non-array "resources"');
  const facts: EventBridgeFacts = {
    id: json.id as string,
    source: json.source as string,
    detailType: json['detail-type'] as string,
    time: json.time as string,
    account: json.account as string,
    region: json.region as string,
    resources: json.resources,
  };
  return { kind: 'eventbridge', facts, inner: { text: stringifyMemberExactly(layer.text, 'detail'), attributes: {} } };
}

// ---------------------------------------------------------------------------------------------
// S3 event notification: the event stays the body (it is what the Job needs); its facts are exposed.

function s3Key(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replaceAll('+', ' '));
  } catch {
    throw malformed(`S3 event object key ${JSON.stringify(encoded)} is not valid URL encoding`);
  }
}

export function matchS3Event(json: unknown): EnvelopeMatch | undefined {
  if (!isObject(json) || !Array.isArray(json.Records)) return undefined;
  const record: unknown = json.Records[0];
  if (!isObject(record) || record.eventSource !== 'aws:s3') return undefined;
  const s3 = isObject(record.s3) ? record.s3 : {};
  const bucket = isObject(s3.bucket) ? s3.bucket.name : undefined;
  const object = isObject(s3.object) ? s3.object : {};
  if (typeof bucket !== 'string' || typeof object.key !== 'string') {
    throw malformed('S3 event record has no s3.bucket.name or s3.object.key');
  }
  const facts: S3EventFacts = {
    bucket,
    key: s3Key(object.key),
    ...(typeof record.eventName === 'string' ? { eventName: record.eventName } : {}),
    ...(typeof record.eventTime === 'string' ? { eventTime: record.eventTime } : {}),
    ...(typeof record.awsRegion === 'string' ? { region: record.awsRegion } : {}),
    ...(object.size !== undefined ? { size: object.size } : {}),
  };
  return { kind: 's3Event', facts };
}

// ---------------------------------------------------------------------------------------------
// SQS Extended Client S3 pointer. Three wire formats are in use:
// - Java (and the awslabs Python client, the SNS extended client): body
//   ["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": b, "s3Key": k}]
//   (com.amazon.sqs.javamessaging.MessageS3Pointer before 2.0), attribute ExtendedPayloadSize
//   (legacy SQSLargePayloadSize) holding the payload size;
// - older Java and boto3 ports: body {"s3BucketName": b, "s3Key": k} with SQSLargePayloadSize;
// - JavaScript clients (sqs-extended-client, @bbc/sqs-extended, crimson-education): attribute
//   S3MessageBodyKey = "(bucket)key", the body is only the key.

export const POINTER_CLASSES = [
  'software.amazon.payloadoffloading.PayloadS3Pointer',
  'com.amazon.sqs.javamessaging.MessageS3Pointer',
];
export const SIZE_ATTRIBUTES = ['ExtendedPayloadSize', 'SQSLargePayloadSize'];
export const KEY_ATTRIBUTE = 'S3MessageBodyKey';

function declaredSize(attributes: MessageAttributes): { present: boolean; bytes?: number } {
  for (const name of SIZE_ATTRIBUTES) {
    const attribute = attributes[name];
    if (attribute === undefined) continue;
    const value = attribute.StringValue?.trim() ?? '';
    return /^\d+$/.test(value) ? { present: true, bytes: Number(value) } : { present: true };
  }
  return { present: false };
}

function pointerFields(value: unknown, where: string): { bucket: string; key: string } {
  if (isObject(value) && typeof value.s3BucketName === 'string' && typeof value.s3Key === 'string') {
    if (value.s3BucketName !== '' && value.s3Key !== '') return { bucket: value.s3BucketName, key: value.s3Key };
  }
  throw malformed(`extended-client pointer ${where} has no s3BucketName and s3Key strings`);
}

export function matchExtendedClient(layer: Layer): EnvelopeMatch | undefined {
  const size = declaredSize(layer.attributes);
  const withSize = (pointer: { bucket: string; key: string }): EnvelopeMatch => ({
    kind: 'extendedClient',
    pointer: size.bytes === undefined ? pointer : { ...pointer, declaredBytes: size.bytes },
  });

  const keyAttribute = layer.attributes[KEY_ATTRIBUTE];
  if (keyAttribute !== undefined) {
    const match = /^\(([^)]*)\)(.+)$/s.exec(keyAttribute.StringValue ?? '');
    if (match?.[1] === undefined || match[1] === '' || match[2] === undefined) {
      throw malformed(`message attribute ${KEY_ATTRIBUTE} is not "(bucket)key"`);
    }
    return withSize({ bucket: match[1], key: match[2] });
  }

  const { json } = layer;
  if (Array.isArray(json) && typeof json[0] === 'string' && POINTER_CLASSES.includes(json[0])) {
    if (json.length !== 2) throw malformed(`extended-client pointer ${json[0]} has ${json.length} elements, expected 2`);
    return withSize(pointerFields(json[1], json[0]));
  }
  // A bare {s3BucketName, s3Key} object is also a plausible application body: only a pointer
  // when the extended client's size attribute says so.
  if (size.present && isObject(json) && 's3BucketName' in json && 's3Key' in json) {
    return withSize(pointerFields(json, 'object'));
  }
  return undefined;
}

/** The envelope around this layer, among the enabled kinds, or undefined when the layer is the body. */
export function matchEnvelope(layer: Layer, enabled: ReadonlySet<EnvelopeKind>): EnvelopeMatch | undefined {
  if (enabled.has('extendedClient')) {
    const match = matchExtendedClient(layer);
    if (match !== undefined) return match;
  }
  if (layer.json === undefined) return undefined;
  if (enabled.has('sns')) {
    const match = matchSns(layer.json);
    if (match !== undefined) return match;
  }
  if (enabled.has('eventbridge')) {
    const match = matchEventBridge(layer);
    if (match !== undefined) return match;
  }
  return enabled.has('s3Event') ? matchS3Event(layer.json) : undefined;
}
