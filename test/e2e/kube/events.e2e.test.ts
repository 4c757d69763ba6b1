// The EventRecorder against the real API server: Events it writes are what kubectl describe shows,
// and a storm of repeats stays one Event with a growing series.
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventReason } from '../../../controller/src/kube/event-reasons.ts';
import { EventRecorder } from '../../../controller/src/kube/events.ts';
import { core, createTestNamespace, eventually, kubeConfig } from '../support/kube.ts';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const eventsApi = kubeConfig.makeApiClient(k8s.EventsV1Api);

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
beforeAll(async () => { ns = await createTestNamespace('kube-events'); });
afterAll(async () => { await ns?.remove(); });

async function configMap(name: string): Promise<k8s.V1ConfigMap> {
  const created = await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name } } });
  return { ...created, apiVersion: 'v1', kind: 'ConfigMap' };
}

const recorder = () =>
  new EventRecorder({ events: eventsApi, reportingInstance: 'sluice-test-0', logger, seriesUpdateIntervalMs: 200 });

/** The Events about an object, as kubectl describe finds them (core/v1, by involvedObject). */
async function describedEvents(object: k8s.KubernetesObject): Promise<k8s.CoreV1Event[]> {
  const list = await core.listNamespacedEvent({
    namespace: ns.name,
    fieldSelector: `involvedObject.uid=${object.metadata!.uid!}`,
  });
  return list.items;
}

describe('EventRecorder on the real API server', () => {
  it('writes an Event that kubectl describe shows for the object', async () => {
    const object = await configMap('described');
    const events = recorder();
    events.warning(object, EventReason.ReconcileError, 'queue https://sqs.example/q does not exist', { action: 'Receive' });
    await events.flush();
    const [event] = await eventually('the Event', async () => {
      const found = await describedEvents(object);
      return found.length > 0 ? found : undefined;
    }, 10_000);
    expect(event).toMatchObject({
      type: 'Warning',
      reason: 'ReconcileError',
      message: 'queue https://sqs.example/q does not exist',
      action: 'Receive',
      reportingComponent: 'sluice.dev/controller',
      reportingInstance: 'sluice-test-0',
      involvedObject: { kind: 'ConfigMap', name: 'described', namespace: ns.name, uid: object.metadata?.uid },
    });
    // And through events.k8s.io/v1, which the recorder writes.
    const modern = await eventsApi.readNamespacedEvent({ namespace: ns.name, name: event!.metadata.name! });
    expect(modern).toMatchObject({ reportingController: 'sluice.dev/controller', regarding: { name: 'described' } });
  });

  it('folds repeats into one Event whose series counts them', async () => {
    const object = await configMap('storm');
    const events = recorder();
    events.warning(object, EventReason.ReconcileError, 'still broken');
    await events.flush();
    for (let i = 0; i < 49; i++) events.warning(object, EventReason.ReconcileError, 'still broken');
    events.normal(object, EventReason.ReconcileError, 'a different message');
    await events.flush();
    const found = await describedEvents(object);
    expect(found).toHaveLength(2);
    const repeated = found.find((e) => e.message === 'still broken');
    expect(repeated?.series?.count).toBe(50);
    const modern = await eventsApi.readNamespacedEvent({ namespace: ns.name, name: repeated!.metadata.name! });
    expect(modern.series?.count).toBe(50);

    for (let i = 0; i < 10; i++) events.warning(object, EventReason.ReconcileError, 'still broken');
    await eventually('the series update after its interval', async () => {
      const again = await eventsApi.readNamespacedEvent({ namespace: ns.name, name: repeated!.metadata.name! });
      return again.series?.count === 60 ? true : undefined;
    }, 5_000, 100);
    expect(await describedEvents(object)).toHaveLength(2);
  });
});
