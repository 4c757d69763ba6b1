// Drives kwok pod outcomes from a test: a pod held Running finishes when its annotation changes.
import * as k8s from '@kubernetes/client-node';
import { core, eventually } from './kube.ts';

export async function podsOf(namespace: string, jobName: string): Promise<k8s.V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${jobName}` })).items;
}

/** Waits for the Job's pod to run, then sets its outcome annotations (e.g. succeed + message). */
export async function finishPod(namespace: string, jobName: string, annotations: Record<string, string>): Promise<void> {
  const pod = await eventually(`a running pod of ${jobName}`, async () =>
    (await podsOf(namespace, jobName)).find((p) => p.status?.phase === 'Running'));
  await core.patchNamespacedPod(
    { namespace, name: pod.metadata!.name!, body: { metadata: { annotations } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}
