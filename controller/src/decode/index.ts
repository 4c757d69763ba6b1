// Decode (lifecycle step 2): one received SQS message → the body routing and Job creation need,
// or a DecodeError whose reason and message go to the dead-letter queue.
import { envelopeKinds } from '../api/schemas.ts';
import { matchEnvelope } from './envelopes.ts';
import { assertWellFormed, bodyTooLarge, DecodeError } from './errors.ts';
import { decodeBody, messageFormats, unknownFormat } from './formats.ts';
import { parseJson, startsLikeJsonContainer } from './json.ts';
import { fetchPayload } from './payload.ts';
import { unsupportedCharacter } from '../sqs/limits.ts';
import type {
  DecodedMessage,
  DecodeOptions,
  EnvelopeFacts,
  EnvelopeKind,
  MessageAttributes,
  PayloadStore,
  SqsMessageInput,
} from './types.ts';

export { DecodeError, decodeErrorReasons } from './errors.ts';
export type { DecodeErrorReason } from './errors.ts';
export { PIPE_TYPE } from './formats.ts';
export type * from './types.ts';

/** Guards against pointer loops (a payload that points at itself) and absurd nesting. */
export const MAX_ENVELOPES = 8;

function enabledEnvelopes(unwrap: readonly string[]): ReadonlySet<EnvelopeKind> {
  for (const kind of unwrap) {
    if (!(envelopeKinds as readonly string[]).includes(kind)) {
      throw new DecodeError(
        'UnknownFormat',
        `unknown envelope ${JSON.stringify(kind)}; expected one of ${envelopeKinds.join(', ')}`,
      );
    }
  }
  return new Set(unwrap as EnvelopeKind[]);
}

/** Parses a layer at most once: envelope detection and the body share the result. */
function jsonOf(text: string): { parse: () => unknown; ifContainer: () => unknown } {
  let result: { value: unknown } | { error: unknown } | undefined;
  const parse = (): unknown => {
    if (result === undefined) {
      try {
        result = { value: parseJson(text) };
      } catch (error) {
        result = { error };
      }
    }
    if ('error' in result) throw result.error;
    return result.value;
  };
  const ifContainer = (): unknown => {
    if (!startsLikeJsonContainer(text)) return undefined;
    try {
      return parse();
    } catch (error) {
      // Not JSON, so no envelope; the body format decides whether that is an error.
      if (error instanceof DecodeError && error.reason === 'MalformedJson') return undefined;
      throw error;
    }
  };
  return { parse, ifContainer };
}

function withEnvelopes(error: DecodeError, envelopes: readonly EnvelopeKind[]): DecodeError {
  return new DecodeError(error.reason, `${error.message} (envelopes: ${envelopes.join(' > ')})`, {
    cause: error.cause,
    retryable: error.retryable,
    position: error.position,
    envelopes: [...envelopes],
  });
}

async function decodeLayers(
  input: SqsMessageInput,
  options: DecodeOptions,
  store: PayloadStore,
  envelopes: EnvelopeKind[],
): Promise<DecodedMessage> {
  if (!(messageFormats as readonly string[]).includes(options.format)) throw unknownFormat(options.format);
  const enabled = enabledEnvelopes(options.unwrap);
  const envelope: EnvelopeFacts = {};
  let text = input.body;
  let attributes: MessageAttributes = input.messageAttributes ?? {};
  let json = jsonOf(text);

  for (;;) {
    assertWellFormed(text, 'body');
    const match = enabled.size === 0 ? undefined : matchEnvelope({ text, json: json.ifContainer(), attributes }, enabled);
    if (match === undefined) break;
    if (envelopes.length === MAX_ENVELOPES) {
      throw new DecodeError('MalformedEnvelope', `more than ${MAX_ENVELOPES} nested envelopes`);
    }
    envelopes.push(match.kind);
    if (match.kind === 's3Event') {
      envelope.s3 ??= match.facts;
      break;
    }
    if (match.kind === 'extendedClient') {
      const payload = await fetchPayload(store, match.pointer, options.maxBodyBytes);
      envelope.extendedClient ??= { bucket: match.pointer.bucket, key: match.pointer.key, bytes: payload.bytes };
      text = payload.text;
      attributes = {};
    } else {
      if (match.kind === 'sns') envelope.sns ??= match.facts;
      else envelope.eventbridge ??= match.facts;
      text = match.inner.text;
      attributes = match.inner.attributes;
    }
    json = jsonOf(text);
  }

  // A leading byte order mark is dropped, as every UTF-8 reader does (and the extended client's
  // payloads already are): JSON parsers, the job's own included, refuse it.
  if (text.startsWith('\uFEFF')) {
    text = text.slice(1);
    json = jsonOf(text);
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > options.maxBodyBytes) throw bodyTooLarge('body', bytes, options.maxBodyBytes);
  // Only an envelope can carry these (SQS refuses them): the payload could be neither
  // dead-lettered nor redriven, and a job's environment may not hold them either.
  const problem = unsupportedCharacter(text);
  if (problem) throw new DecodeError('UnsupportedCharacters', `body ${problem}`);
  const { format, body } = decodeBody(text, options.format, options.pipeFields, json.parse);
  return { raw: text, format, body, envelopes: [...envelopes], envelope, bytes };
}

/**
 * Unwraps the envelopes listed in options.unwrap (outermost first, repeatedly), then decodes the
 * innermost body in options.format. Throws DecodeError for anything that cannot be decoded.
 */
export async function decodeMessage(
  input: SqsMessageInput,
  options: DecodeOptions,
  store: PayloadStore,
): Promise<DecodedMessage> {
  const envelopes: EnvelopeKind[] = [];
  try {
    return await decodeLayers(input, options, store, envelopes);
  } catch (error) {
    throw error instanceof DecodeError && envelopes.length > 0 ? withEnvelopes(error, envelopes) : error;
  }
}
