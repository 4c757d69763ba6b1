// A watch on a namespace's Jobs for the demo, the soak and the benchmarks, that survives the API
// server going away (the soak restarts it): on an error or a 410 it lists again and resumes.
import * as k8s from '@kubernetes/client-node';

export type JobEvent = 'ADDED' | 'MODIFIED' | 'DELETED' | 'LISTED';

/**
 * Calls `seen` for every Job event (`ready` once the first list is in); with `fromNow`, Jobs that exist at the start are not reported
 * (after an error the relist reports everything, so callers keep their own record of what they saw).
 */
export function watchNamespaceJobs(
  kubeConfig: k8s.KubeConfig, namespace: string, seen: (job: k8s.V1Job, type: JobEvent) => void, options: { fromNow?: boolean } = {},
): { stop: () => void; ready: Promise<void> } {
  const batch = kubeConfig.makeApiClient(k8s.BatchV1Api);
  let stopped = false;
  let current: AbortController | undefined;
  let resourceVersion: string | undefined;
  let skipExisting = options.fromNow ?? false;
  let listed!: () => void;
  const ready = new Promise<void>((resolve) => { listed = resolve; });
  const start = async () => {
    while (!stopped) {
      try {
        if (!resourceVersion) {
          const list = await batch.listNamespacedJob({ namespace, ...(skipExisting && { limit: 1 }) });
          if (!skipExisting) for (const job of list.items) seen(job, 'LISTED');
          skipExisting = false;
          resourceVersion = list.metadata?.resourceVersion;
          listed();
        }
        await new Promise<void>((done) => {
          void new k8s.Watch(kubeConfig).watch(`/apis/batch/v1/namespaces/${namespace}/jobs`, { resourceVersion, allowWatchBookmarks: true }, (type: string, job: k8s.V1Job) => {
            if (type === 'ERROR') { resourceVersion = undefined; return; }
            resourceVersion = job.metadata?.resourceVersion ?? resourceVersion;
            if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') seen(job, type);
          }, () => done()).then((c) => { current = c; }, () => done());
        });
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  void start();
  return { stop: () => { stopped = true; current?.abort(); }, ready };
}
