// Level-triggered handling of each Job Sluice created. Every phase change is written to the
// application's record (monotonic, so repeats and late writes are harmless). When the Job finishes,
// its outcome is recorded, then a failure is dead-lettered and notified, a success sends its
// follow-up, a fan-in group is counted — each step marked on the Job so a retry does not repeat
// it — and only then does the finalizer come off, so no delete can lose an outcome.
import { SendMessageCommand, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { FollowUp, JobType, Phase } from '../api/schemas.ts';
import type { JobTypeLookup } from '../dispatch/plan.ts';
import { decodeMessage } from '../decode/index.ts';
import {
  ANNOTATION_DEAD_LETTER_QUEUE, ANNOTATION_FAN_IN_EXPECTED, ANNOTATION_FAN_IN_GROUP, ANNOTATION_MESSAGE_ATTRIBUTES,
  ANNOTATION_MESSAGE_ID, ANNOTATION_OUTCOME_DONE, ANNOTATION_PAYLOAD, ANNOTATION_PAYLOAD_FORMAT, ANNOTATION_QUEUE_URL,
  ATTRIBUTE_DEDUPE_KEY, FINALIZER_OUTCOME, LABEL_BINDING, LABEL_JOB_TYPE, LABEL_MANAGED_BY, MANAGED_BY,
  ANNOTATION_STATUS_KEY,
} from '../job/labels.ts';
import { isAlreadyExists, isConflict, isNotFound, type BatchApi, type CoreApi } from '../kube/client.ts';
import { EventReason } from '../kube/event-reasons.ts';
import { done, requeueAfter, type ReconcileRequest, type ReconcileResult } from '../kube/work-queue.ts';
import type { Logger } from '../log.ts';
import type { Notifications } from '../api/schemas.ts';
import type { FailureReport } from '../notify/types.ts';
import { celToJson, compileCached, type MessageContext } from '../route/cel.ts';
import type { StatusSinkClient } from '../sinks/types.ts';
import { writeVersion } from '../sinks/types.ts';
import { sendToDeadLetter } from '../sqs/dead-letter.ts';
import type { ObjectCache } from './cache.ts';
import { hasOutcomeFinalizer } from './job-phase.ts';
import { observedPhase, outcomeFacts, sentAtMillis, sinkFields, type Facts } from './outcome-facts.ts';
import type { EventSink } from './queue-binding.ts';

export type JobOutcomeDeps = {
  batch: BatchApi;
  core: CoreApi;
  jobs: ObjectCache<k8s.V1Job>;
  jobTypes: JobTypeLookup;
  sinks: (namespace: string, name: string) => Promise<StatusSinkClient>;
  notify: (report: FailureReport, config: Notifications, namespace: string) => Promise<void>;
  sqsFor: (queueUrl: string, options?: { region?: string; endpoint?: string }) => SQSClient;
  event: EventSink;
  now?: () => Date;
};

type Step = 'dead-letter' | 'notify' | 'on-success' | 'fan-in';

export class JobOutcomeReconciler {
  readonly #deps: JobOutcomeDeps;
  /** Phases already written by this process, per Job uid: spares the database repeat writes. */
  readonly #written = new Map<string, Phase>();

  constructor(deps: JobOutcomeDeps) {
    this.#deps = deps;
  }

  readonly reconcile = async ({ namespace, name, logger }: ReconcileRequest): Promise<ReconcileResult> => {
    const job = this.#deps.jobs.get(namespace!, name);
    if (!job || !hasOutcomeFinalizer(job)) return done;
    const found = this.#deps.jobTypes(namespace!, job.metadata?.labels?.[LABEL_JOB_TYPE] ?? '');
    const jobType = 'jobType' in found ? found.jobType : undefined;

    let phase = observedPhase(job);
    let override: { reason: string; message: string } | undefined;
    let deleteJob = false;
    if (phase === 'queued' || phase === 'running') {
      if (job.metadata?.deletionTimestamp) {
        phase = 'failed';
        override = { reason: 'Deleted', message: 'the Job was deleted before it finished' };
      } else {
        const pending = await this.#unschedulable(job, jobType);
        if ('failed' in pending) {
          phase = 'failed';
          override = pending.failed;
          deleteJob = true;
        } else {
          await this.#writeSink(job, jobType, outcomeFacts(job, [], phase), logger);
          return pending.recheckAfterMs ? requeueAfter(pending.recheckAfterMs) : done;
        }
      }
    }

    const pods = await this.#pods(job);
    const facts = outcomeFacts(job, pods, phase, override);
    await this.#writeSink(job, jobType, facts, logger);
    const doneSteps = new Set((job.metadata?.annotations?.[ANNOTATION_OUTCOME_DONE] ?? '').split(',').filter(Boolean));
    const step = async (name: Step, run: () => Promise<void>) => {
      if (doneSteps.has(name)) return;
      await run();
      doneSteps.add(name);
      await this.#markDone(job, doneSteps);
    };

    if (phase === 'failed') {
      this.#deps.event(job, 'Warning', EventReason.JobFailed, `${facts.reason ?? 'Failed'}: ${facts.message ?? 'no message'}`);
      if (jobType) this.#deps.event(jobType, 'Warning', EventReason.JobFailed, `Job ${name} failed: ${facts.reason ?? 'Failed'}`);
      await step('dead-letter', () => this.#deadLetter(job, facts, logger));
      const notifications = jobType?.spec.notifications;
      if (notifications) await step('notify', () => this.#deps.notify(this.#report(job, facts), notifications, namespace!));
    }
    const onSuccess = jobType?.spec.onSuccess;
    if (phase === 'succeeded' && onSuccess) {
      await step('on-success', () => this.#followUp(job, facts, onSuccess, `${namespace}/${name}/on-success`, logger));
    }
    if (jobType?.spec.fanIn && job.metadata?.annotations?.[ANNOTATION_FAN_IN_GROUP] !== undefined) {
      await step('fan-in', () => this.#fanIn(job, jobType, facts, logger));
    }

    if (deleteJob) {
      await this.#deps.batch.deleteNamespacedJob({ namespace: namespace!, name, propagationPolicy: 'Background' }).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
    await this.#removeFinalizer(job);
    this.#written.delete(job.metadata?.uid ?? '');
    logger.info({ phase, reason: facts.reason }, 'Recorded Job outcome; removed finalizer');
    return done;
  };

  async #writeSink(job: k8s.V1Job, jobType: JobType | undefined, facts: Facts, logger: Logger): Promise<void> {
    const mapping = jobType?.spec.statusSink;
    const key = job.metadata?.annotations?.[ANNOTATION_STATUS_KEY];
    if (!mapping || key === undefined) return;
    const uid = job.metadata?.uid ?? '';
    if (this.#written.get(uid) === facts.phase) return;
    const namespace = job.metadata!.namespace!;
    try {
      const sink = await this.#deps.sinks(namespace, mapping.name);
      const result = await sink.write({
        table: mapping.table ?? '',
        keyField: mapping.key.field,
        key,
        version: writeVersion(sentAtMillis(job), facts.phase),
        versionField: mapping.versionField,
        fields: sinkFields(mapping, facts),
        createIfMissing: mapping.createIfMissing,
      });
      this.#written.set(uid, facts.phase);
      logger.debug({ phase: facts.phase, key, result }, 'Wrote status');
      if (result === 'missing') {
        this.#deps.event(job, 'Warning', EventReason.StatusRecordMissing, `no record with ${mapping.key.field}=${key} in ${mapping.name}; createIfMissing is false`);
      }
    } catch (error) {
      const message = `writing ${facts.phase} to StatusSink ${mapping.name} failed: ${(error as Error).message}`;
      this.#deps.event(job, 'Warning', EventReason.SinkWriteFailed, message);
      if (jobType) this.#deps.event(jobType, 'Warning', EventReason.SinkWriteFailed, message);
      throw new Error(message, { cause: error });
    }
  }

  /** Fails a Job whose pod has not been scheduled within retries.maxPendingSeconds. */
  async #unschedulable(job: k8s.V1Job, jobType: JobType | undefined): Promise<{ failed: { reason: string; message: string } } | { recheckAfterMs?: number }> {
    const maxPending = jobType?.spec.retries.maxPendingSeconds;
    if (!maxPending || (job.status?.ready ?? 0) > 0) return {};
    const age = this.#now() - new Date(job.metadata?.creationTimestamp ?? this.#now()).getTime();
    if (age < maxPending * 1000) return { recheckAfterMs: maxPending * 1000 - age + 500 };
    const unscheduled = (await this.#pods(job))
      .map((pod) => pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'))
      .find((condition) => condition !== undefined);
    if (!unscheduled) return { recheckAfterMs: 10_000 };
    return {
      failed: {
        reason: 'Unschedulable',
        message: `no node could run the pod for ${maxPending}s: ${unscheduled.message ?? unscheduled.reason ?? ''}`.trim(),
      },
    };
  }

  async #deadLetter(job: k8s.V1Job, facts: Facts, logger: Logger): Promise<void> {
    const queueUrl = job.metadata?.annotations?.[ANNOTATION_DEAD_LETTER_QUEUE];
    if (!queueUrl) {
      logger.info('Job failed; its binding has no dead-letter queue');
      return;
    }
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const [name, value] of Object.entries(parseAttributes(job))) attributes[name] = { DataType: 'String', StringValue: value };
    const extra: Record<string, string> = {
      JobName: job.metadata!.name!,
      JobType: job.metadata?.labels?.[LABEL_JOB_TYPE] ?? '',
      Attempts: String(facts.attempts ?? 0),
    };
    if (facts.exitCode !== undefined) extra.ExitCode = String(facts.exitCode);
    await sendToDeadLetter(this.#deps.sqsFor(queueUrl), queueUrl, {
      Body: await this.#payload(job),
      MessageId: job.metadata?.annotations?.[ANNOTATION_MESSAGE_ID],
      MessageAttributes: attributes,
    }, {
      reason: 'JobFailed',
      detail: `${facts.reason ?? 'Failed'}: ${facts.message ?? ''}`.trim(),
      binding: job.metadata?.labels?.[LABEL_BINDING] ?? '',
      sourceQueueUrl: job.metadata?.annotations?.[ANNOTATION_QUEUE_URL] ?? '',
      extra,
    });
    logger.info({ queueUrl }, 'Dead-lettered the failed Job\'s message');
  }

  /** Sends the next step's message; its dedupe key makes a repeat (after a crash) collide downstream. */
  async #followUp(job: k8s.V1Job, facts: Facts, followUp: FollowUp, dedupeKey: string, logger: Logger, context?: MessageContext): Promise<void> {
    const messageContext = context ?? await this.#context(job, facts);
    const result = compileCached(followUp.body)(messageContext);
    if ('error' in result) throw new Error(`follow-up body ${followUp.body}: ${result.error}`);
    const value = celToJson(result.value);
    const body = typeof value === 'string' ? value : JSON.stringify(value);
    const fifo = followUp.queueUrl.endsWith('.fifo');
    await this.#deps.sqsFor(followUp.queueUrl, followUp).send(new SendMessageCommand({
      QueueUrl: followUp.queueUrl,
      MessageBody: body,
      MessageAttributes: { [ATTRIBUTE_DEDUPE_KEY]: { DataType: 'String', StringValue: dedupeKey } },
      ...(fifo && { MessageGroupId: job.metadata?.labels?.[LABEL_BINDING] ?? 'sluice', MessageDeduplicationId: hash(dedupeKey) }),
    }));
    this.#deps.event(job, 'Normal', EventReason.FollowUpSent, `Sent a message to ${followUp.queueUrl}`);
    logger.info({ queueUrl: followUp.queueUrl }, 'Sent follow-up message');
  }

  /**
   * Counts this Job into its fan-in group (a ConfigMap, so the count survives restarts and Job
   * deletion). The Job that completes the group claims the send in the same write, so only one
   * Job ever sends it; the claim also lets that Job resend after a crash before the send.
   */
  async #fanIn(job: k8s.V1Job, jobType: JobType, facts: Facts, logger: Logger): Promise<void> {
    const namespace = job.metadata!.namespace!;
    const jobName = job.metadata!.name!;
    const group = job.metadata!.annotations![ANNOTATION_FAN_IN_GROUP]!;
    const expected = Number(job.metadata!.annotations![ANNOTATION_FAN_IN_EXPECTED]);
    const name = `sluice-fanin-${hash(`${jobType.metadata.name}/${group}`).slice(0, 20)}`;
    const { core } = this.#deps;

    let state: k8s.V1ConfigMap;
    try {
      state = await core.readNamespacedConfigMap({ namespace, name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        state = await core.createNamespacedConfigMap({
          namespace,
          body: {
            metadata: { name, labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_JOB_TYPE]: jobType.metadata.name }, annotations: { [ANNOTATION_FAN_IN_GROUP]: group } },
            data: {},
          },
        });
      } catch (createError) {
        if (isAlreadyExists(createError)) throw new Error('fan-in state created concurrently; retrying', { cause: createError });
        throw createError;
      }
    }
    const data = { ...state.data };
    data[`job.${jobName}`] = facts.phase;
    const finished = Object.keys(data).filter((k) => k.startsWith('job.')).length;
    const complete = finished >= expected;
    if (complete && !data.claimedBy) data.claimedBy = jobName;
    if (JSON.stringify(data) !== JSON.stringify(state.data ?? {})) {
      try {
        state = await core.replaceNamespacedConfigMap({ namespace, name, body: { ...state, data } });
      } catch (error) {
        if (isConflict(error)) throw new Error('fan-in state changed concurrently; retrying', { cause: error });
        throw error;
      }
    }
    logger.debug({ group, finished, expected }, 'Counted Job into its fan-in group');
    if (state.data?.claimedBy !== jobName || state.data.sentAt) return;

    const context = await this.#context(job, facts);
    context.job = { ...context.job, group, finished, expected };
    await this.#followUp(job, facts, jobType.spec.fanIn!.send, `${namespace}/fan-in/${jobType.metadata.name}/${group}`, logger, context);
    await core.replaceNamespacedConfigMap({
      namespace, name, body: { ...state, data: { ...state.data, sentAt: new Date(this.#now()).toISOString() } },
    });
  }

  async #context(job: k8s.V1Job, facts: Facts): Promise<MessageContext> {
    const format = job.metadata?.annotations?.[ANNOTATION_PAYLOAD_FORMAT] ?? 'text';
    const raw = await this.#payload(job);
    const decoded = await decodeMessage(
      { body: raw, messageAttributes: {} },
      { format: format === 'json' || format === 'pipe' ? format : 'text', unwrap: [], pipeFields: ['type', 'jobId', 'metadata'], maxBodyBytes: Number.MAX_SAFE_INTEGER },
      { getObject: () => Promise.reject(new Error('no payload store when finishing a Job')) },
    );
    return {
      body: decoded.body,
      attributes: {},
      messageAttributes: parseAttributes(job),
      envelope: {},
      result: facts.result ?? null,
      job: {
        name: job.metadata?.name,
        namespace: job.metadata?.namespace,
        jobType: job.metadata?.labels?.[LABEL_JOB_TYPE],
        binding: job.metadata?.labels?.[LABEL_BINDING],
        messageId: facts.messageId,
        phase: facts.phase,
      },
    };
  }

  /** The message as the producer sent it: on the pod template, or in the Job's Secret. */
  async #payload(job: k8s.V1Job): Promise<string> {
    const inline = job.spec?.template.metadata?.annotations?.[ANNOTATION_PAYLOAD];
    if (inline !== undefined) return inline;
    const secret = await this.#deps.core.readNamespacedSecret({ namespace: job.metadata!.namespace!, name: job.metadata!.name! });
    return Buffer.from(secret.data?.payload ?? '', 'base64').toString('utf8');
  }

  async #pods(job: k8s.V1Job): Promise<k8s.V1Pod[]> {
    const list = await this.#deps.core.listNamespacedPod({
      namespace: job.metadata!.namespace!,
      labelSelector: `batch.kubernetes.io/controller-uid=${job.metadata!.uid!}`,
    });
    return list.items;
  }

  #report(job: k8s.V1Job, facts: Facts): FailureReport {
    return {
      namespace: job.metadata!.namespace!,
      jobType: job.metadata?.labels?.[LABEL_JOB_TYPE] ?? '',
      binding: job.metadata?.labels?.[LABEL_BINDING] ?? '',
      jobName: job.metadata!.name!,
      messageId: facts.messageId ?? '',
      reason: facts.reason ?? 'Failed',
      ...(facts.exitCode !== undefined && { exitCode: facts.exitCode }),
      attempts: facts.attempts ?? 0,
      ...(facts.message !== undefined && { message: facts.message }),
      payload: job.spec?.template.metadata?.annotations?.[ANNOTATION_PAYLOAD] ?? '(payload kept in a Secret)',
      failedAt: facts.finishedAt ?? new Date(this.#now()),
    };
  }

  async #markDone(job: k8s.V1Job, steps: Set<string>): Promise<void> {
    await this.#deps.batch.patchNamespacedJob(
      { namespace: job.metadata!.namespace!, name: job.metadata!.name!, body: { metadata: { annotations: { [ANNOTATION_OUTCOME_DONE]: [...steps].join(',') } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  /** Removes only our finalizer, guarded by resourceVersion so a concurrent change is re-read, not lost. */
  async #removeFinalizer(job: k8s.V1Job): Promise<void> {
    const current = await this.#deps.batch.readNamespacedJob({ namespace: job.metadata!.namespace!, name: job.metadata!.name! }).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (!current) return;
    const finalizers = (current.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER_OUTCOME);
    try {
      await this.#deps.batch.patchNamespacedJob(
        { namespace: current.metadata!.namespace!, name: current.metadata!.name!, body: { metadata: { finalizers, resourceVersion: current.metadata!.resourceVersion } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (isNotFound(error)) return;
      if (isConflict(error)) throw new Error('Job changed while removing the finalizer; retrying', { cause: error });
      throw error;
    }
  }

  #now(): number {
    return this.#deps.now?.().getTime() ?? Date.now();
  }
}

function parseAttributes(job: k8s.V1Job): Record<string, string> {
  try {
    return JSON.parse(job.metadata?.annotations?.[ANNOTATION_MESSAGE_ATTRIBUTES] ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
