import type * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueBinding } from '../api/schemas.ts';
import { CapacityTracker } from '../dispatch/capacity.ts';
import { FifoGroups } from '../dispatch/fifo-groups.ts';
import type { ReconcileResult } from '../kube/work-queue.ts';
import { ReferencedSecrets } from '../kube/secret-cache.ts';
import { FakeKube, fakeSecretSource } from '../testing/fake-kube.ts';
import { FakeSqs, networkError } from '../testing/fake-sqs.ts';
import { metricValue } from '../testing/metrics.ts';
import { eventLog, jobType, lookup, NAMESPACE, silentLogger, until } from '../testing/fixtures.ts';
import { QueueBindingReconciler } from './queue-binding.ts';
import { StatusWriter } from './status-writer.ts';
import type { DispatcherApplier } from '../dispatch/deployment-applier.ts';

let reconcilers: QueueBindingReconciler[] = [];
afterEach(async () => {
  await Promise.all(reconcilers.map((r) => r.stopAll()));
  reconcilers = [];
});

function harness(options: { role?: 'controller' | 'dispatcher'; keda?: boolean; now?: () => Date } = {}) {
  const kube = new FakeKube();
  const applied: string[] = [];
  const removed: string[] = [];
  const dispatchers = {
    apply: (binding: QueueBinding) => {
      applied.push(binding.metadata.name);
      return Promise.resolve({ name: `sluice-dispatch-${binding.metadata.name}`, keda: options.keda ?? true, replicas: 0, readyReplicas: 0 });
    },
    remove: (binding: QueueBinding) => { removed.push(binding.metadata.name); return Promise.resolve(); },
  } as unknown as DispatcherApplier;
  const sqs = new FakeSqs();
  const queueUrl = sqs.createQueue('jobs');
  const log = eventLog();
  const started: string[] = [];
  const secrets = new ReferencedSecrets((namespace, name) => fakeSecretSource(kube, namespace, name));
  const reconciler = new QueueBindingReconciler({
    ...(options.role && { role: options.role }),
    ...(options.now && { now: options.now }),
    dispatchers,
    makeSqsClient: () => sqs.client,
    secrets,
    bindings: kube.cache<QueueBinding>('QueueBinding'),
    jobTypes: lookup(jobType({})),
    status: new StatusWriter(kube.custom),
    event: log.sink,
    makeDispatcherDeps: (binding, credentials) => {
      started.push(credentials?.accessKeyId ?? 'default-chain');
      return {
        sqs: sqs.client, payloads: { getObject: () => Promise.reject(new Error('none')) }, batch: kube.batch, core: kube.core,
        jobTypes: lookup(jobType({})), capacity: new CapacityTracker(), groups: new FifoGroups(), log: silentLogger.child({ binding: binding.metadata.name }),
      };
    },
  });
  reconcilers.push(reconciler);
  const apply = (spec: Record<string, unknown>, name = 'jobs') => {
    const existing = kube.get<QueueBinding>('QueueBinding', NAMESPACE, name);
    if (existing) kube.replace('QueueBinding', NAMESPACE, name, { ...existing, spec, metadata: { ...existing.metadata, generation: (existing.metadata.generation ?? 1) + 1 } } as QueueBinding);
    else kube.create('QueueBinding', NAMESPACE, { apiVersion: 'sluice.dev/v1alpha1', kind: 'QueueBinding', metadata: { name }, spec } as QueueBinding);
  };
  const reconcile = (name = 'jobs'): Promise<ReconcileResult> =>
    reconciler.reconcile({ key: `${NAMESPACE}/${name}`, namespace: NAMESPACE, name, retries: 0, logger: silentLogger });
  const status = (name = 'jobs') => kube.get<QueueBinding>('QueueBinding', NAMESPACE, name)?.status;
  const condition = (type: string, name = 'jobs') => status(name)?.conditions?.find((c) => c.type === type);
  return { kube, sqs, queueUrl, log, started, apply, reconcile, status, condition, secrets, applied, removed };
}

const routes = [{ name: 'all', when: 'true', jobType: 'work' }];

