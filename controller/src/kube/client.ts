// Kubernetes connection: the KubeConfig, typed API clients, and predicates on API errors.
import * as k8s from '@kubernetes/client-node';
import { kubeRequests } from '../metrics.ts';
import { jsonBatchApi } from './json-request.ts';

type Dispatcher = NonNullable<ReturnType<k8s.RequestContext['getDispatcher']>>;

/**
 * client-node 2.0 gives every request a new connection dispatcher (an undici Agent), so each call
 * would pay a fresh TLS handshake (most of the controller's CPU under load). This keeps the first
 * one and reuses its connection pool. Authenticating a request also re-reads the CA and client
 * certificate files and builds (then drops) that Agent, ≈ 5 % of the controller's CPU in a burst
 * (docs/benchmarks.md): the headers it yields are reused for up to a second, as client-go caches a
 * token file's bearer token for a minute. The credentials' files are read again after that.
 */
export class PooledKubeConfig extends k8s.KubeConfig {
  #dispatcher: Dispatcher | undefined;
  #credentials: { headers: [string, string][]; until: number } | undefined;
  readonly #now: () => number;
  readonly #reuseMs: number;

  /** `credentialsReuseMs` 0 authenticates every request, as client-node does (a benchmark's baseline). */
  constructor(options: { now?: () => number; credentialsReuseMs?: number } = {}) {
    super();
    this.#now = options.now ?? Date.now;
    this.#reuseMs = options.credentialsReuseMs ?? CREDENTIALS_REUSE_MS;
  }

  override async applySecurityAuthentication(context: k8s.RequestContext): Promise<void> {
    // Every typed-API call and informer list passes here: count it (watches count where they start).
    kubeRequests.inc(describeRequest(context.getHttpMethod(), context.getUrl()));
    const now = this.#now();
    if (this.#credentials && now < this.#credentials.until) {
      for (const [name, value] of this.#credentials.headers) context.setHeaderParam(name, value);
      if (this.#dispatcher) context.setDispatcher(this.#dispatcher);
      return;
    }
    const before = { ...context.getHeaders() };
    await super.applySecurityAuthentication(context);
    const headers = Object.entries(context.getHeaders()).filter(([name, value]) => before[name] !== value);
    this.#credentials = { headers, until: now + this.#reuseMs };
    const created = context.getDispatcher();
    if (!created) return;
    if (this.#dispatcher === undefined) {
      this.#dispatcher = created;
      return;
    }
    void created.close();
    context.setDispatcher(this.#dispatcher);
  }
}

/** How long one authentication's headers serve further requests. */
export const CREDENTIALS_REUSE_MS = 1000;

/** A request as the API server's own metrics name it: its verb and resource (with subresource). */
export function describeRequest(method: string, url: string): { verb: string; resource: string } {
  const { pathname, searchParams } = new URL(url, 'https://api.invalid');
  // /api/v1/…, /apis/GROUP/VERSION/…, then namespaces/NS/, then resource[/name[/subresource]].
  const parts = pathname.split('/').filter(Boolean);
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const [resource = '', name, subresource] = rest;
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' };
  const verb = method === 'GET' ? (searchParams.get('watch') === 'true' ? 'watch' : name ? 'get' : 'list') : (verbs[method] ?? method.toLowerCase());
  return { verb, resource: subresource ? `${resource}/${subresource}` : resource };
}

/**
 * Loads the KubeConfig from KUBECONFIG when set, else the pod's service account when running in
 * a cluster, else ~/.kube/config. Fails when no cluster is configured.
 */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): k8s.KubeConfig {
  const kubeConfig = new PooledKubeConfig();
  if (!env.KUBECONFIG && env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  if (!kubeConfig.getCurrentCluster()) {
    throw new Error('no Kubernetes cluster configured: set KUBECONFIG or run in a cluster');
  }
  return kubeConfig;
}

export interface KubeClients {
  kubeConfig: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  /** Job create, read and patch as plain JSON (kube/json-request.ts). */
  batch: BatchApi;
  apps: k8s.AppsV1Api;
  coordination: k8s.CoordinationV1Api;
  events: k8s.EventsV1Api;
  customObjects: k8s.CustomObjectsApi;
  objects: k8s.KubernetesObjectApi;
}

/** The batch/v1 calls Sluice makes; a narrow type so tests can pass a fake API. */
export type BatchApi = Pick<k8s.BatchV1Api, 'createNamespacedJob' | 'readNamespacedJob' | 'listNamespacedJob' | 'patchNamespacedJob' | 'deleteNamespacedJob'>;

/** The core/v1 calls Sluice makes. */
export type CoreApi = Pick<k8s.CoreV1Api,
  | 'createNamespacedSecret' | 'readNamespacedSecret' | 'listNamespacedPod'
  | 'readNamespacedConfigMap' | 'createNamespacedConfigMap' | 'replaceNamespacedConfigMap' | 'deleteNamespacedConfigMap'>;

/** Status writes of Sluice's own resources. */
export type CustomObjectsStatusApi = Pick<k8s.CustomObjectsApi, 'patchNamespacedCustomObjectStatus'>;

export function makeClients(kubeConfig: k8s.KubeConfig): KubeClients {
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(k8s.CoreV1Api),
    batch: jsonBatchApi(kubeConfig),
    apps: kubeConfig.makeApiClient(k8s.AppsV1Api),
    coordination: kubeConfig.makeApiClient(k8s.CoordinationV1Api),
    events: kubeConfig.makeApiClient(k8s.EventsV1Api),
    customObjects: kubeConfig.makeApiClient(k8s.CustomObjectsApi),
    objects: k8s.KubernetesObjectApi.makeApiClient(kubeConfig),
  };
}

/**
 * Per-request options that abort the request after `ms`. The generated clients have no timeout
 * of their own, and a request to an unreachable API server can hang far longer than a lease lasts.
 */
export function requestTimeout(ms: number): k8s.ConfigurationOptions {
  const timeout: k8s.ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(AbortSignal.timeout(ms));
      return new k8s.Observable(Promise.resolve(request));
    },
    post: (response) => new k8s.Observable(Promise.resolve(response)),
  };
  return { middleware: [timeout], middlewareMergeStrategy: 'append' };
}

