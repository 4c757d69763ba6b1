import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FAN_IN_SENT_AT, fanInConfigMapName } from '../outcome/fan-in.ts';
import { jobType, silentLogger } from '../testing/fixtures.ts';
import { outcomeHarness } from '../testing/outcome-harness.ts';
import { FAN_IN_RETENTION_MS, fanInRetentionReconciler } from './fan-in-retention.ts';

const assemble = 'https://sqs.us-east-1.amazonaws.com/000000000000/assemble';
const visual = jobType({ fanIn: { group: 'body.note', expected: 'body.total', send: { queueUrl: assemble, body: '{"note": body.note}' } } });

async function completedGroup() {
  const h = outcomeHarness({ jobTypes: [visual] });
  h.sqs.createQueue('assemble');
  const members = [0, 1].map((i) => h.createJob(JSON.stringify({ note: 'n-1', i, total: 2 }), { fanIn: { group: 'n-1', expected: 2 } }));
  for (const member of members) {
    h.finish(member.metadata!.name!, { result: 'Complete' });
    await h.reconcile(member.metadata!.name!);
  }
  const name = fanInConfigMapName('work', 'n-1');
  const sentAt = Date.parse(h.kube.get<k8s.V1ConfigMap>('ConfigMap', 'media', name)!.data![FAN_IN_SENT_AT]!);
  let now = sentAt;
  const reconcile = fanInRetentionReconciler({ configMaps: h.kube.cache<k8s.V1ConfigMap>('ConfigMap'), core: h.kube.core, now: () => now });
  return {
    h, name,
    advanceTo: (ms: number) => { now = sentAt + ms; },
    reconcile: () => reconcile({ key: `media/${name}`, namespace: 'media', name, retries: 0, logger: silentLogger }),
  };
}

describe('fan-in retention', () => {
  it('keeps a sent group for the retention period, then deletes its ConfigMap', async () => {
    const group = await completedGroup();
    expect(await group.reconcile()).toEqual({ outcome: 'requeue', afterMs: FAN_IN_RETENTION_MS });
    group.advanceTo(FAN_IN_RETENTION_MS);
    expect(await group.reconcile()).toEqual({ outcome: 'done' });
    expect(group.h.kube.get('ConfigMap', 'media', group.name)).toBeUndefined();
  });

  it('counts a late redelivered member into the finished group within the retention, sending nothing more', async () => {
    const group = await completedGroup();
    const late = group.h.createJob('{"note":"n-1","i":1,"total":2}', { fanIn: { group: 'n-1', expected: 2 }, dedupeKey: 'again' });
    group.h.finish(late.metadata!.name!, { result: 'Complete' });
    await group.h.reconcile(late.metadata!.name!);
    expect(group.h.sqs.messages(assemble)).toHaveLength(1);
  });

  it('leaves a group that is still counting', async () => {
    const h = outcomeHarness({ jobTypes: [visual] });
    const member = h.createJob('{"note":"n-2","total":3}', { fanIn: { group: 'n-2', expected: 3 } });
    h.finish(member.metadata!.name!, { result: 'Complete' });
    await h.reconcile(member.metadata!.name!);
    const name = fanInConfigMapName('work', 'n-2');
    const reconcile = fanInRetentionReconciler({ configMaps: h.kube.cache<k8s.V1ConfigMap>('ConfigMap'), core: h.kube.core, now: () => Date.now() + 10 * FAN_IN_RETENTION_MS });
    expect(await reconcile({ key: `media/${name}`, namespace: 'media', name, retries: 0, logger: silentLogger })).toEqual({ outcome: 'done' });
    expect(h.kube.get('ConfigMap', 'media', name)).toBeDefined();
  });
});
