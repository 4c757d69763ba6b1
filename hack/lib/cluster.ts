// What the demo and the benchmarks share: clients on the local stack, the CRDs, a controller
// process. Tests have their own support in test/e2e/support.
import * as k8s from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildController, bundleEntry, defaultOutdir } from '../../controller/build.ts';
import { PooledKubeConfig } from '../../controller/src/kube/client.ts';
import type { MemoryCgroup } from './cgroup.ts';
import { loadStackEnv, repoRoot } from './stack-env.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Clients on the local stack (its .local/env loaded into process.env), with pooled connections as the controller has. */
export function connect(fieldManager: string) {
  const env = loadStackEnv();
  const kubeConfig = new PooledKubeConfig();
  kubeConfig.loadFromFile(env.KUBECONFIG!);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
  const apply = (object: k8s.KubernetesObject) =>
    objects.patch(object, undefined, undefined, fieldManager, true, k8s.PatchStrategy.ServerSideApply);
  return {
    env,
    kubeConfig,
    core: kubeConfig.makeApiClient(k8s.CoreV1Api),
    batch: kubeConfig.makeApiClient(k8s.BatchV1Api),
    apply,
    installCrds: () => applyCrds(apply),
  };
}

/**
 * Applies every CRD in crds/ and returns their names. loadAllYaml builds client-node's model
 * classes, which keep the x-kubernetes-* keys; a plain object would lose them on the way.
 */
export async function applyCrds(apply: (object: k8s.KubernetesObject) => Promise<unknown>): Promise<string[]> {
  const names: string[] = [];
  for (const file of readdirSync(resolve(repoRoot, 'crds')).filter((f) => f.endsWith('.yaml'))) {
    for (const crd of k8s.loadAllYaml(readFileSync(resolve(repoRoot, 'crds', file), 'utf8')) as k8s.KubernetesObject[]) {
      await apply(crd);
      names.push(crd.metadata!.name!);
    }
  }
  return names;
}

/**
 * Node's flags for the controller and dispatcher processes, read from the image's ENTRYPOINT
 * (Dockerfile; docs/install.md, "Memory", says why): the local processes measure what ships.
 */
const dockerfile = readFileSync(resolve(repoRoot, 'Dockerfile'), 'utf8');
export const SLUICE_NODE_FLAGS: string[] = imageNodeFlags(dockerfile);

/** The flags between `node` and the script in a Dockerfile's exec-form ENTRYPOINT. */
export function imageNodeFlags(dockerfile: string): string[] {
  const line = dockerfile.split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  let entrypoint: unknown;
  try { entrypoint = line && JSON.parse(line.slice('ENTRYPOINT '.length)); } catch { /* shell form */ }
  if (!Array.isArray(entrypoint) || entrypoint[0] !== 'node') throw new Error('Dockerfile: expected ENTRYPOINT ["node", flags..., script]');
  const script = (entrypoint as string[]).findIndex((arg, i) => i > 0 && !arg.startsWith('-'));
  return (entrypoint as string[]).slice(1, script === -1 ? undefined : script);
}

/**
 * The environment the image gives the controller and dispatcher processes, read from the ENV lines
 * of the Dockerfile's last stage (glibc's allocator setting among them: docs/install.md, "Memory").
 */
export const SLUICE_IMAGE_ENV: Record<string, string> = imageEnv(dockerfile);

/** KEY=VALUE (an environment variable's usual upper-case name), or undefined for anything else. */
export function envPair(text: string): [string, string] | undefined {
  const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/s.exec(text);
  return match ? [match[1]!, match[2]!] : undefined;
}

/** A benchmark's setting for the controller's environment: KEY=VALUE, or KEY= to leave out one of the image's. */
export function envOverride(text: string): [string, string | undefined] | undefined {
  const pair = envPair(text);
  return pair && [pair[0], pair[1] === '' ? undefined : pair[1]];
}

