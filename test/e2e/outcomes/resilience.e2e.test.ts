// Nothing is lost when the database or the controller goes away: with MongoDB stopped while Jobs
// finish, no finalizer comes off; once it is back every record converges. Killing the controller
// half-way through changes nothing either.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { core, createTestNamespace, eventually } from '../support/kube.ts';
import { podsOf } from '../support/pods.ts';
import * as k8s from '@kubernetes/client-node';
import { apply, createQueue, installCrds, releaseJobs, sluiceJobs, sqs, waitForJobCount } from '../support/sluice.ts';
import { stack } from '../support/stack.ts';
import { hack } from '../support/outage.ts';

const JOBS = 10;
let ns: Awaited<ReturnType<typeof createTestNamespace>>;
const running: ControllerProcess[] = [];
let database: string;


beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('resilience');
  database = `sluice_${ns.name.replace(/-/g, '_')}`;
  const queueUrl = await createQueue(`${ns.name}-grading`);
  await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'mongo' }, stringData: { uri: stack.mongoUri } } });
  await apply('StatusSink', ns.name, 'results', { mongodb: { uriSecretRef: { name: 'mongo', key: 'uri' }, database } });
  await apply('JobType', ns.name, 'grade', {
    image: 'registry.invalid/grader:1',
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/outcome': 'hold' } } },
    statusSink: { name: 'results', table: 'results', key: { field: 'sessionId', value: 'body.sessionId' }, fields: { result: 'result' } },
  });
  await apply('QueueBinding', ns.name, 'grading', { queueUrl, routes: [{ name: 'all', when: 'true', jobType: 'grade' }] });
  running.push(await startController({ namespace: ns.name }));
  await sqs.send(new SendMessageBatchCommand({
    QueueUrl: queueUrl,
    Entries: Array.from({ length: JOBS }, (_, i) => ({ Id: String(i), MessageBody: JSON.stringify({ sessionId: `s-${i}` }) })),
  }));
});

afterAll(async () => {
  hack('local-up.sh'); // MongoDB back, whatever happened
  await Promise.all(running.map((c) => c.kill()));
  if (ns) {
    await releaseJobs(ns.name);
    await ns.remove();
  }
});

describe('MongoDB down while Jobs finish, and the controller killed', () => {
  it('keeps every finalizer until the outcome is written, then converges', async () => {
    const results = new MongoClient(stack.mongoUri).db(database).collection('results');
    await waitForJobCount(ns.name, JOBS);
    await eventually('every record to show running', async () => ((await results.countDocuments({ status: 'running' })) === JOBS ? true : undefined), 60_000);

    hack('local-down.sh', 'mongo');
    for (const job of await sluiceJobs(ns.name)) {
      for (const pod of await podsOf(ns.name, job.metadata!.name!)) {
        await core.patchNamespacedPod(
          { namespace: ns.name, name: pod.metadata!.name!, body: { metadata: { annotations: { 'sim.sluice.dev/outcome': 'succeed', 'sim.sluice.dev/message': `{"graded":"${job.metadata!.name!}"}` } } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
      }
    }
    await eventually('every Job to complete', async () => {
      const jobs = await sluiceJobs(ns.name);
      return jobs.every((j) => j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')) ? true : undefined;
    });
    // The database is down: outcomes cannot be recorded, so no finalizer may come off.
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await sluiceJobs(ns.name)).filter((j) => j.metadata?.finalizers?.includes('sluice.dev/outcome'))).toHaveLength(JOBS);

    await running[0]!.kill();
    running.push(await startController({ namespace: ns.name }));
    hack('local-up.sh');

    await eventually('every record to converge to succeeded', async () => ((await results.countDocuments({ status: 'succeeded' })) === JOBS ? true : undefined), 120_000);
    await eventually('every finalizer to come off', async () => {
      const jobs = await sluiceJobs(ns.name);
      return jobs.every((j) => !j.metadata?.finalizers?.length) ? true : undefined;
    }, 60_000);
    const docs = await results.find({}).toArray();
    expect(docs).toHaveLength(JOBS);
    for (const doc of docs) expect((doc.result as { graded: string }).graded).toMatch(/^grading-/);
  });
});
