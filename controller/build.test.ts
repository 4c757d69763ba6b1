import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNodeScript as run } from '../test/e2e/support/cli.ts';
import { buildController, toAscii, type BuiltController } from './build.ts';

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

  it('is ASCII throughout, so V8 keeps its source one byte a character', async () => {
    const out = join(dir, 'out');
    const files = (await readdir(out, { recursive: true })).filter((name) => name.endsWith('.js'));
    expect(files.length).toBeGreaterThan(1);
    for (const name of files) expect(/[\u0080-\uffff]/.exec(await readFile(join(out, name), 'utf8')), name).toBeNull();
    // An escaped regular expression literal matches what it matched before.
    const micro = '(ns|\u00b5s|ms)';
    expect(toAscii(micro)).toBe('(ns|\\u00b5s|ms)');
    expect(new RegExp(toAscii(micro)).exec('12\u00b5s')?.[1]).toBe('\u00b5s');
    expect(toAscii('"\u{1F600}"')).toBe('"\\ud83d\\ude00"');
  });

  it('keeps the sink drivers out of the binary until a sink of their kind opens', () => {
    const inputs = built.entryInputs;
    expect(inputs.some((path) => path.includes('controller/src/controller.ts'))).toBe(true);
    for (const driver of ['node_modules/mongodb/', 'node_modules/bson/', 'node_modules/pg/', 'node_modules/@aws-sdk/client-dynamodb/']) {
      expect(inputs.filter((path) => path.includes(driver))).toEqual([]);
    }
  });
});
