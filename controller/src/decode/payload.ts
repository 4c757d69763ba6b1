// Fetches an extended-client payload through the injected store and decodes it as strict UTF-8.
import { bodyTooLarge, DecodeError } from './errors.ts';
import type { PayloadPointer } from './envelopes.ts';
import type { PayloadStore } from './types.ts';

// S3 answers that a retry cannot change; anything else (throttling, 5xx, network) may pass later.
const PERMANENT_S3_ERRORS = new Set(['NoSuchKey', 'NoSuchBucket', 'InvalidBucketName', 'InvalidObjectState', 'NotFound']);

function isPermanent(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, $metadata } = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return (typeof name === 'string' && PERMANENT_S3_ERRORS.has(name)) || $metadata?.httpStatusCode === 404;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message !== '' && error.message !== error.name ? `${error.name}: ${error.message}` : error.name;
}

export type FetchedPayload = { text: string; bytes: number };

export async function fetchPayload(
  store: PayloadStore,
  pointer: PayloadPointer,
  maxBodyBytes: number,
): Promise<FetchedPayload> {
  const what = `extended-client payload s3://${pointer.bucket}/${pointer.key}`;
  if (pointer.declaredBytes !== undefined && pointer.declaredBytes > maxBodyBytes) {
    throw bodyTooLarge(what, pointer.declaredBytes, maxBodyBytes, ' (by its size attribute)');
  }
  let bytes: Uint8Array;
  try {
    bytes = await store.getObject(pointer.bucket, pointer.key, { maxBytes: maxBodyBytes });
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    throw new DecodeError('PayloadFetchFailed', `could not fetch ${what}: ${describe(error)}`, {
      cause: error,
      retryable: !isPermanent(error),
    });
  }
  if (bytes.byteLength > maxBodyBytes) throw bodyTooLarge(what, bytes.byteLength, maxBodyBytes);
  try {
    // A leading byte order mark is dropped, as every UTF-8 reader does.
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), bytes: bytes.byteLength };
  } catch (error) {
    throw new DecodeError('InvalidUtf8', `${what} is not valid UTF-8`, { cause: error });
  }
}
