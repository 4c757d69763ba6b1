// JSON.parse with source text access (Node 21+): integer literals become BigInt for CEL, and
// numbers can be re-serialized exactly as written.
import { DecodeError, loneSurrogateIndex } from './errors.ts';
import { plainDataReviver } from './plain-data.ts';

type ReviverContext = { source?: string };
type Reviver = (this: unknown, key: string, value: unknown, context?: ReviverContext) => unknown;

const rawJson = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON;

const INTEGER_LITERAL = /^-?(?:0|[1-9]\d*)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * CEL has int and double: an integer literal (no fraction, no exponent) within int64 is an int,
 * exact even beyond 2^53; `1.0`, `1e3` and out-of-range integers stay doubles.
 */
function celNumber(value: number, source: string | undefined): number | bigint {
  if (source === undefined || !INTEGER_LITERAL.test(source)) return value;
  const integer = BigInt(source);
  return integer >= INT64_MIN && integer <= INT64_MAX ? integer : value;
}

function rejectLoneSurrogate(text: string, what: string, holder: string): void {
  const index = loneSurrogateIndex(text);
  if (index < 0) return;
  const unit = text.charCodeAt(index).toString(16).toUpperCase();
  throw new DecodeError('InvalidUtf8', `${what} is not valid UTF-8: ${holder} holds a lone surrogate \\u${unit}`);
}

function quoted(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

function celReviver(what: string): Reviver {
  return function (key, value, context) {
    if (!key.isWellFormed()) rejectLoneSurrogate(key, what, 'a JSON key');
    if (typeof value === 'number') return celNumber(value, context?.source);
    if (typeof value === 'string') {
      rejectLoneSurrogate(value, what, key === '' ? 'the JSON string' : `the JSON string at key ${quoted(key)}`);
    }
    return plainDataReviver(key, value);
  };
}

const exactNumbersReviver: Reviver = (_key, value, context) =>
  typeof value === 'number' && context?.source !== undefined ? rawJson(context.source) : value;

/**
 * Deeper JSON is refused whatever the stack allows, so the same message gets the same answer on
 * every replica; nothing legitimate nests this deep, and CEL and the outcome path recurse too.
 */
export const MAX_JSON_DEPTH = 512;

/** The deepest nesting of arrays and objects, counting no further than `limit` + 1. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return deepest;
}

function tooDeep(what: string, error: RangeError): DecodeError {
  return new DecodeError('MalformedJson', `${what} is JSON nested too deeply to decode`, { cause: error });
}

/** Parses JSON for CEL (see celNumber). Throws MalformedJson or InvalidUtf8. */
export function parseJson(text: string, what = 'body'): unknown {
  const depth = nestingDepth(text, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH) throw new DecodeError('MalformedJson', `${what} is JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text, celReviver(what)) as unknown;
  } catch (error) {
    if (error instanceof SyntaxError) throw malformedJson(text, error, what);
    // A reviver recurses: thousands of nested arrays overflow the stack.
    if (error instanceof RangeError) throw tooDeep(what, error);
    throw error;
  }
}

/**
 * Serializes one member of an already valid JSON document with every number exactly as written
 * (no BigInt/double rounding, `1.0` stays `1.0`).
 */
export function stringifyMemberExactly(text: string, member: string, what = 'body'): string {
  try {
    const document = JSON.parse(text, exactNumbersReviver) as Record<string, unknown>;
    return JSON.stringify(document[member]);
  } catch (error) {
    if (error instanceof RangeError) throw tooDeep(what, error);
    throw error;
  }
}

/** The first non-whitespace character is `{` or `[`. */
export function startsLikeJsonContainer(text: string): boolean {
  const first = text.trimStart()[0];
  return first === '{' || first === '[';
}

/**
 * Meant as JSON, so a parse error is the answer rather than routing it as text: opens like an
 * object (no pipe type or text body starts with "{"), opens and closes like an array, or opens an
 * array of objects or arrays. "[INFO] …" stays text; a truncated "{…" is MalformedJson.
 */
export function meantAsJson(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return true;
  if (!trimmed.startsWith('[')) return false;
  return trimmed.endsWith(']') || /^\[\s*[[{]/.test(trimmed);
}

/** Opens and closes like a JSON object or array. */
export function looksLikeJsonContainer(text: string): boolean {
  const trimmed = text.trim();
  const first = trimmed[0];
  const last = trimmed[trimmed.length - 1];
  return (first === '{' && last === '}') || (first === '[' && last === ']');
}

function lineAndColumn(text: string, position: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line} column ${position - lineStart + 1}`;
}

function syntaxErrorMessage(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const UNEXPECTED_TOKEN = /^Unexpected token/;

/**
 * V8 reports "Unexpected token" with a copy of the input instead of a position. Every prefix
 * shorter than the bad character parses as merely incomplete, so bisect prefixes for it.
 */
function unexpectedTokenPosition(text: string): number {
  let low = 0;
  let high = text.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (UNEXPECTED_TOKEN.test(syntaxErrorMessage(text.slice(0, middle)) ?? '')) high = middle;
    else low = middle + 1;
  }
  return low - 1;
}

/** The offending character, quoted; escaped when it would not show (newlines, BOM, spaces). */
function token(text: string, position: number): string {
  const code = text.codePointAt(position) ?? 0;
  const character = String.fromCodePoint(code);
  if (character < ' ') return `'${JSON.stringify(character).slice(1, -1)}'`;
  if (/^[\p{Z}\p{C}]$/u.test(character)) return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${character}'`;
}

function malformedJson(text: string, error: SyntaxError, what: string): DecodeError {
  let detail = error.message;
  let position: number | undefined;
  if (UNEXPECTED_TOKEN.test(detail)) {
    position = unexpectedTokenPosition(text);
    detail =
      position >= 0
        ? `Unexpected token ${token(text, position)} at position ${position} (${lineAndColumn(text, position)})`
        : 'Unexpected token';
    if (position < 0) position = undefined;
  } else {
    const match = /at position (\d+)/.exec(detail);
    if (match?.[1] !== undefined) position = Number(match[1]);
  }
  return new DecodeError('MalformedJson', `${what} is not valid JSON: ${detail}`, { cause: error, position });
}
