// A status sink writes a Job's progress into the application's own record. Writes are monotonic:
// each carries a version (message send time × 10 + phase rank) and only lands when the record's
// stored version is lower, so a late or repeated write never moves a record backwards.
import type { Phase } from '../api/schemas.ts';

export type SinkWrite = {
  /** MongoDB collection, DynamoDB table or PostgreSQL table. */
  table: string;
  keyField: string;
  key: string | number;
  version: number;
  versionField: string;
  /** Field → value; Dates are timestamps, plain objects and arrays are documents/JSON. */
  fields: Record<string, unknown>;
  createIfMissing: boolean;
};

/** written: the record changed; stale: it already had this or a later version; missing: no record and createIfMissing is false. */
export type WriteResult = 'written' | 'stale' | 'missing';

export interface StatusSinkClient {
  write(write: SinkWrite): Promise<WriteResult>;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const PHASE_RANK: Record<Phase, number> = { queued: 1, running: 2, succeeded: 3, failed: 3 };

/** Later messages supersede earlier ones; within one message, later phases supersede earlier ones. */
export function writeVersion(sentAtMillis: number, phase: Phase): number {
  return sentAtMillis * 10 + PHASE_RANK[phase];
}
