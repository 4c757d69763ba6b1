// The message a Sluice Job runs for: the body exactly as the producer sent it (envelopes unwrapped,
// extended-client S3 pointers resolved by Sluice), in $SLUICE_PAYLOAD_FILE and, when small, in
// $SLUICE_PAYLOAD.
import { readFileSync } from 'node:fs';
import { JobError } from './errors.ts';

export const DEFAULT_PAYLOAD_FILE = '/var/run/sluice/payload';

export const payloadFormats = ['json', 'pipe', 'text'] as const;
export type PayloadFormat = (typeof payloadFormats)[number];

/** The legacy `TYPE|jobId|metadata` body; metadata is parsed when it is a JSON object or array. */
export type PipeBody = { type: string; jobId: string; metadata: unknown };

export type Payload = {
  /** The body as the producer sent it. */
  raw: string;
  format: PayloadFormat;
  /** JSON: the parsed value; pipe: a PipeBody; text: the raw string. */
  body: unknown;
};

type Env = Record<string, string | undefined>;

/** The raw body: $SLUICE_PAYLOAD when set (the same bytes, no file read), else the payload file. */
export function readRawPayload(env: Env = process.env): string {
  if (env.SLUICE_PAYLOAD !== undefined) return env.SLUICE_PAYLOAD;
  const file = env.SLUICE_PAYLOAD_FILE || DEFAULT_PAYLOAD_FILE;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new JobError(`cannot read the payload file ${file}: ${(error as Error).message}`, { retryable: false });
  }
}

/** Reads and decodes the payload per $SLUICE_PAYLOAD_FORMAT. A body that does not decode is bad input (exit 2). */
export function readPayload(env: Env = process.env): Payload {
  const raw = readRawPayload(env);
  const declared = env.SLUICE_PAYLOAD_FORMAT;
  if (declared !== undefined && declared !== '' && !(payloadFormats as readonly string[]).includes(declared)) {
    throw new JobError(`SLUICE_PAYLOAD_FORMAT is ${JSON.stringify(declared)}, expected one of ${payloadFormats.join(', ')}`, { retryable: false });
  }
  return decodePayload(raw, (declared || guessFormat(raw)) as PayloadFormat);
}

/** Without a declared format (a run outside Sluice): JSON when it looks like JSON, else pipe when it matches, else text. */
function guessFormat(raw: string): PayloadFormat {
  const text = raw.trim();
  if (text.startsWith('{') || text.startsWith('[')) return 'json';
  return PIPE_TYPE.test(text.split('|', 1)[0] ?? '') && text.split('|').length >= 3 ? 'pipe' : 'text';
}

const PIPE_TYPE = /^[A-Za-z][A-Za-z0-9_.:-]*$/;

export function decodePayload(raw: string, format: PayloadFormat): Payload {
  switch (format) {
    case 'json':
      return { raw, format, body: parseJson(raw, 'the payload') };
    case 'pipe':
      return { raw, format, body: parsePipe(raw) };
    case 'text':
      return { raw, format, body: raw };
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new JobError(`${what} is not valid JSON: ${(error as Error).message}`, { retryable: false });
  }
}

/** `TYPE|jobId|metadata`: the first two separators split; metadata keeps any further `|`. */
export function parsePipe(raw: string): PipeBody {
  const first = raw.indexOf('|');
  const second = first < 0 ? -1 : raw.indexOf('|', first + 1);
  if (second < 0) {
    throw new JobError(`the payload is not TYPE|jobId|metadata: it has ${raw.split('|').length} field(s)`, { retryable: false });
  }
  const metadata = raw.slice(second + 1);
  const trimmed = metadata.trim();
  let parsed: unknown = metadata;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      parsed = JSON.parse(trimmed) as unknown;
    } catch {
      // Metadata that merely starts like JSON stays a string, as Sluice's own decoder keeps it.
    }
  }
  return { type: raw.slice(0, first), jobId: raw.slice(first + 1, second), metadata: parsed };
}

/**
 * The value at a dotted path (`metadata.source`, `slides.0.image`); undefined when a step is
 * missing. An empty path is the value itself. Lets a JobType say where in the body a task's input is.
 */
export function pick(value: unknown, path: string | undefined): unknown {
  if (path === undefined || path === '') return value;
  let current = value;
  for (const step of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}
