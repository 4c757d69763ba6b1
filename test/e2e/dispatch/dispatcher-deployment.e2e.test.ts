// A QueueBinding with its own dispatchers: the controller makes its Deployment (`sluice dispatch`
// pods from the controller's image, on the exec node) and a KEDA ScaledObject; a backlog makes KEDA
// scale the dispatchers above one replica, they drain the queue with exactly one Job per message
// while the JobType's maxConcurrency holds across replicas (sampled), KEDA scales them back to zero,
// and deleting the binding removes both.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { fromPod, image, onExecNode } from '../support/exec-node.ts';
import { batch, core, createTestNamespace, eventually, isNotFound, jobCondition, kubeConfig } from '../support/kube.ts';
import { apply, cleanUp, createQueue, installCrds, objects, queueDepth, sluiceJobs, sqs } from '../support/sluice.ts';
import { stack } from '../support/stack.ts';

const MESSAGES = 40;
const MAX_CONCURRENCY = 3;
let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess;
let queueUrl: string;
const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('own-dispatchers');
  // One URL for everyone: pods, KEDA's namespace and this machine all reach SQS at the node address.
  queueUrl = fromPod(await createQueue(`${ns.name}-work`));
  await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'aws' }, stringData: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } } });
  await apply('JobType', ns.name, 'work', {
    image: 'registry.invalid/worker:1',
    maxConcurrency: MAX_CONCURRENCY,
    ttlSecondsAfterFinished: 600,
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/duration': '2s' } } },
  });
  controller = await startController({ namespace: ns.name, args: ['--dispatcher-image', image('controller')], env: { AWS_REGION: stack.awsRegion } });
}, 120_000);

afterAll(async () => {
  await cleanUp(ns, [controller]);
});

const deployment = () => apps.readNamespacedDeployment({ namespace: ns.name, name: 'sluice-dispatch-work' }).catch((error: unknown) => {
  if (isNotFound(error)) return undefined;
  throw error;
});
const scaledObject = () => custom.getNamespacedCustomObject({ group: 'keda.sh', version: 'v1alpha1', namespace: ns.name, plural: 'scaledobjects', name: 'sluice-dispatch-work' })
  .catch((error: unknown) => {
    if (isNotFound(error) || (error as { code?: number }).code === 404) return undefined;
    throw error;
  });

it('scales its own dispatchers from zero to several and back on queue depth, one Job per message, maxConcurrency held across them', async () => {
  await apply('QueueBinding', ns.name, 'work', {
    queueUrl,
    endpoint: fromPod(stack.sqsEndpoint),
    region: stack.awsRegion,
    credentials: { secretRef: { name: 'aws' } },
    receive: { waitTimeSeconds: 2, maxMessages: 5 },
    routes: [{ name: 'all', jobType: 'work' }],
    dispatcher: {
      mode: 'deployment',
      autoscaling: { minReplicas: 0, maxReplicas: 3, messagesPerReplica: 5, pollingIntervalSeconds: 2, cooldownSeconds: 10, scaleDownStabilizationSeconds: 0 },
      ...onExecNode,
      env: [{ name: 'AWS_ENDPOINT_URL', value: fromPod(stack.awsEndpoint) }],
    },
  });
  await eventually('the Deployment and the ScaledObject', async () => ((await deployment()) && (await scaledObject()) ? true : undefined), 60_000);
  // A new Deployment starts at one replica; with an empty queue KEDA takes it to zero.
  await eventually('the binding to say KEDA scales it, now to zero', async () => {
    const current = (await custom.getNamespacedCustomObject({ group: 'sluice.dev', version: 'v1alpha1', namespace: ns.name, plural: 'queuebindings', name: 'work' })) as { status?: { conditions?: { type: string; status: string; reason: string }[] } };
    const condition = (type: string) => current.status?.conditions?.find((c) => c.type === type);
    return condition('Autoscaling')?.reason === 'KEDA' && condition('Polling')?.reason === 'ScaledToZero' ? true : undefined;
  }, 90_000);

  for (let i = 0; i < MESSAGES; i += 10) {
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: JSON.stringify({ n: i + j }) })) }));
  }
  // Sample: replicas KEDA asks for, and unfinished Jobs of the limited type.
  let maxReplicas = 0;
  let maxActive = 0;
  const sampler = setInterval(() => {
    void deployment().then((d) => { maxReplicas = Math.max(maxReplicas, d?.spec?.replicas ?? 0); }, () => undefined);
    void sluiceJobs(ns.name).then((jobs) => {
      maxActive = Math.max(maxActive, jobs.filter((j) => !jobCondition(j, 'Complete') && !jobCondition(j, 'Failed')).length);
    }, () => undefined);
  }, 250);
  try {
    await eventually('every message to be a finished Job and the queue empty', async () => {
      const jobs = await sluiceJobs(ns.name);
      const finished = jobs.filter((j) => jobCondition(j, 'Complete'));
      return finished.length >= MESSAGES && (await queueDepth(queueUrl)) === 0 ? true : undefined;
    }, 240_000, 1000);
  } finally {
    clearInterval(sampler);
  }
  const jobs = await sluiceJobs(ns.name);
  expect(jobs).toHaveLength(MESSAGES);
  const payloads = new Set(jobs.map((j) => j.spec?.template.metadata?.annotations?.['sluice.dev/payload']));
  expect(payloads.size).toBe(MESSAGES);
  // Created by the dispatcher pods, more than one of them, within the JobType's limit.
  const creators = new Set(jobs.map((j) => j.metadata?.labels?.['sluice.dev/dispatcher']));
  expect(maxReplicas, `replicas seen: ${maxReplicas}`).toBeGreaterThan(1);
  expect(creators.size, `creators: ${[...creators].join(', ')}`).toBeGreaterThan(1);
  expect(maxActive).toBeLessThanOrEqual(MAX_CONCURRENCY);

  await eventually('KEDA to scale the dispatchers back to zero', async () => ((await deployment())?.spec?.replicas === 0 ? true : undefined), 120_000, 1000);

  await objects.delete({ apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name: 'work', namespace: ns.name } });
  await eventually('the Deployment and the ScaledObject to go with the binding', async () => (!(await deployment()) && !(await scaledObject()) ? true : undefined), 60_000);
  expect((await batch.listNamespacedJob({ namespace: ns.name })).items).toHaveLength(MESSAGES);
}, 480_000);
