// API requests as plain JSON, for the calls made once per message. client-node's typed clients walk
// every request and response through its ObjectSerializer (each field of the V1Job model, Dates for
// timestamps) and send it with undici's fetch; a Job create and a finalizer patch cost this process
// ≈ 3.3 ms of CPU that way and ≈ 1.4 ms here, with undici's request() on the same pooled connection
// (hack/bench/job-client.ts, docs/benchmarks.md). Requests go through the same KubeConfig
// (credentials, connection pool, request counter) and per-call middleware, and fail the same way
// (ApiException with the Status as its body), so kube/client.ts's predicates read them alike; only
// timestamps stay RFC 3339 strings, as in the informers' caches.
import * as k8s from '@kubernetes/client-node';
import { request as undiciRequest } from 'undici';
import type { BatchApi } from './client.ts';

type Method = 'GET' | 'POST' | 'PATCH';

export type JsonRequest = {
  method: Method;
  /** From the API root, e.g. /apis/batch/v1/namespaces/team-a/jobs. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Defaults to application/json; a call's options may set another (k8s.setHeaderOptions). */
  contentType?: string;
  signal?: AbortSignal;
  /** Per-call options of the typed API (headers, timeouts): their middleware runs here too. */
  options?: k8s.ConfigurationOptions;
};

export type JsonClient = <T>(request: JsonRequest) => Promise<T>;

/** A request to the KubeConfig's cluster, JSON accepted, its credentials applied (the JSON calls and json-watch.ts). */
export async function authenticatedRequest(kubeConfig: k8s.KubeConfig, method: Method, path: string, query: JsonRequest['query'] = {}): Promise<k8s.RequestContext> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the KubeConfig');
  const url = new URL(cluster.server + path);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  const request = new k8s.RequestContext(url.toString(), k8s.HttpMethod[method]);
  request.setHeaderParam('Accept', 'application/json');
  await kubeConfig.applySecurityAuthentication(request);
  return request;
}

export function jsonClient(kubeConfig: k8s.KubeConfig): JsonClient {
  return async <T>({ method, path, query = {}, body, contentType = 'application/json', signal, options }: JsonRequest): Promise<T> => {
    let request = await authenticatedRequest(kubeConfig, method, path, query);
    if (body !== undefined) {
      request.setHeaderParam('Content-Type', contentType);
      request.setBody(JSON.stringify(body));
    }
    if (signal) request.setSignal(signal);
    const middleware = options?.middleware ?? [];
    for (const step of middleware) request = await step.pre(request).toPromise();
    const answer = await undiciRequest(request.getUrl(), {
      method, headers: request.getHeaders(), body: request.getBody() as string | undefined,
      signal: request.getSignal() ?? undefined, dispatcher: request.getDispatcher(),
    });
    const text = await answer.body.text();
    let response = new k8s.ResponseContext(answer.statusCode, flatHeaders(answer.headers), {
      text: () => Promise.resolve(text), binary: () => Promise.resolve(Buffer.from(text)), stream: () => null,
    });
    for (const step of [...middleware].reverse()) response = await step.post(response).toPromise();
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw new k8s.ApiException(response.httpStatusCode, `HTTP ${response.httpStatusCode} for ${method} ${path}`, await response.body.text(), response.headers);
    }
    return JSON.parse(await response.body.text()) as T;
  };
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}

const jobsPath = (namespace: string, name?: string) =>
  `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

/**
 * The batch/v1 calls Sluice makes per message (create, read, patch a Job) as plain JSON; the rare
 * ones (list, delete) go through the typed client.
 */
export function jsonBatchApi(kubeConfig: k8s.KubeConfig, typed: k8s.BatchV1Api = kubeConfig.makeApiClient(k8s.BatchV1Api)): BatchApi {
  const send = jsonClient(kubeConfig);
  return {
    createNamespacedJob: ({ namespace, body, dryRun, fieldManager }, options) =>
      send<k8s.V1Job>({ method: 'POST', path: jobsPath(namespace), query: { dryRun, fieldManager }, body, options }),
    readNamespacedJob: ({ namespace, name }, options) =>
      send<k8s.V1Job>({ method: 'GET', path: jobsPath(namespace, name), options }),
    patchNamespacedJob: ({ namespace, name, body, dryRun, fieldManager, force }, options) =>
      send<k8s.V1Job>({
        method: 'PATCH', path: jobsPath(namespace, name), query: { dryRun, fieldManager, force }, body, options,
        // The typed client's default; a call's options (k8s.setHeaderOptions) set its strategy.
        contentType: k8s.PatchStrategy.JsonPatch,
      }),
    listNamespacedJob: (param, options) => typed.listNamespacedJob(param, options),
    deleteNamespacedJob: (param, options) => typed.deleteNamespacedJob(param, options),
  };
}
