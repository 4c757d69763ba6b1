// `sluice controller`: leader-elected; the leader watches QueueBindings, JobTypes and the Jobs it
// created, runs a dispatcher per binding and records Job outcomes. SIGTERM stops receiving,
// finishes in-flight creates, releases the lease and exits.
import * as k8s from '@kubernetes/client-node';
import type { Server } from 'node:http';
import { GROUP, VERSION, type JobType, type QueueBinding, type StatusSink } from './api/schemas.ts';
import { kinds } from './api/kinds.ts';
import { CapacityTracker } from './dispatch/capacity.ts';
import { DISPATCHER_COMPONENT } from './dispatch/deployment.ts';
import { DispatcherApplier, kedaServedBy } from './dispatch/deployment-applier.ts';
import { configMapLedgerStore, SharedCapacity } from './dispatch/shared-capacity.ts';
import { labelValue } from './job/naming.ts';
import { DeleteConfirmations } from './dispatch/delete-confirmations.ts';
import { FifoGroups } from './dispatch/fifo-groups.ts';
import { LABEL_BINDING, LABEL_MANAGED_BY, MANAGED_BY } from './job/labels.ts';
import { loadKubeConfig, makeClients } from './kube/client.ts';
import { EventRecorder } from './kube/events.ts';
import { Informer } from './kube/informer.ts';
import { LeaderElector } from './kube/leader-election.ts';
import { keyOf } from './kube/keys.ts';
import { NamespacedInformers } from './kube/namespaced-informers.ts';
import { slimJob, slimPod } from './kube/slim.ts';
import { ReferencedSecrets } from './kube/secret-cache.ts';
import { LeaderLifecycle, stopLeader, type Leading } from './leader-lifecycle.ts';
import { OutcomeHealth } from './outcome/health.ts';
import { OutcomeLedger } from './outcome/ledger.ts';
import { MessageRelease, messageGraceMs } from './outcome/message-release.ts';
import { jobNameOfPod, PodsByJob } from './outcome/pods.ts';
import { fanInRetentionReconciler } from './reconcile/fan-in-retention.ts';
import { WorkQueue, type Reconciler } from './kube/work-queue.ts';
import type { Logger } from './log.ts';
import { hasOutcomeFinalizer, jobIdentity, jobPhase } from './reconcile/job-phase.ts';
import { JobOutcomeReconciler } from './reconcile/job-outcome.ts';
import { statusSinkReconciler } from './reconcile/status-sink.ts';
import { Notifier } from './notify/notifier.ts';
import { SinkCache } from './sinks/open.ts';
import { notifications, withLeaderMetric, workQueueMetrics } from './metrics.ts';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { JobTypeCatalog, jobTypeReconciler } from './reconcile/job-type.ts';
import { QueueBindingReconciler, type EventSink } from './reconcile/queue-binding.ts';
import { StatusWriter } from './reconcile/status-writer.ts';
import { startHealthServer } from './server.ts';
import { liveProgressDeps } from './progress/lookups.ts';
import { ProgressService } from './progress/progress.ts';
import { startProgressServer } from './progress/server.ts';
import { awsClientOptions, SharedAwsClients } from './sqs/client.ts';
import { callLimit } from './kube/call-limit.ts';
import { s3PayloadStore } from './sqs/payload-store.ts';

export type ControllerOptions = {
  /** The namespaces to watch, each with its own informers; all namespaces when empty. */
  namespaces: string[];
  leaseNamespace: string;
  leaseName: string;
  leaseDurationSeconds: number;
  identity: string;
  metricsBindAddress: string;
  /** Serves the progress API job pods report to; every replica serves it. Empty: none. */
  progressBindAddress?: string;
  /** The progress API's URL as job pods reach it, set on every Job; none: Jobs get no progress URL. */
  progressUrl?: string;
  /** This controller's own image, which bindings' dispatcher Deployments run; none: no such bindings. */
  dispatcherImage?: string;
  /** Job creates in flight over all embedded dispatchers (kube/call-limit.ts); default 256. */
  maxConcurrentCreates?: number;
  log: Logger;
};