/** The variables an image's ENV lines set, in its last stage (key=value form only). */
export function imageEnv(dockerfile: string): Record<string, string> {
  const lines = dockerfile.split('\n');
  const lastStage = lines.findLastIndex((l) => /^FROM\s/.test(l));
  const env: Record<string, string> = {};
  for (const line of lines.slice(lastStage + 1).filter((l) => l.startsWith('ENV '))) {
    for (const text of line.slice('ENV '.length).trim().split(/\s+/)) {
      const pair = envPair(text);
      if (!pair) throw new Error(`Dockerfile: expected ENV KEY=value, got ${line}`);
      env[pair[0]] = pair[1];
    }
  }
  return env;
}

/** The environment for a local `sluice` process: this one's, the image's ENV, then these (undefined: left out; spawn skips it). */
export function sluiceEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...SLUICE_IMAGE_ENV, ...extra };
}

/** The bundled `sluice` binary, as the image runs it (controller/build.ts). */
export const sluiceBundle = resolve(defaultOutdir, bundleEntry);

let built: Promise<unknown> | undefined;
/** Bundles the controller from the current sources, once per process: await it before running sluiceArgs. */
export async function buildSluice(): Promise<void> {
  built ??= buildController();
  await built;
}

/** The CLI's TypeScript source, which Node runs as it is (how the image ran before the bundle). */
export const sluiceSources = resolve(repoRoot, 'controller/src/cli/main.ts');

/** `node` arguments that run `sluice ARGS…` as the image does: the bundle, with the image's Node flags (others for a benchmark comparing them). */
export function sluiceArgs(args: string[], nodeFlags = SLUICE_NODE_FLAGS, entry = sluiceBundle): string[] {
  return [...nodeFlags, entry, ...args];
}

/** Starts `sluice controller` for one namespace, logging to .local/logs/<name>.log. */
export function startController(options: {
  namespace: string;
  metricsPort: number;
  logName: string;
  logLevel?: string;
  detached?: boolean;
  /** Serve the progress API here (HOST:PORT) and give Jobs this URL; off by default. */
  progress?: { bindAddress: string; url: string };
  /** Write a V8 CPU profile (.cpuprofile) into this directory when the controller exits. */
  cpuProfileDir?: string;
  /** Node's flags instead of SLUICE_NODE_FLAGS. */
  nodeFlags?: string[];
  /** What to run instead of the bundle (sluiceSources, for a benchmark comparing them). */
  entry?: string;
  /** Variables added to the controller's environment (e.g. glibc's MALLOC_ARENA_MAX); undefined leaves one out. */
  env?: Record<string, string | undefined>;
  /** Run it inside this memory cgroup, as under a container's memory limit. */
  cgroup?: MemoryCgroup;
}): ChildProcess {
  const log = openSync(resolve(repoRoot, `.local/logs/${options.logName}.log`), 'w');
  const wrap = options.cgroup?.wrap ?? ((command: string, args: string[]): [string, string[]] => [command, args]);
  const child = spawn(...wrap(process.execPath, sluiceArgs([
    'controller',
    '--namespace', options.namespace, '--lease-namespace', options.namespace,
    '--metrics-bind-address', `127.0.0.1:${options.metricsPort}`,
    '--progress-bind-address', options.progress?.bindAddress ?? '',
    '--progress-url', options.progress?.url ?? '',
  ], options.nodeFlags, options.entry)), {
    stdio: ['ignore', log, log],
    detached: options.detached ?? false,
    env: sluiceEnv({
      LOG_LEVEL: options.logLevel ?? process.env.LOG_LEVEL ?? 'info',
      ...(options.cpuProfileDir && { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${options.cpuProfileDir}`.trim() }),
      ...options.env,
    }),
  });
  if (options.detached) child.unref();
  return child;
}

/** Until the controller (or a dispatcher) on this metrics port answers /readyz. */
export async function untilReady(metricsPort: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined))?.ok) return;
    await sleep(250);
  }
  throw new Error(`nothing ready on 127.0.0.1:${metricsPort} after ${timeoutMs / 1000} s`);
}

/** SIGTERM, then until it has exited (it finishes in-flight work, flushes Events, writes profiles). */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
