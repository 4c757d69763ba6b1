import { execFileSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import type { StatusSink, StatusSinkSpec } from '../api/schemas.ts';
import { DynamoStatusSink } from './dynamodb.ts';
import { MongoStatusSink } from './mongodb.ts';
import { SinkCache, openSink, type ReadSecret } from './open.ts';
import { PostgresStatusSink } from './postgres.ts';
import type { StatusSinkClient } from './types.ts';

const secrets = (values: Record<string, string>): ReadSecret => (name, key) => {
  const value = values[`${name}/${key}`];
  return value === undefined ? Promise.reject(new Error(`no ${name}/${key}`)) : Promise.resolve(value);
};

describe('openSink', () => {
  it('opens the backend the spec names, reading URIs from their Secrets (trailing newline ignored)', async () => {
    const read = vi.fn(secrets({ 'mongo/uri': 'mongodb://127.0.0.1:1\n', 'pg/uri': 'postgres://u@127.0.0.1:1/db' }));
    const mongo = await openSink({ mongodb: { uriSecretRef: { name: 'mongo', key: 'uri' }, database: 'app' } }, read);
    const dynamo = await openSink({ dynamodb: { region: 'eu-west-1', table: 'interviews' } }, read);
    const postgres = await openSink({ postgres: { uriSecretRef: { name: 'pg', key: 'uri' } } }, read);
    expect(mongo).toBeInstanceOf(MongoStatusSink);
    expect(dynamo).toBeInstanceOf(DynamoStatusSink);
    expect(postgres).toBeInstanceOf(PostgresStatusSink);
    expect(read.mock.calls).toEqual([['mongo', 'uri'], ['pg', 'uri']]);
    await Promise.all([mongo.close(), dynamo.close(), postgres.close()]);
  });

  it('fails on an empty or malformed URI, an unreadable Secret and an empty spec', async () => {
    const read = secrets({ 'pg/uri': ' \n' });
    await expect(openSink({ postgres: { uriSecretRef: { name: 'pg', key: 'uri' } } }, read)).rejects.toThrow('Secret pg key uri is empty');
    await expect(openSink({ postgres: { uriSecretRef: { name: 'gone', key: 'uri' } } }, read)).rejects.toThrow('no gone/uri');
    await expect(openSink({}, read)).rejects.toThrow('none of mongodb, dynamodb or postgres');
    const malformed = secrets({ 'mongo/uri': 'mongo://nowhere' });
    await expect(openSink({ mongodb: { uriSecretRef: { name: 'mongo', key: 'uri' }, database: 'app' } }, malformed)).rejects.toThrow(/Invalid scheme/);
  });
});

describe('SinkCache', () => {
  const sink = (name: string, resourceVersion: string): StatusSink => ({
    apiVersion: 'sluice.dev/v1alpha1', kind: 'StatusSink',
    metadata: { namespace: 'apps', name, resourceVersion },
    spec: { dynamodb: { table: name } },
  });
  const noSecrets: ReadSecret = () => Promise.reject(new Error('unused'));

  function fakeOpener() {
    const opened: { spec: StatusSinkSpec; client: StatusSinkClient & { closed: boolean } }[] = [];
    const open = vi.fn((spec: StatusSinkSpec) => {
      const client = {
        closed: false,
        write: () => Promise.resolve('written' as const),
        ping: () => Promise.resolve(),
        close() { this.closed = true; return Promise.resolve(); },
      };
      opened.push({ spec, client });
      return Promise.resolve(client);
    });
    return { open, opened };
  }

  it('reuses the client while the StatusSink is unchanged, also for concurrent callers', async () => {
    const { open } = fakeOpener();
    const cache = new SinkCache(open);
    const [a, b] = await Promise.all([cache.get(sink('db', '1'), noSecrets), cache.get(sink('db', '1'), noSecrets)]);
    expect(await cache.get(sink('db', '1'), noSecrets)).toBe(a);
    expect(b).toBe(a);
    expect(open).toHaveBeenCalledTimes(1);
  });

  it('opens a new client for a changed StatusSink and closes the replaced one', async () => {
    const { open, opened } = fakeOpener();
    const cache = new SinkCache(open);
    const first = await cache.get(sink('db', '1'), noSecrets);
    const second = await cache.get(sink('db', '2'), noSecrets);
    expect(second).not.toBe(first);
    await vi.waitFor(() => expect(opened[0]!.client.closed).toBe(true), { timeout: 5_000 });
    expect(opened[1]!.client.closed).toBe(false);
    expect(cache.size).toBe(1);
  });

  it('keeps one client per StatusSink name', async () => {
    const { open } = fakeOpener();
    const cache = new SinkCache(open);
    const one = await cache.get(sink('one', '1'), noSecrets);
    const two = await cache.get(sink('two', '1'), noSecrets);
    expect(two).not.toBe(one);
    expect(cache.size).toBe(2);
  });

  it('does not remember a failed open, so the next call tries again', async () => {
    let attempts = 0;
    const cache = new SinkCache(() => (++attempts === 1 ? Promise.reject(new Error('Secret missing')) : fakeOpener().open({})));
    await expect(cache.get(sink('db', '1'), noSecrets)).rejects.toThrow('Secret missing');
    await expect(cache.get(sink('db', '1'), noSecrets)).resolves.toBeDefined();
    expect(attempts).toBe(2);
  });

  it('closes clients of deleted StatusSinks, and all of them on close()', async () => {
    const { open, opened } = fakeOpener();
    const cache = new SinkCache(open);
    await cache.get(sink('one', '1'), noSecrets);
    await cache.get(sink('two', '1'), noSecrets);
    await cache.delete('apps', 'one');
    expect(opened.map((o) => o.client.closed)).toEqual([true, false]);
    await cache.close();
    expect(opened.map((o) => o.client.closed)).toEqual([true, true]);
    expect(cache.size).toBe(0);
  });

  it('passes the spec and the Secret reader to the opener', async () => {
    const open = vi.fn(() => fakeOpener().open({}));
    const read: ReadSecret = () => Promise.resolve('x');
    await new SinkCache(open).get(sink('db', '7'), read);
    expect(open).toHaveBeenCalledWith({ dynamodb: { table: 'db' } }, read);
  });
});

describe('store drivers', () => {
  it('are not loaded by the controller until a StatusSink of their kind is opened', () => {
    // A fresh process: this test file itself imports the drivers.
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
      await import(${JSON.stringify(new URL('../controller.ts', import.meta.url).href)});
      const drivers = ['/node_modules/mongodb/', '/node_modules/bson/', '/node_modules/pg/', '/@aws-sdk/client-dynamodb/'];
      console.log(JSON.stringify(drivers.filter((d) => loaded.some((url) => url.includes(d)))));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(output.trim().split('\n').at(-1)!)).toEqual([]);
  }, 30_000);
});
