// A status sink writes a Job's progress into the application's own record. Writes are monotonic:
// each carries a version (message send time × 1000 + a rank within the message: phase, and the
// percentage reported while running) and only lands when the record's stored version is lower, so
// a late or repeated write never moves a record backwards.
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

// Room for progress between running (200) and the final phases (400): 201 + percent.
const PHASE_RANK: Record<Phase, number> = { queued: 100, running: 200, succeeded: 400, failed: 400 };

/**
 * Later messages supersede earlier ones; within one message, later phases supersede earlier ones,
 * and while running a higher percentage supersedes a lower one. Send times in milliseconds × 1000
 * stay exact in a double until the year 2255.
 */
export function writeVersion(sentAtMillis: number, phase: Phase, progressPercent?: number): number {
  const rank = phase === 'running' && progressPercent !== undefined
    ? PHASE_RANK.running + 1 + Math.min(100, Math.max(0, Math.round(progressPercent)))
    : PHASE_RANK[phase];
  return sentAtMillis * 1000 + rank;
}
