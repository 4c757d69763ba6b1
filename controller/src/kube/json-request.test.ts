import * as k8s from '@kubernetes/client-node';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FINALIZER_OUTCOME } from '../job/labels.ts';
import { releaseFinalizer } from '../outcome/finalizer.ts';
import { isAlreadyExists, isNotFound, mergePatch, requestTimeout } from './client.ts';
import { jsonBatchApi } from './json-request.ts';
import { localKubeConfig } from '../testing/local-kube-config.ts';

type Seen = { method: string; url: string; contentType: string | undefined; authorization: string | undefined; body: string };
type Reply = { status: number; body: unknown; delayMs?: number };

// A local HTTP server in the API server's place: what reaches it, and the wire JSON it answers.
let server: Server;
let seen: Seen[] = [];
let reply: (request: Seen) => Reply;
let kubeConfig: k8s.KubeConfig;

const read = async (request: IncomingMessage) => {
  let body = '';
  for await (const chunk of request) body += chunk;
  return body;
};

beforeAll(async () => {
  server = createServer((request, response) => void (async () => {
    const got = { method: request.method!, url: request.url!, contentType: request.headers['content-type'], authorization: request.headers.authorization, body: await read(request) };
    seen.push(got);
    const { status, body, delayMs } = reply(got);
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (response.destroyed) return;
    response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  })());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  kubeConfig = localKubeConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
});

const jobOnTheWire = {
  apiVersion: 'batch/v1', kind: 'Job',
  metadata: { name: 'render-1', namespace: 'media', uid: 'u-1', creationTimestamp: '2026-12-07T10:00:00Z', finalizers: [FINALIZER_OUTCOME] },
  spec: { template: { spec: { containers: [{ name: 'work', image: 'render:1' }], restartPolicy: 'Never' } } },
};
/** As the informers' caches hold it: timestamps are strings, not the typed model's Dates. */
const wireJob = jobOnTheWire as unknown as k8s.V1Job;
const status = (code: number, reason: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message: `${reason} for the test` });

describe('jsonBatchApi', () => {
  it('creates a Job with the KubeConfig\'s credentials, its body sent as given, and returns the wire JSON (timestamps stay strings)', async () => {
    reply = () => ({ status: 201, body: jobOnTheWire });
    const body: k8s.V1Job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'render-1', labels: { a: 'b' } }, spec: jobOnTheWire.spec };
    const job = await jsonBatchApi(kubeConfig).createNamespacedJob({ namespace: 'media', body });
    expect(seen).toEqual([{ method: 'POST', url: '/apis/batch/v1/namespaces/media/jobs', contentType: 'application/json', authorization: 'Bearer secret-token', body: JSON.stringify(body) }]);
    expect(job.metadata?.uid).toBe('u-1');
    expect(job.metadata?.creationTimestamp as unknown).toBe('2026-12-07T10:00:00Z');
  });

  it('fails as the typed client does, so the same predicates read its errors', async () => {
    const api = jsonBatchApi(kubeConfig);
    reply = () => ({ status: 409, body: status(409, 'AlreadyExists') });
    const exists = await api.createNamespacedJob({ namespace: 'media', body: wireJob }).catch((error: unknown) => error);
    expect(exists).toBeInstanceOf(k8s.ApiException);
    expect(isAlreadyExists(exists)).toBe(true);
    reply = () => ({ status: 404, body: status(404, 'NotFound') });
    expect(isNotFound(await api.readNamespacedJob({ namespace: 'media', name: 'gone' }).catch((error: unknown) => error))).toBe(true);
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/apis/batch/v1/namespaces/media/jobs/gone' });
  });

  it('patches with the strategy its options name, JSON patch by default', async () => {
    reply = () => ({ status: 200, body: jobOnTheWire });
    const api = jsonBatchApi(kubeConfig);
    expect(await releaseFinalizer(api, wireJob)).toBe('released');
    expect(seen[0]).toMatchObject({ method: 'PATCH', url: '/apis/batch/v1/namespaces/media/jobs/render-1', contentType: 'application/json-patch+json' });
    expect(JSON.parse(seen[0]!.body)).toEqual([
      { op: 'test', path: '/metadata/finalizers/0', value: FINALIZER_OUTCOME }, { op: 'remove', path: '/metadata/finalizers/0' },
    ]);
    await api.patchNamespacedJob({ namespace: 'media', name: 'render-1', body: { metadata: { labels: { x: 'y' } } } }, mergePatch());
    expect(seen[1]).toMatchObject({ contentType: 'application/merge-patch+json', body: '{"metadata":{"labels":{"x":"y"}}}' });
    await api.patchNamespacedJob({ namespace: 'media', name: 'render-1', body: [] });
    expect(seen[2]!.contentType).toBe('application/json-patch+json');
  });

  it('a failed finalizer test (422) reads as changed, as with the typed client', async () => {
    reply = () => ({ status: 422, body: status(422, 'Invalid') });
    expect(await releaseFinalizer(jsonBatchApi(kubeConfig), wireJob)).toBe('changed');
  });

  it('runs the per-call middleware: a request timeout aborts a slow answer', async () => {
    reply = () => ({ status: 200, body: jobOnTheWire, delayMs: 2_000 });
    const started = Date.now();
    await expect(jsonBatchApi(kubeConfig).readNamespacedJob({ namespace: 'media', name: 'render-1' }, requestTimeout(100))).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
