// What a Job keeps of its message's decoding, so that a follow-up's CEL later sees exactly the
// `body`, `attributes` and `envelope` routing saw: the resolved body format and pipe field names
// (the payload is already unwrapped), the envelope facts and the SQS system attributes. Decoding
// again goes through the same decodeBody, with these options instead of guessed ones.
import { queueBindingSpecSchema } from '../api/schemas.ts';
import { decodeBody } from './formats.ts';
import { parseJson } from './json.ts';
import { plainDataReplacer } from './plain-data.ts';
import type { BodyFormat, DecodedMessage, EnvelopeFacts } from './types.ts';

export type DecodeRecord = {
  format: BodyFormat;
  /** Only for the pipe format. */
  pipeFields?: string[];
  envelope: EnvelopeFacts;
  attributes: Record<string, string>;
  /** What did not fit the size budget and is missing from this record. */
  dropped?: string[];
};

/** Annotations share 256 KiB with the rest of the Job's metadata; the payload rides elsewhere. */
export const DECODE_RECORD_MAX_BYTES = 8 * 1024;

const DEFAULT_PIPE_FIELDS: string[] = queueBindingSpecSchema.shape.message.parse({}).pipeFields;

export function decodeRecord(decoded: DecodedMessage, pipeFields: readonly string[], attributes: Record<string, string>): string {
  const record: DecodeRecord = {
    format: decoded.format,
    ...(decoded.format === 'pipe' && { pipeFields: [...pipeFields] }),
    envelope: decoded.envelope,
    attributes,
  };
  const serialize = () => JSON.stringify(record, plainDataReplacer);
  let text = serialize();
  // Shed the bulkiest facts first, then whole parts; say what went.
  const shedders: [string, (r: DecodeRecord) => void][] = [
    ['envelope.sns.messageAttributes', (r) => { if (r.envelope.sns) r.envelope = { ...r.envelope, sns: { ...r.envelope.sns, messageAttributes: {} } }; }],
    ['envelope.eventbridge.resources', (r) => { if (r.envelope.eventbridge) r.envelope = { ...r.envelope, eventbridge: { ...r.envelope.eventbridge, resources: [] } }; }],
    ['envelope', (r) => { r.envelope = {}; }],
    ['attributes', (r) => { r.attributes = {}; }],
  ];
  for (const [what, shed] of shedders) {
    if (Buffer.byteLength(text) <= DECODE_RECORD_MAX_BYTES) break;
    shed(record);
    record.dropped = [...(record.dropped ?? []), what];
    text = serialize();
  }
  return text;
}

/**
 * The record on a Job; Jobs made before records existed have only their payload format, and get
 * the schema's default pipe fields and no envelope facts.
 */
export function parseDecodeRecord(text: string | undefined, payloadFormat: string | undefined): DecodeRecord {
  if (text !== undefined) {
    try {
      // As routing saw them: ints as ints, odd keys as Maps.
      return parseJson(text, 'decode record') as DecodeRecord;
    } catch {
      // fall through to what the payload format alone tells
    }
  }
  const format: BodyFormat = payloadFormat === 'json' || payloadFormat === 'pipe' ? payloadFormat : 'text';
  return { format, ...(format === 'pipe' && { pipeFields: DEFAULT_PIPE_FIELDS }), envelope: {}, attributes: {} };
}

/** The body as routing saw it: the payload decoded again with the options it was decoded with. */
export function recordedBody(raw: string, record: DecodeRecord): unknown {
  return decodeBody(raw, record.format, record.pipeFields ?? DEFAULT_PIPE_FIELDS).body;
}
