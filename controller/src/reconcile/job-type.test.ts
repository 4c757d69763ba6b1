import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { JobType } from '../api/schemas.ts';
import { OutcomeHealth } from '../outcome/health.ts';
import { outcomeFailureReasons } from '../outcome/outcome-error.ts';
import { FakeKube } from '../testing/fake-kube.ts';
import { eventLog, NAMESPACE, silentLogger } from '../testing/fixtures.ts';
import { histogram, labelSets, metricValue } from '../testing/metrics.ts';
import { slimJob } from '../kube/slim.ts';
import { JobTypeCatalog, jobTypeReconciler } from './job-type.ts';
import { StatusWriter } from './status-writer.ts';

function harness(name = 'render', spec: Record<string, unknown> = {}) {
  const kube = new FakeKube();
  kube.create('JobType', NAMESPACE, { apiVersion: 'sluice.dev/v1alpha1', kind: 'JobType', metadata: { name }, spec: { image: 'registry.invalid/render:1', ...spec } } as JobType);
  const jobTypes = kube.cache<JobType>('JobType');
  const health = new OutcomeHealth();
  const reconcile = jobTypeReconciler({
    jobTypes, jobs: kube.cache<k8s.V1Job>('Job', slimJob), catalog: new JobTypeCatalog(jobTypes), status: new StatusWriter(kube.custom), event: eventLog().sink, health,
  });
  const run = () => reconcile({ key: `${NAMESPACE}/${name}`, namespace: NAMESPACE, name, retries: 0, logger: silentLogger });
  const condition = (type: string) => kube.get<JobType>('JobType', NAMESPACE, name)?.status?.conditions?.find((c) => c.type === type);
  return { kube, health, run, condition };
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

describe('the JobType reconciler\'s metrics', () => {
  const job = (name: string, jobType: string, conditions: k8s.V1JobCondition[] = []) => ({
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name, labels: { 'sluice.dev/job-type': jobType } }, status: { conditions },
  });

  it('start every series of a JobType at 0 when it is seen, notification series for the channels it configures', async () => {
    const h = harness('fresh', { notifications: { slack: { webhookUrlSecretRef: { name: 'slack', key: 'url' } } } });
    await h.run();
    const labels = { namespace: NAMESPACE, job_type: 'fresh' };
    expect(await metricValue('sluice_jobs_created_total', labels)).toBe(0);
    expect(await metricValue('sluice_jobs_active', labels)).toBe(0);
    for (const result of ['succeeded', 'failed']) {
      expect(await metricValue('sluice_jobs_finished_total', { ...labels, result })).toBe(0);
      expect(await histogram('sluice_job_duration_seconds', { ...labels, result })).toEqual({ count: 0, sum: 0 });
    }
    for (const result of ['accepted', 'rejected']) expect(await metricValue('sluice_progress_reports_total', { ...labels, result })).toBe(0);
    for (const reason of outcomeFailureReasons) expect(await metricValue('sluice_outcome_terminal_errors_total', { ...labels, reason })).toBe(0);
    const ofType = async (name: string) => (await labelSets(name)).filter((l) => l.job_type === 'fresh');
    expect(await ofType('sluice_notifications_sent_total')).toEqual([
      { ...labels, channel: 'slack', kind: 'failure' }, { ...labels, channel: 'slack', kind: 'digest' },
    ]);
    expect(await ofType('sluice_notifications_failed_total')).toHaveLength(2);
    expect(await ofType('sluice_notifications_digested_total')).toEqual([{ ...labels, channel: 'slack' }]);
  });

  it('export the JobType\'s unfinished Jobs, and drop the gauge when the JobType goes', async () => {
    const h = harness('busy');
    const labels = { namespace: NAMESPACE, job_type: 'busy' };
    h.kube.create('Job', NAMESPACE, job('busy-1', 'busy'));
    h.kube.create('Job', NAMESPACE, job('busy-2', 'busy'));
    h.kube.create('Job', NAMESPACE, job('busy-3', 'busy', [{ type: 'Complete', status: 'True' }]));
    h.kube.create('Job', NAMESPACE, job('other-1', 'other'));
    await h.run();
    expect(await metricValue('sluice_jobs_active', labels)).toBe(2);

    h.kube.patch('Job', NAMESPACE, 'busy-1', { status: { conditions: [{ type: 'Failed', status: 'True' }] } });
    await h.run();
    expect(await metricValue('sluice_jobs_active', labels)).toBe(1);

    h.kube.delete('JobType', NAMESPACE, 'busy');
    await h.run();
    expect(await metricValue('sluice_jobs_active', labels)).toBeUndefined();
  });
});
