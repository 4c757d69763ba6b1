import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startProgressServer, type ProgressServer } from '../test-support/progress-server.ts';
import { progressBody, ProgressReporter } from './progress.ts';

let server: ProgressServer;
let tokenFile: string;
let warnings: string[];

beforeEach(async () => {
  server = await startProgressServer();
  tokenFile = join(mkdtempSync(join(tmpdir(), 'sluice-sdk-')), 'token');
  writeFileSync(tokenFile, 'token-one\n');
  warnings = [];
});
afterEach(() => server.close());

const reporter = (options: ConstructorParameters<typeof ProgressReporter>[0] = {}) =>
  new ProgressReporter({ url: server.url, tokenFile, minIntervalMs: 200, timeoutMs: 300, warn: (line) => warnings.push(line), ...options });

describe('progressBody', () => {
  it('sends an integer percent within 0..100 and a step of at most 200 characters', () => {
    expect(progressBody(42.6, ' encoding ')).toEqual({ percent: 43, step: 'encoding' });
    expect(progressBody(-5)).toEqual({ percent: 0 });
    expect(progressBody(150, '')).toEqual({ percent: 100 });
    expect(progressBody(Number.NaN)).toBeUndefined();
    expect(progressBody(10, 'x'.repeat(300))?.step).toHaveLength(200);
    // A cut never leaves half of a surrogate pair.
    expect(progressBody(10, `${'x'.repeat(199)}😀`)?.step).toBe('x'.repeat(199));
  });
});

describe('ProgressReporter', () => {
  it('POSTs JSON with the token as a bearer, re-reading the token file for each report', async () => {
    const progress = reporter();
    progress.report(10, 'downloading');
    await progress.flush();
    writeFileSync(tokenFile, 'token-two');
    progress.report(55, 'encoding');
    await progress.flush();
    expect(server.requests.map((r) => [r.method, r.path, r.headers['content-type'], r.headers.authorization])).toEqual([
      ['POST', '/v1/progress', 'application/json', 'Bearer token-one'],
      ['POST', '/v1/progress', 'application/json', 'Bearer token-two'],
    ]);
    expect(server.bodies()).toEqual([{ percent: 10, step: 'downloading' }, { percent: 55, step: 'encoding' }]);
  });

  it('coalesces: at most one request per interval, and the latest report wins', async () => {
    // A wide interval: the later reports must land inside it even on a loaded machine.
    const progress = reporter({ minIntervalMs: 1_000 });
    for (let percent = 1; percent <= 30; percent++) progress.report(percent, `step ${percent}`);
    await sleep(100);
    for (let percent = 31; percent <= 60; percent++) progress.report(percent);
    await progress.flush();
    expect(server.bodies()).toEqual([{ percent: 1, step: 'step 1' }, { percent: 60 }]);
    // Spaced by about the interval (arrival times jitter on a loaded machine), not sent at once.
    const [first, second] = server.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900);
  });

  it('sends a report again only when it changed', async () => {
    const progress = reporter({ minIntervalMs: 0 });
    progress.report(20, 'a');
    await progress.flush();
    progress.report(20, 'a');
    await progress.flush();
    progress.report(20, 'b');
    await progress.flush();
    expect(server.bodies()).toEqual([{ percent: 20, step: 'a' }, { percent: 20, step: 'b' }]);
  });

  it('stops reporting once the controller answers 409 (the Job already finished)', async () => {
    server.respond((_r, res) => res.writeHead(409).end());
    const progress = reporter({ minIntervalMs: 0 });
    progress.report(30);
    await progress.flush();
    expect(progress.enabled).toBe(false);
    progress.report(40);
    await progress.flush();
    await sleep(50);
    expect(server.bodies()).toEqual([{ percent: 30 }]);
  });

  it('keeps the report through 5xx answers and delivers it once the controller recovers', async () => {
    server.respond((_r, res, index) => res.writeHead(index < 2 ? 503 : 204).end());
    const progress = reporter({ minIntervalMs: 100 });
    expect(() => progress.report(70, 'uploading')).not.toThrow();
    await progress.flush(2000);
    expect(server.bodies()).toEqual([
      { percent: 70, step: 'uploading' },
      { percent: 70, step: 'uploading' },
      { percent: 70, step: 'uploading' },
    ]);
    expect(progress.enabled).toBe(true);
  });

  it('waits as long as a 429 Retry-After says before the next request', async () => {
    server.respond((_r, res, index) => (index === 0 ? res.writeHead(429, { 'retry-after': '1' }).end() : res.writeHead(204).end()));
    const progress = reporter({ minIntervalMs: 50 });
    progress.report(5);
    await progress.flush(3000);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('gives a hanging controller a short timeout, never throws, and flush stays within its deadline', async () => {
    server.respond(() => undefined); // never answers
    const progress = reporter({ timeoutMs: 150, minIntervalMs: 100 });
    progress.report(12);
    const started = Date.now();
    await progress.flush(1_000);
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(server.requests.length).toBeGreaterThanOrEqual(2);
    expect(warnings.some((w) => w.includes('cannot reach'))).toBe(true);
  });

  it('drops a report the controller rejects with 401 and sends later ones', async () => {
    server.respond((_r, res, index) => res.writeHead(index === 0 ? 401 : 204).end());
    const progress = reporter({ minIntervalMs: 0 });
    progress.report(1);
    await progress.flush();
    progress.report(2);
    await progress.flush();
    expect(server.bodies()).toEqual([{ percent: 1 }, { percent: 2 }]);
    expect(warnings).toEqual([expect.stringContaining('401')]);
  });

  it('stops on 403 (not a Sluice Job pod) with one warning', async () => {
    server.respond((_r, res) => res.writeHead(403).end());
    const progress = reporter({ minIntervalMs: 0 });
    progress.report(1);
    await progress.flush();
    progress.report(2);
    await progress.flush();
    expect(server.requests).toHaveLength(1);
    expect(warnings).toEqual([expect.stringContaining('403')]);
  });

  it('sends without a token when the token file is missing, and says so once', async () => {
    const progress = reporter({ tokenFile: join(tmpdir(), 'no-such-sluice-token'), minIntervalMs: 0 });
    progress.report(3);
    await progress.flush();
    progress.report(4);
    await progress.flush();
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
    expect(warnings).toHaveLength(1);
  });

  it('does nothing without a progress URL', async () => {
    const saved = process.env.SLUICE_PROGRESS_URL;
    delete process.env.SLUICE_PROGRESS_URL;
    try {
      const progress = new ProgressReporter({ tokenFile });
      expect(progress.enabled).toBe(false);
      progress.report(50);
      await progress.flush();
      expect(server.requests).toHaveLength(0);
    } finally {
      if (saved !== undefined) process.env.SLUICE_PROGRESS_URL = saved;
    }
  });
});
