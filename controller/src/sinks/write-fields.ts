// What every backend does with a SinkWrite before storing it: pick the table and the fields to set.
import { SinkConfigError } from './permanent-errors.ts';
import type { SinkWrite } from './types.ts';

/** The JobType's table, else the StatusSink's default; a write with neither has nowhere to go. */
export function targetTable(write: SinkWrite, defaultTable: string | undefined, noun: 'collection' | 'table'): string {
  const table = write.table || defaultTable;
  if (table) return table;
  const where = noun === 'collection' ? "the JobType's statusSink.table" : "the JobType's statusSink.table or the StatusSink's table";
  throw new SinkConfigError(`no ${noun} to write to: set ${where}`);
}

/**
 * The fields a write sets, in a stable order. Undefined values are unknown facts and are left out;
 * the key and the version belong to the write itself, so a mapping cannot move or rewind a record.
 */
export function fieldsToSet(write: SinkWrite, reserved: readonly string[] = []): [string, unknown][] {
  return Object.entries(write.fields).filter(
    ([name, value]) => value !== undefined && name !== write.keyField && name !== write.versionField && !reserved.includes(name),
  );
}

/** Versions are compared as numbers by every store; beyond 2^53 they would silently round. */
export function checkVersion(write: SinkWrite): void {
  if (!Number.isSafeInteger(write.version) || write.version < 0) {
    throw new SinkConfigError(`write version ${write.version} is not a non-negative safe integer`);
  }
}
