import * as k8s from '@kubernetes/client-node';
import { createServer, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiStatus } from './client.ts';
import { jsonWatch, LineSplitter } from './json-watch.ts';
import { localKubeConfig } from '../testing/local-kube-config.ts';

// A local HTTP server in the API server's place; each test says how it answers a watch.
let server: Server;
let answer: (url: URL, response: ServerResponse, authorization: string | undefined) => void;
let kubeConfig: k8s.KubeConfig;

beforeAll(async () => {
  server = createServer((request, response) => answer(new URL(request.url!, 'http://local'), response, request.headers.authorization));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  kubeConfig = localKubeConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
afterAll(() => new Promise<void>((resolve) => {
  server.closeAllConnections();
  server.close(() => resolve());
}));

type Seen = { events: { type: string; object: unknown }[]; ended: Promise<unknown>; controller: AbortController };

async function watch(query: Record<string, string | number | boolean | undefined> = {}, inactivityTimeoutMs?: number): Promise<Seen> {
  const events: Seen['events'] = [];
  let doneCalls = 0;
  let resolveEnded!: (err: unknown) => void;
  const ended = new Promise<unknown>((resolve) => { resolveEnded = resolve; });
  const controller = await jsonWatch(kubeConfig, { inactivityTimeoutMs })('/apis/batch/v1/namespaces/media/jobs', query, (type, object) => events.push({ type, object }), (err) => {
    doneCalls += 1;
    if (doneCalls > 1) throw new Error('done called twice');
    resolveEnded(err);
  });
  return { events, ended, controller };
}

const job = (name: string, note = '') => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'media', resourceVersion: '7', annotations: { note } } });

describe('jsonWatch', () => {
  it('asks for a watch with the query and credentials, and delivers each event, split across chunks anywhere, in order', async () => {
    let seenUrl: URL | undefined;
    let seenAuthorization: string | undefined;
    // Multi-byte characters, cut in the middle of their bytes by the chunking below.
    const stream = [
      { type: 'ADDED', object: job('render-1', 'ümlaut and ✓ and 😀') },
      { type: 'MODIFIED', object: job('render-1', 'second') },
      { type: 'BOOKMARK', object: { kind: 'Job', apiVersion: 'batch/v1', metadata: { resourceVersion: '9' } } },
      { type: 'DELETED', object: job('render-1', 'x'.repeat(70_000)) },
    ].map((event) => `${JSON.stringify(event)}\n`).join('');
    const bytes = Buffer.from(stream);
    answer = (url, response, authorization) => {
      seenUrl = url;
      seenAuthorization = authorization;
      response.writeHead(200, { 'Content-Type': 'application/json' });
      void (async () => {
        // Small chunks first (each its own read on the client), then large ones.
        let at = 0;
        while (at < bytes.length) {
          const size = at < 210 ? 7 : 9_001;
          response.write(bytes.subarray(at, at + size));
          at += size;
          await new Promise((resolve) => setImmediate(resolve));
        }
        response.end();
      })();
    };
    const seen = await watch({ resourceVersion: '5', allowWatchBookmarks: true, labelSelector: 'a=b', absent: undefined });
    expect(await seen.ended).toBeNull();
    expect(seenUrl?.pathname).toBe('/apis/batch/v1/namespaces/media/jobs');
    expect(Object.fromEntries(seenUrl!.searchParams)).toEqual({ watch: 'true', resourceVersion: '5', allowWatchBookmarks: 'true', labelSelector: 'a=b' });
    expect(seenAuthorization).toBe('Bearer secret-token');
    expect(seen.events.map((event) => event.type)).toEqual(['ADDED', 'MODIFIED', 'BOOKMARK', 'DELETED']);
    expect(seen.events[0]!.object).toEqual(job('render-1', 'ümlaut and ✓ and 😀'));
    expect(seen.events[3]!.object).toEqual(job('render-1', 'x'.repeat(70_000)));
  });

  it('skips a line that is not JSON and goes on', async () => {
    answer = (_url, response) => {
      response.writeHead(200);
      response.end(`{"type":"ADDED","object":${JSON.stringify(job('a'))}}\nnot json\n\n{"type":"ADDED","object":${JSON.stringify(job('b'))}}\n`);
    };
    const seen = await watch();
    expect(await seen.ended).toBeNull();
    expect(seen.events.map((event) => (event.object as { metadata: { name: string } }).metadata.name)).toEqual(['a', 'b']);
  });

  it('ends with an ApiException carrying the Status when the API server refuses the watch', async () => {
    answer = (_url, response) => {
      response.writeHead(403, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 403, reason: 'Forbidden', message: 'jobs is forbidden' }));
    };
    const seen = await watch();
    const err = await seen.ended;
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect(apiStatus(err)).toEqual({ code: 403, reason: 'Forbidden', message: 'jobs is forbidden' });
    expect(seen.events).toEqual([]);
  });

  it('ends a stream that stays quiet with a TimeoutError, as client-node\'s Watch does', async () => {
    answer = (_url, response) => {
      response.writeHead(200);
      response.write(`{"type":"ADDED","object":${JSON.stringify(job('a'))}}\n`);
    };
    const seen = await watch({}, 300);
    const err = await seen.ended;
    expect((err as Error).name).toBe('TimeoutError');
    expect(seen.events).toHaveLength(1);
  });

  it('stops delivering and ends once when the caller aborts', async () => {
    let open: ServerResponse | undefined;
    answer = (_url, response) => {
      open = response;
      response.writeHead(200);
      response.write(`{"type":"ADDED","object":${JSON.stringify(job('a'))}}\n`);
    };
    const seen = await watch();
    await expect.poll(() => seen.events.length).toBe(1);
    seen.controller.abort();
    await seen.ended;
    open?.write(`{"type":"ADDED","object":${JSON.stringify(job('b'))}}\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.events).toHaveLength(1);
  });

  it('ends with the connection error when nothing listens', async () => {
    const closed = localKubeConfig('http://127.0.0.1:1');
    const err = await new Promise<unknown>((resolve) => { void jsonWatch(closed)('/api/v1/pods', {}, () => undefined, resolve); });
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).not.toBe('TimeoutError');
  });
});

describe('LineSplitter', () => {
  it('joins a line that spans several chunks and keeps lines that share one', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    for (const part of ['{"a"', ':1}\n{"b":2}\n{"c', '"', ':3}\n', '\n']) splitter.push(Buffer.from(part));
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });
});
