import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventReason } from './event-reasons.ts';
import { EventRecorder, type EventsApi } from './events.ts';

const logger = pino({ level: 'silent' });

const binding: k8s.KubernetesObject = {
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'QueueBinding',
  metadata: { namespace: 'team-a', name: 'orders', uid: 'uid-1' },
};

function fakeEventsApi() {
  const created: k8s.EventsV1Event[] = [];
  const patches: { name: string; body: unknown }[] = [];
  const state = { failCreates: false, missing: false };
  const api: EventsApi = {
    createNamespacedEvent: ({ body }) => {
      if (state.failCreates) return Promise.reject(new Error('connection refused'));
      created.push(body);
      return Promise.resolve(body);
    },
    patchNamespacedEvent: ({ name, body }: { name: string; body: unknown }) => {
      if (state.missing) return Promise.reject(new k8s.ApiException(404, 'NotFound', '{"reason":"NotFound"}', {}));
      patches.push({ name, body });
      return Promise.resolve({} as k8s.EventsV1Event);
    },
  };
  return { api, created, patches, state };
}

function recorder(api: EventsApi) {
  return new EventRecorder({ events: api, reportingInstance: 'sluice-0', logger, seriesUpdateIntervalMs: 1_000 });
}

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => { vi.useFakeTimers({ now: new Date('2026-03-04T05:06:07.123Z') }); });
afterEach(() => { vi.useRealTimers(); });

describe('EventRecorder', () => {
  it('creates an events.k8s.io/v1 Event about the object', async () => {
    const server = fakeEventsApi();
    recorder(server.api).warning(binding, EventReason.ReconcileError, 'queue not found', { action: 'Receive' });
    await tick();
    expect(server.created).toHaveLength(1);
    const event = server.created[0]!;
    expect(event).toMatchObject({
      metadata: { namespace: 'team-a' },
      type: 'Warning',
      reason: 'ReconcileError',
      action: 'Receive',
      note: 'queue not found',
      reportingController: 'sluice.dev/controller',
      reportingInstance: 'sluice-0',
      regarding: { apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', namespace: 'team-a', name: 'orders', uid: 'uid-1' },
    });
    expect(event.metadata?.name).toMatch(/^orders\.[0-9a-f]+$/);
    expect(JSON.stringify(event.eventTime)).toBe('"2026-03-04T05:06:07.123000Z"');
    expect(event.series).toBeUndefined();
  });

  it('folds a storm of repeats into one series update per interval', async () => {
    const server = fakeEventsApi();
    const events = recorder(server.api);
    events.warning(binding, EventReason.ReconcileError, 'queue not found');
    await tick();
    for (let i = 1; i < 100; i++) events.warning(binding, EventReason.ReconcileError, 'queue not found');
    await tick(999);
    expect(server.patches).toEqual([]);
    await tick(1);
    expect(server.created).toHaveLength(1);
    expect(server.patches).toEqual([{
      name: server.created[0]!.metadata!.name,
      body: { series: { count: 100, lastObservedTime: '2026-03-04T05:06:07.123000Z' } },
    }]);
    await tick(5_000);
    events.warning(binding, EventReason.ReconcileError, 'queue not found');
    await events.flush();
    expect(server.created).toHaveLength(1);
    expect(server.patches.map((p) => (p.body as { series: { count: number } }).series.count)).toEqual([100, 101]);
  });

  it('starts a new Event for another message, another object, or after the series window', async () => {
    const server = fakeEventsApi();
    const events = recorder(server.api);
    events.normal(binding, EventReason.ReconcileError, 'one');
    events.normal(binding, EventReason.ReconcileError, 'two');
    events.normal({ ...binding, metadata: { ...binding.metadata, name: 'payments' } }, EventReason.ReconcileError, 'one');
    await tick(11 * 60_000);
    events.normal(binding, EventReason.ReconcileError, 'one');
    await events.flush();
    expect(server.created.map((e) => [e.regarding?.name, e.note])).toEqual([
      ['orders', 'one'], ['orders', 'two'], ['payments', 'one'], ['orders', 'one'],
    ]);
    expect(new Set(server.created.map((e) => e.metadata?.name)).size).toBe(4);
  });

  it('limits how many new Events one object gets in a burst', async () => {
    const server = fakeEventsApi();
    const events = recorder(server.api);
    for (let i = 0; i < 40; i++) events.warning(binding, EventReason.ReconcileError, `attempt ${i}`);
    await tick();
    expect(server.created).toHaveLength(25);
    await tick(10_000);
    events.warning(binding, EventReason.ReconcileError, 'after a pause');
    await events.flush();
    expect(server.created).toHaveLength(26);
  });

  it('writes repeats that arrive before the create as part of it', async () => {
    const server = fakeEventsApi();
    const events = recorder(server.api);
    for (let i = 0; i < 3; i++) events.warning(binding, EventReason.ReconcileError, 'queue not found');
    await events.flush();
    expect(server.created).toHaveLength(1);
    expect(server.created[0]!.series?.count).toBe(3);
    expect(server.patches).toEqual([]);
  });

  it('creates the Event again when the series update finds it gone', async () => {
    const server = fakeEventsApi();
    const events = recorder(server.api);
    events.warning(binding, EventReason.ReconcileError, 'boom');
    await tick();
    server.state.missing = true;
    events.warning(binding, EventReason.ReconcileError, 'boom');
    await events.flush();
    expect(server.created).toHaveLength(2);
    expect(server.created[1]!.series?.count).toBe(2);
  });

  it('never throws: failed writes and unusable objects are logged and skipped', async () => {
    const server = fakeEventsApi();
    server.state.failCreates = true;
    const events = recorder(server.api);
    expect(() => events.warning(binding, EventReason.ReconcileError, 'boom')).not.toThrow();
    expect(() => events.warning({ metadata: { name: 'no-kind' } }, EventReason.ReconcileError, 'boom')).not.toThrow();
    await events.flush();
    expect(server.created).toHaveLength(0);
    server.state.failCreates = false;
    events.warning(binding, EventReason.ReconcileError, 'boom');
    await events.flush();
    expect(server.created).toHaveLength(1);
    expect(server.created[0]!.series?.count).toBe(2);
  });

  it('truncates notes to the API server limit', async () => {
    const server = fakeEventsApi();
    recorder(server.api).normal(binding, EventReason.ReconcileError, 'é'.repeat(2_000));
    await tick();
    const note = server.created[0]!.note!;
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(1024);
    expect(note.endsWith('...')).toBe(true);
  });
});
