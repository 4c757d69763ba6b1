// QueueBinding reconcile: validates the spec, keeps one dispatcher running per valid binding (a
// new one when the queue or its credentials change), and writes status — conditions, counters and
// queue depth — every few seconds, and only when something changed.
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { API_VERSION, type QueueBinding, type QueueBindingStatus } from '../api/schemas.ts';
import { parseSpec } from '../api/validate.ts';
import { BindingDispatcher, type DispatcherDeps } from '../dispatch/dispatcher.ts';
import { compileBinding, type CompiledBinding, type JobTypeLookup } from '../dispatch/plan.ts';
import type { ReferencedSecrets } from '../kube/secret-cache.ts';
import { setCondition, type Condition, type ConditionUpdate } from '../kube/conditions.ts';
import { EventReason as reasons, type EventReason } from '../kube/event-reasons.ts';
import { done, requeueAfter, TerminalError, type ReconcileRequest, type ReconcileResult } from '../kube/work-queue.ts';
import type { DispatcherApplier } from '../dispatch/deployment-applier.ts';
import { splitKey } from '../kube/keys.ts';
import { dispatcherRunning, forgetQueueDepth, recordQueueDepth, sqsErrors } from '../metrics.ts';
import type { AwsCredentials } from '../sqs/client.ts';
import type { ObjectCache } from './cache.ts';
import { QueueDepthSchedule } from './queue-depth-schedule.ts';
import type { StatusWriter } from './status-writer.ts';

export const STATUS_INTERVAL_MS = 5_000;
const SECRET_SYNC_RECHECK_MS = 250;

export type EventSink = (object: k8s.KubernetesObject, type: 'Normal' | 'Warning', reason: EventReason, message: string) => void;

export type QueueBindingDeps = {
  /**
   * controller: runs embedded dispatchers, keeps bindings' own dispatcher Deployments, writes
   * status. dispatcher: a `sluice dispatch` process that only receives for its binding.
   */
  role?: 'controller' | 'dispatcher';
  /** Bindings with `dispatcher.mode: deployment` (controller role). */
  dispatchers?: DispatcherApplier;
  /** The credentials Secrets bindings reference, each watched while referenced. */
  secrets: ReferencedSecrets;
  bindings: ObjectCache<QueueBinding>;
  jobTypes: JobTypeLookup;
  status: StatusWriter;
  event: EventSink;
  /** Builds the dispatcher's clients for a binding's region, endpoint and credentials. */
  makeDispatcherDeps: (binding: QueueBinding, credentials: AwsCredentials | undefined) => Omit<DispatcherDeps, 'onWarning'>;
  /** An SQS client for a binding whose dispatcher runs elsewhere (queue depth for its status). */
  makeSqsClient?: (binding: QueueBinding, credentials: AwsCredentials | undefined) => SQSClient;
  now?: () => Date;
};

type Running = { dispatcher: BindingDispatcher; fingerprint: string; sqs: SQSClient; stopped: () => void };

/** A binding's spec as validated and compiled for one generation of one object. */
type Prepared = { uid: string | undefined; generation: number | undefined; spec: QueueBinding['spec']; compiled: CompiledBinding };

export class QueueBindingReconciler {
  readonly #deps: QueueBindingDeps;
  readonly #running = new Map<string, Running>();
  /** Queue-depth clients of bindings whose dispatchers run in their own Deployment. */
  readonly #depthClients = new Map<string, { fingerprint: string; sqs: SQSClient }>();
  readonly #depthSchedule = new QueueDepthSchedule();
  /**
   * The last valid spec of each binding: a status round every 5 s would otherwise validate and
   * compile an unchanged spec again (≈ 20 KiB of garbage and 0.3 ms each). A spec change bumps
   * the generation; a binding deleted and made again has another uid.
   */
  readonly #prepared = new Map<string, Prepared>();

  constructor(deps: QueueBindingDeps) {
    this.#deps = deps;
  }

