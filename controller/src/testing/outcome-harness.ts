// A JobOutcomeReconciler on the fake API and the fake SQS, with Jobs made the way the dispatcher
// makes them and moved through their lives the way the Job controller and a kubelet would.
import type * as k8s from '@kubernetes/client-node';
import type { JobType, Notifications } from '../api/schemas.ts';
import { buildJob } from '../job/build-job.ts';
import type { ReconcileResult } from '../kube/work-queue.ts';
import type { FailureReport } from '../notify/types.ts';
import { JobOutcomeReconciler, type JobOutcomeDeps } from '../reconcile/job-outcome.ts';
import type { SinkWrite, StatusSinkClient, WriteResult } from '../sinks/types.ts';
import { FakeKube } from './fake-kube.ts';
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

export type OutcomeHarness = {
  kube: FakeKube;
  sqs: FakeSqs;
  sink: FakeSink;
  notified: FailureReport[];
  events: RecordedEvent[];
  reconciler: JobOutcomeReconciler;
  queueUrl: string;
  dlqUrl: string;
  /** Creates a Job as the dispatcher would for `body`. */
  createJob: (body: string, options?: { jobType?: JobType; dedupeKey?: string; messageId?: string; fanIn?: { group: string; expected: number }; statusKey?: string }) => k8s.V1Job;
  /** Runs a pod of the Job to its end and gives the Job the Job controller's verdict. */
  finish: (name: string, outcome: { result: 'Complete' | 'Failed'; exitCode?: number; message?: string; reason?: string }) => void;
  reconcile: (name: string) => Promise<ReconcileResult>;
  job: (name: string) => k8s.V1Job | undefined;
};

export function outcomeHarness(options: { jobTypes: JobType[]; deps?: Partial<JobOutcomeDeps> }): OutcomeHarness {
  const kube = new FakeKube();
  const sqs = new FakeSqs();
  const sink = new FakeSink();
  const notified: FailureReport[] = [];
  const { sink: event, events } = eventLog();
  const queueUrl = sqs.createQueue('jobs');
  const dlqUrl = sqs.createQueue('jobs-dlq');
  const reconciler = new JobOutcomeReconciler({
    batch: kube.batch,
    core: kube.core,
    jobs: kube.cache<k8s.V1Job>('Job'),
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
    kube, sqs, sink, notified, events, reconciler, queueUrl, dlqUrl,
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
