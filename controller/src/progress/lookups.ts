// What the progress API reads to judge and record a report, on any replica (a standby has no
// informers): the token's review, the pod, its Job, the JobType and the StatusSink, each from the
// API server and kept for a short while, so a pod reporting every second costs next to nothing.
// Correctness does not rest on these copies being fresh: the record's version check refuses any
// write after the final phase, and a pod's owner never changes.
import * as k8s from '@kubernetes/client-node';
import { GROUP, VERSION, type JobType, type StatusSink } from '../api/schemas.ts';
import { kinds } from '../api/kinds.ts';
import { parseSpec } from '../api/validate.ts';
import { isNotFound } from '../kube/client.ts';
import type { ReadSecret, SinkCache } from '../sinks/open.ts';
import { PodTokenVerifier } from './identity.ts';
import type { ProgressDeps } from './progress.ts';

/** A value per key, loaded on a miss and kept for `ttlMs` (a missing one for a shorter time). */
export class TtlCache<V> {
  readonly #entries = new Map<string, { value: V | undefined; until: number }>();
  readonly #ttlMs: number;
  readonly #missingTtlMs: number;
  readonly #now: () => number;
  readonly #max: number;

  constructor(ttlMs: number, options: { missingTtlMs?: number; now?: () => number; max?: number } = {}) {
    this.#ttlMs = ttlMs;
    this.#missingTtlMs = options.missingTtlMs ?? Math.min(ttlMs, 2_000);
    this.#now = options.now ?? Date.now;
    this.#max = options.max ?? 10_000;
  }

  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const cached = this.#entries.get(key);
    if (cached && cached.until > this.#now()) return cached.value;
    const value = await load();
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, until: this.#now() + (value === undefined ? this.#missingTtlMs : this.#ttlMs) });
    return value;
  }
}

const orUndefined = <T>(read: Promise<T>): Promise<T | undefined> => read.catch((error: unknown) => {
  if (isNotFound(error)) return undefined;
  throw error;
});

export function liveProgressDeps(kubeConfig: k8s.KubeConfig, sinks: SinkCache, readSecret: (namespace: string) => ReadSecret): ProgressDeps {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const batch = kubeConfig.makeApiClient(k8s.BatchV1Api);
  const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const authentication = kubeConfig.makeApiClient(k8s.AuthenticationV1Api);
  const verifier = new PodTokenVerifier(async (token, audiences) => (await authentication.createTokenReview({ body: { spec: { token, audiences } } })).status);
  // A pod's owner never changes (its uid is checked against the token): keep pods long.
  const pods = new TtlCache<k8s.V1Pod>(10 * 60_000);
  const jobs = new TtlCache<k8s.V1Job>(5_000);
  const jobTypes = new TtlCache<JobType>(10_000);
  const statusSinks = new TtlCache<StatusSink>(10_000);
  const custom_ = <T>(namespace: string, plural: string, name: string) =>
    orUndefined(custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name }) as Promise<T>);
  return {
    verify: (token) => verifier.verify(token),
    getPod: (namespace, name) => pods.get(`${namespace}/${name}`, () => orUndefined(core.readNamespacedPod({ namespace, name }))),
    getJob: (namespace, name) => jobs.get(`${namespace}/${name}`, () => orUndefined(batch.readNamespacedJob({ namespace, name }))),
    getJobType: (namespace, name) => jobTypes.get(`${namespace}/${name}`, async () => {
      const raw = await custom_<JobType>(namespace, kinds.JobType.plural, name);
      if (!raw) return undefined;
      const parsed = parseSpec('JobType', raw.spec);
      return parsed.success ? { ...raw, spec: parsed.spec } : undefined;
    }),
    sink: async (namespace, name) => {
      const sink = await statusSinks.get(`${namespace}/${name}`, async () => {
        const raw = await custom_<StatusSink>(namespace, kinds.StatusSink.plural, name);
        if (!raw) return undefined;
        const parsed = parseSpec('StatusSink', raw.spec);
        return parsed.success ? { ...raw, spec: parsed.spec } : undefined;
      });
      if (!sink) throw new Error(`StatusSink ${namespace}/${name} not found or invalid`);
      return sinks.get(sink, readSecret(namespace));
    },
  };
}
