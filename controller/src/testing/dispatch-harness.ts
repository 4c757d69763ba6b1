// A BindingDispatcher on the fake SQS and the fake API, wired as the controller wires it: the
// capacity tracker hears of Jobs as the Job informer would tell it.
import type * as k8s from '@kubernetes/client-node';
import type { JobType, QueueBinding } from '../api/schemas.ts';
import { CapacityTracker } from '../dispatch/capacity.ts';
import { FifoGroups } from '../dispatch/fifo-groups.ts';
import { BindingDispatcher, type DispatcherDeps } from '../dispatch/dispatcher.ts';
import { compileBinding } from '../dispatch/plan.ts';
import type { PayloadStore } from '../decode/index.ts';
import { jobIdentity, jobPhase } from '../reconcile/job-phase.ts';
import { FakeKube } from './fake-kube.ts';
import { FakeSqs } from './fake-sqs.ts';
import { jobType, lookup, queueBinding, silentLogger } from './fixtures.ts';

export type DispatchHarness = {
  sqs: FakeSqs;
  kube: FakeKube;
  queueUrl: string;
  dlqUrl: string;
  capacity: CapacityTracker;
  groups: FifoGroups;
  /** Set lagging to play an informer that has not seen the latest Jobs yet. */
  informer: { lagging: boolean };
  warnings: { reason: string; message: string }[];
  binding: QueueBinding;
  /** Starts a dispatcher (a fresh process's worth of state unless `deps` say otherwise). */
  start: (deps?: Partial<DispatcherDeps>) => BindingDispatcher;
  stopAll: () => Promise<void>;
  jobs: () => k8s.V1Job[];
  /** Marks a Job finished as the Job controller would. */
  finish: (name: string, result?: 'Complete' | 'Failed') => void;
  deadLetters: () => { body: string; reason: string | undefined; detail: string | undefined }[];
};

export function dispatchHarness(options: {
  spec?: Record<string, unknown>;
  jobTypes?: JobType[];
  payloads?: PayloadStore;
  queueName?: string;
  /** The QueueBinding's name (default jobs): metrics tests keep their series apart by it. */
  bindingName?: string;
  sqs?: FakeSqs;
  kube?: FakeKube;
} = {}): DispatchHarness {
  const sqs = options.sqs ?? new FakeSqs();
  const kube = options.kube ?? new FakeKube();
  const name = options.queueName ?? `jobs-${Math.random().toString(36).slice(2, 8)}`;
  const queueUrl = sqs.createQueue(name);
  const dlqUrl = sqs.createQueue(name.endsWith('.fifo') ? `${name.slice(0, -5)}-dlq.fifo` : `${name}-dlq`);
  const binding = queueBinding({
    queueUrl,
    deadLetter: { queueUrl: dlqUrl },
    receive: { waitTimeSeconds: 1, visibilityTimeoutSeconds: 30 },
    routes: [{ name: 'all', when: 'true', jobType: 'work' }],
    ...options.spec,
  }, options.bindingName);
  const capacity = new CapacityTracker();
  const groups = new FifoGroups();
  const informer = { lagging: false };
  kube.watch(({ type, kind, object }) => {
    if (kind !== 'Job' || informer.lagging) return;
    const job = object as k8s.V1Job;
    if (type === 'DELETED' || jobPhase(job) !== 'active') {
      capacity.jobFinished(jobIdentity(job));
      groups.jobFinished(jobIdentity(job));
    } else {
      capacity.jobActive(jobIdentity(job));
      groups.jobActive(jobIdentity(job));
    }
  });
  const warnings: { reason: string; message: string }[] = [];
  const running: BindingDispatcher[] = [];
  const types = lookup(...(options.jobTypes ?? [jobType({})]));
  const payloads = options.payloads ?? { getObject: () => Promise.reject(new Error('no S3 in this test')) };
  return {
    sqs, kube, queueUrl, dlqUrl, capacity, groups, informer, warnings, binding,
    start: (deps = {}) => {
      const dispatcher = new BindingDispatcher(binding, compileBinding(binding), {
        sqs: sqs.client, payloads, batch: kube.batch, core: kube.core, jobTypes: types, capacity, groups, log: silentLogger,
        onWarning: (reason, message) => warnings.push({ reason, message }),
        ...deps,
      });
      running.push(dispatcher);
      dispatcher.start();
      return dispatcher;
    },
    stopAll: async () => {
      await Promise.all(running.splice(0).map((d) => d.stop()));
    },
    jobs: () => kube.all<k8s.V1Job>('Job'),
    finish: (jobName, result = 'Complete') => {
      kube.patch('Job', binding.metadata.namespace, jobName, { status: { conditions: [{ type: result, status: 'True' }] } });
    },
    deadLetters: () => sqs.messages(dlqUrl).map((m) => ({
      body: m.body,
      reason: m.messageAttributes['Sluice.Reason']?.StringValue,
      detail: m.messageAttributes['Sluice.Detail']?.StringValue,
    })),
  };
}
