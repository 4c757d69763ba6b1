import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { payloadOf } from '../outcome/message-context.ts';
import { failureReason, jobIdentity, jobPhase } from '../reconcile/job-phase.ts';
import { outcomeFacts } from '../reconcile/outcome-facts.ts';
import { messageLeftOut, slimJob, slimPod, withoutManagedFields } from './slim.ts';

const managedFields = [{ manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:status': { 'f:conditions': {} } } }];

const job: k8s.V1Job = {
  apiVersion: 'batch/v1', kind: 'Job',
  metadata: {
    namespace: 'team', name: 'render-abc', uid: 'u1', resourceVersion: '7', creationTimestamp: new Date('2026-01-01T10:00:00Z'),
    labels: { 'app.kubernetes.io/managed-by': 'sluice', 'sluice.dev/binding': 'jobs', 'sluice.dev/job-type': 'render' },
    annotations: { 'sluice.dev/message-id': 'm1' }, finalizers: ['sluice.dev/outcome'], managedFields,
  },
  spec: {
    ttlSecondsAfterFinished: 600, backoffLimit: 2, selector: { matchLabels: { a: 'b' } },
    template: {
      metadata: { labels: { a: 'b' }, annotations: { 'sluice.dev/payload': '{"videoId":"v1"}' } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'render:1', env: [{ name: 'A', value: 'x'.repeat(2_000) }] }] },
    },
  },
  status: {
    startTime: new Date('2026-01-01T10:00:01Z'), failed: 1,
    conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', lastTransitionTime: new Date('2026-01-01T10:00:09Z') }],
  },
};

const pod: k8s.V1Pod = {
  apiVersion: 'v1', kind: 'Pod',
  metadata: {
    namespace: 'team', name: 'render-abc-x', uid: 'p1', creationTimestamp: new Date('2026-01-01T10:00:01Z'), managedFields,
    labels: { 'batch.kubernetes.io/job-name': 'render-abc', 'batch.kubernetes.io/controller-uid': 'u1', 'sluice.dev/message-id': 'm1' },
    annotations: { 'sluice.dev/payload': '{"videoId":"v1"}' },
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'render-abc', uid: 'u1', controller: true, blockOwnerDeletion: true }],
  },
  spec: { nodeName: 'n1', containers: [{ name: 'job', image: 'render:1', env: [{ name: 'A', value: 'x'.repeat(2_000) }] }] },
  status: {
    phase: 'Failed',
    conditions: [{ type: 'PodScheduled', status: 'True' }],
    containerStatuses: [{ name: 'job', image: 'render:1', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 3, message: 'bad frame' } } }],
    hostIP: '10.0.0.1', podIPs: [{ ip: '10.1.0.1' }],
  },
};

