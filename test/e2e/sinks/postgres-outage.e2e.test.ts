// A stopped database fails writes and pings within seconds (the caller retries; a failed write
// must never look done), and the same client works again once the database is back. Stops and
// restarts only the local stack's postgres component, and restarts it even when the test fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink } from '../../../controller/src/sinks/open.ts';
import { writeVersion, type SinkWrite, type StatusSinkClient } from '../../../controller/src/sinks/types.ts';
import { postgresBackend, VERSION_FIELD } from './backends.ts';
import { hack, timed } from '../support/outage.ts';

const backend = postgresBackend();
let sink: StatusSinkClient;
let table: string;

beforeAll(async () => {
  sink = await openSink(backend.spec, backend.readSecret);
  table = await backend.createTable('string');
});
afterAll(async () => {
  await sink?.close();
  await backend.cleanUp();
});



const write = (phase: 'queued' | 'running', createIfMissing = true): SinkWrite => ({
  table, keyField: 'id', key: 'outage', version: writeVersion(1_000, phase), versionField: VERSION_FIELD,
  fields: { status: phase }, createIfMissing,
});

describe('PostgreSQL status sink while the database is down', () => {
  it('throws within seconds, then writes again once the database is back', async () => {
    expect(await sink.write(write('queued'))).toBe('written');
    try {
      hack('local-down.sh', 'postgres');
      for (const action of [() => sink.write(write('running')), () => sink.write(write('running', false)), () => sink.ping()]) {
        const { ms, error } = await timed(action);
        expect(error).toBeInstanceOf(Error);
        expect(ms).toBeLessThan(6_000);
      }
    } finally {
      hack('local-up.sh');
    }
    await expect(sink.ping()).resolves.toBeUndefined();
    expect(await sink.write(write('running'))).toBe('written');
    expect(await backend.records(table, 'outage')).toEqual([{ id: 'outage', status: 'running', [VERSION_FIELD]: writeVersion(1_000, 'running') }]);
  });
});
