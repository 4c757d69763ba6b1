// The MongoDB-wire server answers the official driver for the operations status sinks use.
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { stack } from '../support/stack.ts';

const client = new MongoClient(stack.mongoUri, { serverSelectionTimeoutMS: 5_000 });
afterAll(async () => { await client.close(); });

describe('MongoDB wire server', () => {
  it('upserts and then findOneAndUpdate-s a document', async () => {
    const results = client.db('sluice_test').collection(`results_${randomBytes(3).toString('hex')}`);
    const upsert = await results.updateOne(
      { jobId: 'job-1' },
      { $set: { status: 'queued' }, $setOnInsert: { createdAt: new Date(0) } },
      { upsert: true },
    );
    expect(upsert.upsertedCount).toBe(1);
    const before = await results.findOneAndUpdate(
      { jobId: 'job-1', status: 'queued' },
      { $set: { status: 'processing' } },
      { returnDocument: 'before' },
    );
    expect(before?.status).toBe('queued');
    const none = await results.findOneAndUpdate({ jobId: 'job-1', status: 'queued' }, { $set: { status: 'x' } });
    expect(none).toBeNull();
    const doc = await results.findOne({ jobId: 'job-1' });
    expect(doc).toMatchObject({ status: 'processing', createdAt: new Date(0) });
  });
});
