import { describe, expect, it } from 'vitest';
import { envOverride, imageEnv, imageNodeFlags, SLUICE_IMAGE_ENV, SLUICE_NODE_FLAGS, sluiceArgs, sluiceEnv } from './cluster.ts';

describe('the local processes run Node as the image does', () => {
  it('read the flags from the ENTRYPOINT', () => {
    expect(imageNodeFlags('FROM x\nENTRYPOINT ["node", "--a=1", "--b", "main.ts"]\nCMD ["controller"]\n')).toEqual(['--a=1', '--b']);
    expect(imageNodeFlags('ENTRYPOINT ["node", "main.ts"]')).toEqual([]);
    // The script's own arguments are not Node's.
    expect(imageNodeFlags('ENTRYPOINT ["node", "--a", "main.ts", "--verbose"]')).toEqual(['--a']);
  });

  it('refuse a Dockerfile whose ENTRYPOINT is not node in exec form', () => {
    expect(() => imageNodeFlags('ENTRYPOINT node main.ts')).toThrow(/ENTRYPOINT/);
    expect(() => imageNodeFlags('ENTRYPOINT ["tini", "--", "node", "main.ts"]')).toThrow(/ENTRYPOINT/);
    expect(() => imageNodeFlags('FROM x')).toThrow(/ENTRYPOINT/);
  });

  it('put the image flags, then the bundled CLI, then its arguments', () => {
    expect(SLUICE_NODE_FLAGS).toContain('--optimize-for-size');
    const args = sluiceArgs(['controller', '--namespace', 'a']);
    expect(args.slice(0, SLUICE_NODE_FLAGS.length)).toEqual(SLUICE_NODE_FLAGS);
    expect(args.slice(SLUICE_NODE_FLAGS.length + 1)).toEqual(['controller', '--namespace', 'a']);
    expect(args[SLUICE_NODE_FLAGS.length]).toMatch(/controller\/dist\/sluice\.js$/);
    expect(sluiceArgs(['dispatch'], [])[0]).toMatch(/sluice\.js$/);
  });

  it("take the environment from the ENV lines of the image's last stage", () => {
    const dockerfile = 'FROM a AS build\nENV BUILD_ONLY=1\nFROM a\nENV NODE_ENV=production\nENV A=1 B=x=y\nENTRYPOINT ["node", "m.js"]\n';
    expect(imageEnv(dockerfile)).toEqual({ NODE_ENV: 'production', A: '1', B: 'x=y' });
    expect(imageEnv('FROM a\n')).toEqual({});
    expect(() => imageEnv('FROM a\nENV A 1\n')).toThrow(/ENV KEY=value/);
  });

  it("let a benchmark set a variable or leave out one of the image's", () => {
    expect(envOverride('MALLOC_ARENA_MAX=2')).toEqual(['MALLOC_ARENA_MAX', '2']);
    expect(envOverride('MALLOC_MMAP_THRESHOLD_=')).toEqual(['MALLOC_MMAP_THRESHOLD_', undefined]);
    expect(envOverride('memory-limit=512Mi')).toBeUndefined();
    expect(envOverride('--lite-mode')).toBeUndefined();
  });

  it("give a local process the image's environment under its own settings", () => {
    expect(SLUICE_IMAGE_ENV).toHaveProperty('MALLOC_MMAP_THRESHOLD_');
    const env = sluiceEnv({ LOG_LEVEL: 'debug', NODE_ENV: 'test' });
    expect(env).toMatchObject({ ...SLUICE_IMAGE_ENV, LOG_LEVEL: 'debug', NODE_ENV: 'test' });
    expect(env.PATH).toBe(process.env.PATH);
  });
});