describe('QueueBindingReconciler with a binding\'s own dispatcher Deployment', () => {
  it('keeps the Deployment instead of receiving itself, and reports KEDA scaling and the queue depth', async () => {
    const h = harness();
    h.sqs.put(h.queueUrl, 'x');
    h.apply({ queueUrl: h.queueUrl, routes, dispatcher: { mode: 'deployment' } });
    expect(await h.reconcile()).toEqual({ outcome: 'requeue', afterMs: 5_000 });
    expect(h.started).toEqual([]);
    expect(h.applied).toEqual(['jobs']);
    expect(h.condition('Polling')).toMatchObject({ status: 'True', reason: 'ScaledToZero' });
    expect(h.condition('Autoscaling')).toMatchObject({ status: 'True', reason: 'KEDA' });
    expect(h.status()).toMatchObject({ approximateMessages: 1 });
  });

  it('says where KEDA is missing that a fixed count runs', async () => {
    const h = harness({ keda: false });
    h.apply({ queueUrl: h.queueUrl, routes, dispatcher: { mode: 'deployment', replicas: 2 } });
    await h.reconcile();
    expect(h.condition('Autoscaling')).toMatchObject({ status: 'False', reason: 'KedaNotInstalled', message: expect.stringContaining('fixed 2 replica(s)') as unknown });
  });

  it('goes back to the embedded dispatcher, removing the Deployment, when the mode changes', async () => {
    const h = harness();
    h.apply({ queueUrl: h.queueUrl, routes, dispatcher: { mode: 'deployment' } });
    await h.reconcile();
    h.apply({ queueUrl: h.queueUrl, routes, suspend: true });
    await h.reconcile();
    expect(h.started).toEqual(['default-chain']);
    expect(h.removed).toEqual(['jobs']);
  });

  it('in a `sluice dispatch` process receives for a deployment-mode binding and writes no status', async () => {
    const h = harness({ role: 'dispatcher' });
    h.apply({ queueUrl: h.queueUrl, routes, suspend: true, dispatcher: { mode: 'deployment' } });
    await h.reconcile();
    expect(h.started).toEqual(['default-chain']);
    expect(h.applied).toEqual([]);
    expect(h.status()).toBeUndefined();
  });
});

