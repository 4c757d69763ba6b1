// The innermost body: JSON, the legacy `TYPE|jobId|metadata` pipe format, or plain text.
import { DecodeError } from './errors.ts';
import { looksLikeJsonContainer, meantAsJson, parseJson } from './json.ts';
import type { BodyFormat, MessageFormat } from './types.ts';

export const messageFormats = ['auto', 'json', 'pipe', 'text'] as const satisfies readonly MessageFormat[];

export type DecodedBody = { format: BodyFormat; body: unknown };

/** What `auto` accepts as the pipe type field: an identifier such as TRANSCODE_VIDEO or media.transcode. */
export const PIPE_TYPE = /^[A-Za-z][A-Za-z0-9_.:-]*$/;
const SEPARATOR = '|';

/** Splits on the first fields.length-1 separators; the last field takes the rest. Undefined when there are too few. */
function splitPipe(text: string, fieldCount: number): string[] | undefined {
  const values: string[] = [];
  let start = 0;
  while (values.length < fieldCount - 1) {
    const end = text.indexOf(SEPARATOR, start);
    if (end === -1) return undefined;
    values.push(text.slice(start, end));
    start = end + 1;
  }
  values.push(text.slice(start));
  return values;
}

/** The last field is often JSON metadata: parse it when it is a JSON object or array, keep the string otherwise. */
function pipeValue(value: string, isLast: boolean): unknown {
  if (!isLast || !looksLikeJsonContainer(value)) return value;
  try {
    return parseJson(value, 'pipe metadata');
  } catch (error) {
    if (error instanceof DecodeError && error.reason === 'MalformedJson') return value;
    throw error;
  }
}

function pipeBody(values: string[], fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((field, i) => [field, pipeValue(values[i] ?? '', i === fields.length - 1)]));
}

export function decodePipe(text: string, fields: readonly string[]): Record<string, unknown> {
  const values = splitPipe(text, fields.length);
  if (values === undefined) {
    const found = text.split(SEPARATOR).length;
    throw new DecodeError(
      'MalformedPipe',
      `body has ${found} pipe-separated field${found === 1 ? '' : 's'}, expected ${fields.length} (${fields.join('|')})`,
    );
  }
  return pipeBody(values, fields);
}

/** Pipe shape for `auto`: at least one separator, enough fields, and an identifier-like first field. */
function matchPipe(text: string, fields: readonly string[]): Record<string, unknown> | undefined {
  if (fields.length < 2) return undefined;
  const values = splitPipe(text, fields.length);
  if (values === undefined || !PIPE_TYPE.test(values[0] ?? '')) return undefined;
  return pipeBody(values, fields);
}

/**
 * Decodes the innermost body text. `parsed` lets the caller reuse a parse it already did while
 * looking for envelopes.
 */
export function decodeBody(
  text: string,
  format: MessageFormat,
  pipeFields: readonly string[],
  parsed: () => unknown = () => parseJson(text),
): DecodedBody {
  switch (format) {
    case 'json':
      return { format: 'json', body: parsed() };
    case 'pipe':
      return { format: 'pipe', body: decodePipe(text, pipeFields) };
    case 'text':
      return { format: 'text', body: text };
    case 'auto': {
      // Something that opens like an object, or like an array and closes like one, was meant as
      // JSON: a parse error is more useful to the SRE than routing it as text.
      if (meantAsJson(text)) return { format: 'json', body: parsed() };
      const pipe = matchPipe(text, pipeFields);
      return pipe === undefined ? { format: 'text', body: text } : { format: 'pipe', body: pipe };
    }
    default:
      throw unknownFormat(format);
  }
}

export function unknownFormat(format: unknown): DecodeError {
  return new DecodeError(
    'UnknownFormat',
    `unknown message format ${JSON.stringify(format)}; expected one of ${messageFormats.join(', ')}`,
  );
}
