// The informer against the real API server: it syncs, follows ConfigMaps in a throwaway namespace,
// and keeps delivering when the server ends its watches or the watch goes quiet.
import type * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Informer, type InformerOptions, kubeTransport } from '../../../controller/src/kube/informer.ts';
import { mergePatch } from '../../../controller/src/kube/client.ts';
import { core, createTestNamespace, eventually, kubeConfig } from '../support/kube.ts';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const LABEL = 'sluice.dev/informer-test';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
beforeAll(async () => { ns = await createTestNamespace('kube-informer'); });
afterAll(async () => { await ns?.remove(); });

const informers: Informer<k8s.V1ConfigMap>[] = [];
afterEach(async () => { await Promise.all(informers.splice(0).map((i) => i.stop())); });

/** An informer on this file's ConfigMaps, recording every event it delivers. */
function configMapInformer(group: string, options: Partial<InformerOptions> = {}) {
  const informer = new Informer<k8s.V1ConfigMap>({
    kubeConfig,
    path: `/api/v1/namespaces/${ns.name}/configmaps`,
    labelSelector: `${LABEL}=${group}`,
    logger,
    ...options,
  });
  const seen: string[] = [];
  informer.addHandlers({
    add: (cm) => seen.push(`add ${cm.metadata?.name} ${cm.data?.value}`),
    update: (cm) => seen.push(`update ${cm.metadata?.name} ${cm.data?.value}`),
    delete: (cm) => seen.push(`delete ${cm.metadata?.name}`),
  });
  informers.push(informer);
  informer.start();
  return { informer, seen };
}

const createConfigMap = (group: string, name: string, value: string) =>
  core.createNamespacedConfigMap({
    namespace: ns.name,
    body: { metadata: { name, labels: { [LABEL]: group } }, data: { value } },
  });

const setValue = (name: string, value: string) =>
  core.patchNamespacedConfigMap({ namespace: ns.name, name, body: { data: { value } } }, mergePatch());

const sees = (seen: string[], entry: string) =>
  eventually(`the informer to deliver "${entry}"`, () => Promise.resolve(seen.includes(entry) || undefined), 15_000, 50);

describe('Informer on the real API server', () => {
  it('syncs the existing objects, then follows adds, updates and deletes', async () => {
    await createConfigMap('follow', 'existing', '1');
    await createConfigMap('other', 'not-selected', '1');
    const { informer, seen } = configMapInformer('follow');
    await informer.synced();
    expect(seen).toEqual(['add existing 1']);
    expect(informer.get(ns.name, 'existing')).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { value: '1' } });
    expect(informer.get(ns.name, 'not-selected')).toBeUndefined();

    await createConfigMap('follow', 'fresh', 'a');
    await sees(seen, 'add fresh a');
    await setValue('fresh', 'b');
    await sees(seen, 'update fresh b');
    expect(informer.get(ns.name, 'fresh')?.data?.value).toBe('b');
    await core.deleteNamespacedConfigMap({ namespace: ns.name, name: 'fresh' });
    await sees(seen, 'delete fresh');
    expect(informer.get(ns.name, 'fresh')).toBeUndefined();
    expect(informer.list(ns.name).map((cm) => cm.metadata?.name)).toEqual(['existing']);
    // Watch objects and listed objects alike are wire JSON.
    expect(typeof informer.get(ns.name, 'existing')?.metadata?.creationTimestamp).toBe('string');
  });

  it('keeps delivering after the server ends its watches, resuming without listing again', async () => {
    // The API server closes each watch after one second.
    const { informer, seen } = configMapInformer('server-closes', { watchTimeoutSeconds: 1 });
    await informer.synced();
    await eventually('the server to end two watches', () => Promise.resolve(informer.stats().watches >= 3 || undefined), 15_000, 100);
    await createConfigMap('server-closes', 'after-reconnects', 'x');
    await sees(seen, 'add after-reconnects x');
    await eventually('another reconnect', () => Promise.resolve(informer.stats().watches >= 5 || undefined), 15_000, 100);
    await setValue('after-reconnects', 'y');
    await sees(seen, 'update after-reconnects y');
    expect(informer.stats()).toMatchObject({ lists: 1, failures: 0 });
    expect(seen).toEqual(['add after-reconnects x', 'update after-reconnects y']);
  });

  it('reconnects after the watch connection breaks mid-stream, backing off', async () => {
    // The real transport, with a handle on each open watch request so the test can cut it.
    const real = kubeTransport(kubeConfig);
    const open: AbortController[] = [];
    const transport = {
      list: (...args: Parameters<typeof real.list>) => real.list(...args),
      watch: async (...args: Parameters<typeof real.watch>) => {
        const request = await real.watch(...args);
        open.push(request);
        return request;
      },
    };
    const { informer, seen } = configMapInformer('broken', { transport, initialBackoffMs: 200 });
    await informer.synced();
    await eventually('the watch to open', () => Promise.resolve(open.length >= 1 || undefined), 5_000, 20);
    open[0]!.abort(new Error('connection reset'));
    await eventually('the failure to be counted', () => Promise.resolve(informer.stats().failures === 1 || undefined), 5_000, 10);
    await createConfigMap('broken', 'after-break', 'x');
    await sees(seen, 'add after-break x');
    expect(open.length).toBeGreaterThanOrEqual(2);
    expect(informer.stats().lists).toBe(1);
  });

  it('restarts a watch that stays silent past the watchdog and keeps delivering', async () => {
    const { informer, seen } = configMapInformer('watchdog', { watchdogSeconds: 1, watchTimeoutSeconds: 300 });
    await informer.synced();
    await eventually('the first watch', () => Promise.resolve(informer.stats().watching || undefined), 5_000, 20);
    const firstWatches = informer.stats().watches;
    // Nothing changes in this group, so the watch stays silent and the watchdog cuts it twice.
    await eventually('the watchdog to restart the quiet watch twice', () =>
      Promise.resolve(informer.stats().watches >= firstWatches + 2 || undefined), 15_000, 100);
    expect(informer.stats().lists).toBe(1);
    await createConfigMap('watchdog', 'after-watchdog', 'x');
    await sees(seen, 'add after-watchdog x');
  });

  it('resyncs: re-delivers unchanged objects to level-triggered handlers from its cache, without listing again', async () => {
    await createConfigMap('resync', 'steady', 'same');
    const { informer, seen } = configMapInformer('resync', { resyncSeconds: 1 });
    await informer.synced();
    await sees(seen, 'update steady same');
    expect(informer.stats().lists).toBe(1);
    expect(seen.filter((s) => s.startsWith('add'))).toEqual(['add steady same']);
  });
});
