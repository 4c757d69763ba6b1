import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileFunction } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNodeScript as run } from '../test/e2e/support/cli.ts';
import { buildController, lazyHttp2Source, toAscii, type BuiltController } from './build.ts';

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

  it('starts without the built-in modules it does not use: Node\'s own undici, HTTP/2', async () => {
    // The controller evaluates all its modules before it reads the kubeconfig; this prints what got loaded by then.
    const preload = join(dir, 'loaded.cjs');
    await writeFile(preload, "process.on('exit', () => process._rawDebug('LOADED ' + JSON.stringify(process.moduleLoadList)));");
    const env = { ...process.env, KUBECONFIG: join(dir, 'no-such-kubeconfig'), NODE_OPTIONS: `--require ${preload}` };
    const { stderr } = await run(built.entry, ['controller'], env);
    const loaded = JSON.parse(/^LOADED (.*)$/m.exec(stderr)?.[1] ?? 'null') as string[];
    expect(loaded).toContain('NativeModule https');
    expect(loaded).toContain('NativeModule readline');
    for (const unused of ['NativeModule internal/deps/undici/undici', 'NativeModule http2', 'NativeModule internal/http2/core']) expect(loaded).not.toContain(unused);
  });

  it('gives HTTP/2\'s constants without loading it, and loads it on first use of anything else', () => {
    const loads: string[] = [];
    const exports: Record<string, unknown> = {};
    const fakeRequire = (name: string) => { loads.push(name); return http2; };
    const load = compileFunction(lazyHttp2Source(), ['require', 'exports']) as (require: (name: string) => unknown, exports: object) => void;
    load(fakeRequire, exports);
    expect(exports.constants).toEqual(http2.constants);
    expect(loads).toEqual([]);
    expect(Object.keys(exports).sort()).toEqual(Object.keys(http2).sort());
    expect(exports.connect).toBe(http2.connect);
    expect(exports.getDefaultSettings).toBe(http2.getDefaultSettings);
    expect(loads).toEqual(['node:http2']);
  });

  it('gives named exports from every chunk loaded on first use (a CommonJS package imported that way gives only a default)', async () => {
    const out = join(dir, 'out');
    const lazyChunks = new Set<string>();
    for (const name of (await readdir(out, { recursive: true })).filter((file) => file.endsWith('.js'))) {
      for (const [, chunk] of (await readFile(join(out, name), 'utf8')).matchAll(/import\("\.\/(?:chunks\/)?([^"]+\.js)"\)/g)) lazyChunks.add(chunk!);
    }
    expect(lazyChunks.size).toBeGreaterThanOrEqual(6);
    for (const chunk of lazyChunks) {
      const exported = Object.keys(await import(pathToFileURL(join(out, 'chunks', chunk)).href) as object);
      expect(exported.filter((name) => name !== 'default'), chunk).not.toEqual([]);
    }
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

  it('keeps the sink drivers and the e-mail and S3 clients out of the binary until they are used', () => {
    const inputs = built.entryInputs;
    expect(inputs.some((path) => path.includes('controller/src/controller.ts'))).toBe(true);
    // And the e-mail and S3 clients until an e-mail is sent or an extended-client payload read.
    for (const driver of ['node_modules/mongodb/', 'node_modules/bson/', 'node_modules/pg/', 'node_modules/@aws-sdk/client-dynamodb/',
      'node_modules/nodemailer/', 'node_modules/@aws-sdk/client-ses/', 'node_modules/@aws-sdk/client-s3/']) {
      expect(inputs.filter((path) => path.includes(driver))).toEqual([]);
    }
  });
});
