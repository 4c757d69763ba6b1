// The local Kubernetes control plane is real: the Job controller runs Jobs, the scheduler places
// pods on kwok's fake nodes (enforcing GPU capacity, taints and tolerations), TTL and GC clean up.
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batch, core, createTestNamespace, eventually, isNotFound, jobCondition, kubeConfig, podsOfJob,
  waitForJobCondition,
} from '../support/kube.ts';
import * as k8sClient from '@kubernetes/client-node';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
beforeAll(async () => { ns = await createTestNamespace('stack-kube'); });
afterAll(async () => { await ns?.remove(); });

type JobOptions = {
  annotations?: Record<string, string>;
  backoffLimit?: number;
  podFailurePolicy?: k8s.V1PodFailurePolicy;
  ttlSecondsAfterFinished?: number;
};

function job(name: string, options: JobOptions = {}): k8s.V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit: options.backoffLimit ?? 0,
      podFailurePolicy: options.podFailurePolicy,
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished,
      template: {
        metadata: { annotations: options.annotations },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'work', image: 'example.invalid/work:1' }],
        },
      },
    },
  };
}

function pod(name: string, spec: Partial<k8s.V1PodSpec>, resources?: k8s.V1ResourceRequirements): k8s.V1Pod {
  return {
    metadata: { name, annotations: { 'sim.sluice.dev/outcome': 'hold' } },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'work', image: 'example.invalid/work:1', resources }],
      ...spec,
    },
  };
}

const gpuToleration: k8s.V1Toleration = { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' };
const gpus = (n: number): k8s.V1ResourceRequirements => ({ limits: { 'nvidia.com/gpu': String(n) } });

async function nodePool(nodeName: string): Promise<string | undefined> {
  const node = await core.readNode({ name: nodeName });
  return node.metadata?.labels?.pool;
}

async function scheduledNode(namespace: string, name: string): Promise<string> {
  return eventually(`pod ${name} to be scheduled`, async () => {
    const p = await core.readNamespacedPod({ namespace, name });
    return p.spec?.nodeName || undefined;
  });
}

describe('control plane', () => {
  it('reports the pinned Kubernetes version', async () => {
    const version = await kubeConfig.makeApiClient(k8sClient.VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.(3[4-9]|[4-9]\d)\.\d+$/);
  });

  it('has a CPU pool and a tainted GPU pool of ready kwok nodes', async () => {
    const nodes = (await core.listNode()).items;
    const gpu = nodes.filter((n) => n.metadata?.labels?.pool === 'gpu');
    const cpu = nodes.filter((n) => n.metadata?.labels?.pool === 'cpu');
    expect(cpu.length).toBeGreaterThan(0);
    expect(gpu.length).toBeGreaterThan(0);
    for (const node of gpu) {
      expect(node.status?.allocatable?.['nvidia.com/gpu']).toBe('8');
      expect(node.spec?.taints).toContainEqual(expect.objectContaining({ key: 'nvidia.com/gpu', effect: 'NoSchedule' }));
    }
    for (const node of [...cpu, ...gpu]) {
      expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });
});

describe('Jobs run by the real Job controller on kwok nodes', () => {
  it('runs a Job to Complete on a CPU node', async () => {
    await batch.createNamespacedJob({ namespace: ns.name, body: job('succeeds') });
    const done = await waitForJobCondition(ns.name, 'succeeds', ['Complete', 'Failed']);
    expect(jobCondition(done, 'Complete')).toBeDefined();
    expect(done.status?.succeeded).toBe(1);
    const [p] = await podsOfJob(ns.name, 'succeeds');
    expect(p?.status?.phase).toBe('Succeeded');
    expect(await nodePool(p!.spec!.nodeName!)).toBe('cpu');
  });

  it('retries a failing pod per backoffLimit, then fails the Job with its exit code', async () => {
    const annotations = { 'sim.sluice.dev/outcome': 'fail', 'sim.sluice.dev/exit-code': '3' };
    await batch.createNamespacedJob({ namespace: ns.name, body: job('retries', { annotations, backoffLimit: 1 }) });
    const done = await waitForJobCondition(ns.name, 'retries', ['Complete', 'Failed']);
    expect(jobCondition(done, 'Failed')?.reason).toBe('BackoffLimitExceeded');
    const pods = await podsOfJob(ns.name, 'retries');
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(3);
    }
  });

  it('fails the Job at once when a podFailurePolicy rule matches the exit code', async () => {
    const annotations = { 'sim.sluice.dev/outcome': 'fail', 'sim.sluice.dev/exit-code': '42' };
    const podFailurePolicy: k8s.V1PodFailurePolicy = {
      rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }],
    };
    await batch.createNamespacedJob({
      namespace: ns.name,
      body: job('non-retryable', { annotations, backoffLimit: 5, podFailurePolicy }),
    });
    const done = await waitForJobCondition(ns.name, 'non-retryable', ['Complete', 'Failed']);
    expect(jobCondition(done, 'Failed')?.reason).toBe('PodFailurePolicy');
    expect(await podsOfJob(ns.name, 'non-retryable')).toHaveLength(1);
  });

  it('carries the termination message chosen by the pod annotation', async () => {
    const annotations = { 'sim.sluice.dev/message': '{"score":7}' };
    await batch.createNamespacedJob({ namespace: ns.name, body: job('message', { annotations }) });
    await waitForJobCondition(ns.name, 'message', ['Complete']);
    const [p] = await podsOfJob(ns.name, 'message');
    expect(p?.status?.containerStatuses?.[0]?.state?.terminated?.message).toBe('{"score":7}');
  });

  it('deletes a finished Job after ttlSecondsAfterFinished and garbage-collects its pods', async () => {
    await batch.createNamespacedJob({ namespace: ns.name, body: job('expires', { ttlSecondsAfterFinished: 1 }) });
    await waitForJobCondition(ns.name, 'expires', ['Complete']);
    expect(await podsOfJob(ns.name, 'expires')).toHaveLength(1);
    await eventually('the TTL controller to delete the Job', async () => {
      try {
        await batch.readNamespacedJob({ namespace: ns.name, name: 'expires' });
        return undefined;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    });
    await eventually('garbage collection of the pods', async () =>
      (await podsOfJob(ns.name, 'expires')).length === 0 ? true : undefined);
  });

  it('keeps a held pod Running until its annotation changes', async () => {
    await core.createNamespacedPod({ namespace: ns.name, body: pod('held', {}) });
    await eventually('pod to run', async () =>
      (await core.readNamespacedPod({ namespace: ns.name, name: 'held' })).status?.phase === 'Running' ? true : undefined);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await core.readNamespacedPod({ namespace: ns.name, name: 'held' })).status?.phase).toBe('Running');
    await core.patchNamespacedPod(
      { namespace: ns.name, name: 'held', body: { metadata: { annotations: { 'sim.sluice.dev/outcome': 'succeed' } } } },
      k8sClient.setHeaderOptions('Content-Type', k8sClient.PatchStrategy.MergePatch),
    );
    await eventually('pod to succeed', async () =>
      (await core.readNamespacedPod({ namespace: ns.name, name: 'held' })).status?.phase === 'Succeeded' ? true : undefined);
  });
});

