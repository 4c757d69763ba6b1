// Sluice resources in e2e tests: CRDs, JobTypes, QueueBindings and their queues.
import * as k8s from '@kubernetes/client-node';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { batch, eventually, kubeConfig } from './kube.ts';
import { applyCrds } from '../../../hack/lib/cluster.ts';

export const objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
export const sqs = new SQSClient({});

/** Applies crds/ server-side (as `kubectl apply --server-side` would) and waits until they serve. */
export async function installCrds(): Promise<void> {
  const extensions = kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
  const names = await applyCrds((crd) => objects.patch(crd, undefined, undefined, 'sluice', true, k8s.PatchStrategy.ServerSideApply));
  for (const name of names) {
    await eventually(`CRD ${name} to be established`, async () => {
      const crd = await extensions.readCustomResourceDefinition({ name });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
  }
}

export async function apply(kind: 'JobType' | 'QueueBinding' | 'StatusSink', namespace: string, name: string, spec: unknown): Promise<void> {
  await objects.patch(
    { apiVersion: 'sluice.dev/v1alpha1', kind, metadata: { name, namespace }, spec } as k8s.KubernetesObject,
    undefined, undefined, 'sluice-e2e', true, k8s.PatchStrategy.ServerSideApply,
  );
}

export async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return QueueUrl!;
}

/** Visible + in flight + delayed: zero means every message was deleted. */
export async function queueDepth(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: queueUrl,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
  }));
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0)
    + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    + Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0);
}

export async function drainQueue(queueUrl: string, expected: number, timeoutMs = 60_000): Promise<Message[]> {
  const messages: Message[] = [];
  await eventually(`${expected} messages on ${queueUrl}`, async () => {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 600,
      MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'],
    }));
    messages.push(...(Messages ?? []));
    return messages.length >= expected ? true : undefined;
  }, timeoutMs);
  return messages;
}

export async function sluiceJobs(namespace: string, labelSelector = 'app.kubernetes.io/managed-by=sluice'): Promise<k8s.V1Job[]> {
  return (await batch.listNamespacedJob({ namespace, labelSelector })).items;
}

export async function waitForJobCount(namespace: string, count: number, labelSelector?: string, timeoutMs = 60_000): Promise<k8s.V1Job[]> {
  let seen = 0;
  const jobs = await eventually(`${count} Sluice Jobs in ${namespace}${labelSelector ? ` (${labelSelector})` : ''}`, async () => {
    const found = await sluiceJobs(namespace, labelSelector);
    seen = found.length;
    return found.length >= count ? found : undefined;
  }, timeoutMs).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last saw ${seen}`, { cause: error });
  });
  if (jobs.length !== count) throw new Error(`expected ${count} Sluice Jobs, found ${jobs.length}`);
  return jobs;
}

/** Removes Sluice's finalizer from every Job, so namespace deletion does not wait on the controller. */
export async function releaseJobs(namespace: string): Promise<void> {
  for (const job of await sluiceJobs(namespace)) {
    if (!job.metadata?.finalizers?.length) continue;
    await batch.patchNamespacedJob(
      { namespace, name: job.metadata.name!, body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    ).catch(() => undefined);
  }
}

export function payloadOf(job: k8s.V1Job): string | undefined {
  return job.spec?.template.metadata?.annotations?.['sluice.dev/payload'];
}

/** After a test file: stop its controllers, let go of its Jobs, delete its namespace. */
export async function cleanUp(
  namespace: { name: string; remove: () => Promise<void> } | undefined,
  controllers: ({ stop: () => Promise<void> } | undefined)[],
): Promise<void> {
  await Promise.all(controllers.map((c) => c?.stop() ?? Promise.resolve()));
  if (!namespace) return;
  await releaseJobs(namespace.name);
  await namespace.remove();
}
