// Kubernetes helpers for e2e tests: clients on the local stack, throwaway namespaces, polling.
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { stack } from './stack.ts';

export const kubeConfig = new k8s.KubeConfig();
kubeConfig.loadFromFile(stack.kubeconfig);
export const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
export const batch = kubeConfig.makeApiClient(k8s.BatchV1Api);

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

/** Creates a namespace for one test file; the returned function deletes it. */
export async function createTestNamespace(prefix: string): Promise<{ name: string; remove: () => Promise<void> }> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'sluice.dev/test': 'true' } } } });
  return { name, remove: async () => void (await core.deleteNamespace({ name })) };
}

export function jobCondition(job: k8s.V1Job, type: string): k8s.V1JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** Waits until the Job has a True condition of one of `types` and returns the Job. */
export async function waitForJobCondition(namespace: string, name: string, types: string[], timeoutMs = 60_000) {
  return eventually(`Job ${namespace}/${name} to reach ${types.join(' or ')}`, async () => {
    const job = await batch.readNamespacedJob({ namespace, name });
    return types.some((t) => jobCondition(job, t)) ? job : undefined;
  }, timeoutMs);
}

export async function podsOfJob(namespace: string, jobName: string): Promise<k8s.V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${jobName}` });
  return list.items;
}

export { isNotFound } from '../../../controller/src/kube/client.ts';
