// SQS going away: receives fail, the binding says so (Polling=False) and backs off; nothing is lost
// or run twice, and dispatching resumes when SQS is back. A TCP proxy plays the outage.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { createTestNamespace, eventually, kubeConfig } from '../support/kube.ts';
import { apply, cleanUp, createQueue, installCrds, queueDepth, sluiceJobs, sqs, waitForJobCount } from '../support/sluice.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess;
let queueUrl: string;
const proxy = new TcpProxy(process.env.AWS_ENDPOINT_URL_SQS!);
const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('sqs-outage');
  queueUrl = await createQueue(`${ns.name}-work`);
  await proxy.start();
  const throughProxy = `http://127.0.0.1:${proxy.port}`;
  await apply('JobType', ns.name, 'work', { image: 'registry.invalid/worker:1' });
  await apply('QueueBinding', ns.name, 'work', {
    queueUrl: queueUrl.replace(new URL(queueUrl).origin, throughProxy),
    endpoint: throughProxy,
    receive: { waitTimeSeconds: 2 },
    routes: [{ name: 'all', when: 'true', jobType: 'work' }],
  });
  controller = await startController({ namespace: ns.name });
});

afterAll(async () => {
  await proxy.start().catch(() => undefined);
  await cleanUp(ns, [controller]);
  await proxy.stop();
});

type Status = { status?: { conditions?: { type: string; status: string; reason: string }[] } };
const polling = async () => {
  const binding = await custom.getNamespacedCustomObject({ group: 'sluice.dev', version: 'v1alpha1', namespace: ns.name, plural: 'queuebindings', name: 'work' }) as Status;
  return binding.status?.conditions?.find((c) => c.type === 'Polling');
};
const send = (n: number) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ n }) }));

describe('SQS unreachable', () => {
  it('reports Polling=False, keeps the backlog, and resumes without loss or duplicates', async () => {
    for (let n = 0; n < 3; n += 1) await send(n);
    await waitForJobCount(ns.name, 3);

    await proxy.stop();
    const down = await eventually('Polling to turn False', async () => {
      const condition = await polling();
      return condition?.status === 'False' ? condition : undefined;
    }, 30_000);
    expect(down.reason).toBe('ReceiveFailed');
    for (let n = 3; n < 6; n += 1) await send(n);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await sluiceJobs(ns.name)).toHaveLength(3);
    expect(controller.child.exitCode).toBeNull();

    await proxy.start();
    await waitForJobCount(ns.name, 6, undefined, 90_000);
    await eventually('Polling to turn True', async () => ((await polling())?.status === 'True' ? true : undefined), 30_000);
    await eventually('the queue to drain', async () => ((await queueDepth(queueUrl)) === 0 ? true : undefined));
    expect(await sluiceJobs(ns.name)).toHaveLength(6);
  });
});
