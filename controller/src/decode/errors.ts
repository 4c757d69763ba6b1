import type { EnvelopeKind } from '../api/schemas.ts';

export const decodeErrorReasons = [
  'MalformedJson',
  'MalformedPipe',
  'MalformedEnvelope',
  'UnknownFormat',
  'BodyTooLarge',
  'InvalidUtf8',
  'PayloadFetchFailed',
  'UnsupportedCharacters',
] as const;
export type DecodeErrorReason = (typeof decodeErrorReasons)[number];

export type DecodeErrorOptions = {
  cause?: unknown;
  /** True when the same message may decode on a later delivery (a transient S3 failure). */
  retryable?: boolean;
  /** UTF-16 offset of the offending character, where one is known. */
  position?: number;
  /** Envelopes unwrapped before the failure, outermost first. */
  envelopes?: readonly EnvelopeKind[];
};

/** A message that cannot be decoded. The message is written for the SRE reading the dead-letter record. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly reason: DecodeErrorReason;
  readonly retryable: boolean;
  readonly position: number | undefined;
  readonly envelopes: readonly EnvelopeKind[];

  constructor(reason: DecodeErrorReason, message: string, options: DecodeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.retryable = options.retryable ?? false;
    this.position = options.position;
    this.envelopes = options.envelopes ?? [];
  }
}

/** Index of the first unpaired UTF-16 surrogate, or -1. Such a string has no UTF-8 encoding. */
export function loneSurrogateIndex(text: string): number {
  if (text.isWellFormed()) return -1;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return i;
  }
  return -1;
}

function hex(unit: number): string {
  return `U+${unit.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Throws InvalidUtf8 when `text` holds a lone surrogate; `what` names the text in the message. */
export function assertWellFormed(text: string, what: string): void {
  const index = loneSurrogateIndex(text);
  if (index < 0) return;
  throw new DecodeError(
    'InvalidUtf8',
    `${what} is not valid UTF-8: lone surrogate ${hex(text.charCodeAt(index))} at position ${index}`,
    { position: index },
  );
}

export function bodyTooLarge(what: string, bytes: number, limit: number, source = ''): DecodeError {
  return new DecodeError(
    'BodyTooLarge',
    `${what} is ${bytes} bytes${source}, over the maxBodyBytes limit of ${limit}`,
  );
}
