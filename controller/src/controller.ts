// `sluice controller`: leader-elected; the leader watches QueueBindings, JobTypes and the Jobs it
// created, runs a dispatcher per binding and records Job outcomes. SIGTERM stops receiving,
// finishes in-flight creates, releases the lease and exits.
import * as k8s from '@kubernetes/client-node';
import type { Server } from 'node:http';
import { GROUP, VERSION, type JobType, type QueueBinding, type StatusSink } from './api/schemas.ts';
import { kinds } from './api/kinds.ts';
import { CapacityTracker } from './dispatch/capacity.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from './job/labels.ts';
import { loadKubeConfig, makeClients } from './kube/client.ts';
import { EventRecorder } from './kube/events.ts';
import { Informer } from './kube/informer.ts';
import { LeaderElector } from './kube/leader-election.ts';
import { keyOf } from './kube/keys.ts';
import { WorkQueue, type Reconciler } from './kube/work-queue.ts';
import type { Logger } from './log.ts';
import { jobIdentity, jobPhase } from './reconcile/job-phase.ts';
import { JobOutcomeReconciler } from './reconcile/job-outcome.ts';
import { statusSinkReconciler } from './reconcile/status-sink.ts';
import { Notifier, createNotifyCounters } from './notify/notifier.ts';
import { SinkCache } from './sinks/open.ts';
import { registry, workQueueMetrics } from './metrics.ts';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { JobTypeCatalog, jobTypeReconciler } from './reconcile/job-type.ts';
import { QueueBindingReconciler, type EventSink } from './reconcile/queue-binding.ts';
import { StatusWriter } from './reconcile/status-writer.ts';
import { startHealthServer } from './server.ts';
import { awsClientOptions, makeS3Client, makeSqsClient } from './sqs/client.ts';
import { s3PayloadStore } from './sqs/payload-store.ts';

export type ControllerOptions = {
  /** Watch one namespace; all namespaces when undefined. */
  namespace?: string;
  leaseNamespace: string;
  leaseName: string;
  leaseDurationSeconds: number;
  identity: string;
  metricsBindAddress: string;
  log: Logger;
};

export async function runController(options: ControllerOptions): Promise<void> {
  const { log } = options;
  const kubeConfig = loadKubeConfig();
  const clients = makeClients(kubeConfig);
  let leading: Leading | undefined;
  let shuttingDown = false;

  const server: Server = await startHealthServer({
    bindAddress: options.metricsBindAddress,
    // A standby is ready too: it serves /metrics and waits to take over.
    ready: () => !leading || leading.synced,
  });

  const elector = new LeaderElector({
    coordination: clients.coordination,
    events: new EventRecorder({ events: clients.events, reportingInstance: options.identity, logger: log }),
    namespace: options.leaseNamespace,
    name: options.leaseName,
    identity: options.identity,
    leaseDurationSeconds: options.leaseDurationSeconds,
    renewDeadlineSeconds: Math.max(2, Math.floor((options.leaseDurationSeconds * 2) / 3)),
    retryPeriodSeconds: Math.max(1, Math.floor(options.leaseDurationSeconds / 5)),
    logger: log,
  });

  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'Shutting down: no new receives, finishing in-flight messages');
    await leading?.stop();
    await elector.release();
    server.close();
    log.info('Stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  await elector.run({
    onStartedLeading: async () => {
      log.info({ identity: options.identity }, 'Became the leader');
      leading = await startLeading(kubeConfig, clients, options);
    },
    onStoppedLeading: () => {
      if (shuttingDown) return;
      // Another replica may already be dispatching: stop at once rather than risk two leaders.
      log.error('Lost the lease; exiting so a fresh start rejoins as a standby');
      process.exit(1);
    },
  });
}

type Leading = { synced: boolean; stop: () => Promise<void> };

const JOB_TYPE_STATUS_DELAY_MS = 1_000;

