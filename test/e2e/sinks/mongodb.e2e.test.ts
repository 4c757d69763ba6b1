// What only the MongoDB sink does: keys that arrive as strings still find records keyed by an
// ObjectId or a number, `_id` can be the key, and dotted paths read the same after insert or update.
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink } from '../../../controller/src/sinks/open.ts';
import type { SinkWrite, StatusSinkClient } from '../../../controller/src/sinks/types.ts';
import { mongoBackend, VERSION_FIELD } from './backends.ts';

const backend = mongoBackend();
let sink: StatusSinkClient;
let table: string;
const collection = () => backend.client.db(backend.database).collection(table);

beforeAll(async () => {
  sink = await openSink(backend.spec, backend.readSecret);
  table = await backend.createTable('string');
});
afterAll(async () => {
  await sink?.close();
  await backend.cleanUp();
});

const write = (overrides: Partial<SinkWrite>): SinkWrite => ({
  table, keyField: 'id', key: 'k', version: 10, versionField: VERSION_FIELD,
  fields: { status: 'running' }, createIfMissing: true, ...overrides,
});

describe('MongoDB status sink', () => {
  it('finds a record keyed by an ObjectId from the key string a message carries', async () => {
    const _id = new ObjectId();
    await collection().insertOne({ _id, title: 'Roleplay result' });
    expect(await sink.write(write({ keyField: '_id', key: _id.toHexString(), createIfMissing: false }))).toBe('written');
    expect(await collection().find({ title: 'Roleplay result' }).toArray()).toEqual([
      { _id, title: 'Roleplay result', status: 'running', [VERSION_FIELD]: 10 },
    ]);
  });

  it('finds a record keyed by a number from the key string a message carries', async () => {
    await collection().insertOne({ id: 9001, title: 'numeric' });
    expect(await sink.write(write({ key: '9001', createIfMissing: false }))).toBe('written');
    expect(await sink.write(write({ key: 9001, createIfMissing: false }))).toBe('stale');
    expect(await backend.records(table, 9001)).toEqual([{ id: 9001, title: 'numeric', status: 'running', [VERSION_FIELD]: 10 }]);
  });

  it('creates a record under _id when _id is the key, and only one', async () => {
    const key = `doc-${process.pid}`;
    expect(await sink.write(write({ keyField: '_id', key, version: 11 }))).toBe('written');
    expect(await sink.write(write({ keyField: '_id', key, version: 12, fields: { status: 'succeeded' } }))).toBe('written');
    expect(await collection().find({ _id: key } as object).toArray()).toEqual([{ _id: key, status: 'succeeded', [VERSION_FIELD]: 12 }]);
  });

  it('gives a dotted field the same nested shape whether it created the record or updated it', async () => {
    expect(await sink.write(write({ key: 'nested-new', fields: { 'progress.step': 'visuals', 'progress.percent': 40 } }))).toBe('written');
    await collection().insertOne({ id: 'nested-old', progress: { owner: 'app' } });
    expect(await sink.write(write({ key: 'nested-old', fields: { 'progress.step': 'visuals', 'progress.percent': 40 } }))).toBe('written');
    expect((await backend.records(table, 'nested-new'))[0]).toMatchObject({ progress: { step: 'visuals', percent: 40 } });
    expect((await backend.records(table, 'nested-old'))[0]).toMatchObject({ progress: { owner: 'app', step: 'visuals', percent: 40 } });
  });

  it('refuses a write that names no collection', async () => {
    await expect(sink.write(write({ table: '' }))).rejects.toThrow("no collection to write to: set the JobType's statusSink.table");
  });
});
