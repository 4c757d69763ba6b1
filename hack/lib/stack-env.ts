// The local stack's coordinates, from the .local/env that hack/local-up.sh writes. Loading them
// into process.env makes every AWS SDK, MongoDB and Kubernetes client in the process local.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const envFile = resolve(process.env.SLUICE_STATE_DIR ?? resolve(repoRoot, '.local'), 'env');

export function readStackEnv(): Record<string, string> {
  if (!existsSync(envFile)) {
    throw new Error(`${envFile} is missing: start the local stack with hack/local-up.sh first`);
  }
  const env: Record<string, string> = {};
  for (const line of readFileSync(envFile, 'utf8').split('\n')) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined && match[1] !== 'PATH') env[match[1]] = match[2];
  }
  return env;
}

/** Reads .local/env into process.env, the stack's kubectl first on PATH, and returns it. */
export function loadStackEnv(): Record<string, string> {
  const env = readStackEnv();
  Object.assign(process.env, env);
  const path = /^export PATH=(.*):\$PATH$/m.exec(readFileSync(envFile, 'utf8'))?.[1];
  if (path && !process.env.PATH?.startsWith(`${path}:`)) process.env.PATH = `${path}:${process.env.PATH ?? ''}`;
  return env;
}