describe('QueueBindingReconciler', () => {
  it('starts a dispatcher for a valid binding and reports Ready, Polling and the queue depth', async () => {
    const h = harness();
    h.sqs.put(h.queueUrl, 'x');
    h.sqs.put(h.queueUrl, 'y');
    h.apply({ queueUrl: h.queueUrl, routes, suspend: true });
    expect(await h.reconcile()).toEqual({ outcome: 'requeue', afterMs: 5_000 });
    expect(h.started).toEqual(['default-chain']);
    expect(h.condition('Ready')).toMatchObject({ status: 'True', reason: 'Dispatching' });
    expect(h.condition('Polling')).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect(h.condition('DeadLetterQueue')).toMatchObject({ status: 'False', reason: 'NoDeadLetterQueue' });
    expect(h.status()).toMatchObject({ approximateMessages: 2, observedGeneration: 1 });
    expect(h.log.reasons()).toEqual(['DispatcherStarted']);
  });

  it('reports an invalid spec and runs no dispatcher', async () => {
    const h = harness();
    h.apply({ queueUrl: 'not a url', routes });
    expect(await h.reconcile()).toEqual({ outcome: 'done' });
    expect(h.condition('Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('spec.queueUrl') as unknown });
    expect(h.started).toEqual([]);
    expect(h.log.reasons()).toEqual(['InvalidSpec']);
  });

  it('reports a route expression that does not compile', async () => {
    const h = harness();
    h.apply({ queueUrl: h.queueUrl, routes: [{ name: 'bad', when: 'body.(', jobType: 'work' }] });
    await h.reconcile();
    expect(h.condition('Ready')).toMatchObject({ status: 'False', reason: 'InvalidExpression', message: expect.stringMatching(/^route bad: /) as unknown });
  });

  it('is not Ready while a route names a missing JobType, and keeps the dispatcher running', async () => {
    const h = harness();
    h.apply({ queueUrl: h.queueUrl, routes: [{ name: 'x', when: 'true', jobType: 'missing' }], suspend: true });
    await h.reconcile();
    expect(h.condition('Ready')).toMatchObject({ status: 'False', reason: 'JobTypeUnavailable', message: 'messages for these JobTypes wait in SQS: missing: JobType missing not found' });
    expect(h.started).toHaveLength(1);
  });

  it('reads credentials from the referenced Secret and restarts the dispatcher when they change', async () => {
    const h = harness();
    const secret = (id: string) => ({ AWS_ACCESS_KEY_ID: Buffer.from(id).toString('base64'), AWS_SECRET_ACCESS_KEY: Buffer.from('s').toString('base64') });
    h.kube.create('Secret', NAMESPACE, { metadata: { name: 'aws' }, data: secret('AKIA1') } as k8s.V1Secret);
    h.apply({ queueUrl: h.queueUrl, routes, suspend: true, credentials: { secretRef: { name: 'aws' } } });
    await h.reconcile();
    await h.reconcile();
    h.kube.patch('Secret', NAMESPACE, 'aws', { data: secret('AKIA2') });
    await h.reconcile();
    expect(h.started).toEqual(['AKIA1', 'AKIA2']);
    // Read through a watch of that one Secret, not a GET every reconcile.
    expect(h.kube.count('read', 'Secret')).toBe(0);
    h.apply({ queueUrl: h.queueUrl, routes, suspend: true });
    await h.reconcile();
    expect(h.secrets.watched()).toEqual([]);
  });

  it('waits and retries while the credentials Secret is missing', async () => {
    const h = harness();
    h.apply({ queueUrl: h.queueUrl, routes, credentials: { secretRef: { name: 'nope' } } });
    expect(await h.reconcile()).toEqual({ outcome: 'requeue', afterMs: 30_000 });
    expect(h.condition('Ready')).toMatchObject({ status: 'False', reason: 'CredentialsUnavailable', message: 'Secret nope not found' });
  });

  it('stops the dispatcher when the binding is deleted', async () => {
    const h = harness();
    h.apply({ queueUrl: h.queueUrl, routes });
    await h.reconcile();
    await until('a receive', () => h.sqs.count('receive') > 0);
    h.kube.delete('QueueBinding', NAMESPACE, 'jobs');
    expect(await h.reconcile()).toEqual({ outcome: 'done' });
    const receives = h.sqs.count('receive');
    await new Promise((r) => setTimeout(r, 30));
    expect(h.sqs.count('receive')).toBe(receives);
  });
});

describe('QueueBindingReconciler metrics', () => {
  const depth = (binding: string) => Promise.all(['visible', 'in_flight', 'delayed'].map((state) => metricValue('sluice_queue_messages', { namespace: NAMESPACE, binding, state })));

  it('exports the queue depth by state from GetQueueAttributes and marks the embedded dispatcher running, until the binding goes', async () => {
    const h = harness();
    h.sqs.put(h.queueUrl, 'x');
    h.sqs.put(h.queueUrl, 'y');
    h.apply({ queueUrl: h.queueUrl, routes, suspend: true }, 'depth');
    await h.reconcile('depth');
    expect(await depth('depth')).toEqual([2, 0, 0]);
    expect(await metricValue('sluice_dispatcher_info', { namespace: NAMESPACE, binding: 'depth', mode: 'embedded' })).toBe(1);

    h.sqs.put(h.queueUrl, 'z');
    await h.reconcile('depth');
    expect(await depth('depth')).toEqual([3, 0, 0]);

    h.kube.delete('QueueBinding', NAMESPACE, 'depth');
    await h.reconcile('depth');
    expect(await depth('depth')).toEqual([undefined, undefined, undefined]);
    expect(await metricValue('sluice_dispatcher_info', { namespace: NAMESPACE, binding: 'depth', mode: 'embedded' })).toBeUndefined();
  });

  it('counts a GetQueueAttributes that fails as an SQS attributes error', async () => {
    const h = harness();
    h.sqs.put(h.queueUrl, 'x'); // a queue holding messages is read every round
    h.apply({ queueUrl: h.queueUrl, routes, suspend: true }, 'attributes');
    await h.reconcile('attributes');
    expect(await metricValue('sluice_sqs_errors_total', { namespace: NAMESPACE, binding: 'attributes', operation: 'attributes' })).toBe(0);
    h.sqs.fail('attributes', () => networkError());
    await h.reconcile('attributes');
    expect(await metricValue('sluice_sqs_errors_total', { namespace: NAMESPACE, binding: 'attributes', operation: 'attributes' })).toBe(1);
  });

  it('reads an empty queue that takes nothing every 30 s, and a queue holding messages every round', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const h = harness({ now: () => new Date(now) });
    const reads = () => h.sqs.calls.filter((c) => c.operation === 'attributes').length;
    h.apply({ queueUrl: h.queueUrl, routes, suspend: true }, 'idle');
    await h.reconcile('idle');
    expect(reads()).toBe(1);
    now += 5_000;
    await h.reconcile('idle');
    expect(reads()).toBe(1);
    expect(h.status('idle')).toMatchObject({ approximateMessages: 0 }); // the last depth stays in status

    h.sqs.put(h.queueUrl, 'x'); // a suspended binding receives nothing: the backlog shows at the slower read
    now += 20_000;
    await h.reconcile('idle');
    expect(reads()).toBe(1);
    now += 5_000;
    await h.reconcile('idle');
    expect(reads()).toBe(2);
    expect(h.status('idle')).toMatchObject({ approximateMessages: 1 });
    now += 5_000;
    await h.reconcile('idle');
    expect(reads()).toBe(3);
  });

  it('validates a spec again when the binding is made anew under the same name and generation', async () => {
    const h = harness();
    h.apply({ queueUrl: h.queueUrl, routes, suspend: true }, 'again');
    await h.reconcile('again');
    expect(h.condition('Ready', 'again')).toMatchObject({ status: 'True' });
    h.kube.delete('QueueBinding', NAMESPACE, 'again');
    h.apply({ queueUrl: h.queueUrl, routes: [{ name: 'all', when: 'body.', jobType: 'work' }], suspend: true }, 'again');
    await h.reconcile('again');
    expect(h.condition('Ready', 'again')).toMatchObject({ status: 'False', reason: 'InvalidExpression' });
  });
});