/** Options for a JSON merge patch (`application/merge-patch+json`). */
export function mergePatch(options?: k8s.ConfigurationOptions): k8s.ConfigurationOptions {
  return k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch, options);
}

export interface ApiStatus {
  code: number;
  /** The Status reason, e.g. Conflict, AlreadyExists, NotFound, Expired. */
  reason?: string;
  message?: string;
}

/**
 * The HTTP status and Kubernetes Status reason of a failed API call, or undefined when the error
 * did not come from the API server. Understands the generated clients' ApiException (whose body is
 * the Status as JSON text) and the `statusCode` errors that Watch reports.
 */
export function apiStatus(error: unknown): ApiStatus | undefined {
  if (error instanceof k8s.ApiException) {
    const code = (error as k8s.ApiException<unknown>).code;
    const status = parseStatus((error as k8s.ApiException<unknown>).body);
    return { code, reason: status?.reason, message: status?.message };
  }
  if (error && typeof error === 'object' && 'statusCode' in error && typeof error.statusCode === 'number') {
    return { code: error.statusCode };
  }
  return undefined;
}

function parseStatus(body: unknown): { reason?: string; message?: string } | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!value || typeof value !== 'object') return undefined;
  const { reason, message } = value as { reason?: unknown; message?: unknown };
  return {
    reason: typeof reason === 'string' ? reason : undefined,
    message: typeof message === 'string' ? message : undefined,
  };
}

export function isNotFound(error: unknown): boolean {
  return apiStatus(error)?.code === 404;
}

/** 409 from an update whose resourceVersion is stale: someone else wrote the object first. */
export function isConflict(error: unknown): boolean {
  const status = apiStatus(error);
  return status?.code === 409 && status.reason !== 'AlreadyExists';
}

/** 409 from a create: an object with that name exists. */
export function isAlreadyExists(error: unknown): boolean {
  const status = apiStatus(error);
  return status?.code === 409 && status.reason === 'AlreadyExists';
}

/** 410: the resourceVersion (or continue token) is too old; list again. */
export function isGone(error: unknown): boolean {
  return apiStatus(error)?.code === 410;
}