export async function runController(options: ControllerOptions): Promise<void> {
  const { log } = options;
  const kubeConfig = loadKubeConfig();
  const clients = makeClients(kubeConfig);
  const lifecycle = new LeaderLifecycle();
  let shuttingDown = false;

  const server: Server = await startHealthServer({
    bindAddress: options.metricsBindAddress,
    // A standby is ready too: it serves /metrics and waits to take over. A new leader is not,
    // until its caches have synced.
    ready: () => lifecycle.ready(),
  });

  // The progress API answers on every replica, leader or not (progress/lookups.ts).
  const progressSinks = new SinkCache();
  const progressServer = options.progressBindAddress
    ? await startProgressServer(options.progressBindAddress, new ProgressService(liveProgressDeps(kubeConfig, progressSinks, secretReader(clients.core))), log.child({ component: 'progress' }))
    : undefined;

  const electionEvents = new EventRecorder({ events: clients.events, reportingInstance: options.identity, logger: log });
  const elector = new LeaderElector({
    coordination: clients.coordination,
    events: electionEvents,
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
    await lifecycle.stop();
    await elector.release();
    await electionEvents.flush();
    progressServer?.close();
    await progressSinks.close();
    server.close();
    log.info('Stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  await elector.run(withLeaderMetric({
    onStartedLeading: async () => {
      log.info({ identity: options.identity }, 'Became the leader');
      await lifecycle.lead((synced) => startLeading(kubeConfig, clients, options, synced));
    },
    onStoppedLeading: () => {
      if (shuttingDown) return;
      // Another replica may already be dispatching: stop at once rather than risk two leaders.
      log.error('Lost the lease; exiting so a fresh start rejoins as a standby');
      process.exit(1);
    },
  }));
}

const JOB_TYPE_STATUS_DELAY_MS = 1_000;