async function startLeading(
  kubeConfig: k8s.KubeConfig,
  clients: ReturnType<typeof makeClients>,
  options: ControllerOptions,
): Promise<Leading> {
  const { log, namespace } = options;
  const state: Leading = { synced: false, stop: () => Promise.resolve() };
  const customPath = (plural: string) =>
    namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural}` : `/apis/${GROUP}/${VERSION}/${plural}`;
  const bindings = new Informer<QueueBinding & k8s.KubernetesObject>({
    kubeConfig, path: customPath(kinds.QueueBinding.plural), logger: log.child({ informer: 'queuebindings' }),
  });
  const jobTypes = new Informer<JobType & k8s.KubernetesObject>({
    kubeConfig, path: customPath(kinds.JobType.plural), logger: log.child({ informer: 'jobtypes' }),
  });
  const statusSinks = new Informer<StatusSink & k8s.KubernetesObject>({
    kubeConfig, path: customPath(kinds.StatusSink.plural), logger: log.child({ informer: 'statussinks' }),
  });
  const jobs = new Informer<k8s.V1Job>({
    kubeConfig,
    path: namespace ? `/apis/batch/v1/namespaces/${namespace}/jobs` : '/apis/batch/v1/jobs',
    labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
    logger: log.child({ informer: 'jobs' }),
  });

  const recorder = new EventRecorder({ events: clients.events, reportingInstance: options.identity, logger: log });
  const event: EventSink = (object, type, reason, message) => recorder.record(object, type, reason, message);
  const status = new StatusWriter(clients.customObjects);
  const capacity = new CapacityTracker();
  const catalog = new JobTypeCatalog(jobTypes);

  const queueBindings = new QueueBindingReconciler({
    core: clients.core,
    bindings,
    jobTypes: catalog.lookup,
    status,
    event,
    makeDispatcherDeps: (binding, credentials) => {
      const aws = awsClientOptions(binding.spec, credentials);
      return {
        sqs: makeSqsClient(aws),
        payloads: s3PayloadStore(makeS3Client(aws)),
        batch: clients.batch,
        core: clients.core,
        jobTypes: catalog.lookup,
        capacity,
        log: log.child({ binding: keyOf(binding.metadata.namespace, binding.metadata.name) }),
        ...(process.env.SLUICE_TEST_CRASH_AFTER_JOB_CREATE === '1' && { afterJobCreated: () => process.kill(process.pid, 'SIGKILL') }),
      };
    },
  });

  const readSecret = (namespace: string) => async (name: string, key: string) => {
    const secret = await clients.core.readNamespacedSecret({ namespace, name });
    const value = secret.data?.[key];
    if (value === undefined) throw new Error(`Secret ${namespace}/${name} has no key ${key}`);
    return Buffer.from(value, 'base64').toString('utf8');
  };
  const sinks = new SinkCache();
  const openSink = (namespace: string, name: string) => {
    const sink = statusSinks.get(namespace, name);
    if (!sink) return Promise.reject(new Error(`StatusSink ${namespace}/${name} not found`));
    return sinks.get(sink, readSecret(namespace));
  };
  const notifier = new Notifier({ log: log.child({ component: 'notifier' }), counters: createNotifyCounters([registry]) });
  const sqsClients = new Map<string, SQSClient>();
  const sqsFor = (queueUrl: string, options: { region?: string; endpoint?: string } = {}) => {
    const key = JSON.stringify([new URL(queueUrl).host, options.region, options.endpoint]);
    let client = sqsClients.get(key);
    if (!client) sqsClients.set(key, (client = makeSqsClient(awsClientOptions({ queueUrl, ...options }))));
    return client;
  };
  const outcomes = new JobOutcomeReconciler({
    batch: clients.batch,
    core: clients.core,
    jobs,
    jobTypes: catalog.lookup,
    sinks: openSink,
    notify: (report, config, namespace) => Promise.resolve(notifier.notify(report, config, readSecret(namespace))),
    sqsFor,
    event,
  });

  const queue = (name: string, reconcile: Reconciler, concurrency = 4) =>
    new WorkQueue({ name, reconcile, logger: log, concurrency, metrics: workQueueMetrics(name) });
  const bindingQueue = queue('queuebinding', queueBindings.reconcile);
  const jobTypeQueue = queue('jobtype', jobTypeReconciler({ jobTypes, jobs, catalog, status, event }), 2);
  const jobQueue = queue('job', outcomes.reconcile, 8);
  const sinkQueue = queue('statussink', statusSinkReconciler({ sinks: statusSinks, open: openSink, status, event }), 2);
  // Our own status writes come back as update events: only spec changes (a new generation) need a
  // reconcile, since the periodic requeue refreshes status anyway.
  const onSpecChange = <T extends k8s.KubernetesObject>(handle: (object: T) => void) => ({
    add: handle,
    update: (object: T, previous: T) => {
      if (object.metadata?.generation !== previous.metadata?.generation || object.metadata?.deletionTimestamp) handle(object);
    },
    delete: handle,
  });
  const keyOfObject = (object: k8s.KubernetesObject) => keyOf(object.metadata?.namespace, object.metadata!.name!);
  statusSinks.addHandlers(onSpecChange((sink) => sinkQueue.add(keyOfObject(sink))));
  statusSinks.addHandlers({ delete: (sink) => void sinks.delete(sink.metadata.namespace, sink.metadata.name) });
  bindings.addHandlers(onSpecChange((binding) => bindingQueue.add(keyOfObject(binding))));
  jobTypes.addHandlers(onSpecChange((jobType) => {
    jobTypeQueue.add(keyOfObject(jobType));
    // Bindings re-check their routes' JobTypes.
    for (const binding of bindings.list(jobType.metadata?.namespace)) bindingQueue.add(keyOfObject(binding));
  }));
  const onJob = (job: k8s.V1Job, deleted: boolean) => {
    const id = jobIdentity(job);
    if (deleted || jobPhase(job) !== 'active') capacity.jobFinished(id);
    else capacity.jobActive(id);
    if (!deleted) jobQueue.add(keyOf(id.namespace, id.name));
    // JobType counts are a summary: refresh them at most about once a second, not per Job event.
    if (id.jobType) jobTypeQueue.addAfter(keyOf(id.namespace, id.jobType), JOB_TYPE_STATUS_DELAY_MS);
  };
  jobs.addHandlers({
    add: (job) => onJob(job, false),
    update: (job) => onJob(job, false),
    delete: (job) => onJob(job, true),
  });

  const informers = [bindings, jobTypes, statusSinks, jobs];
  const queues = [bindingQueue, jobTypeQueue, jobQueue, sinkQueue];
  for (const informer of informers) informer.start();
  await Promise.all(informers.map((informer) => informer.synced()));
  for (const q of queues) q.start();
  state.synced = true;
  log.info('Caches synced; reconciling');

  state.stop = async () => {
    // Queues first, so no reconcile starts a dispatcher while they stop.
    await Promise.all(queues.map((q) => q.shutDown()));
    await queueBindings.stopAll();
    await notifier.close();
    await sinks.close();
    await Promise.all(informers.map((informer) => informer.stop()));
  };
  return state;
}
