import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { JobType } from '../api/schemas.ts';
import { OutcomeHealth } from '../outcome/health.ts';
import { FakeKube } from '../testing/fake-kube.ts';
import { eventLog, NAMESPACE, silentLogger } from '../testing/fixtures.ts';
import { JobTypeCatalog, jobTypeReconciler } from './job-type.ts';
import { StatusWriter } from './status-writer.ts';

function harness() {
  const kube = new FakeKube();
  kube.create('JobType', NAMESPACE, { apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name: 'render' }, spec: { image: 'registry.invalid/render:1' } } as JobType);
  const jobTypes = kube.cache<JobType>('JobType');
  const health = new OutcomeHealth();
  const reconcile = jobTypeReconciler({
    jobTypes, jobs: kube.cache<k8s.V1Job>('Job'), catalog: new JobTypeCatalog(jobTypes), status: new StatusWriter(kube.custom), event: eventLog().sink, health,
  });
  const run = () => reconcile({ key: `${NAMESPACE}/render`, namespace: NAMESPACE, name: 'render', retries: 0, logger: silentLogger });
  const condition = (type: string) => kube.get<JobType>('JobType', NAMESPACE, 'render')?.status?.conditions?.find((c) => c.type === type);
  return { health, run, condition };
}

describe('the JobType reconciler', () => {
  it('reports OutcomesHealthy from what the outcome path recorded, and nothing before it knows', async () => {
    const h = harness();
    await h.run();
    expect(h.condition('Ready')).toMatchObject({ status: 'True' });
    expect(h.condition('OutcomesHealthy')).toBeUndefined();

    h.health.failed(NAMESPACE, 'render', 'FollowUpInvalid', 'Job render-1: onSuccess.body result.x: No such key: x');
    await h.run();
    expect(h.condition('OutcomesHealthy')).toMatchObject({ status: 'False', reason: 'FollowUpInvalid', message: 'Job render-1: onSuccess.body result.x: No such key: x' });

    h.health.recorded(NAMESPACE, 'render');
    await h.run();
    expect(h.condition('OutcomesHealthy')).toMatchObject({ status: 'True', reason: 'OutcomesRecorded' });
    expect(h.condition('Ready')).toMatchObject({ status: 'True' });
  });

  it('tells the controller to reconcile the JobType when its outcome health changes, and only then', () => {
    const health = new OutcomeHealth();
    const changed: string[] = [];
    health.onChange((namespace, name) => changed.push(`${namespace}/${name}`));
    health.recorded('ns', 'a');
    health.recorded('ns', 'a');
    health.failed('ns', 'a', 'SinkWriteRejected', 'x');
    health.failed('ns', 'a', 'SinkWriteRejected', 'x');
    expect(changed).toEqual(['ns/a', 'ns/a']);
  });
});
