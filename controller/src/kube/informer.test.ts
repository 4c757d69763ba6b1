import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Informer, type InformerOptions, type InformerTransport, type QueryParams } from './informer.ts';

const logger = pino({ level: 'silent' });

interface WatchCall {
  query: QueryParams;
  send: (type: string, object: unknown) => void;
  end: (err?: unknown) => void;
  aborted: boolean;
}

/** An API server in memory: list returns `objects`; each watch is driven by the test. */
function fakeServer() {
  const objects = new Map<string, KubernetesObject>();
  let resourceVersion = 1;
  const watches: WatchCall[] = [];
  const listQueries: QueryParams[] = [];
  let listFailures = 0;
  const transport: InformerTransport = {
    list: (_path, query) => {
      listQueries.push(query);
      if (listFailures > 0) {
        listFailures--;
        return Promise.reject(Object.assign(new Error('connection refused'), { statusCode: 503 }));
      }
      return Promise.resolve({
        apiVersion: 'v1',
        kind: 'ConfigMapList',
        metadata: { resourceVersion: String(resourceVersion) },
        items: [...objects.values()].map((o) => structuredClone({ ...o, apiVersion: undefined, kind: undefined })),
      } as KubernetesListObject<KubernetesObject>);
    },
    watch: (_path, query, onEvent, done) => {
      const controller = new AbortController();
      const call: WatchCall = {
        query,
        aborted: false,
        send: (type, object) => onEvent(type, object),
        end: (err) => done(err ?? null),
      };
      controller.signal.addEventListener('abort', () => { call.aborted = true; });
      watches.push(call);
      return Promise.resolve(controller);
    },
  };
  const put = (name: string, data: string) => {
    const object = {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { namespace: 'ns', name, resourceVersion: String(++resourceVersion) }, data: { v: data },
    };
    objects.set(name, object);
    return object;
  };
  const remove = (name: string) => {
    const object = objects.get(name)!;
    objects.delete(name);
    resourceVersion++;
    return object;
  };
  return {
    transport, watches, listQueries, put, remove,
    failLists: (n: number) => { listFailures = n; },
    lastWatch: () => watches[watches.length - 1]!,
  };
}

function startInformer(server: ReturnType<typeof fakeServer>, options: Partial<InformerOptions> = {}) {
  const informer = new Informer<KubernetesObject & { data?: Record<string, string> }>({
    path: '/api/v1/namespaces/ns/configmaps',
    logger,
    transport: server.transport,
    watchTimeoutSeconds: 300,
    ...options,
  });
  const seen: string[] = [];
  informer.addHandlers({
    add: (o) => seen.push(`add ${o.metadata?.name}`),
    update: (o, previous) => seen.push(`update ${o.metadata?.name} ${previous.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`),
    delete: (o) => seen.push(`delete ${o.metadata?.name}`),
  });
  informer.start();
  return { informer, seen };
}

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => { vi.useFakeTimers({ now: 0 }); });
afterEach(() => { vi.useRealTimers(); });

