// Leader failover: with two replicas, killing the leader hands the Lease to the standby within
// about one lease duration, and dispatching continues.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { createTestNamespace, eventually, kubeConfig } from '../support/kube.ts';
import { apply, createQueue, installCrds, releaseJobs, sqs, waitForJobCount } from '../support/sluice.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let queueUrl: string;
const replicas: ControllerProcess[] = [];
const coordination = kubeConfig.makeApiClient(k8s.CoordinationV1Api);

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('failover');
  queueUrl = await createQueue(`${ns.name}-work`);
  await apply('JobType', ns.name, 'work', { image: 'registry.invalid/worker:1' });
  // A killed leader's outstanding long poll can still take a message on the server; it comes back
  // after the visibility timeout, so keep that short here.
  await apply('QueueBinding', ns.name, 'work', {
    queueUrl,
    receive: { visibilityTimeoutSeconds: 5 },
    routes: [{ name: 'all', when: 'true', jobType: 'work' }],
  });
  for (const identity of ['replica-a', 'replica-b']) {
    replicas.push(await startController({ namespace: ns.name, identity, leaseDurationSeconds: 4 }));
  }
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.kill()));
  if (ns) {
    await releaseJobs(ns.name);
    await ns.remove();
  }
});

const holder = async () => (await coordination.readNamespacedLease({ namespace: ns.name, name: 'sluice-controller' })).spec?.holderIdentity;
const send = (n: number) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ n }) }));

describe('leader failover', () => {
  it('hands dispatching to the standby when the leader is killed', async () => {
    const leaderId = await eventually('a leader', async () => (await holder()) || undefined);
    for (let n = 0; n < 5; n += 1) await send(n);
    await waitForJobCount(ns.name, 5);

    const leader = replicas.find((r) => r.identity === leaderId)!;
    const standby = replicas.find((r) => r.identity !== leaderId)!;
    await leader.kill();
    const killedAt = Date.now();
    await eventually('the standby to take the Lease', async () => ((await holder()) === standby.identity ? true : undefined), 30_000);
    expect(Date.now() - killedAt).toBeLessThan(15_000);

    for (let n = 5; n < 10; n += 1) await send(n);
    await waitForJobCount(ns.name, 10, undefined, 60_000);
  });
});

describe('graceful shutdown', () => {
  it('releases the Lease on SIGTERM so a standby takes over at once', async () => {
    const leaderId = await eventually('a leader', async () => (await holder()) || undefined);
    const leader = replicas.find((r) => r.identity === leaderId)!;
    const standby = await startController({ namespace: ns.name, identity: 'replica-c', leaseDurationSeconds: 30 });
    replicas.push(standby);
    await leader.stop();
    const stoppedAt = Date.now();
    expect((await leader.exited).code).toBe(0);
    await eventually('the standby to take the released Lease', async () => ((await holder()) === 'replica-c' ? true : undefined), 20_000);
    // Far less than the 30 s a standby would wait for an unreleased lease to expire.
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    await send(10);
    await waitForJobCount(ns.name, 11, undefined, 30_000);
  });
});
