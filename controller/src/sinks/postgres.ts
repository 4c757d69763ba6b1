// PostgreSQL status sink. A conditional UPDATE makes each write monotonic; a missing row is created
// with INSERT … ON CONFLICT (key) DO NOTHING and, when that loses a race, the UPDATE decides again.
//
// The table is the application's (Sluice creates none). It needs:
//   - a UNIQUE or PRIMARY KEY constraint on the key column (ON CONFLICT names it), and
//   - a bigint (or numeric) column for the version, e.g. `sluice_version bigint`;
// and timestamptz columns for times, jsonb (or json) columns for results and other documents.
import { Pool, escapeIdentifier } from 'pg';
import type { SinkWrite, StatusSinkClient, WriteResult } from './types.ts';
import { SinkConfigError } from './permanent-errors.ts';
import { checkVersion, fieldsToSet, targetTable } from './write-fields.ts';

export const PG_POOL_OPTIONS = {
  max: 4,
  // A stopped server fails a write within seconds instead of waiting on the socket.
  connectionTimeoutMillis: 5_000,
  query_timeout: 10_000,
  idleTimeoutMillis: 30_000,
  keepAlive: true,
} as const;

/** Column name → type as PostgreSQL prints it (`jsonb`, `text[]`, `timestamp with time zone`). */
type ColumnTypes = Map<string, string>;

export class PostgresStatusSink implements StatusSinkClient {
  readonly #pool: Pool;
  readonly #defaultTable: string | undefined;
  readonly #columns = new Map<string, Promise<ColumnTypes>>();

  constructor(pool: Pool, defaultTable?: string) {
    this.#pool = pool;
    this.#defaultTable = defaultTable;
    // An idle connection dies when the server restarts; the pool drops it and the next query
    // reconnects. Without a listener the error would crash the process.
    pool.on('error', () => {});
  }

  static open(uri: string, defaultTable?: string): PostgresStatusSink {
    return new PostgresStatusSink(new Pool({ connectionString: uri, ...PG_POOL_OPTIONS }), defaultTable);
  }

  async write(write: SinkWrite): Promise<WriteResult> {
    checkVersion(write);
    const table = quoteTable(targetTable(write, this.#defaultTable, 'table'));
    try {
      return await this.#write(table, write);
    } catch (error) {
      this.#columns.delete(table); // the table may have changed under us
      throw error;
    }
  }

  async #write(table: string, write: SinkWrite): Promise<WriteResult> {
    const columns = await this.#columnTypes(table);
    const fields = fieldsToSet(write);
    const params = [write.key, write.version, ...fields.map(([name, value]) => toPgValue(value, columns.get(name)))];
    const key = escapeIdentifier(write.keyField);
    const version = escapeIdentifier(write.versionField);
    const assignments = [`${version} = $2`, ...fields.map(([name], i) => `${escapeIdentifier(name)} = $${i + 3}`)];
    const update = `UPDATE ${table} SET ${assignments.join(', ')} WHERE ${key} = $1 AND (${version} IS NULL OR ${version} < $2)`;

    if (await this.#changed(update, params)) return 'written';
    if (!write.createIfMissing) {
      const found = await this.#pool.query(`SELECT 1 FROM ${table} WHERE ${key} = $1 LIMIT 1`, [write.key]);
      return found.rowCount ? 'stale' : 'missing';
    }
    const insertColumns = [key, version, ...fields.map(([name]) => escapeIdentifier(name))];
    const placeholders = params.map((_, i) => `$${i + 1}`);
    const insert = `INSERT INTO ${table} (${insertColumns.join(', ')}) VALUES (${placeholders.join(', ')}) ON CONFLICT (${key}) DO NOTHING`;
    if (await this.#changed(insert, params)) return 'written';
    // Another write created the row meanwhile: the version decides.
    return (await this.#changed(update, params)) ? 'written' : 'stale';
  }

  async #changed(sql: string, params: unknown[]): Promise<boolean> {
    return ((await this.#pool.query(sql, params)).rowCount ?? 0) > 0;
  }

  /** Looked up once per table: a string goes into a jsonb column as JSON, into a text column as is. */
  #columnTypes(table: string): Promise<ColumnTypes> {
    let found = this.#columns.get(table);
    if (!found) {
      found = this.#pool
        .query<{ name: string; type: string }>(
          `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
            WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
          [table],
        )
        .then(({ rows }) => new Map(rows.map((row) => [row.name, row.type])));
      this.#columns.set(table, found);
    }
    return found;
  }

  async ping(): Promise<void> {
    await this.#pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** `interviews` or `app.interviews`, each part quoted: names are used exactly as written. */
export function quoteTable(table: string): string {
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((part) => part === '')) throw new SinkConfigError(`invalid PostgreSQL table name ${JSON.stringify(table)}`);
  return parts.map(escapeIdentifier).join('.');
}

/**
 * A value as a query parameter for a column of the given type: JSON for json/jsonb columns and for
 * objects, arrays as PostgreSQL arrays for array columns, Dates as timestamps (pg sends the instant
 * with its offset, so timestamptz stores it exactly).
 */
export function toPgValue(value: unknown, columnType: string | undefined): unknown {
  if (value === null) return null;
  if (columnType === 'json' || columnType === 'jsonb') return JSON.stringify(value);
  if (Array.isArray(value) && columnType?.endsWith('[]')) return value;
  if (value instanceof Date) return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}
