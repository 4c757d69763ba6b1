// A JobOutcomeReconciler on the fake API and the fake SQS, with Jobs made the way the dispatcher
// makes them and moved through their lives the way the Job controller and a kubelet would.
import type * as k8s from '@kubernetes/client-node';
import type { Message } from '@aws-sdk/client-sqs';
import type { JobType, Notifications, QueueBinding } from '../api/schemas.ts';
import { compileBinding, planMessage } from '../dispatch/plan.ts';
import { buildJob } from '../job/build-job.ts';
import { slimJob, slimPod } from '../kube/slim.ts';
import type { ReconcileResult } from '../kube/work-queue.ts';
import type { FailureReport } from '../notify/types.ts';
import { JobOutcomeReconciler, type JobOutcomeDeps } from '../reconcile/job-outcome.ts';
import type { SinkWrite, StatusSinkClient, WriteResult } from '../sinks/types.ts';
import { DeleteConfirmations } from '../dispatch/delete-confirmations.ts';
import { OutcomeHealth } from '../outcome/health.ts';
import { OutcomeLedger } from '../outcome/ledger.ts';
import { MessageRelease } from '../outcome/message-release.ts';
import { PodsByJob } from '../outcome/pods.ts';
import { FakeKube, type FakeCache } from './fake-kube.ts';
import { FakeSqs } from './fake-sqs.ts';
import { eventLog, lookup, NAMESPACE, silentLogger, type RecordedEvent } from './fixtures.ts';

export class FakeSink implements StatusSinkClient {
  readonly writes: SinkWrite[] = [];
  /** Each write pops the next error, if any. */
  readonly errors: Error[] = [];
  result: WriteResult = 'written';

