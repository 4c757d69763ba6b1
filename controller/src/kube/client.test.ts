import * as k8s from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS_REUSE_MS, describeRequest } from './client.ts';
import { jsonClient } from './json-request.ts';
import { localKubeConfig } from '../testing/local-kube-config.ts';

describe('describeRequest', () => {
  it.each([
    ['POST', 'https://k/apis/batch/v1/namespaces/media/jobs', 'create', 'jobs'],
    ['GET', 'https://k/apis/batch/v1/namespaces/media/jobs/render-1', 'get', 'jobs'],
    ['GET', 'https://k/apis/batch/v1/jobs?labelSelector=a%3Db&limit=500', 'list', 'jobs'],
    ['GET', '/apis/batch/v1/jobs?watch=true', 'watch', 'jobs'],
    ['PATCH', 'https://k/apis/batch/v1/namespaces/media/jobs/render-1', 'patch', 'jobs'],
    ['PATCH', 'https://k/apis/sluice.dev/v1alpha1/namespaces/media/queuebindings/fable/status', 'patch', 'queuebindings/status'],
    ['GET', 'https://k/api/v1/namespaces/media/secrets/aws', 'get', 'secrets'],
    ['GET', 'https://k/api/v1/namespaces', 'list', 'namespaces'],
    ['GET', 'https://k/api/v1/namespaces/media', 'get', 'namespaces'],
    ['PUT', 'https://k/apis/coordination.k8s.io/v1/namespaces/sluice/leases/sluice-controller', 'update', 'leases'],
    ['POST', 'https://k/apis/authentication.k8s.io/v1/tokenreviews', 'create', 'tokenreviews'],
    ['DELETE', 'https://k/api/v1/namespaces/media/configmaps/fan-in', 'delete', 'configmaps'],
  ])('%s %s is %s of %s', (method, url, verb, resource) => {
    expect(describeRequest(method, url)).toEqual({ verb, resource });
  });
});

describe('PooledKubeConfig', () => {
  // A local HTTP server in the API server's place: how many connections reach it, and with what token.
  let server: Server;
  let connections = 0;
  let tokens: (string | undefined)[] = [];
  let url: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      tokens.push(request.headers.authorization);
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'media' } }));
    });
    server.on('connection', () => { connections += 1; });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // Without the pool, each of these requests opens its own connection (client-node 2.0's default).
  it('sends every request, typed and plain JSON, over the pooled connections', async () => {
    connections = 0;
    tokens = [];
    let clock = 0;
    const kubeConfig = localKubeConfig(url, 'a', { now: () => clock });
    const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    const send = jsonClient(kubeConfig);
    for (let i = 0; i < 5; i += 1) {
      // A moment between calls: undici opens a second connection for a request sent while the last
      // one's connection is still being handed back.
      await new Promise((resolve) => setTimeout(resolve, 5));
      await core.readNamespace({ name: 'media' });
      await send({ method: 'GET', path: '/api/v1/namespaces/media' });
      clock += CREDENTIALS_REUSE_MS; // authenticating again keeps the pool too
    }
    expect(tokens).toEqual(Array(10).fill('Bearer a'));
    // One for the typed calls (fetch) and one for the JSON calls (request()), at most.
    expect(connections).toBeLessThanOrEqual(2);
  });

  it('authenticates again once its credentials are a second old: a rotated token goes out then', async () => {
    tokens = [];
    let clock = 0;
    const kubeConfig = localKubeConfig(url, 'old', { now: () => clock });
    const send = jsonClient(kubeConfig);
    await send({ method: 'GET', path: '/api/v1/namespaces/media' });
    kubeConfig.users = [{ name: 'me', token: 'new' }];
    clock = CREDENTIALS_REUSE_MS - 1;
    await send({ method: 'GET', path: '/api/v1/namespaces/media' });
    clock = CREDENTIALS_REUSE_MS;
    await send({ method: 'GET', path: '/api/v1/namespaces/media' });
    await send({ method: 'GET', path: '/api/v1/namespaces/media' });
    expect(tokens).toEqual(['Bearer old', 'Bearer old', 'Bearer new', 'Bearer new']);
  });
});
