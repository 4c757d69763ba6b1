// A private moto S3 for job tests (and the media benchmark): its own process on a free port >= 30000,
// from the virtualenv hack/lib/install-moto.sh keeps under the cache, stopped when the tests end.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export type Moto = {
  endpoint: string;
  /** Env for a job process (and this process's clients) that talks to this moto. */
  env: Record<string, string>;
  client: () => S3Client;
  createBucket: (name: string) => Promise<void>;
  stop: () => Promise<void>;
};

/** The moto_server of the version hack/versions.sh pins, installed when missing. */
function motoServer(): string {
  const venv = execFileSync('bash', ['-c', 'source hack/versions.sh && echo "$SLUICE_CACHE/moto/$MOTO_VERSION"'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  const server = `${venv}/bin/moto_server`;
  if (!existsSync(server)) execFileSync('bash', ['hack/lib/install-moto.sh'], { cwd: repoRoot, stdio: 'inherit' });
  return server;
}

async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 30000 + Math.floor(Math.random() * 20000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port for moto in 30000-49999');
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(motoServer(), ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`moto_server did not answer on ${endpoint} within 30s`);
    }
    await sleep(200);
  }
  const env = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
  const client = () =>
    new S3Client({ endpoint, region: env.AWS_REGION, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return {
    endpoint,
    env,
    client,
    createBucket: async (name) => {
      await client().send(new CreateBucketCommand({ Bucket: name }));
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
