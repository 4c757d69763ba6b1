import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNodeScript as run } from '../test/e2e/support/cli.ts';
import { buildController, type BuiltController } from './build.ts';

describe('the bundled sluice binary', () => {
  let dir: string;
  let built: BuiltController;
  beforeAll(async () => {
    // Anywhere on disk: the bundle reads nothing beside itself (the version is built in).
    dir = await mkdtemp(join(tmpdir(), 'sluice-bundle-'));
    built = await buildController(join(dir, 'out'));
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs its commands without node_modules or sources', async () => {
    const help = await run(built.entry, ['--help']);
    expect(help.code).toBe(0);
    for (const command of ['controller', 'dispatch', 'route', 'dlq', 'send']) expect(help.stdout).toContain(command);
    // The whole controller evaluates, then stops at the missing kubeconfig with a clear error.
    const controller = await run(built.entry, ['controller'], { ...process.env, KUBECONFIG: join(dir, 'no-such-kubeconfig') });
    expect(controller.code).not.toBe(0);
    expect(controller.stderr).toMatch(/no-such-kubeconfig/);
  });

  it('keeps the sink drivers out of the binary until a sink of their kind opens', () => {
    const inputs = built.entryInputs;
    expect(inputs.some((path) => path.includes('controller/src/controller.ts'))).toBe(true);
    for (const driver of ['node_modules/mongodb/', 'node_modules/bson/', 'node_modules/pg/', 'node_modules/@aws-sdk/client-dynamodb/']) {
      expect(inputs.filter((path) => path.includes(driver))).toEqual([]);
    }
  });
});
