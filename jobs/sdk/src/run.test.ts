// runJob as a job container runs it: a real Node process, its exit code, stderr, termination
// message and progress requests.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startProgressServer, type ProgressServer } from '../test-support/progress-server.ts';

const fixture = fileURLToPath(new URL('../test-support/job.ts', import.meta.url));

let server: ProgressServer;
let dir: string;
beforeEach(async () => {
  server = await startProgressServer();
  dir = mkdtempSync(join(tmpdir(), 'sluice-run-'));
  writeFileSync(join(dir, 'token'), 'pod-token');
});
afterEach(() => server.close());

type Run = { code: number; stdout: string; stderr: string; result: string | undefined };

function run(behaviour: string, env: Record<string, string> = {}): Promise<Run> {
  const resultFile = join(dir, 'termination-log');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [fixture, behaviour],
      {
        env: {
          PATH: process.env.PATH,
          SLUICE_PAYLOAD: 'TRANSCODE_VIDEO|job-7|{"input":"s3://media/in.mp4"}',
          SLUICE_PAYLOAD_FORMAT: 'pipe',
          SLUICE_JOB_NAME: 'fable-jobs-7',
          SLUICE_PROGRESS_URL: server.url,
          SLUICE_TOKEN_FILE: join(dir, 'token'),
          SLUICE_RESULT_FILE: resultFile,
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr, result: existsSync(resultFile) ? readFileSync(resultFile, 'utf8') : undefined });
      },
    );
  });
}

describe('runJob', () => {
  it('writes the result as the termination message, flushes progress 100 and exits 0', async () => {
    const { code, result, stderr } = await run('echo');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(result!)).toEqual({
      body: { type: 'TRANSCODE_VIDEO', jobId: 'job-7', metadata: { input: 's3://media/in.mp4' } },
      format: 'pipe',
      jobName: 'fable-jobs-7',
    });
    const percents = server.bodies().map((b) => b.percent);
    expect(percents[0]).toBe(10);
    expect(percents.at(-1)).toBe(100);
    expect(server.requests.every((r) => r.headers.authorization === 'Bearer pod-token')).toBe(true);
  });

  it('exits 2 on bad input with one clear line on stderr and in the termination message, never reporting 100', async () => {
    const { code, stderr, result } = await run('bad-input');
    expect(code).toBe(2);
    expect(stderr).toBe('input s3://media/in.mp4 is not a media file: | Invalid data found when processing input\n');
    expect(result).toBe('input s3://media/in.mp4 is not a media file: | Invalid data found when processing input');
    expect(server.bodies().map((b) => b.percent)).not.toContain(100);
  });

  it('exits 1 (retried by the Job) for any other error', async () => {
    const { code, stderr } = await run('crash');
    expect(code).toBe(1);
    expect(stderr).toBe('S3 timed out\n');
  });

  it('exits 2 when the payload does not decode', async () => {
    const { code, stderr } = await run('echo', { SLUICE_PAYLOAD: '{"broken":', SLUICE_PAYLOAD_FORMAT: 'json' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^the payload is not valid JSON/);
  });

  it('fails a result over 4 KiB without an upload hook, saying to use resultUri', async () => {
    const { code, stderr } = await run('large');
    expect(code).toBe(1);
    expect(stderr).toMatch(/over the 4096-byte termination message: upload it to S3 and return \{"resultUri"/);
  });

  it('writes the upload hook\'s resultUri summary for a result over 4 KiB', async () => {
    const { code, result } = await run('large', { TEST_UPLOAD: '1' });
    expect(code).toBe(0);
    expect(JSON.parse(result!)).toEqual({ resultUri: 's3://results/big.json', bytes: 5011 });
  });

  it('runs without a progress URL (reporting off) and still succeeds', async () => {
    const { code } = await run('echo', { SLUICE_PROGRESS_URL: '' });
    expect(code).toBe(0);
    expect(server.requests).toHaveLength(0);
  });
});
