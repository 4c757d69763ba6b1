// The dispatcher of one QueueBinding: long-polls SQS within its capacity, decodes and routes each
// message, creates its Job and only then deletes it. A message is never deleted unless it became a
// Job or a dead-letter record; anything unexpected leaves it in SQS to be redelivered, and a
// redelivery collides with its own Job (deterministic name) instead of running twice.
import * as k8s from '@kubernetes/client-node';
import { ChangeMessageVisibilityCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import pRetry, { AbortError } from 'p-retry';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QueueBinding } from '../api/schemas.ts';
import type { PayloadStore } from '../decode/index.ts';
import { ownedBy, type BuiltJob } from '../job/build-job.ts';
import { ANNOTATION_DEDUPE_KEY, ANNOTATION_MESSAGE_ID, ANNOTATION_PAYLOAD_DIGEST, LABEL_BINDING, LABEL_DISPATCHER, LABEL_MESSAGE_GROUP, LABEL_MESSAGE_ID } from '../job/labels.ts';
import { labelValue, messageGroupLabel } from '../job/naming.ts';
import { jobPhase } from '../reconcile/job-phase.ts';
import { isAlreadyExists, type BatchApi, type CoreApi } from '../kube/client.ts';
import { unlimited, type CallLimit } from '../kube/call-limit.ts';
import type { EventReason } from '../kube/event-reasons.ts';
import type { Logger } from '../log.ts';
import * as metrics from '../metrics.ts';
import { BatchDeleter } from '../sqs/batch-deleter.ts';
import { receivedMessages } from '../sqs/received.ts';
import { sendToDeadLetter, type DeadLetterReason } from '../sqs/dead-letter.ts';
import type { CapacityTracker } from './capacity.ts';
import type { DeleteConfirmations } from './delete-confirmations.ts';
import type { FifoGroups, Turn } from './fifo-groups.ts';
import { OldestMessageAge } from './oldest-message-age.ts';
import { planMessage, type CompiledBinding, type JobContext, type JobTypeLookup } from './plan.ts';


/** How long a message waits in SQS before it is offered again when it cannot run yet. */
const DEFER_AT_CAPACITY_SECONDS = 5;
const DEFER_JOB_TYPE_UNAVAILABLE_SECONDS = 30;
/** Without a dead-letter queue a bad message stays in SQS; hide it so it does not spin. */
const DEFER_UNDELIVERABLE_SECONDS = 300;
const MAX_RECEIVE_BACKOFF_MS = 30_000;
/** How long a dispatcher waits to receive while the process's Job creates are saturated. */
const CREATE_BACKPRESSURE_MS = 25;
/**
 * Receives beside the long poll while a backlog fills every batch: one receive at a time caps a
 * binding at 10 messages a round trip (≈ 100 messages/s when SQS answers in 100 ms), below what
 * the API server takes. They short-poll and stop at the first batch that is not full.
 */
const MAX_BACKLOG_RECEIVERS = 3;

export type DispatcherDeps = {
  sqs: SQSClient;
  payloads: PayloadStore;
  batch: BatchApi;
  core: CoreApi;
  jobTypes: JobTypeLookup;
  capacity: CapacityTracker;
  /** FIFO queues: each group's unfinished Jobs and whose turn it is (shared with the Job informer). */
  groups: FifoGroups;
  log: Logger;
  /** Something an SRE should see on the QueueBinding (the caller turns it into an Event). */
  onWarning?: (reason: EventReason, message: string) => void;
  now?: () => number;
  /** Test hook: runs after a Job exists and before its message is deleted (crash-recovery tests). */
  afterJobCreated?: () => void;
  /** Where this process records the Jobs whose messages it deleted (the outcome path reads it). */
  confirmations?: DeleteConfirmations;
  /** Added to every Job: the progress API and this process's identity. */
  jobContext?: JobContext;
  /** Bounds the creates all dispatchers of this process have in flight (kube/call-limit.ts). */
  createLimit?: CallLimit;
};

export type BindingStats = {
  received: number;
  dispatched: number;
  deadLettered: number;
  deferred: number;
  lastReceiveTime?: Date;
  /** Set while receiving fails; cleared by the next successful receive. */
  receiveError?: string;
  /** Set when a message needed a dead-letter queue the binding does not have. */
  missingDeadLetterQueue?: boolean;
};

