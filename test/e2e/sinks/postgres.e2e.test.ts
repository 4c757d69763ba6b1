// What only the PostgreSQL sink does: the StatusSink's default table, schema-qualified tables,
// values shaped by column type, and the errors of a table that lacks what Sluice needs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink } from '../../../controller/src/sinks/open.ts';
import type { SinkWrite, StatusSinkClient } from '../../../controller/src/sinks/types.ts';
import { postgresBackend, postgresTableDdl, VERSION_FIELD } from './backends.ts';

const backend = postgresBackend();
const schema = `sink_e2e_schema_${process.pid}`;
const opened: StatusSinkClient[] = [];
let table: string;

const open = async (defaultTable?: string) => {
  const sink = await openSink({ postgres: { uriSecretRef: { name: 'pg', key: 'uri' }, ...(defaultTable ? { table: defaultTable } : {}) } }, backend.readSecret);
  opened.push(sink);
  return sink;
};
const write = (overrides: Partial<SinkWrite>): SinkWrite => ({
  table, keyField: 'id', key: 'k', version: 10, versionField: VERSION_FIELD,
  fields: { status: 'running' }, createIfMissing: true, ...overrides,
});

beforeAll(async () => {
  table = await backend.createTable('string');
  await backend.pool.query(`CREATE SCHEMA ${schema}`);
  await backend.pool.query(postgresTableDdl(`${schema}.courses`, 'number'));
  await backend.pool.query(`CREATE TABLE ${schema}.no_unique_key (id text, status text, ${VERSION_FIELD} bigint)`);
});
afterAll(async () => {
  await Promise.all(opened.map((sink) => sink.close()));
  await backend.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await backend.cleanUp();
});

describe('PostgreSQL status sink', () => {
  it("writes to the StatusSink's table when the JobType names none", async () => {
    const sink = await open(table);
    expect(await sink.write(write({ table: '', key: 'default-table' }))).toBe('written');
    expect(await backend.records(table, 'default-table')).toEqual([{ id: 'default-table', status: 'running', [VERSION_FIELD]: 10 }]);
  });

  it('writes to a schema-qualified table, with a key string for a bigint key', async () => {
    const sink = await open();
    expect(await sink.write(write({ table: `${schema}.courses`, key: '77' }))).toBe('written');
    expect(await sink.write(write({ table: `${schema}.courses`, key: 77 }))).toBe('stale');
    const { rows } = await backend.pool.query(`SELECT id, status, ${VERSION_FIELD} FROM ${schema}.courses`);
    expect(rows).toEqual([{ id: '77', status: 'running', [VERSION_FIELD]: '10' }]);
  });

  it('stores a plain-text result as JSON in a jsonb column and as text in a text column', async () => {
    const sink = await open();
    expect(await sink.write(write({ key: 'text-result', fields: { status: 'succeeded', result: 'all good', note: 'all good' } }))).toBe('written');
    const { rows } = await backend.pool.query(`SELECT result, note, jsonb_typeof(result) AS kind FROM ${table} WHERE id = 'text-result'`);
    expect(rows).toEqual([{ result: 'all good', note: 'all good', kind: 'string' }]);
  });

  it('stores times as timestamptz instants', async () => {
    const sink = await open();
    const startedAt = new Date('2025-03-04T05:06:07.089Z');
    expect(await sink.write(write({ key: 'timed', fields: { started_at: startedAt } }))).toBe('written');
    const { rows } = await backend.pool.query<{ iso: string }>(
      `SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS iso FROM ${table} WHERE id = 'timed'`,
    );
    expect(rows[0]?.iso).toBe(startedAt.toISOString());
  });

  it('updates a table without a unique key, but cannot create rows in it', async () => {
    const sink = await open();
    const noUnique = `${schema}.no_unique_key`;
    await backend.pool.query(`INSERT INTO ${noUnique} (id, status) VALUES ('present', 'new')`);
    expect(await sink.write(write({ table: noUnique, key: 'present' }))).toBe('written');
    await expect(sink.write(write({ table: noUnique, key: 'absent' }))).rejects.toThrow(/no unique or exclusion constraint/);
  });

  it('fails writes to a missing table or column rather than reporting them done', async () => {
    const sink = await open();
    await expect(sink.write(write({ table: `${table}_missing` }))).rejects.toThrow(/does not exist/);
    await expect(sink.write(write({ fields: { no_such_column: 1 } }))).rejects.toThrow(/column "no_such_column".*does not exist/);
  });
});