describe('cache slimming', () => {
  it('keeps every field the reconcilers read from a Job and its pods', async () => {
    const slim = slimJob(job);
    const pods = [slimPod(pod)!];
    const at = new Date('2026-01-01T11:00:00Z');
    const facts = (j: k8s.V1Job, p: k8s.V1Pod[]) => ({ ...outcomeFacts(j, p, 'failed'), updatedAt: at });
    expect(facts(slim, pods)).toEqual(facts(job, [pod]));
    expect(facts(slim, pods)).toMatchObject({ phase: 'failed', exitCode: 3, message: 'bad frame', attempts: 1 });
    expect(jobPhase(slim)).toBe(jobPhase(job));
    expect(jobIdentity(slim)).toEqual(jobIdentity(job));
    expect(failureReason(slim)).toBe('BackoffLimitExceeded');
    const noSecrets = { readNamespacedSecret: () => Promise.reject(new Error('the payload is on the Job')) };
    expect(await payloadOf(noSecrets, slim)).toBe('{"videoId":"v1"}');
    expect(slim.spec?.ttlSecondsAfterFinished).toBe(600);
    expect(slim.metadata?.finalizers).toEqual(['sluice.dev/outcome']);
  });

  it('drops pod specs, job templates and managedFields', () => {
    const bytes = (o: unknown) => JSON.stringify(o).length;
    expect(bytes(slimJob(job))).toBeLessThan(bytes(job) / 3);
    const slim = slimPod(pod)!;
    expect(bytes(slim)).toBeLessThan(bytes(pod) / 3);
    expect(slim).not.toHaveProperty('spec');
    expect(slim.metadata).not.toHaveProperty('annotations');
    expect(slim.metadata?.labels).toEqual({ 'batch.kubernetes.io/job-name': 'render-abc', 'batch.kubernetes.io/controller-uid': 'u1' });
    expect(slim.status?.containerStatuses?.[0]).toEqual({ name: 'job', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 3, message: 'bad frame' } } });
    expect(slimJob(job).spec?.template.spec).toBeUndefined();
    expect(withoutManagedFields(job).metadata).not.toHaveProperty('managedFields');
    expect(withoutManagedFields(job).spec).toBe(job.spec);
  });

  it('keeps timestamps, owner references and running states as the informer gives them (strings)', () => {
    // From the wire, timestamps are strings, not the Dates the client's types promise.
    const wire = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;
    // A sidecar still running beside a container that has ended: the end is worth caching.
    const running = wire<k8s.V1Pod>({
      ...pod, status: { phase: 'Running', containerStatuses: [
        { name: 'job', image: 'i', imageID: '', ready: true, restartCount: 1, state: { running: { startedAt: new Date('2026-01-01T10:00:05Z') } } },
        { name: 'side', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0 } } },
      ] },
    });
    const slim = slimPod(running)!;
    expect(slim.metadata?.creationTimestamp).toBe('2026-01-01T10:00:01.000Z');
    expect(slim.metadata?.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'Job', name: 'render-abc', uid: 'u1' }]);
    expect(slim.metadata?.labels?.['batch.kubernetes.io/controller-uid']).toBe('u1');
    expect(slim.status?.containerStatuses?.[0]?.state).toEqual({ running: { startedAt: '2026-01-01T10:00:05.000Z' } });
    const wireJob = wire({ ...job, metadata: { ...job.metadata, labels: { ...job.metadata?.labels, 'sluice.dev/message-id': 'm1' }, annotations: { 'sluice.dev/message-id': 'm1', 'sluice.dev/dedupe-key': 'm1' } } });
    const slimmed = slimJob(wireJob);
    expect(slimmed.metadata?.creationTimestamp).toBe('2026-01-01T10:00:00.000Z');
    expect(slimmed.status).toEqual(wireJob.status);
    expect(slimmed.metadata?.labels?.['sluice.dev/message-id']).toBe('m1');
    expect(slimmed.metadata?.annotations).toEqual({ 'sluice.dev/message-id': 'm1', 'sluice.dev/dedupe-key': 'm1' });
    expect(slimJob({ ...wireJob, status: {} }).status).toEqual({});
  });

  it('shares what thousands of pods repeat, and keeps each pod its own where they differ', () => {
    const running = (name: string, reason?: string): k8s.V1Pod => ({
      ...pod, metadata: { ...pod.metadata, name },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'False', ...(reason && { reason }) }] },
    });
    const [a, b] = [slimPod(running('a'))!, slimPod(running('b', 'Unschedulable'))!];
    expect(a.status?.conditions?.[0]).toBe(b.status?.conditions?.[0]);
    // A shared condition cannot be changed through one pod for all of them.
    expect(Object.isFrozen(a.status?.conditions?.[0])).toBe(true);
    expect(b.status?.conditions?.[1]).toEqual({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: undefined });
    expect(a.status?.conditions?.[1]).not.toBe(b.status?.conditions?.[1]);
    expect(slimJob(job).metadata).toEqual({ ...job.metadata, managedFields: undefined });
  });

  it('keeps an unfinished Job without its message, and a finished or deleted one with it', () => {
    const message = {
      'sluice.dev/decode': '{"attributes":{"ApproximateReceiveCount":"1"}}', 'sluice.dev/message-attributes': '{"tenant":"t1"}',
      'sluice.dev/receipt-handle': 'h'.repeat(400),
    };
    const kept = { 'sluice.dev/message-id': 'm1', 'sluice.dev/status-key': 'v1', 'sluice.dev/payload-digest': 'abc', 'sluice.dev/queue-url': 'q' };
    const running: k8s.V1Job = { ...job, metadata: { ...job.metadata, annotations: { ...kept, ...message } }, status: { active: 1, ready: 1 } };
    const slim = slimJob(running);
    expect(slim.metadata?.annotations).toEqual(kept);
    expect(slim.spec?.template.metadata).toBeUndefined();
    expect(messageLeftOut(slim)).toBe(true);
    for (const due of [
      { ...running, status: job.status },
      { ...running, status: { conditions: [{ type: 'Complete', status: 'True' }] } },
      { ...running, metadata: { ...running.metadata, deletionTimestamp: new Date() } },
    ] satisfies k8s.V1Job[]) {
      const whole = slimJob(due);
      expect(whole.metadata?.annotations).toEqual({ ...kept, ...message });
      expect(whole.spec?.template.metadata?.annotations).toEqual({ 'sluice.dev/payload': '{"videoId":"v1"}' });
      expect(messageLeftOut(whole)).toBe(false);
    }
    // A Job failing on its way to Failed (pods still terminating) is not finished yet.
    expect(messageLeftOut(slimJob({ ...running, status: { conditions: [{ type: 'FailureTarget', status: 'True' }] } }))).toBe(true);
  });

  it('shares one frozen spec among the unfinished Jobs of one TTL, and keeps uncounted pods only when there are some', () => {
    const unfinished = (ttl: number, name: string): k8s.V1Job => ({
      ...job, metadata: { ...job.metadata, name }, spec: { ...job.spec!, ttlSecondsAfterFinished: ttl },
      status: { active: 1, uncountedTerminatedPods: {} },
    });
    const [a, b, other] = [slimJob(unfinished(600, 'a')), slimJob(unfinished(600, 'b')), slimJob(unfinished(60, 'c'))];
    expect(a.spec).toBe(b.spec);
    expect(Object.isFrozen(a.spec)).toBe(true);
    expect(a.spec).toEqual({ ttlSecondsAfterFinished: 600, template: {} });
    expect(other.spec?.ttlSecondsAfterFinished).toBe(60);
    // A finished Job keeps its own, with the payload.
    expect(slimJob(job).spec).not.toBe(slimJob({ ...job, metadata: { ...job.metadata, name: 'd' } }).spec);
    expect(a.status).toEqual({ active: 1 });
    const uncounted = { succeeded: ['pod-uid'] };
    expect(slimJob({ ...job, status: { ...job.status, uncountedTerminatedPods: uncounted } }).status?.uncountedTerminatedPods).toEqual(uncounted);
  });

  it('holds no pod whose containers are all running, and every other pod', () => {
    const withStatus = (status: k8s.V1PodStatus, deletionTimestamp?: Date): k8s.V1Pod => ({ ...pod, metadata: { ...pod.metadata, ...(deletionTimestamp && { deletionTimestamp }) }, status });
    const container = (state: k8s.V1ContainerState): k8s.V1ContainerStatus => ({ name: 'job', image: 'i', imageID: '', ready: true, restartCount: 0, state });
    const runningState = { running: { startedAt: new Date() } };
    expect(slimPod(withStatus({ phase: 'Running', containerStatuses: [container(runningState)] }))).toBeUndefined();
    expect(slimPod(withStatus({ phase: 'Running', containerStatuses: [container(runningState)] }, new Date()))).toBeDefined();
    expect(slimPod(withStatus({ phase: 'Running', containerStatuses: [container({ waiting: { reason: 'CrashLoopBackOff' } })] }))).toBeDefined();
    expect(slimPod(withStatus({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] }))).toBeDefined();
    expect(slimPod(withStatus({ phase: 'Succeeded', containerStatuses: [container({ terminated: { exitCode: 0 } })] }))).toBeDefined();
  });
});