async function startLeading(
  kubeConfig: k8s.KubeConfig,
  clients: ReturnType<typeof makeClients>,
  options: ControllerOptions,
  synced: () => void,
): Promise<Leading> {
  const { log } = options;
  // A collection's path in one namespace, or across all of them.
  const groupPath = (prefix: string, plural: string) => (namespace?: string) => (namespace ? `${prefix}/namespaces/${namespace}/${plural}` : `${prefix}/${plural}`);
  const customPath = (plural: string) => groupPath(`/apis/${GROUP}/${VERSION}`, plural);
  const managedBySluice = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
  // One informer per watched namespace (or one cluster-wide), behind one cache.
  const watch = <T extends k8s.KubernetesObject>(name: string, path: (namespace?: string) => string, labelSelector?: string, transform?: (object: T) => T | undefined) =>
    new NamespacedInformers<T>(options.namespaces, (namespace) => new Informer<T>({
      kubeConfig, path: path(namespace), labelSelector, transform, logger: log.child({ informer: name, ...(namespace && { namespace }) }),
    }));
  const bindings = watch<QueueBinding & k8s.KubernetesObject>('queuebindings', customPath(kinds.QueueBinding.plural));
  const jobTypes = watch<JobType & k8s.KubernetesObject>('jobtypes', customPath(kinds.JobType.plural));
  const statusSinks = watch<StatusSink & k8s.KubernetesObject>('statussinks', customPath(kinds.StatusSink.plural));
  const jobs = watch<k8s.V1Job>('jobs', groupPath('/apis/batch/v1', 'jobs'), managedBySluice, slimJob);
  // The pods of Sluice's Jobs (build-job labels every pod template) and its fan-in ConfigMaps.
  const pods = watch<k8s.V1Pod>('pods', groupPath('/api/v1', 'pods'), managedBySluice, slimPod);
  const configMaps = watch<k8s.V1ConfigMap>('configmaps', groupPath('/api/v1', 'configmaps'), managedBySluice);
  const secrets = new ReferencedSecrets((secretNamespace, name) => new Informer<k8s.V1Secret>({
    kubeConfig,
    path: `/api/v1/namespaces/${secretNamespace}/secrets`,
    fieldSelector: `metadata.name=${name}`,
    logger: log.child({ informer: 'secret', secret: keyOf(secretNamespace, name) }),
  }));

  const recorder = new EventRecorder({ events: clients.events, reportingInstance: options.identity, logger: log });
  const event: EventSink = (object, type, reason, message) => recorder.record(object, type, reason, message);
  const status = new StatusWriter(clients.customObjects);
  // Bindings' own dispatcher Deployments, and the ledger their replicas share limits through.
  const deployments = watch<k8s.V1Deployment>('deployments', groupPath('/apis/apps/v1', 'deployments'), `${managedBySluice},app.kubernetes.io/component=${DISPATCHER_COMPONENT}`);
  const holderLabel = labelValue(options.identity);
  const shared: SharedCapacity = new SharedCapacity({
    store: configMapLedgerStore(clients.core, { [LABEL_MANAGED_BY]: MANAGED_BY, 'app.kubernetes.io/component': 'capacity-ledger' }),
    holder: holderLabel,
    log: log.child({ component: 'shared-capacity' }),
    activeByHolder: (scope) => capacity.activeByHolder(scope),
  });
  // A JobType is shared when a binding with its own dispatchers routes to it too.
  const isShared = (scope: { kind: string; namespace: string; name: string }) => scope.kind === 'jobtype'
    && bindings.list(scope.namespace).some((b) => (b.spec as { dispatcher?: { mode?: string } }).dispatcher?.mode === 'deployment'
      && b.spec.routes.some((route) => route.jobType === scope.name));
  const capacity: CapacityTracker = new CapacityTracker({ shared, holderLabel, isShared });
  const catalog = new JobTypeCatalog(jobTypes);
  // One bound over every binding's dispatcher in this process.
  const createLimit = callLimit(options.maxConcurrentCreates);
  const confirmations = new DeleteConfirmations();
  const groups = new FifoGroups();
  const crashAfterJobCreate = Number(process.env.SLUICE_TEST_CRASH_AFTER_JOB_CREATE ?? 0);

  const aws = new SharedAwsClients();
  const queueBindings = new QueueBindingReconciler({
    ...(options.dispatcherImage && {
      dispatchers: new DispatcherApplier({
        objects: clients.objects,
        deployments,
        kedaServed: kedaServedBy(kubeConfig),
        image: options.dispatcherImage,
        ...(process.env.AWS_REGION && { defaultRegion: process.env.AWS_REGION }),
        ...(options.progressUrl && { progressUrl: options.progressUrl }),
      }),
    }),
    makeSqsClient: (binding, credentials) => aws.sqs(awsClientOptions(binding.spec, credentials)),
    secrets,
    bindings,
    jobTypes: catalog.lookup,
    status,
    event,
    makeDispatcherDeps: (binding, credentials) => {
      const clientOptions = awsClientOptions(binding.spec, credentials);
      return {
        sqs: aws.sqs(clientOptions),
        // Made when the first message with its payload in S3 arrives.
        payloads: s3PayloadStore(() => aws.s3(clientOptions)),
        batch: clients.batch,
        core: clients.core,
        jobTypes: catalog.lookup,
        capacity,
        groups,
        confirmations,
        jobContext: { ...(options.progressUrl && { progressUrl: options.progressUrl }), dispatcher: options.identity },
        createLimit,
        log: log.child({ binding: keyOf(binding.metadata.namespace, binding.metadata.name) }),
        // Test hook: 1 kills the process after the first Job it creates, a fraction after that share of them.
        ...(crashAfterJobCreate > 0 && { afterJobCreated: () => { if (Math.random() < crashAfterJobCreate) process.kill(process.pid, 'SIGKILL'); } }),
      };
    },
  });

  const readSecret = secretReader(clients.core);
  const sinks = new SinkCache();
  const openSink = (sinkNamespace: string, name: string) => {
    const sink = statusSinks.get(sinkNamespace, name);
    if (!sink) return Promise.reject(new Error(`StatusSink ${sinkNamespace}/${name} not found`));
    return sinks.get(sink, readSecret(sinkNamespace));
  };
  const notifier = new Notifier({ log: log.child({ component: 'notifier' }), counters: notifications });
  // Held here: the shared clients are only weakly held, and these serve any binding's dead letters.
  const sqsClients = new Map<string, SQSClient>();
  const sqsFor = (queueUrl: string, clientOptions: { region?: string; endpoint?: string } = {}) => {
    const key = JSON.stringify([new URL(queueUrl).host, clientOptions.region, clientOptions.endpoint]);
    let client = sqsClients.get(key);
    if (!client) sqsClients.set(key, (client = aws.sqs(awsClientOptions({ queueUrl, ...clientOptions }))));
    return client;
  };
  const podsByJob = new PodsByJob();
  const health = new OutcomeHealth();
  const messages = new MessageRelease({
    confirmations,
    // The binding's own client (region, endpoint, credentials) while it runs.
    sqsFor: (job, queueUrl) => queueBindings.sqsOf(job.metadata!.namespace!, job.metadata?.labels?.[LABEL_BINDING] ?? '') ?? sqsFor(queueUrl),
    graceMs: (job) => {
      const binding = bindings.get(job.metadata?.namespace, job.metadata?.labels?.[LABEL_BINDING] ?? '');
      return messageGraceMs((binding?.spec as { receive?: { waitTimeSeconds?: number } } | undefined)?.receive?.waitTimeSeconds, job.spec?.ttlSecondsAfterFinished);
    },
    now: () => Date.now(),
  });
  const outcomes = new JobOutcomeReconciler({
    batch: clients.batch,
    core: clients.core,
    jobs,
    pods: (job) => podsByJob.podsOf(job),
    jobTypes: catalog.lookup,
    sinks: openSink,
    notify: (report, config, notifyNamespace) => Promise.resolve(notifier.notify(report, config, readSecret(notifyNamespace))),
    sqsFor,
    event,
    ledger: new OutcomeLedger(),
    health,
    messages,
  });

  const queue = (name: string, reconcile: Reconciler, concurrency = 4) =>
    new WorkQueue({ name, reconcile, logger: log, concurrency, metrics: workQueueMetrics(name) });
  const bindingQueue = queue('queuebinding', queueBindings.reconcile);
  const jobTypeQueue = queue('jobtype', jobTypeReconciler({ jobTypes, jobs, catalog, status, event, health }), 2);
  const jobQueue = queue('job', outcomes.reconcile, 8);
  const sinkQueue = queue('statussink', statusSinkReconciler({ sinks: statusSinks, open: openSink, status, event }), 2);
  const fanInQueue = queue('fanin', fanInRetentionReconciler({ configMaps, core: clients.core }), 1);
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
  // A credentials Secret appeared, rotated or went: its bindings look again.
  secrets.onChange((secretNamespace, name) => {
    for (const binding of bindings.list(secretNamespace)) {
      if ((binding.spec as { credentials?: { secretRef?: { name?: string } } }).credentials?.secretRef?.name === name) bindingQueue.add(keyOfObject(binding));
    }
  });
  jobTypes.addHandlers(onSpecChange((jobType) => {
    jobTypeQueue.add(keyOfObject(jobType));
    // Bindings re-check their routes' JobTypes.
    for (const binding of bindings.list(jobType.metadata?.namespace)) bindingQueue.add(keyOfObject(binding));
  }));
  health.onChange((jobTypeNamespace, name) => jobTypeQueue.add(keyOf(jobTypeNamespace, name)));
  const onJob = (job: k8s.V1Job, deleted: boolean) => {
    const id = jobIdentity(job);
    const finished = jobPhase(job) !== 'active';
    if (deleted || finished) {
      capacity.jobFinished(id);
      groups.jobFinished(id);
    } else {
      capacity.jobActive(id);
      groups.jobActive(id);
    }
    if (deleted) outcomes.forget(job.metadata?.uid ?? '');
    // A released Job has nothing left to do; one whose outcome is due goes before the running ones.
    else if (hasOutcomeFinalizer(job)) jobQueue.add(keyOf(id.namespace, id.name), finished || job.metadata?.deletionTimestamp ? 'high' : 'normal');
    // JobType counts are a summary: refresh them at most about once a second, not per Job event.
    if (id.jobType) jobTypeQueue.addAfter(keyOf(id.namespace, id.jobType), JOB_TYPE_STATUS_DELAY_MS);
  };
  jobs.addHandlers({
    add: (job) => onJob(job, false),
    update: (job) => onJob(job, false),
    delete: (job) => onJob(job, true),
  });
  pods.addHandlers(podsByJob.handlers);
  // A pod's end (its exit code and result) may arrive after its Job's verdict.
  const onPod = (pod: k8s.V1Pod) => {
    const jobName = jobNameOfPod(pod);
    if (!jobName || (pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed')) return;
    const job = jobs.get(pod.metadata?.namespace ?? '', jobName);
    // Not yet in the cache: its own add comes. Released: nothing to do (a new leader lists every pod).
    if (job && hasOutcomeFinalizer(job)) jobQueue.add(keyOf(pod.metadata?.namespace, jobName), 'high');
  };
  pods.addHandlers({ add: onPod, update: onPod });
  configMaps.addHandlers({ add: (cm) => fanInQueue.add(keyOfObject(cm)), update: (cm) => fanInQueue.add(keyOfObject(cm)) });

  // A dispatcher Deployment's change (replicas ready, scaled) shows in its binding's status.
  deployments.addHandlers({ update: (deployment) => {
    const binding = deployment.metadata?.labels?.[LABEL_BINDING];
    if (binding) bindingQueue.add(keyOf(deployment.metadata?.namespace, binding));
  } });
  const informers = [bindings, jobTypes, statusSinks, jobs, pods, configMaps, deployments];
  const queues = [bindingQueue, jobTypeQueue, jobQueue, sinkQueue, fanInQueue];
  for (const informer of informers) informer.start();
  await Promise.all(informers.map((informer) => informer.synced()));
  for (const q of queues) q.start();
  shared.start();
  synced();
  log.info('Caches synced; reconciling');

  return {
    stop: () => stopLeader({
      queues,
      dispatchers: queueBindings,
      closers: [() => notifier.close(), () => sinks.close(), () => messages.close(), () => secrets.stop(), () => shared.stop()],
      informers,
      recorders: [recorder],
    }),
  };
}

/** Reads a key of a Secret in a namespace (sink URIs, notifier webhooks), as the sinks open. */
function secretReader(core: k8s.CoreV1Api) {
  return (namespace: string) => async (name: string, key: string) => {
    const secret = await core.readNamespacedSecret({ namespace, name });
    const value = secret.data?.[key];
    if (value === undefined) throw new Error(`Secret ${namespace}/${name} has no key ${key}`);
    return Buffer.from(value, 'base64').toString('utf8');
  };
}
