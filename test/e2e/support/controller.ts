// Runs the real `sluice controller` as a child process, as production does, so tests can SIGKILL it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { sluiceArgs, sluiceEnv } from '../../../hack/lib/cluster.ts';
import { repoRoot } from './stack.ts';

export type ControllerProcess = {
  identity: string;
  metricsPort: number;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logs: () => string;
  metrics: () => Promise<string>;
  /** SIGTERM and wait: the graceful path. */
  stop: () => Promise<void>;
  /** SIGKILL and wait: a crash. */
  kill: () => Promise<void>;
};

export type ControllerOptions = {
  /** Namespace the controller watches (tests are isolated by namespace). */
  namespace: string;
  identity?: string;
  leaseDurationSeconds?: number;
  env?: Record<string, string>;
  /** Serve the progress API here (HOST:PORT) and give Jobs this URL; off by default. */
  progress?: { bindAddress: string; url: string };
  /** More `sluice controller` flags. */
  args?: string[];
};

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
    server.on('error', reject);
  });
}

export async function startController(options: ControllerOptions): Promise<ControllerProcess> {
  const identity = options.identity ?? `test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const metricsPort = await freePort();
  const logDir = resolve(repoRoot, '.local/logs/e2e');
  mkdirSync(logDir, { recursive: true });
  const logFile = resolve(logDir, `controller-${options.namespace}-${identity}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, sluiceArgs([
    'controller',
    '--namespace', options.namespace,
    '--lease-namespace', options.namespace,
    '--identity', identity,
    '--metrics-bind-address', `127.0.0.1:${metricsPort}`,
    '--lease-duration', String(options.leaseDurationSeconds ?? 6),
    '--progress-bind-address', options.progress?.bindAddress ?? '',
    '--progress-url', options.progress?.url ?? '',
    ...(options.args ?? []),
  ]), {
    cwd: repoRoot,
    env: sluiceEnv({ LOG_LEVEL: 'debug', ...options.env }),
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    child.once('exit', (code, signal) => r({ code, signal }));
  });
  const controller: ControllerProcess = {
    identity,
    metricsPort,
    child,
    exited,
    logs: () => readFileSync(logFile, 'utf8'),
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  await waitForHealthy(controller);
  return controller;
}

async function waitForHealthy(controller: ControllerProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (controller.child.exitCode !== null) {
      throw new Error(`controller exited with ${controller.child.exitCode}:\n${controller.logs().slice(-4000)}`);
    }
    try {
      if ((await fetch(`http://127.0.0.1:${controller.metricsPort}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`controller not healthy after 30s:\n${controller.logs().slice(-4000)}`);
}
