// The local stack's coordinates, read from the .local/env that hack/local-up.sh writes.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const envFile = resolve(process.env.SLUICE_STATE_DIR ?? resolve(repoRoot, '.local'), 'env');

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

const env = readStackEnv();
// The AWS SDK and the mongodb driver read these; setting them here makes every client local.
Object.assign(process.env, env);

function required(name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${envFile} has no ${name}`);
  return value;
}

export const stack = {
  kubeconfig: required('KUBECONFIG'),
  awsEndpoint: required('AWS_ENDPOINT_URL'),
  awsRegion: required('AWS_REGION'),
  mongoUri: required('MONGODB_URI'),
  postgresUri: required('POSTGRES_URI'),
};