  write(write: SinkWrite): Promise<WriteResult> {
    const error = this.errors.shift();
    if (error) return Promise.reject(error);
    this.writes.push(write);
    return Promise.resolve(this.result);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  phases(): string[] {
    return this.writes.map((w) => String(w.fields.status ?? w.fields.state));
  }
}

/** How long the harness's reconciler keeps a Job after deleting its message itself. */
export const GRACE_MS = 10_000;

export type OutcomeHarness = {
  kube: FakeKube;
  sqs: FakeSqs;
  sink: FakeSink;
  notified: FailureReport[];
  events: RecordedEvent[];
  reconciler: JobOutcomeReconciler;
  /** The reconciler's view of Jobs: hold() it to play a stale informer. */
  jobs: FakeCache<k8s.V1Job>;
  /** What an in-process dispatcher would have confirmed deleting. */
  confirmations: DeleteConfirmations;
  health: OutcomeHealth;
  queueUrl: string;
  dlqUrl: string;
  /** Creates a Job as the dispatcher would for `body`. */
  createJob: (body: string, options?: { jobType?: JobType; dedupeKey?: string; messageId?: string; fanIn?: { group: string; expected: number }; statusKey?: string }) => k8s.V1Job;
  /** Creates a Job the way the dispatcher does: `message` planned against `binding`. */
  dispatch: (binding: QueueBinding, message: Message) => Promise<k8s.V1Job>;
  /** Runs a pod of the Job to its end and gives the Job the Job controller's verdict. */
  finish: (name: string, outcome: { result: 'Complete' | 'Failed'; exitCode?: number; message?: string; reason?: string }) => void;
  reconcile: (name: string) => Promise<ReconcileResult>;
  job: (name: string) => k8s.V1Job | undefined;
};

export function outcomeHarness(options: { jobTypes: JobType[]; deps?: Partial<JobOutcomeDeps>; kube?: FakeKube; sqs?: FakeSqs; confirmations?: DeleteConfirmations }): OutcomeHarness {
  const kube = options.kube ?? new FakeKube();
  const sqs = options.sqs ?? new FakeSqs();
  const sink = new FakeSink();
  const notified: FailureReport[] = [];
  const { sink: event, events } = eventLog();
  const queueUrl = sqs.createQueue('jobs');
  const dlqUrl = sqs.createQueue('jobs-dlq');
  // The caches keep what the controller's informers keep.
  const jobs = kube.cache<k8s.V1Job>('Job', slimJob);
  const pods = new PodsByJob();
  // As an informer does: list what exists, then watch; a pod not worth caching is not held.
  const onPod = (pod: k8s.V1Pod) => {
    const slim = slimPod(pod);
    if (slim) pods.handlers.add!(slim);
    else pods.handlers.delete!(pod);
  };
  for (const pod of kube.all<k8s.V1Pod>('Pod')) onPod(pod);
  kube.watch(({ type, kind, object }) => {
    if (kind !== 'Pod') return;
    if (type === 'DELETED') pods.handlers.delete!(object);
    else onPod(object);
  });
  const clock = { now: options.deps?.now ?? (() => new Date()) };
  const confirmations = options.confirmations ?? new DeleteConfirmations();
  const health = new OutcomeHealth();
  const reconciler = new JobOutcomeReconciler({
    batch: kube.batch,
    core: kube.core,
    jobs,
    pods: (job) => pods.podsOf(job),
    ledger: new OutcomeLedger(),
    health,
    messages: new MessageRelease({ confirmations, sqsFor: () => sqs.client, graceMs: () => GRACE_MS, now: () => clock.now().getTime() }),
    jobTypes: lookup(...options.jobTypes),
    sinks: () => Promise.resolve(sink),
    notify: (report: FailureReport, _config: Notifications) => {
      notified.push(report);
      return Promise.resolve();
    },
    sqsFor: () => sqs.client,
    event,
    ...options.deps,
  });
  let messages = 0;
  const harness: OutcomeHarness = {
    kube, sqs, sink, notified, events, reconciler, queueUrl, dlqUrl, jobs, confirmations, health,
    createJob: (body, jobOptions = {}) => {
      messages += 1;
      const messageId = jobOptions.messageId ?? `m-${messages}`;
      const { job, secret } = buildJob({
        namespace: NAMESPACE,
        binding: 'jobs',
        queueUrl,
        route: 'all',
        messageId,
        dedupeKey: jobOptions.dedupeKey ?? messageId,
        sentTimestamp: 1_700_000_000_000 + messages,
        payload: { raw: body, format: 'json', bytes: Buffer.byteLength(body) },
        messageAttributes: { tenant: 'acme' },
        deadLetterQueueUrl: dlqUrl,
        ...(jobOptions.statusKey !== undefined && { statusKey: jobOptions.statusKey }),
        ...(jobOptions.fanIn && { fanIn: jobOptions.fanIn }),
      }, jobOptions.jobType ?? options.jobTypes[0]!);
      const created = kube.create<k8s.V1Job>('Job', NAMESPACE, job);
      if (secret) kube.create('Secret', NAMESPACE, { ...secret, metadata: { ...secret.metadata, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: created.metadata!.name!, uid: created.metadata!.uid! }] } });
      return created;
    },
    dispatch: async (binding, message) => {
      const plan = await planMessage(binding, compileBinding(binding), message, lookup(...options.jobTypes), { getObject: () => Promise.reject(new Error('no S3')) });
      if (plan.action !== 'create') throw new Error(`expected a Job, got ${JSON.stringify(plan)}`);
      return kube.create<k8s.V1Job>('Job', NAMESPACE, plan.built.job);
    },
    finish: (name, outcome) => {
      const job = kube.get<k8s.V1Job>('Job', NAMESPACE, name)!;
      const failed = outcome.result === 'Failed';
      kube.create('Pod', NAMESPACE, {
        apiVersion: 'v1', kind: 'Pod',
        metadata: {
          name: `${name}-pod`,
          labels: { ...job.spec?.template.metadata?.labels, 'batch.kubernetes.io/controller-uid': job.metadata!.uid!, 'batch.kubernetes.io/job-name': name },
        },
        status: {
          phase: failed ? 'Failed' : 'Succeeded',
          containerStatuses: [{
            name: 'job', image: 'x', imageID: '', ready: false, restartCount: 0,
            state: { terminated: { exitCode: outcome.exitCode ?? (failed ? 1 : 0), ...(outcome.message !== undefined && { message: outcome.message }) } },
          }],
        },
      } as k8s.V1Pod);
      kube.patch('Job', NAMESPACE, name, {
        status: {
          startTime: '2026-01-01T10:00:00Z',
          ...(failed ? { failed: 1 } : { succeeded: 1, completionTime: '2026-01-01T10:00:05Z' }),
          conditions: [{ type: outcome.result, status: 'True', ...(outcome.reason && { reason: outcome.reason }), lastTransitionTime: '2026-01-01T10:00:05Z' }],
        },
      });
    },
    reconcile: (name) => reconciler.reconcile({ key: `${NAMESPACE}/${name}`, namespace: NAMESPACE, name, retries: 0, logger: silentLogger }),
    job: (name) => kube.get<k8s.V1Job>('Job', NAMESPACE, name),
  };
  return harness;
}
