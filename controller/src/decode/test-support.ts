// Shared by the decode tests.
import { DecodeError } from './errors.ts';

/** The DecodeError a promise rejects with; fails the test when it resolves or throws anything else. */
export async function decodeError(promise: Promise<unknown>): Promise<DecodeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('expected a DecodeError');
}
