// Real KEDA in the local stack: a ScaledObject with an aws-sqs-queue trigger on an ElasticMQ queue
// scales a Deployment from zero to N through the external metrics API (aggregation layer) and the
// controller manager's HPA controller, and back to zero when the queue is empty.
import { PurgeQueueCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fromPod } from '../support/exec-node.ts';
import { core, createTestNamespace, eventually, kubeConfig } from '../support/kube.ts';
import { createQueue, objects, sqs } from '../support/sluice.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let queueUrl: string;
const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);

beforeAll(async () => {
  ns = await createTestNamespace('keda');
  queueUrl = await createQueue(`${ns.name}-depth`);
  const labels = { app: 'consumer' };
  await objects.create({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'consumer', namespace: ns.name },
    spec: {
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: { 'sim.sluice.dev/outcome': 'hold' } },
        spec: { nodeSelector: { pool: 'cpu' }, containers: [{ name: 'c', image: 'registry.invalid/consumer:1' }] },
      },
    },
  });
  await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'aws' }, stringData: { id: 'test', secret: 'test' } } });
  await objects.create({
    apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name: 'aws', namespace: ns.name },
    spec: { secretTargetRef: [{ parameter: 'awsAccessKeyID', name: 'aws', key: 'id' }, { parameter: 'awsSecretAccessKey', name: 'aws', key: 'secret' }] },
  });
  await objects.create({
    apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'consumer', namespace: ns.name },
    spec: {
      scaleTargetRef: { name: 'consumer' },
      minReplicaCount: 0, maxReplicaCount: 4, pollingInterval: 2, cooldownPeriod: 5,
      advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } } },
      triggers: [{
        type: 'aws-sqs-queue',
        authenticationRef: { name: 'aws' },
        // KEDA runs beside the exec node: it reaches ElasticMQ at the node address.
        metadata: { queueURL: fromPod(queueUrl), awsRegion: 'us-east-1', awsEndpoint: fromPod(process.env.AWS_ENDPOINT_URL_SQS!), queueLength: '5', activationQueueLength: '0' },
      }],
    },
  });
});

afterAll(async () => {
  await ns?.remove();
});

const replicas = async () => (await apps.readNamespacedDeployment({ namespace: ns.name, name: 'consumer' })).spec?.replicas ?? 0;

it('scales the Deployment from zero to N on queue depth and back to zero', async () => {
  expect(await replicas()).toBe(0);
  for (let i = 0; i < 20; i += 10) {
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: `m-${i + j}` })) }));
  }
  // 20 visible messages at 5 per replica: the HPA takes it to its maximum of 4.
  await eventually('4 replicas', async () => ((await replicas()) === 4 ? true : undefined), 90_000, 1000);
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
  await eventually('scale to zero', async () => ((await replicas()) === 0 ? true : undefined), 120_000, 1000);
}, 240_000);