describe('GPU placement by the real scheduler', () => {
  it('places a pod that requests a GPU and tolerates the taint on the GPU pool', async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: pod('gpu-ok', { tolerations: [gpuToleration] }, gpus(1)),
    });
    expect(await nodePool(await scheduledNode(ns.name, 'gpu-ok'))).toBe('gpu');
  });

  it('never places pods without the toleration on the GPU pool', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `cpu-only-${i}`);
    for (const name of names) await core.createNamespacedPod({ namespace: ns.name, body: pod(name, {}) });
    for (const name of names) expect(await nodePool(await scheduledNode(ns.name, name))).toBe('cpu');
  });

  async function expectUnschedulable(name: string) {
    const condition = await eventually(`pod ${name} to be marked unschedulable`, async () => {
      const p = await core.readNamespacedPod({ namespace: ns.name, name });
      return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    });
    expect(condition.reason).toBe('Unschedulable');
    const p = await core.readNamespacedPod({ namespace: ns.name, name });
    expect(p.spec?.nodeName).toBeUndefined();
    expect(p.status?.phase).toBe('Pending');
  }

  it('leaves a GPU pod without the toleration Pending', async () => {
    await core.createNamespacedPod({ namespace: ns.name, body: pod('gpu-no-toleration', {}, gpus(1)) });
    await expectUnschedulable('gpu-no-toleration');
  });

  it('leaves a pod asking for more GPUs than any node has Pending', async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: pod('gpu-too-many', { tolerations: [gpuToleration] }, gpus(9)),
    });
    await expectUnschedulable('gpu-too-many');
  });
});