export class BindingDispatcher {
  readonly stats: BindingStats = { received: 0, dispatched: 0, deadLettered: 0, deferred: 0 };
  #binding: QueueBinding;
  #compiled: CompiledBinding;
  readonly #deps: DispatcherDeps;
  readonly #deleter: BatchDeleter;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #oldest: OldestMessageAge;
  /** Messages received and not yet holding a JobType slot: they may still need one. */
  #unrouted = 0;
  #loop: Promise<void> | undefined;
  readonly #backlogReceivers = new Set<Promise<void>>();
  /** Ends the wait of a suspended receive loop: a resumed binding receives at once. */
  #wakeSuspended: AbortController | undefined;

  constructor(binding: QueueBinding, compiled: CompiledBinding, deps: DispatcherDeps) {
    this.#binding = binding;
    this.#compiled = compiled;
    this.#deps = deps;
    this.#deleter = new BatchDeleter(deps.sqs, binding.spec.queueUrl);
    metrics.initBindingMetrics(this.#namespace, this.#name, binding.spec.routes.map((r) => r.jobType));
    this.#oldest = new OldestMessageAge(this.#namespace, this.#name);
  }

  get #namespace() { return this.#binding.metadata.namespace; }
  get #name() { return this.#binding.metadata.name; }
  get #labels() { return { namespace: this.#namespace, binding: this.#name }; }

  /** A new generation of the same binding with the same queue (the caller restarts on queue changes). */
  update(binding: QueueBinding, compiled: CompiledBinding): void {
    this.#binding = binding;
    this.#compiled = compiled;
    metrics.initBindingMetrics(this.#namespace, this.#name, binding.spec.routes.map((r) => r.jobType));
    if (!binding.spec.suspend) this.#wakeSuspended?.abort();
  }

  start(): void {
    this.#loop ??= this.#receiveLoop();
  }

  /** Stops receiving, lets in-flight messages finish (Job created, message deleted), flushes deletes. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    await Promise.allSettled([...this.#backlogReceivers]);
    await Promise.allSettled([...this.#inFlight]);
    await this.#deleter.drain();
    this.#oldest.forget();
  }

  /**
   * Receives until stopped: the binding's one long poll, or (backlog) a helper that short-polls
   * while batches come back full and ends at the first wait, failure or batch that is not full.
   */
  async #receiveLoop(backlog = false): Promise<void> {
    const { capacity } = this.#deps;
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      const spec = this.#binding.spec;
      if (spec.suspend) {
        if (backlog) return;
        // Only update() can resume it: wait for that (or stop), not for a timer.
        this.#wakeSuspended = new AbortController();
        await aborted(AbortSignal.any([signal, this.#wakeSuspended.signal]));
        continue;
      }
      const want = Math.min(
        spec.receive.maxMessages,
        capacity.freeForBinding(this.#namespace, this.#name, spec.maxInFlight),
        this.#jobTypeHeadroom() - this.#unrouted,
      );
      if (want <= 0) {
        if (backlog) return;
        await capacity.waitForChange(1000, signal);
        continue;
      }
      // The process's creates are saturated: what this would receive would only wait in memory.
      // A helper receives only into create slots nobody waits for, counting what is received and
      // not yet routed (it reaches the bound only after decoding and routing).
      if (backlog && (this.#deps.createLimit ?? unlimited).free() - this.#unrouted < want) return;
      if (this.#deps.createLimit?.busy()) {
        await sleep(CREATE_BACKPRESSURE_MS, undefined, { signal }).catch(() => undefined);
        continue;
      }
      capacity.reserveBinding(this.#namespace, this.#name, want);
      let messages: Message[];
      try {
        const received = await this.#deps.sqs.send(new ReceiveMessageCommand({
          QueueUrl: spec.queueUrl,
          MaxNumberOfMessages: want,
          WaitTimeSeconds: backlog ? 0 : spec.receive.waitTimeSeconds,
          VisibilityTimeout: spec.receive.visibilityTimeoutSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }), { abortSignal: signal });
        messages = receivedMessages(received.Messages);
        this.#oldest.received(messages, this.#now());
        failures = 0;
        delete this.stats.receiveError;
      } catch (error) {
        capacity.releaseBinding(this.#namespace, this.#name, want);
        // The long poll reports a failure and backs off; a helper leaves that to it.
        if (signal.aborted || backlog) break;
        failures += 1;
        this.stats.receiveError = (error as Error).message;
        metrics.sqsErrors.inc({ ...this.#labels, operation: 'receive' });
        const backoff = Math.min(MAX_RECEIVE_BACKOFF_MS, 500 * 2 ** Math.min(failures, 8)) * (0.5 + Math.random() / 2);
        this.#deps.log.warn({ err: error, backoffMs: Math.round(backoff) }, 'Receive failed; backing off');
        await sleep(backoff, undefined, { signal }).catch(() => undefined);
        continue;
      }
      capacity.releaseBinding(this.#namespace, this.#name, want - messages.length);
      if (messages.length === 0) {
        if (backlog) return;
        continue;
      }
      this.stats.received += messages.length;
      this.stats.lastReceiveTime = new Date(this.#now());
      metrics.messagesReceived.inc(this.#labels, messages.length);
      this.#unrouted += messages.length;
      for (const message of messages) {
        const handled: Promise<void> = this.#handle(message).finally(() => {
          capacity.releaseBinding(this.#namespace, this.#name, 1);
          this.#inFlight.delete(handled);
        });
        this.#inFlight.add(handled);
      }
      if (messages.length < want) {
        if (backlog) return;
      } else if (!backlog && want === spec.receive.maxMessages) {
        this.#addBacklogReceivers();
      }
    }
  }

  /** A full batch means more is waiting: receive it in parallel (not on FIFO queues, whose groups keep their order). */
  #addBacklogReceivers(): void {
    if (this.#binding.spec.queueUrl.endsWith('.fifo')) return;
    while (this.#backlogReceivers.size < MAX_BACKLOG_RECEIVERS) {
      const receiver: Promise<void> = this.#receiveLoop(true).finally(() => this.#backlogReceivers.delete(receiver));
      this.#backlogReceivers.add(receiver);
    }
  }

  /** Free slots summed over the JobTypes the routes name; missing types have none. */
  #jobTypeHeadroom(): number {
    let headroom = 0;
    for (const name of new Set(this.#binding.spec.routes.map((r) => r.jobType))) {
      const found = this.#deps.jobTypes(this.#namespace, name);
      if (!('jobType' in found)) continue;
      headroom += Math.max(0, this.#deps.capacity.freeForType(this.#namespace, name, found.jobType.spec.maxConcurrency));
    }
    return headroom;
  }

  async #handle(message: Message): Promise<void> {
    const log = this.#deps.log.child({ messageId: message.MessageId });
    const heartbeat = this.#keepInvisible(message, log);
    let routed = false;
    let reservedType: string | undefined;
    const markRouted = () => {
      if (!routed) this.#unrouted -= 1;
      routed = true;
    };
    let turn: Turn | undefined;
    try {
      const group = this.#binding.spec.queueUrl.endsWith('.fifo') ? message.Attributes?.MessageGroupId : undefined;
      if (group !== undefined) {
        turn = await this.#groupTurn(messageGroupLabel(group));
        // Stopping: hand it back at once so the next dispatcher takes it up in order.
        if (!turn) return await this.#changeVisibility(message, 0).then(() => undefined, () => undefined);
      }
      const plan = await planMessage(this.#binding, this.#compiled, message, this.#deps.jobTypes, this.#deps.payloads, this.#deps.jobContext);
      if (plan.action === 'dead-letter') {
        if (plan.reason === 'PayloadFetchFailed' && await this.#alreadyDispatched(message)) {
          log.debug('Redelivered after its Job was made and its extended-client payload deleted; deleting it');
          await this.#delete(message);
          return;
        }
        return await this.#deadLetter(message, plan.reason, plan.detail, log);
      }
      if (plan.action === 'defer') {
        this.#deps.onWarning?.('JobTypeUnavailable', plan.detail);
        return await this.#defer(message, 'JobTypeUnavailable', DEFER_JOB_TYPE_UNAVAILABLE_SECONDS, log);
      }
      const { built, jobType, sentTimestamp } = plan;
      markRouted();
      if (!this.#deps.capacity.tryReserveType(this.#namespace, jobType.metadata.name, jobType.spec.maxConcurrency)) {
        return await this.#defer(message, 'JobTypeAtCapacity', DEFER_AT_CAPACITY_SECONDS, log);
      }
      reservedType = jobType.metadata.name;
      const created = await this.#createJob(built, log);
      if ('rejected' in created) {
        if (created.reason === 'DedupeKeyConflict') this.#deps.onWarning?.('DedupeKeyConflict', `message ${message.MessageId ?? ''}: ${created.rejected}`);
        return await this.#deadLetter(message, created.reason, created.rejected, log);
      }

      this.#deps.capacity.jobActive({
        namespace: this.#namespace, name: built.job.metadata!.name!, binding: this.#name, jobType: reservedType,
        ...(built.job.metadata?.labels?.[LABEL_DISPATCHER] !== undefined && { dispatcher: built.job.metadata.labels[LABEL_DISPATCHER] }),
      });
      turn?.created(built.job.metadata!.name!);
      if (created.created) metrics.jobsCreated.inc({ namespace: this.#namespace, job_type: reservedType });
      if (sentTimestamp) metrics.messageToJobSeconds.observe(this.#labels, (this.#now() - sentTimestamp) / 1000);
      this.#deps.afterJobCreated?.();
      if (await this.#delete(message)) {
        // Only the message the Job came from: a producer's second copy says nothing of the first.
        if (created.created || created.messageId === message.MessageId) this.#deps.confirmations?.confirm(created.uid);
        if (plan.extendedPayload && this.#binding.spec.message.deleteExtendedPayloads) void this.#deletePayload(plan.extendedPayload, log);
      }
      this.stats.dispatched += 1;
      metrics.messagesDispatched.inc({ ...this.#labels, job_type: reservedType });
      log.debug({ job: built.job.metadata!.name, jobType: reservedType, route: plan.route, created: created.created }, 'Dispatched message');
    } catch (error) {
      // Left in SQS: it reappears after the visibility timeout and collides with its own Job if one exists.
      log.error({ err: error }, 'Message handling failed; leaving it for redelivery');
    } finally {
      turn?.leave();
      heartbeat.stop();
      markRouted();
      if (reservedType) this.#deps.capacity.releaseType(this.#namespace, reservedType);
    }
  }

  /**
   * Waits for the message's turn in its FIFO group (fifo-groups.ts), held invisible meanwhile by the
   * heartbeat. This process's cache may lag a Job another replica created a moment ago, so before
   * dispatching it asks the API server for the group's unfinished Jobs (one LIST by the group's
   * label, only for FIFO messages whose group the cache shows free) and waits for those too.
   */
  async #groupTurn(group: string): Promise<Turn | undefined> {
    const { groups, batch } = this.#deps;
    const signal = this.#abort.signal;
    const turn = await groups.turn(this.#namespace, this.#name, group, signal);
    if (!turn) return undefined;
    for (;;) {
      const { items } = await batch.listNamespacedJob({ namespace: this.#namespace, labelSelector: `${LABEL_BINDING}=${this.#name},${LABEL_MESSAGE_GROUP}=${group}` })
        .catch((error: unknown) => {
          turn.leave();
          throw error;
        });
      const unfinished = items.filter((job) => jobPhase(job) === 'active');
      if (unfinished.length === 0) return turn;
      for (const job of unfinished) groups.jobActive({ namespace: this.#namespace, binding: this.#name, name: job.metadata!.name!, group });
      if (!(await turn.ready(signal))) {
        turn.leave();
        return undefined;
      }
    }
  }

  /**
   * Creates the Job (and its payload Secret), retrying transient API errors. AlreadyExists is success
   * when the Job is ours; an object the API server rejects is returned as a rejection.
   */
  async #createJob(built: BuiltJob, log: Logger): Promise<{ created: boolean; uid: string; messageId?: string } | { rejected: string; reason: DeadLetterReason }> {
    const { batch, core } = this.#deps;
    const limit = this.#deps.createLimit ?? unlimited;
    const namespace = this.#namespace;
    const name = built.job.metadata!.name!;
    try {
      return await pRetry(async () => {
        let job: k8s.V1Job;
        let created = true;
        try {
          job = await limit(() => batch.createNamespacedJob({ namespace, body: built.job }));
        } catch (error) {
          if (!isAlreadyExists(error)) throw classify(error);
          created = false;
          job = await batch.readNamespacedJob({ namespace, name });
          const ours = job.metadata?.labels?.[LABEL_BINDING] === this.#name
            && job.metadata?.annotations?.[ANNOTATION_DEDUPE_KEY] === built.job.metadata?.annotations?.[ANNOTATION_DEDUPE_KEY];
          if (!ours) throw new AbortError(new Rejection('JobNameCollision', `Job ${name} exists and belongs to another message`));
          const conflict = contentConflict(job, built.job);
          if (conflict) throw new AbortError(new Rejection('DedupeKeyConflict', conflict));
        }
        const { secret } = built;
        if (secret) {
          try {
            await limit(() => core.createNamespacedSecret({ namespace, body: { ...secret, metadata: { ...secret.metadata, ownerReferences: ownedBy(job) } } }));
          } catch (error) {
            if (!isAlreadyExists(error)) throw classify(error);
          }
        }
        return { created, uid: job.metadata?.uid ?? '', messageId: job.metadata?.annotations?.[ANNOTATION_MESSAGE_ID] };
      }, {
        retries: 8,
        minTimeout: 200,
        maxTimeout: 5_000,
        onFailedAttempt: ({ error, attemptNumber }) => {
          metrics.jobCreateErrors.inc(this.#labels);
          log.warn({ err: error, attempt: attemptNumber, job: name }, 'Creating the Job failed; retrying');
        },
      });
    } catch (error) {
      if (error instanceof Rejection) return { rejected: error.message, reason: error.reason };
      throw error;
    }
  }

  async #deadLetter(message: Message, reason: DeadLetterReason, detail: string, log: Logger): Promise<void> {
    const spec = this.#binding.spec;
    if (!spec.deadLetter) {
      this.stats.missingDeadLetterQueue = true;
      this.#deps.onWarning?.('NoDeadLetterQueue', `message ${message.MessageId ?? ''} cannot run (${reason}: ${detail}) and the binding has no deadLetter queue; it stays in SQS for the queue's redrive policy`);
      log.warn({ reason, detail }, 'Message cannot run and there is no dead-letter queue; leaving it in SQS');
      return this.#defer(message, 'NoDeadLetterQueue', DEFER_UNDELIVERABLE_SECONDS, log);
    }
    try {
      await sendToDeadLetter(this.#deps.sqs, spec.deadLetter.queueUrl, message, {
        reason, detail, binding: this.#name, sourceQueueUrl: spec.queueUrl,
      });
    } catch (error) {
      metrics.sqsErrors.inc({ ...this.#labels, operation: 'deadLetter' });
      throw error;
    }
    await this.#delete(message);
    this.stats.deadLettered += 1;
    metrics.messagesDeadLettered.inc({ ...this.#labels, reason });
    log.warn({ reason, detail }, 'Dead-lettered message');
  }

  async #defer(message: Message, reason: metrics.DeferReason, seconds: number, log: Logger): Promise<void> {
    this.stats.deferred += 1;
    metrics.messagesDeferred.inc({ ...this.#labels, reason });
    log.debug({ reason, seconds }, 'Returning message to SQS for later');
    await this.#changeVisibility(message, seconds).catch((error: unknown) => {
      log.warn({ err: error }, 'Could not return the message early; it reappears after its visibility timeout');
    });
  }

  /** True when SQS deleted the message. */
  async #delete(message: Message): Promise<boolean> {
    try {
      await this.#deleter.delete(message.ReceiptHandle!);
      return true;
    } catch (error) {
      // Its Job or dead-letter record exists: a redelivery collides and is deleted then.
      metrics.sqsErrors.inc({ ...this.#labels, operation: 'delete' });
      this.#deps.log.warn({ err: error, messageId: message.MessageId }, 'Delete failed; the message will be redelivered and collide');
      return false;
    }
  }

  /**
   * SQS may deliver a message again after it was deleted. With deleteExtendedPayloads its payload is
   * gone by then, so the redelivery cannot be decoded; if a Job of this binding came from the same
   * MessageId, it is a duplicate, not a dead letter.
   */
  async #alreadyDispatched(message: Message): Promise<boolean> {
    if (!this.#binding.spec.message.deleteExtendedPayloads || !message.MessageId) return false;
    const { items } = await this.#deps.batch.listNamespacedJob({
      namespace: this.#namespace, labelSelector: `${LABEL_BINDING}=${this.#name},${LABEL_MESSAGE_ID}=${labelValue(message.MessageId)}`,
    });
    return items.some((job) => job.metadata?.annotations?.[ANNOTATION_MESSAGE_ID] === message.MessageId);
  }

  /**
   * The payload travels on the Job now; S3 keeps no copy, as the AWS extended clients do on delete.
   * A dead-lettered message keeps its payload: its record is the pointer, and a redrive needs it.
   */
  async #deletePayload(pointer: { bucket: string; key: string }, log: Logger): Promise<void> {
    try {
      await this.#deps.payloads.deleteObject?.(pointer.bucket, pointer.key);
    } catch (error) {
      metrics.payloadDeleteErrors.inc(this.#labels);
      log.warn({ err: error, bucket: pointer.bucket, key: pointer.key }, 'Could not delete the extended-client payload; it stays in S3');
    }
  }

  #changeVisibility(message: Message, seconds: number): Promise<unknown> {
    return this.#deps.sqs.send(new ChangeMessageVisibilityCommand({
      QueueUrl: this.#binding.spec.queueUrl,
      ReceiptHandle: message.ReceiptHandle!,
      VisibilityTimeout: seconds,
    })).catch((error: unknown) => {
      metrics.sqsErrors.inc({ ...this.#labels, operation: 'changeVisibility' });
      throw error;
    });
  }

  /** Extends the visibility timeout while a message is being handled (slow creates, API retries). */
  #keepInvisible(message: Message, log: Logger): { stop: () => void } {
    const seconds = this.#binding.spec.receive.visibilityTimeoutSeconds;
    const timer = setInterval(() => {
      this.#changeVisibility(message, seconds).catch((error: unknown) => log.warn({ err: error }, 'Could not extend visibility'));
    }, (seconds * 1000) / 2);
    return { stop: () => clearInterval(timer) };
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }
}

class Rejection extends Error {
  readonly reason: DeadLetterReason;
  constructor(reason: DeadLetterReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * A redelivery carries the same payload as the message that made the Job; another message that
 * reuses the dedupe key does not, and must not vanish as a "duplicate". Jobs made before digests
 * were recorded have none and count as duplicates, as they did.
 */
function contentConflict(existing: k8s.V1Job, wanted: k8s.V1Job): string | undefined {
  const theirs = existing.metadata?.annotations?.[ANNOTATION_PAYLOAD_DIGEST];
  const ours = wanted.metadata?.annotations?.[ANNOTATION_PAYLOAD_DIGEST];
  if (theirs === undefined || ours === undefined || theirs === ours) return undefined;
  const key = wanted.metadata?.annotations?.[ANNOTATION_DEDUPE_KEY] ?? '';
  return `dedupe key ${key} is already Job ${existing.metadata?.name ?? ''}'s, whose message had different content `
    + `(payload sha256 ${theirs.slice(0, 12)}…, this one ${ours.slice(0, 12)}…)`;
}

/** Invalid objects are the message's (or its JobType's) fault and will not improve; the rest may. */
function classify(error: unknown): Error {
  if (error instanceof k8s.ApiException && (error.code === 400 || error.code === 422)) {
    return new AbortError(new Rejection('JobRejected', `the API server rejected the Job: ${apiMessage(error)}`));
  }
  return error as Error;
}

function apiMessage(error: k8s.ApiException<unknown>): string {
  const body = typeof error.body === 'string' ? safeJson(error.body) : error.body;
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : error.message;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const aborted = (signal: AbortSignal): Promise<void> =>
  signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
