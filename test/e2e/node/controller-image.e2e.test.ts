// The controller runs in the cluster from its own image: a Deployment on the exec node with its
// own ServiceAccount, authenticating with the token Kubernetes mounts, turns a message into a Job
// (a real container) and records its outcome; /readyz and /metrics answer through the pod.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deployController, fromPod, image, onExecNode, type DeployedController } from '../support/exec-node.ts';
import { core, createTestNamespace, eventually, kubeConfig } from '../support/kube.ts';
import { apply, cleanUp, createQueue, installCrds, queueDepth, sqs, waitForJobCount } from '../support/sluice.ts';
import { stack } from '../support/stack.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: DeployedController | undefined;
let queueUrl: string;
const mongo = new MongoClient(stack.mongoUri);
let database: string;

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('in-cluster');
  database = `sluice_${ns.name.replace(/-/g, '_')}`;
  queueUrl = await createQueue(`${ns.name}-work`);
  // The controller reads this from its pod: MongoDB as the exec node's pods reach it.
  await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'stores' }, stringData: { mongodb: fromPod(stack.mongoUri) } } });
  await apply('StatusSink', ns.name, 'results', { mongodb: { uriSecretRef: { name: 'stores', key: 'mongodb' }, database } });
  await apply('JobType', ns.name, 'probe', {
    image: image('test-probe'),
    ...onExecNode,
    statusSink: { name: 'results', table: 'work', key: { field: 'id', value: 'body.id' }, fields: { result: 'result', job: 'jobName' } },
  });
  await apply('QueueBinding', ns.name, 'work', {
    // The SQS client sends to the queue URL's host, so the controller's pod needs the node address.
    queueUrl: fromPod(queueUrl),
    receive: { waitTimeSeconds: 1 },
    routes: [{ name: 'all', jobType: 'probe' }],
  });
  controller = await deployController(ns.name);
}, 180_000);

afterAll(async () => {
  await controller?.remove();
  await cleanUp(ns, []);
  await mongo.close();
});

it('dispatches a message into a Job and records its outcome, authenticated as its ServiceAccount', async () => {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ id: 'in-cluster-1' }) }));
  const [job] = await waitForJobCount(ns.name, 1, undefined, 90_000);
  const stored = await eventually('the record to reach succeeded', async () => {
    const doc = await mongo.db(database).collection('work').findOne({ id: 'in-cluster-1' });
    return doc?.status === 'succeeded' ? doc : undefined;
  }, 120_000);
  expect(stored.job).toBe(job!.metadata!.name);
  expect(stored.result).toMatchObject({ uid: 65532 });
  expect(await queueDepth(queueUrl)).toBe(0);

  // The Lease is held by the controller's pod, which can only have written it with its own token.
  const [pod] = await controller!.pods();
  expect(pod!.spec?.nodeName).toBe('exec-node-0');
  expect(pod!.spec?.serviceAccountName).toBe('sluice-controller');
  expect(pod!.spec?.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken))).toBe(true);
  const coordination = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  const lease = await coordination.readNamespacedLease({ namespace: ns.name, name: 'sluice-controller' });
  expect(lease.spec?.holderIdentity).toBe(pod!.metadata!.name);
});

it('answers /readyz and /metrics through the pod', async () => {
  const [pod] = await controller!.pods();
  const ready = await controller!.fetchFromPod(pod!, '/readyz');
  expect(ready.status).toBe(200);
  const metrics = await (await controller!.fetchFromPod(pod!, '/metrics')).text();
  expect(metrics).toMatch(new RegExp(`sluice_messages_dispatched_total\\{namespace="${ns.name}",binding="work",job_type="probe"\\} 1`));
});
