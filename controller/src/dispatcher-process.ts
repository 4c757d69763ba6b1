// `sluice dispatch --binding NS/NAME`: a stateless consumer of one QueueBinding's queue, what its
// dispatcher Deployment runs (any number of replicas, scaled by KEDA). It receives, routes and
// creates Jobs exactly as the controller's embedded dispatcher does; the controller's leader still
// records every outcome and keeps the binding's status. Limits hold across replicas through the
// shared capacity ledger. SIGTERM stops receiving, finishes in-flight messages and exits.
import * as k8s from '@kubernetes/client-node';
import { GROUP, VERSION, type JobType, type QueueBinding } from './api/schemas.ts';
import { kinds } from './api/kinds.ts';
import { CapacityTracker } from './dispatch/capacity.ts';
import { FifoGroups } from './dispatch/fifo-groups.ts';
import { configMapLedgerStore, SharedCapacity } from './dispatch/shared-capacity.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from './job/labels.ts';
import { labelValue } from './job/naming.ts';
import { loadKubeConfig, makeClients } from './kube/client.ts';
import { EventRecorder } from './kube/events.ts';
import { Informer } from './kube/informer.ts';
import { keyOf } from './kube/keys.ts';
import { ReferencedSecrets } from './kube/secret-cache.ts';
import { WorkQueue } from './kube/work-queue.ts';
import type { Logger } from './log.ts';
import { workQueueMetrics } from './metrics.ts';
import { jobIdentity, jobPhase } from './reconcile/job-phase.ts';
import { JobTypeCatalog } from './reconcile/job-type.ts';
import { QueueBindingReconciler } from './reconcile/queue-binding.ts';
import { StatusWriter } from './reconcile/status-writer.ts';
import { slimJob } from './kube/slim.ts';
import { startHealthServer } from './server.ts';
import { awsClientOptions, makeS3Client, makeSqsClient } from './sqs/client.ts';
import { callLimit } from './kube/call-limit.ts';
import { s3PayloadStore } from './sqs/payload-store.ts';

export type DispatcherProcessOptions = {
  namespace: string;
  binding: string;
  identity: string;
  metricsBindAddress: string;
  progressUrl?: string;
  /** Job creates in flight in this process (kube/call-limit.ts); default 256. */
  maxConcurrentCreates?: number;
  log: Logger;
};

export async function runDispatcher(options: DispatcherProcessOptions): Promise<void> {
  const { log, namespace, binding: bindingName } = options;
  const kubeConfig = loadKubeConfig();
  const clients = makeClients(kubeConfig);
  const managedBySluice = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
  const customPath = (plural: string) => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural}`;
  // Its own binding only: a Role can allow that by name.
  const bindings = new Informer<QueueBinding & k8s.KubernetesObject>({
    kubeConfig, path: customPath(kinds.QueueBinding.plural), fieldSelector: `metadata.name=${bindingName}`, logger: log.child({ informer: 'queuebinding' }),
  });
  const jobTypes = new Informer<JobType & k8s.KubernetesObject>({
    kubeConfig, path: customPath(kinds.JobType.plural), logger: log.child({ informer: 'jobtypes' }),
  });
  const jobs = new Informer<k8s.V1Job>({
    kubeConfig, path: `/apis/batch/v1/namespaces/${namespace}/jobs`, labelSelector: managedBySluice, transform: slimJob, logger: log.child({ informer: 'jobs' }),
  });
  const secrets = new ReferencedSecrets((secretNamespace, name) => new Informer<k8s.V1Secret>({
    kubeConfig, path: `/api/v1/namespaces/${secretNamespace}/secrets`, fieldSelector: `metadata.name=${name}`, logger: log.child({ informer: 'secret' }),
  }));

  // Every replica is one holder of the shared limits; its Jobs carry its label.
  const holderLabel = labelValue(options.identity);
  const shared: SharedCapacity = new SharedCapacity({
    store: configMapLedgerStore(clients.core, { [LABEL_MANAGED_BY]: MANAGED_BY, 'app.kubernetes.io/component': 'capacity-ledger' }),
    holder: holderLabel,
    log: log.child({ component: 'shared-capacity' }),
    activeByHolder: (scope) => capacity.activeByHolder(scope),
  });
  const capacity: CapacityTracker = new CapacityTracker({ shared, holderLabel, isShared: () => true });
  const groups = new FifoGroups();
  jobs.addHandlers(jobFeed(capacity, groups));

  const recorder = new EventRecorder({ events: clients.events, reportingInstance: options.identity, logger: log });
  const catalog = new JobTypeCatalog(jobTypes);
  const createLimit = callLimit(options.maxConcurrentCreates);
  const reconciler = new QueueBindingReconciler({
    role: 'dispatcher',
    secrets,
    bindings,
    jobTypes: catalog.lookup,
    status: new StatusWriter(clients.customObjects),
    event: (object, type, reason, message) => recorder.record(object, type, reason, message),
    makeDispatcherDeps: (binding, credentials) => {
      const aws = awsClientOptions(binding.spec, credentials);
      return {
        sqs: makeSqsClient(aws),
        payloads: s3PayloadStore(() => makeS3Client(aws)),
        batch: clients.batch,
        core: clients.core,
        createLimit,
        jobTypes: catalog.lookup,
        capacity,
        groups,
        jobContext: { ...(options.progressUrl && { progressUrl: options.progressUrl }), dispatcher: options.identity },
        log: log.child({ binding: keyOf(namespace, bindingName) }),
      };
    },
  });
  const queue = new WorkQueue({ name: 'dispatch', reconcile: reconciler.reconcile, logger: log, metrics: workQueueMetrics('dispatch') });
  const key = keyOf(namespace, bindingName);
  bindings.addHandlers({ add: () => queue.add(key), update: () => queue.add(key), delete: () => queue.add(key) });
  jobTypes.addHandlers({ add: () => queue.add(key), update: () => queue.add(key), delete: () => queue.add(key) });
  secrets.onChange(() => queue.add(key));

  let synced = false;
  const server = await startHealthServer({ bindAddress: options.metricsBindAddress, ready: () => synced });
  const informers = [bindings, jobTypes, jobs];
  for (const informer of informers) informer.start();
  await Promise.all(informers.map((informer) => informer.synced()));
  shared.start();
  queue.start();
  queue.add(key);
  synced = true;
  log.info({ binding: key, identity: options.identity }, 'Dispatching');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Shutting down: no new receives, finishing in-flight messages');
    await queue.shutDown();
    await reconciler.stopAll();
    await shared.stop();
    await secrets.stop();
    await Promise.all(informers.map((informer) => informer.stop()));
    await recorder.flush();
    server.close();
    log.info('Stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/** The Job informer feeds capacity and FIFO groups, as in the controller. */
export function jobFeed(capacity: CapacityTracker, groups: FifoGroups) {
  const onJob = (job: k8s.V1Job, deleted: boolean) => {
    const id = jobIdentity(job);
    if (deleted || jobPhase(job) !== 'active') {
      capacity.jobFinished(id);
      groups.jobFinished(id);
    } else {
      capacity.jobActive(id);
      groups.jobActive(id);
    }
  };
  return {
    add: (job: k8s.V1Job) => onJob(job, false),
    update: (job: k8s.V1Job) => onJob(job, false),
    delete: (job: k8s.V1Job) => onJob(job, true),
  };
}
