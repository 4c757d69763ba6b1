import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Informer, type InformerTransport } from './informer.ts';
import { NamespacedInformers } from './namespaced-informers.ts';

const logger = pino({ level: 'silent' });

type Watch = { path: string; send: (type: string, object: unknown) => void; aborted: boolean };

/** An API server in memory holding ConfigMaps; lists and watches answer by collection path. */
function fakeServer() {
  const objects: KubernetesObject[] = [];
  const lists: string[] = [];
  const watches: Watch[] = [];
  let resourceVersion = 1;
  const held = new Set<string>();
  const release: (() => void)[] = [];
  const inCollection = (path: string, object: KubernetesObject) => {
    const namespace = /\/namespaces\/([^/]+)\//.exec(path)?.[1];
    return namespace === undefined || object.metadata?.namespace === namespace;
  };
  const transport: InformerTransport = {
    list: async (path) => {
      lists.push(path);
      if ([...held].some((namespace) => path.includes(`/namespaces/${namespace}/`))) await new Promise<void>((resolve) => release.push(resolve));
      return {
        apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: String(resourceVersion) },
        items: objects.filter((o) => inCollection(path, o)).map((o) => structuredClone(o)),
      };
    },
    watch: (path, _query, onEvent) => {
      const controller = new AbortController();
      const watch: Watch = { path, send: onEvent, aborted: false };
      controller.signal.addEventListener('abort', () => { watch.aborted = true; });
      watches.push(watch);
      return Promise.resolve(controller);
    },
  };
  const configMap = (namespace: string, name: string) => ({
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name, resourceVersion: String(++resourceVersion) },
  });
  return {
    transport, lists, watches,
    put: (namespace: string, name: string) => { const o = configMap(namespace, name); objects.push(o); return o; },
    /** Holds the first list of a namespace until release(). */
    hold: (namespace: string) => held.add(namespace),
    release: () => { held.clear(); for (const resolve of release.splice(0)) resolve(); },
    /** A watch event in `namespace`, delivered on the watches whose collection holds it. */
    event: (type: string, namespace: string, name: string) => {
      const object = configMap(namespace, name);
      for (const watch of watches) if (!watch.aborted && inCollection(watch.path, object)) watch.send(type, object);
    },
  };
}

const path = (namespace: string | undefined) => (namespace ? `/api/v1/namespaces/${namespace}/configmaps` : '/api/v1/configmaps');

function informers(server: ReturnType<typeof fakeServer>, namespaces: string[]) {
  return new NamespacedInformers<KubernetesObject>(namespaces, (namespace) => new Informer({ path: path(namespace), logger, transport: server.transport, watchTimeoutSeconds: 300 }));
}

const names = (objects: KubernetesObject[]) => objects.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`).sort();
const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => { vi.useFakeTimers({ now: 0 }); });
afterEach(() => { vi.useRealTimers(); });

describe('NamespacedInformers', () => {
  it('lists and watches each listed namespace on its own, never the whole cluster', async () => {
    const server = fakeServer();
    server.put('a', 'one');
    server.put('b', 'two');
    server.put('c', 'hidden');
    const cache = informers(server, ['a', 'b', 'a']);
    cache.start();
    await cache.synced();
    await tick();
    expect(server.lists.sort()).toEqual([path('a'), path('b')]);
    expect(server.watches.map((w) => w.path).sort()).toEqual([path('a'), path('b')]);
    expect(cache.namespaces).toEqual(['a', 'b']);

    expect(cache.get('a', 'one')?.metadata?.name).toBe('one');
    expect(cache.get('b', 'one')).toBeUndefined();
    expect(cache.get('c', 'hidden')).toBeUndefined();
    expect(cache.get(undefined, 'one')).toBeUndefined();
    expect(cache.getByKey('b/two')?.metadata?.name).toBe('two');
    expect(names(cache.list())).toEqual(['a/one', 'b/two']);
    expect(names(cache.list('b'))).toEqual(['b/two']);
    expect(cache.list('c')).toEqual([]);
    expect(cache.keys().sort()).toEqual(['a/one', 'b/two']);
    await cache.stop();
    expect(server.watches.every((w) => w.aborted)).toBe(true);
  });

  it('has synced only once every namespace has', async () => {
    const server = fakeServer();
    server.hold('b');
    const cache = informers(server, ['a', 'b']);
    cache.start();
    let synced = false;
    void cache.synced().then(() => { synced = true; });
    await tick();
    expect(cache.hasSynced()).toBe(false);
    expect(synced).toBe(false);
    server.release();
    await tick();
    expect(cache.hasSynced()).toBe(true);
    expect(synced).toBe(true);
    await cache.stop();
  });

  it('delivers every namespace\'s events to handlers added once, and removes them from all', async () => {
    const server = fakeServer();
    server.put('a', 'listed');
    const cache = informers(server, ['a', 'b']);
    const seen: string[] = [];
    const keys: string[] = [];
    const remove = cache.addHandlers({
      add: (o) => seen.push(`add ${o.metadata?.namespace}/${o.metadata?.name}`),
      update: (o) => seen.push(`update ${o.metadata?.namespace}/${o.metadata?.name}`),
      delete: (o) => seen.push(`delete ${o.metadata?.namespace}/${o.metadata?.name}`),
    });
    cache.onChange((key) => keys.push(key));
    cache.start();
    await cache.synced();
    await tick();
    server.event('ADDED', 'b', 'new');
    server.event('MODIFIED', 'a', 'listed');
    server.event('DELETED', 'b', 'new');
    server.event('ADDED', 'c', 'elsewhere');
    expect(seen).toEqual(['add a/listed', 'add b/new', 'update a/listed', 'delete b/new']);
    expect(keys).toEqual(['a/listed', 'b/new', 'a/listed', 'b/new']);
    remove();
    server.event('ADDED', 'a', 'after');
    server.event('ADDED', 'b', 'after');
    expect(seen).toHaveLength(4);
    expect(keys).toHaveLength(6);
    await cache.stop();
  });

  it('is one cluster-wide informer when no namespace is listed', async () => {
    const server = fakeServer();
    server.put('a', 'one');
    server.put('c', 'three');
    const cache = informers(server, []);
    cache.start();
    await cache.synced();
    expect(server.lists).toEqual([path(undefined)]);
    expect(cache.namespaces).toEqual([]);
    expect(names(cache.list())).toEqual(['a/one', 'c/three']);
    expect(names(cache.list('c'))).toEqual(['c/three']);
    expect(cache.get('c', 'three')?.metadata?.name).toBe('three');
    await cache.stop();
  });

  it('rejects synced when stopped before every namespace synced', async () => {
    const server = fakeServer();
    server.hold('b');
    const cache = informers(server, ['a', 'b']);
    cache.start();
    const synced = cache.synced();
    await tick();
    await cache.stop();
    await expect(synced).rejects.toThrow(/stopped before it synced/);
    server.release();
  });
});