  readonly reconcile = async ({ key, namespace, name, logger }: ReconcileRequest): Promise<ReconcileResult> => {
    const stored = this.#deps.bindings.get(namespace!, name);
    if (!stored) {
      this.#prepared.delete(key);
      await this.#stop(key);
      return done;
    }
    const generation = stored.metadata.generation;
    const conditions = (updates: ConditionUpdate[]) =>
      updates.reduce<Condition[]>((list, update) => setCondition(list, { observedGeneration: generation, ...update }, this.#now()), stored.status?.conditions ?? []);
    const fail = async (reason: EventReason, message: string, result: ReconcileResult = done) => {
      // A binding waiting for its Secret keeps watching for it.
      await this.#stop(key, { keepSecret: reason === reasons.CredentialsUnavailable });
      await this.#writeStatus(stored, {
        conditions: conditions([
          { type: 'Ready', status: 'False', reason, message },
          { type: 'Polling', status: 'False', reason: 'NotRunning', message: 'the binding is not Ready' },
        ]),
      });
      this.#deps.event(stored, 'Warning', reason, message);
      return result;
    };

    const prepared = this.#prepare(key, stored);
    if ('invalid' in prepared) return fail(prepared.invalid, prepared.message);
    const binding: QueueBinding = { ...stored, spec: prepared.spec };
    const compiled = prepared.compiled;

    let credentials: { value?: AwsCredentials; version: string } | 'pending';
    try {
      credentials = this.#credentials(key, binding);
    } catch (error) {
      return fail(reasons.CredentialsUnavailable, (error as Error).message, requeueAfter(30_000));
    }
    // The Secret's watch has not listed yet: come back, without reporting anything.
    if (credentials === 'pending') return requeueAfter(SECRET_SYNC_RECHECK_MS);

    const fingerprint = hash([binding.spec.queueUrl, binding.spec.region, binding.spec.endpoint, credentials.version]);
    const role = this.#deps.role ?? 'controller';
    if (role === 'controller' && binding.spec.dispatcher.mode === 'deployment') {
      return this.#reconcileDeployment(key, stored, binding, fingerprint, credentials.value, conditions, logger);
    }
    let running = this.#running.get(key);
    if (running && running.fingerprint !== fingerprint) {
      logger.info('Queue or credentials changed; restarting the dispatcher');
      await this.#stop(key, { keepSecret: true });
      running = undefined;
    }
    if (running) {
      running.dispatcher.update(binding, compiled);
    } else {
      const deps = this.#deps.makeDispatcherDeps(binding, credentials.value);
      const dispatcher = new BindingDispatcher(binding, compiled, {
        ...deps,
        log: logger,
        onWarning: (reason, message) => this.#deps.event(stored, 'Warning', reason, message),
      });
      // Counters continue from what status already shows, across restarts and failovers.
      Object.assign(dispatcher.stats, {
        received: stored.status?.received ?? 0,
        dispatched: stored.status?.dispatched ?? 0,
        deadLettered: stored.status?.deadLettered ?? 0,
      });
      dispatcher.start();
      running = { dispatcher, fingerprint, sqs: deps.sqs, stopped: dispatcherRunning(binding.metadata.namespace, binding.metadata.name, this.#deps.role === 'dispatcher' ? 'deployment' : 'embedded') };
      this.#running.set(key, running);
      this.#deps.event(stored, 'Normal', reasons.DispatcherStarted, `Receiving from ${binding.spec.queueUrl}`);
    }
    // A `sluice dispatch` process receives; the controller keeps the status.
    if (role === 'dispatcher') return requeueAfter(STATUS_INTERVAL_MS);
    // Back from its own Deployment to the embedded dispatcher.
    this.#depthClients.delete(key);
    await this.#deps.dispatchers?.remove(binding);

    const { stats } = running.dispatcher;
    const ready = this.#ready(binding);
    const polling: ConditionUpdate = binding.spec.suspend
      ? { type: 'Polling', status: 'False', reason: 'Suspended', message: 'spec.suspend is true' }
      : stats.receiveError
        ? { type: 'Polling', status: 'False', reason: reasons.ReceiveFailed, message: stats.receiveError }
        : { type: 'Polling', status: 'True', reason: 'Receiving', message: `long-polling ${binding.spec.queueUrl}` };
    const deadLetter = deadLetterCondition(binding, stats.missingDeadLetterQueue === true);

    const status: QueueBindingStatus = {
      conditions: conditions([ready, polling, deadLetter]),
      received: stats.received,
      dispatched: stats.dispatched,
      deadLettered: stats.deadLettered,
      ...(stats.lastReceiveTime && { lastReceiveTime: stats.lastReceiveTime.toISOString() }),
      ...(await this.#depth(key, running.sqs, binding, stats.received, logger)),
    };
    await this.#writeStatus(stored, status);
    return requeueAfter(STATUS_INTERVAL_MS);
  };

  /** The binding's spec validated and compiled, once per generation. */
  #prepare(key: string, stored: QueueBinding): Prepared | { invalid: EventReason; message: string } {
    const { uid, generation } = stored.metadata;
    const cached = this.#prepared.get(key);
    if (cached && cached.uid === uid && cached.generation === generation) return cached;
    this.#prepared.delete(key);
    const parsed = parseSpec('QueueBinding', stored.spec);
    if (!parsed.success) return { invalid: reasons.InvalidSpec, message: parsed.message };
    let compiled;
    try {
      compiled = compileBinding({ ...stored, spec: parsed.spec });
    } catch (error) {
      return { invalid: reasons.InvalidExpression, message: (error as Error).message };
    }
    const prepared = { uid, generation, spec: parsed.spec, compiled };
    this.#prepared.set(key, prepared);
    return prepared;
  }

  /** The SQS client of the binding's running dispatcher (its region, endpoint and credentials). */
  sqsOf(namespace: string, name: string): SQSClient | undefined {
    const key = `${namespace}/${name}`;
    return this.#running.get(key)?.sqs ?? this.#depthClients.get(key)?.sqs;
  }

  /** A binding with its own dispatcher Deployment: keep the objects, report them and the queue. */
  async #reconcileDeployment(
    key: string, stored: QueueBinding, binding: QueueBinding, fingerprint: string, credentials: AwsCredentials | undefined,
    conditions: (updates: ConditionUpdate[]) => Condition[], logger: ReconcileRequest['logger'],
  ): Promise<ReconcileResult> {
    // Its messages are received by its own pods now.
    if (this.#running.has(key)) await this.#stop(key, { keepSecret: true });
    const applier = this.#deps.dispatchers;
    if (!applier || !this.#deps.makeSqsClient) throw new TerminalError('this controller cannot run dispatcher Deployments (no dispatcher image configured)');
    let depth = this.#depthClients.get(key);
    if (depth?.fingerprint !== fingerprint) this.#depthClients.set(key, (depth = { fingerprint, sqs: this.#deps.makeSqsClient(binding, credentials) }));

    let polling: ConditionUpdate;
    let autoscaling: ConditionUpdate;
    try {
      const summary = await applier.apply(binding);
      const scaling = binding.spec.dispatcher.autoscaling;
      autoscaling = summary.keda
        ? { type: 'Autoscaling', status: 'True', reason: 'KEDA', message: `ScaledObject ${summary.name}: ${scaling.minReplicas}-${scaling.maxReplicas} replicas, ${scaling.messagesPerReplica} messages per replica` }
        : { type: 'Autoscaling', status: 'False', reason: reasons.KedaNotInstalled, message: `KEDA is not installed: Deployment ${summary.name} runs a fixed ${binding.spec.dispatcher.replicas} replica(s)` };
      polling = binding.spec.suspend
        ? { type: 'Polling', status: 'False', reason: 'Suspended', message: 'spec.suspend is true' }
        : summary.readyReplicas > 0
          ? { type: 'Polling', status: 'True', reason: 'DispatcherDeployment', message: `${summary.readyReplicas}/${summary.replicas} replica(s) of ${summary.name} receiving` }
          : summary.replicas === 0
            ? { type: 'Polling', status: 'True', reason: 'ScaledToZero', message: `${summary.name} is scaled to zero until messages arrive` }
            : { type: 'Polling', status: 'False', reason: 'DispatcherNotReady', message: `0/${summary.replicas} replica(s) of ${summary.name} ready` };
    } catch (error) {
      const message = `applying the dispatcher Deployment failed: ${(error as Error).message}`;
      this.#deps.event(stored, 'Warning', reasons.DispatcherDeploymentFailed, message);
      polling = { type: 'Polling', status: 'False', reason: reasons.DispatcherDeploymentFailed, message };
      autoscaling = { type: 'Autoscaling', status: 'Unknown', reason: reasons.DispatcherDeploymentFailed, message };
    }
    await this.#writeStatus(stored, {
      conditions: conditions([this.#ready(binding), polling, autoscaling, deadLetterCondition(binding, false)]),
      ...(await this.#depth(key, depth.sqs, binding, undefined, logger)),
    });
    return requeueAfter(STATUS_INTERVAL_MS);
  }

  /** Ready unless a route's JobType is missing or invalid (its messages then wait in SQS). */
  #ready(binding: QueueBinding): ConditionUpdate {
    const missingTypes = [...new Set(binding.spec.routes.map((r) => r.jobType))]
      .map((jobType) => ({ jobType, found: this.#deps.jobTypes(binding.metadata.namespace, jobType) }))
      .filter(({ found }) => !('jobType' in found))
      .map(({ jobType, found }) => `${jobType}: ${'problem' in found ? found.problem : ''}`);
    return missingTypes.length
      ? { type: 'Ready', status: 'False', reason: reasons.JobTypeUnavailable, message: `messages for these JobTypes wait in SQS: ${missingTypes.join('; ')}` }
      : { type: 'Ready', status: 'True', reason: 'Dispatching', message: `${binding.spec.routes.length} route(s) to ready JobTypes` };
  }

  /** Stops every dispatcher: no new receives, in-flight messages finish. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#running.keys()].map((key) => this.#stop(key)));
  }

  async #stop(key: string, options: { keepSecret?: boolean } = {}): Promise<void> {
    if (!options.keepSecret) this.#deps.secrets.release(key);
    const { namespace, name } = splitKey(key);
    forgetQueueDepth(namespace ?? '', name);
    this.#depthSchedule.forget(key);
    const running = this.#running.get(key);
    if (!running) return;
    this.#running.delete(key);
    await running.dispatcher.stop();
    running.stopped();
  }

  #credentials(key: string, binding: QueueBinding): { value?: AwsCredentials; version: string } | 'pending' {
    const ref = binding.spec.credentials?.secretRef;
    if (!ref) {
      this.#deps.secrets.release(key);
      return { version: 'default-chain' };
    }
    this.#deps.secrets.use(key, binding.metadata.namespace, ref.name);
    const view = this.#deps.secrets.get(binding.metadata.namespace, ref.name);
    if (!view.synced) return 'pending';
    const secret = view.secret;
    if (!secret) throw new Error(`Secret ${ref.name} not found`);
    const read = (field: string | undefined) => (field && secret.data?.[field] ? Buffer.from(secret.data[field], 'base64').toString('utf8') : undefined);
    const accessKeyId = read(ref.accessKeyIdKey);
    const secretAccessKey = read(ref.secretAccessKeyKey);
    if (!accessKeyId || !secretAccessKey) {
      throw new Error(`Secret ${ref.name} lacks ${accessKeyId ? ref.secretAccessKeyKey : ref.accessKeyIdKey}`);
    }
    const sessionToken = read(ref.sessionTokenKey);
    return {
      value: { accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }) },
      version: `${secret.metadata?.uid ?? ''}/${secret.metadata?.resourceVersion ?? ''}`,
    };
  }

  /** The queue's depth when the schedule says this round reads it; nothing (status keeps the last) otherwise. */
  async #depth(key: string, sqs: SQSClient, binding: QueueBinding, received: number | undefined, logger: ReconcileRequest['logger']): Promise<Partial<QueueBindingStatus>> {
    const { namespace, name } = binding.metadata;
    const now = this.#now().getTime();
    if (!this.#depthSchedule.due(key, now, received)) return {};
    try {
      const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({
        QueueUrl: binding.spec.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }));
      const depth = {
        approximateMessages: Number(Attributes.ApproximateNumberOfMessages ?? 0),
        approximateMessagesNotVisible: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
        approximateMessagesDelayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
      };
      recordQueueDepth(namespace, name, { visible: depth.approximateMessages, in_flight: depth.approximateMessagesNotVisible, delayed: depth.approximateMessagesDelayed });
      this.#depthSchedule.read(key, now, received, depth.approximateMessages + depth.approximateMessagesNotVisible + depth.approximateMessagesDelayed);
      return depth;
    } catch (error) {
      sqsErrors.inc({ namespace, binding: name, operation: 'attributes' });
      logger.warn({ err: error }, 'Could not read queue depth');
      return {};
    }
  }

  async #writeStatus(binding: QueueBinding, status: QueueBindingStatus): Promise<void> {
    // Only the controller writes a binding's status; its dispatcher pods would fight over it.
    if (this.#deps.role === 'dispatcher') return;
    await this.#deps.status.write(
      { apiVersion: API_VERSION, kind: 'QueueBinding', namespace: binding.metadata.namespace, name: binding.metadata.name },
      binding.status,
      { ...binding.status, ...status, observedGeneration: binding.metadata.generation },
    );
  }

  #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }
}

function deadLetterCondition(binding: QueueBinding, missedOne: boolean): ConditionUpdate {
  return binding.spec.deadLetter
    ? { type: 'DeadLetterQueue', status: 'True', reason: 'Configured', message: binding.spec.deadLetter.queueUrl }
    : {
        type: 'DeadLetterQueue',
        status: 'False',
        reason: reasons.NoDeadLetterQueue,
        message: missedOne
          ? 'messages that cannot run stay in SQS for the queue\'s own redrive policy; set spec.deadLetter.queueUrl'
          : 'not configured: messages that cannot run would stay in SQS for the queue\'s own redrive policy',
      };
}

function hash(parts: (string | undefined)[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