describe('Informer', () => {
  it('syncs after the first list, delivering adds and filling the cache with apiVersion and kind', async () => {
    const server = fakeServer();
    server.put('a', '1');
    server.put('b', '1');
    const { informer, seen } = startInformer(server);
    await informer.synced();
    expect(informer.hasSynced()).toBe(true);
    expect(seen).toEqual(['add a', 'add b']);
    expect(informer.get('ns', 'a')).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { v: '1' } });
    expect(informer.list('ns').map((o) => o.metadata?.name)).toEqual(['a', 'b']);
    expect(informer.list('other')).toEqual([]);
    await tick();
    expect(server.lastWatch().query).toMatchObject({ resourceVersion: '3', allowWatchBookmarks: true, timeoutSeconds: 300 });
    await informer.stop();
  });

  it('applies watch events to the cache and handlers, skipping versions it already has', async () => {
    const server = fakeServer();
    const a = server.put('a', '1');
    const { informer, seen } = startInformer(server);
    await tick();
    const watch = server.lastWatch();
    watch.send('ADDED', a);
    watch.send('ADDED', server.put('b', '1'));
    watch.send('MODIFIED', server.put('a', '2'));
    watch.send('DELETED', server.remove('b'));
    watch.send('BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '42' } });
    expect(seen).toEqual(['add a', 'add b', 'update a 2->4', 'delete b']);
    expect(informer.get('ns', 'a')?.data).toEqual({ v: '2' });
    expect(informer.get('ns', 'b')).toBeUndefined();
    expect(informer.stats().resourceVersion).toBe('42');
    await informer.stop();
  });

  it('keeps what the transform returns, from lists and watch events alike, and drops managedFields by default', async () => {
    const server = fakeServer();
    const listed = server.put('a', '1') as KubernetesObject;
    listed.metadata!.managedFields = [{ manager: 'kubectl', operation: 'Apply' }];
    const plain = startInformer(server);
    await plain.informer.synced();
    expect(plain.informer.get('ns', 'a')?.metadata).not.toHaveProperty('managedFields');
    await plain.informer.stop();

    const { informer } = startInformer(server, { transform: (o) => ({ ...o, data: { kept: 'only this' } }) as KubernetesObject });
    await tick();
    expect(informer.get('ns', 'a')).toMatchObject({ kind: 'ConfigMap', data: { kept: 'only this' } });
    server.lastWatch().send('ADDED', server.put('b', '1'));
    expect(informer.get('ns', 'b')).toMatchObject({ data: { kept: 'only this' } });
    server.lastWatch().send('BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '42' } });
    expect(informer.stats().resourceVersion).toBe('42');
    await informer.stop();
  });

  it('holds nothing the transform declines, and lets go of an object that turns into one as deleted', async () => {
    const server = fakeServer();
    server.put('a', 'keep');
    server.put('b', 'skip');
    const transform = (o: KubernetesObject & { data?: Record<string, string> }) => (o.data?.v === 'skip' ? undefined : o);
    const { informer, seen } = startInformer(server, { transform });
    await tick();
    expect(informer.list('ns').map((o) => o.metadata?.name)).toEqual(['a']);
    const watch = server.lastWatch();
    watch.send('MODIFIED', server.put('b', 'skip'));
    // A declined object still moves the watch on.
    expect(informer.stats().resourceVersion).toBe('4');
    watch.send('MODIFIED', server.put('a', 'skip'));
    watch.send('MODIFIED', server.put('b', 'keep'));
    watch.send('DELETED', server.remove('a'));
    expect(seen).toEqual(['add a', 'delete a', 'add b']);
    expect(informer.list('ns').map((o) => o.metadata?.name)).toEqual(['b']);
    await informer.stop();
  });

  it('resumes from the last resourceVersion when the server closes the watch, without listing again', async () => {
    const server = fakeServer();
    const { informer, seen } = startInformer(server);
    await tick();
    server.lastWatch().send('ADDED', server.put('a', '1'));
    await tick(5_000);
    server.lastWatch().end();
    await tick();
    expect(server.watches).toHaveLength(2);
    expect(server.lastWatch().query.resourceVersion).toBe('2');
    expect(server.listQueries).toHaveLength(1);
    server.lastWatch().send('MODIFIED', server.put('a', '2'));
    expect(seen).toEqual(['add a', 'update a 2->3']);
    await informer.stop();
  });

  it('backs off exponentially, capped, while watches keep failing, and recovers at once after a good one', async () => {
    const server = fakeServer();
    const { informer } = startInformer(server, { initialBackoffMs: 1_000, maxBackoffMs: 4_000 });
    await tick();
    const failAndWait = async (expectedDelay: number) => {
      const before = server.watches.length;
      server.lastWatch().end(new Error('ECONNRESET'));
      await tick(expectedDelay - 1);
      expect(server.watches).toHaveLength(before);
      await tick(1);
      expect(server.watches).toHaveLength(before + 1);
    };
    await failAndWait(1_000);
    await failAndWait(2_000);
    await failAndWait(4_000);
    await failAndWait(4_000);
    expect(informer.stats().failures).toBe(4);
    server.lastWatch().send('BOOKMARK', { metadata: { resourceVersion: '9' } });
    await failAndWait(1_000);
    await informer.stop();
  });

  it('retries a failing first list and syncs when the list succeeds', async () => {
    const server = fakeServer();
    server.put('a', '1');
    server.failLists(2);
    const { informer, seen } = startInformer(server, { initialBackoffMs: 500 });
    await tick(499);
    expect(informer.hasSynced()).toBe(false);
    await tick(1_001);
    await informer.synced();
    expect(server.listQueries).toHaveLength(3);
    expect(seen).toEqual(['add a']);
    await informer.stop();
  });

  it('lists again on 410 Gone, delivering what changed meanwhile', async () => {
    const server = fakeServer();
    server.put('a', '1');
    server.put('b', '1');
    const { informer, seen } = startInformer(server);
    await tick();
    server.put('a', '2');
    server.remove('b');
    server.put('c', '1');
    server.lastWatch().send('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    await tick();
    expect(server.listQueries).toHaveLength(2);
    expect(seen).toEqual(['add a', 'add b', 'update a 2->4', 'add c', 'delete b']);
    expect(informer.keys().sort()).toEqual(['ns/a', 'ns/c']);
    await informer.stop();
  });

  it('restarts a watch that stays silent for the watchdog period', async () => {
    const server = fakeServer();
    const { informer } = startInformer(server, { watchdogSeconds: 60 });
    await tick();
    const first = server.lastWatch();
    await tick(30_000);
    first.send('BOOKMARK', { metadata: { resourceVersion: '1' } });
    await tick(59_000);
    expect(server.watches).toHaveLength(1);
    await tick(1_000);
    expect(first.aborted).toBe(true);
    expect(server.watches).toHaveLength(2);
    expect(server.listQueries).toHaveLength(1);
    await informer.stop();
  });

  it('resyncs periodically from its cache: re-delivers every object without listing again or cutting the watch', async () => {
    const server = fakeServer();
    server.put('a', '1');
    // No watchdog: a quiet watch is restarted after 120 s, which this test is not about.
    const { informer, seen } = startInformer(server, { resyncSeconds: 600, watchdogSeconds: 0 });
    await tick();
    server.lastWatch().send('ADDED', server.put('b', '1'));
    await tick(600_000);
    expect(server.listQueries).toHaveLength(1);
    expect(server.watches).toHaveLength(1);
    expect(server.watches[0]!.aborted).toBe(false);
    expect(seen).toEqual(['add a', 'add b', 'update a 2->2', 'update b 3->3']);
    await tick(600_000);
    expect(seen.filter((event) => event.startsWith('update'))).toHaveLength(4);
    expect(server.listQueries).toHaveLength(1);
    await informer.stop();
  });

  it('keeps delivering when a handler throws', async () => {
    const server = fakeServer();
    const { informer, seen } = startInformer(server);
    informer.addHandlers({ add: () => { throw new Error('handler bug'); } });
    await tick();
    server.lastWatch().send('ADDED', server.put('a', '1'));
    server.lastWatch().send('ADDED', server.put('b', '1'));
    expect(seen).toEqual(['add a', 'add b']);
    await informer.stop();
  });

  it('onChange reports object keys', async () => {
    const server = fakeServer();
    const { informer } = startInformer(server);
    const keys: string[] = [];
    informer.onChange((key) => keys.push(key));
    await tick();
    server.lastWatch().send('ADDED', server.put('a', '1'));
    server.lastWatch().send('DELETED', server.remove('a'));
    expect(keys).toEqual(['ns/a', 'ns/a']);
    await informer.stop();
  });

  it('stop ends the watch, and synced rejects when it never synced', async () => {
    const server = fakeServer();
    server.failLists(100);
    const { informer } = startInformer(server);
    await tick(10_000);
    await informer.stop();
    await expect(informer.synced()).rejects.toThrow(/stopped before it synced/);
    const watched = fakeServer();
    const running = startInformer(watched).informer;
    await tick();
    await running.stop();
    expect(watched.lastWatch().aborted).toBe(true);
  });
});
