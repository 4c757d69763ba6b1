import type { EnvelopeKind } from '../api/schemas.ts';
import type { CelMap } from './plain-data.ts';

export type { EnvelopeKind };
export type MessageFormat = 'auto' | 'json' | 'pipe' | 'text';
export type BodyFormat = Exclude<MessageFormat, 'auto'>;

/** The `message` part of a QueueBinding spec. */
export type DecodeOptions = {
  format: MessageFormat;
  unwrap: EnvelopeKind[];
  pipeFields: string[];
  maxBodyBytes: number;
};

export type MessageAttributeValue = { DataType?: string; StringValue?: string; BinaryValue?: Uint8Array };
export type MessageAttributes = Record<string, MessageAttributeValue>;

export type SqsMessageInput = { body: string; messageAttributes: MessageAttributes };

export type DecodedMessage = {
  /** The innermost body text after unwrapping, as the producer sent it: the Job's payload file. */
  raw: string;
  format: BodyFormat;
  /** For CEL: parsed JSON (integer literals as BigInt), the pipe fields as an object, or the text. */
  body: unknown;
  /** Envelopes unwrapped, outermost first. */
  envelopes: EnvelopeKind[];
  /** Facts from each envelope for routing, keyed by kind (see EnvelopeFacts). */
  envelope: EnvelopeFacts;
  /** Size of raw in UTF-8 bytes. */
  bytes: number;
};

export type SnsFacts = {
  messageId: string;
  topicArn: string;
  subject?: string;
  timestamp?: string;
  /** Attribute name → Value string (Number and String.Array values stay strings, as SNS sends them). */
  messageAttributes: CelMap<string>;
};

export type EventBridgeFacts = {
  id: string;
  source: string;
  detailType: string;
  time: string;
  account: string;
  region: string;
  resources: unknown[];
};

export type S3EventFacts = {
  bucket: string;
  /** URL-decoded object key (S3 events send it form-encoded). */
  key: string;
  eventName?: string;
  eventTime?: string;
  region?: string;
  size?: unknown;
};

export type ExtendedClientFacts = { bucket: string; key: string; bytes: number };

/** When one kind is nested in itself, the outermost one's facts are kept. */
export type EnvelopeFacts = {
  sns?: SnsFacts;
  eventbridge?: EventBridgeFacts;
  s3?: S3EventFacts;
  extendedClient?: ExtendedClientFacts;
};

/** Where the extended client put the payload. Injected so this module never touches the S3 client. */
export type PayloadStore = {
  /**
   * The object's bytes. `maxBytes` lets an implementation refuse a larger object before downloading
   * it (throw a DecodeError with reason BodyTooLarge); the caller checks the size again either way.
   */
  getObject(bucket: string, key: string, options?: { maxBytes: number }): Promise<Uint8Array>;
  /** Removes a payload once its message is done with (message.deleteExtendedPayloads). */
  deleteObject?(bucket: string, key: string): Promise<void>;
};
