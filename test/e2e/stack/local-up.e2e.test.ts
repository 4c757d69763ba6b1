// hack/local-up.sh never lies about its health: a port held by a process the stack did not start
// is an error naming that port and process, and a start that fails part-way leaves nothing behind.
// Run as a second stack (shifted ports, its own state directory under a mode-700 directory, as a
// clone under root's home would be), beside the one the other tests use.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { repoRoot } from '../support/stack.ts';

const OFFSET = 700;
const stateDir = join(mkdtempSync(join(tmpdir(), 'sluice-private-')), 'state');
const env = { ...process.env, SLUICE_PORT_OFFSET: String(OFFSET), SLUICE_STATE_DIR: stateDir, SLUICE_EXEC_NODE: '0' };
const sqsPort = 19324 + OFFSET;
const awsPort = 15000 + OFFSET;

afterAll(() => {
  spawnSync('bash', [resolve(repoRoot, 'hack/local-down.sh'), '--purge'], { env, stdio: 'ignore' });
  rmSync(resolve(stateDir, '..'), { recursive: true, force: true });
});

function listening(port: number): boolean {
  return execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).trim() !== '';
}

it('fails on a port held by a stranger, naming it, and stops what it had started', async () => {
  // A stranger on the AWS port, started outside the stack (a separate process, so it has its own pid).
  const stranger = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${awsPort}, '127.0.0.1'); setInterval(() => {}, 1000)`], { stdio: 'ignore' });
  try {
    await new Promise<void>((r) => { const wait = () => (listening(awsPort) ? r() : setTimeout(wait, 100)); wait(); });
    const run = spawnSync('bash', [resolve(repoRoot, 'hack/local-up.sh')], { env, encoding: 'utf8', timeout: 120_000 });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`port ${awsPort} is held by pid ${stranger.pid}`);
    expect(run.stderr).toMatch(/which this stack did not start/);
    // ElasticMQ started before the failure; it was stopped again, and nothing of this run answers.
    expect(run.stderr).toMatch(/stopping what it started: sqs/);
    expect(listening(sqsPort)).toBe(false);
    const status = spawnSync('bash', [resolve(repoRoot, 'hack/local-status.sh')], { env, encoding: 'utf8' });
    expect(status.status).toBe(1);
    expect(status.stdout).toMatch(/aws\s+moto [\d.]+\s+\d+\s+-\s+not running/);
  } finally {
    stranger.kill();
  }
}, 150_000);

it('starts from a directory the postgres OS user cannot enter, and stops cleanly', () => {
  // The services only (the cluster is the main stack's), in the same private state directory.
  const services = { ...env, SLUICE_EXTERNAL_KUBECONFIG: resolve(repoRoot, '.local/kubeconfig') };
  const up = spawnSync('bash', [resolve(repoRoot, 'hack/local-up.sh')], { env: services, encoding: 'utf8', timeout: 180_000 });
  expect(up.stderr).toMatch(/local stack up/);
  expect(up.status).toBe(0);
  const status = spawnSync('bash', [resolve(repoRoot, 'hack/local-status.sh')], { env: services, encoding: 'utf8' });
  expect(status.stdout).toMatch(/postgres\s+PostgreSQL [\d.]+\s+\d+\s+\d+\s+healthy/);
  expect(status.status).toBe(0);
  const down = spawnSync('bash', [resolve(repoRoot, 'hack/local-down.sh'), '--purge'], { env: services, encoding: 'utf8', timeout: 120_000 });
  expect(down.status).toBe(0);
  for (const port of [sqsPort, awsPort, 27018 + OFFSET, 15432 + OFFSET]) expect(listening(port)).toBe(false);
}, 240_000);
