// Each sink while its store is unreachable: writes and pings throw within seconds (a failed write
// must never look done; the caller retries), and the same client works again once the store is
// back, also when it was opened while the store was down. The stores stay up: a TCP proxy in
// front of each one plays the outage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusSinkSpec } from '../../../controller/src/api/schemas.ts';
import { openSink } from '../../../controller/src/sinks/open.ts';
import { writeVersion, type SinkWrite, type StatusSinkClient } from '../../../controller/src/sinks/types.ts';
import { stack } from '../support/stack.ts';
import { dynamoBackend, mongoBackend, postgresBackend, VERSION_FIELD, type Backend } from './backends.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { timed } from '../support/outage.ts';

type Case = { backend: Backend; target: string; specVia: (port: number) => StatusSinkSpec; uriVia: (port: number) => string };
const cases: Case[] = [
  {
    backend: mongoBackend(), target: stack.mongoUri,
    specVia: () => ({ mongodb: { uriSecretRef: { name: 'mongo', key: 'uri' }, database: 'sluice_test' } }),
    uriVia: (port) => `mongodb://127.0.0.1:${port}`,
  },
  {
    backend: dynamoBackend(), target: stack.awsEndpoint,
    specVia: (port) => ({ dynamodb: { endpoint: `http://127.0.0.1:${port}`, region: stack.awsRegion } }),
    uriVia: () => '',
  },
  {
    backend: postgresBackend(), target: stack.postgresUri,
    specVia: () => ({ postgres: { uriSecretRef: { name: 'postgres', key: 'uri' } } }),
    uriVia: (port) => stack.postgresUri.replace(/:\d+\//, `:${port}/`),
  },
];
const FAILS_WITHIN_MS = 8_000; // the MongoDB driver waits out its 5 s server selection

afterAll(async () => {
  await Promise.all(cases.map(({ backend }) => backend.cleanUp()));
});


describe.each(cases)('$backend.name status sink while its store is unreachable', ({ backend, target, specVia, uriVia }) => {
  const proxy = new TcpProxy(target);
  let table: string;
  let sink: StatusSinkClient;

  beforeAll(async () => {
    table = await backend.createTable('string');
    const port = await proxy.reservePort();
    sink = await openSink(specVia(port), () => Promise.resolve(uriVia(port)));
  });
  afterAll(async () => {
    await sink?.close();
    await proxy.stop();
  });

  const write = (key: string, phase: 'queued' | 'running', createIfMissing = true): SinkWrite => ({
    table, keyField: 'id', key, version: writeVersion(1_000, phase), versionField: VERSION_FIELD,
    fields: { status: phase }, createIfMissing,
  });
  const expectFastFailure = async (action: () => Promise<unknown>) => {
    const { ms, error } = await timed(action);
    expect(error).toBeInstanceOf(Error);
    expect(ms).toBeLessThan(FAILS_WITHIN_MS);
  };

  it('fails while the store has never been reachable, then works once it is', async () => {
    await expectFastFailure(() => sink.ping());
    await expectFastFailure(() => sink.write(write('late-start', 'queued')));
    await proxy.start();
    await expect(sink.ping()).resolves.toBeUndefined();
    expect(await sink.write(write('late-start', 'queued'))).toBe('written');
  });

  it('fails while the store is away, then works again with the same client', async () => {
    expect(await sink.write(write('outage', 'queued'))).toBe('written');
    await proxy.stop();
    await expectFastFailure(() => sink.write(write('outage', 'running')));
    await expectFastFailure(() => sink.write(write('outage', 'running', false)));
    await expectFastFailure(() => sink.ping());
    await proxy.start();
    await expect(sink.ping()).resolves.toBeUndefined();
    expect(await sink.write(write('outage', 'running'))).toBe('written');
    expect(await backend.records(table, 'outage')).toEqual([{ id: 'outage', status: 'running', [VERSION_FIELD]: writeVersion(1_000, 'running') }]);
  });
});
