// Monotonic status writes against the real stores: the MongoDB-wire server, DynamoDB (moto) and
// PostgreSQL. Every backend must behave the same way, so one suite runs against each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Phase } from '../../../controller/src/api/schemas.ts';
import { openSink } from '../../../controller/src/sinks/open.ts';
import { writeVersion, type SinkWrite, type StatusSinkClient } from '../../../controller/src/sinks/types.ts';
import { dynamoBackend, mongoBackend, postgresBackend, VERSION_FIELD, type Backend } from './backends.ts';

const backends: Backend[] = [mongoBackend(), dynamoBackend(), postgresBackend()];
afterAll(async () => {
  await Promise.all(backends.map((backend) => backend.cleanUp()));
});

let keys = 0;
const newKey = () => `interview-${process.pid}-${++keys}`;

describe.each(backends)('$name status sink', (backend) => {
  let sink: StatusSinkClient;
  let table: string;
  let numericTable: string;

  beforeAll(async () => {
    sink = await openSink(backend.spec, backend.readSecret);
    table = await backend.createTable('string');
    numericTable = await backend.createTable('number');
  });
  afterAll(async () => {
    await sink?.close();
  });

  /** A write of `phase` for the message sent at `sentAt`, keyed by `key`. */
  const write = (key: string | number, sentAt: number, phase: Phase, fields: Record<string, unknown> = {}, overrides: Partial<SinkWrite> = {}): SinkWrite => ({
    table, keyField: 'id', key, version: writeVersion(sentAt, phase), versionField: VERSION_FIELD,
    fields: { status: phase, ...fields }, createIfMissing: true, ...overrides,
  });
  const only = async (key: string | number, from = table) => {
    const records = await backend.records(from, key);
    expect(records).toHaveLength(1);
    return records[0]!;
  };

  it('answers ping', async () => {
    await expect(sink.ping()).resolves.toBeUndefined();
  });

  it('moves a record through queued → running → succeeded, with the extra fields', async () => {
    const key = newKey();
    const sentAt = Date.parse('2025-06-01T10:00:00Z');
    const startedAt = new Date('2025-06-01T10:00:05.250Z');
    const finishedAt = new Date('2025-06-01T10:01:00.500Z');
    const result = { score: 0.92, tags: ['clear', 'concise'], detail: { questions: 4, passed: true } };

    expect(await sink.write(write(key, sentAt, 'queued', { job_name: 'grade-abc' }))).toBe('written');
    expect(await only(key)).toEqual({ id: key, status: 'queued', job_name: 'grade-abc', [VERSION_FIELD]: writeVersion(sentAt, 'queued') });

    expect(await sink.write(write(key, sentAt, 'running', { started_at: startedAt, attempts: 1 }))).toBe('written');
    expect(await only(key)).toEqual({
      id: key, status: 'running', job_name: 'grade-abc', started_at: backend.stored(startedAt), attempts: 1,
      [VERSION_FIELD]: writeVersion(sentAt, 'running'),
    });

    expect(await sink.write(write(key, sentAt, 'succeeded', { finished_at: finishedAt, attempts: 1, result }))).toBe('written');
    expect(await only(key)).toEqual({
      id: key, status: 'succeeded', job_name: 'grade-abc', started_at: backend.stored(startedAt),
      finished_at: backend.stored(finishedAt), attempts: 1, result, [VERSION_FIELD]: writeVersion(sentAt, 'succeeded'),
    });
  });

  it('treats a repeated write as already done and leaves the record as it was', async () => {
    const key = newKey();
    const running = write(key, 1_000, 'running', { attempts: 1 });
    expect(await sink.write(running)).toBe('written');
    const before = await only(key);
    expect(await sink.write(running)).toBe('stale');
    expect(await sink.write({ ...running, fields: { status: 'running', attempts: 2 } })).toBe('stale');
    expect(await only(key)).toEqual(before);
  });

  it('never moves a record back: running arriving after succeeded is ignored', async () => {
    const key = newKey();
    expect(await sink.write(write(key, 1_000, 'succeeded', { attempts: 1 }))).toBe('written');
    expect(await sink.write(write(key, 1_000, 'running', { attempts: 0, note: 'late' }))).toBe('stale');
    expect(await sink.write(write(key, 1_000, 'queued'))).toBe('stale');
    expect(await only(key)).toEqual({ id: key, status: 'succeeded', attempts: 1, [VERSION_FIELD]: writeVersion(1_000, 'succeeded') });
  });

  it("never lets an older message's outcome overwrite a newer message's progress", async () => {
    const key = newKey();
    expect(await sink.write(write(key, 2_000, 'queued', { job_name: 'newer' }))).toBe('written');
    expect(await sink.write(write(key, 1_000, 'failed', { job_name: 'older' }))).toBe('stale');
    expect(await only(key)).toEqual({ id: key, status: 'queued', job_name: 'newer', [VERSION_FIELD]: writeVersion(2_000, 'queued') });
    expect(await sink.write(write(key, 2_000, 'succeeded', { job_name: 'newer' }))).toBe('written');
    expect((await only(key)).status).toBe('succeeded');
  });

  it('without createIfMissing creates nothing and reports the record missing, then updates it once it exists', async () => {
    const key = newKey();
    const queued = write(key, 1_000, 'queued', {}, { createIfMissing: false });
    expect(await sink.write(queued)).toBe('missing');
    expect(await backend.records(table, key)).toEqual([]);

    await backend.seed(table, { id: key, owner: 'app' });
    expect(await sink.write(queued)).toBe('written');
    expect(await sink.write(queued)).toBe('stale');
    expect(await only(key)).toEqual({ id: key, owner: 'app', status: 'queued', [VERSION_FIELD]: writeVersion(1_000, 'queued') });
  });

  it("leaves the application's other fields untouched", async () => {
    const key = newKey();
    await backend.seed(table, { id: key, owner: 'alice', note: 'uploaded from the mobile app', status: 'uploaded' });
    expect(await sink.write(write(key, 1_000, 'running', { attempts: 1 }))).toBe('written');
    expect(await only(key)).toEqual({
      id: key, owner: 'alice', note: 'uploaded from the mobile app', status: 'running', attempts: 1,
      [VERSION_FIELD]: writeVersion(1_000, 'running'),
    });
  });

  it('does not create a second record when the existing one holds a newer version', async () => {
    const key = newKey();
    await backend.seed(table, { id: key, status: 'completed', [VERSION_FIELD]: writeVersion(5_000, 'succeeded') });
    expect(await sink.write(write(key, 1_000, 'queued'))).toBe('stale');
    expect(await only(key)).toEqual({ id: key, status: 'completed', [VERSION_FIELD]: writeVersion(5_000, 'succeeded') });
  });

  it('addresses records by numeric keys', async () => {
    await backend.seed(numericTable, { id: 42, owner: 'bob' });
    expect(await sink.write(write(42, 1_000, 'running', {}, { table: numericTable }))).toBe('written');
    expect(await only(42, numericTable)).toEqual({ id: 42, owner: 'bob', status: 'running', [VERSION_FIELD]: writeVersion(1_000, 'running') });

    expect(await sink.write(write(7, 1_000, 'queued', {}, { table: numericTable }))).toBe('written');
    expect(await only(7, numericTable)).toEqual({ id: 7, status: 'queued', [VERSION_FIELD]: writeVersion(1_000, 'queued') });
    expect(await sink.write(write(7, 1_000, 'queued', {}, { table: numericTable, createIfMissing: false }))).toBe('stale');
    expect(await sink.write(write(8, 1_000, 'queued', {}, { table: numericTable, createIfMissing: false }))).toBe('missing');
  });

  it('lands the newest of many concurrent writes in one record, whatever order they arrive in', async () => {
    const key = newKey();
    const phases: Phase[] = ['queued', 'running', 'succeeded'];
    const writes = [1_000, 2_000, 3_000, 4_000].flatMap((sentAt) => phases.map((phase) => write(key, sentAt, phase, { job_name: `${sentAt}-${phase}` })));
    const shuffled = [...writes].sort(() => Math.random() - 0.5);
    const results = await Promise.all(shuffled.map((w) => sink.write(w)));
    const newest = writes.at(-1)!;
    expect(results[shuffled.indexOf(newest)]).toBe('written');
    expect(results).not.toContain('missing');
    expect(await only(key)).toEqual({ id: key, status: 'succeeded', job_name: '4000-succeeded', [VERSION_FIELD]: newest.version });
  });

  it('writes null, booleans and lists', async () => {
    const key = newKey();
    await backend.seed(table, { id: key, note: 'to be cleared' });
    expect(await sink.write(write(key, 1_000, 'failed', { note: null, result: { retried: false, steps: [1, 'two', null] } }))).toBe('written');
    const record = await only(key);
    expect(record.result).toEqual({ retried: false, steps: [1, 'two', null] });
    // PostgreSQL has no "absent": the backends' reads drop empty columns, so null reads as absent there.
    expect(record.note ?? null).toBeNull();
  });
});
