// Level-triggered handling of each Job Sluice created. Every phase change is written to the
// application's record. When the Job finishes, its outcome is recorded; a failure is dead-lettered
// and notified, a success sends its follow-ups, a fan-in group is counted — each step once, however
// stale the cache (outcome/ledger.ts) — the message is made sure to be gone from SQS, and only then
// does the finalizer come off, so no delete can lose an outcome or let the message run again.
// A step that can never succeed is recorded and given up (outcome/failures.ts) instead of retried.
// Each side effect lives in its own module under outcome/; this file is the order they run in.
import type * as k8s from '@kubernetes/client-node';
import { lazy } from '../lazy.ts';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { JobType, Notifications } from '../api/schemas.ts';
import type { JobTypeLookup } from '../dispatch/plan.ts';
import { ANNOTATION_FAN_IN_GROUP, ANNOTATION_OUTCOME_DONE, ANNOTATION_PAYLOAD, LABEL_BINDING, LABEL_JOB_TYPE } from '../job/labels.ts';
import { isNotFound, mergePatch, type BatchApi, type CoreApi } from '../kube/client.ts';
import { EventReason } from '../kube/event-reasons.ts';
import { messageLeftOut } from '../kube/slim.ts';
import { done, requeueAfter, TerminalError, type ReconcileRequest, type ReconcileResult } from '../kube/work-queue.ts';
import type { Logger } from '../log.ts';
import { jobFinished, messagesDeadLettered } from '../metrics.ts';
import type { FailureReport } from '../notify/types.ts';
import { deadLetterJob } from '../outcome/dead-letter.ts';
import { countIntoFanIn } from '../outcome/fan-in.ts';
import { releaseFinalizer } from '../outcome/finalizer.ts';
import { OutcomeFailures } from '../outcome/failures.ts';
import { planFollowUp, sendMessages, type PlannedMessage } from '../outcome/follow-up.ts';
import type { OutcomeHealth } from '../outcome/health.ts';
import type { OutcomeLedger, Step } from '../outcome/ledger.ts';
import { messageContext, payloadOf } from '../outcome/message-context.ts';
import type { MessageRelease } from '../outcome/message-release.ts';
import { OutcomeError } from '../outcome/outcome-error.ts';
import { StatusRecorder } from '../outcome/status.ts';
import type { StatusSinkClient } from '../sinks/types.ts';
import type { ObjectCache } from './cache.ts';
import { hasOutcomeFinalizer } from './job-phase.ts';
import { lastPod, observedPhase, outcomeFacts, type Facts } from './outcome-facts.ts';
import type { EventSink } from './queue-binding.ts';

export type JobOutcomeDeps = {
  batch: BatchApi;
  core: CoreApi;
  jobs: ObjectCache<k8s.V1Job>;
  /** The Job's pods, from the pod informer (outcome/pods.ts). */
  pods: (job: k8s.V1Job) => k8s.V1Pod[];
  jobTypes: JobTypeLookup;
  sinks: (namespace: string, name: string) => Promise<StatusSinkClient>;
  notify: (report: FailureReport, config: Notifications, namespace: string) => Promise<void>;
  sqsFor: (queueUrl: string, options?: { region?: string; endpoint?: string }) => SQSClient;
  event: EventSink;
  ledger: OutcomeLedger;
  health: OutcomeHealth;
  messages: MessageRelease;
  now?: () => Date;
};

/** A finished Job's pods may reach the pod cache after the Job's verdict reaches the Job cache. */
const POD_SETTLE_MS = 10_000;
const POD_SETTLE_RECHECK_MS = 1_000;
/** A finalizer patch whose `test` failed: our copy is older than the Job; the cache catches up. */
const FINALIZER_RECHECK_MS = 1_000;

export class JobOutcomeReconciler {
  readonly #deps: JobOutcomeDeps;
  readonly #status: StatusRecorder;
  readonly #failures: OutcomeFailures;

  constructor(deps: JobOutcomeDeps) {
    this.#deps = deps;
    this.#status = new StatusRecorder({ sinks: deps.sinks, event: deps.event });
    this.#failures = new OutcomeFailures(deps.event, deps.health);
  }

  readonly reconcile = async ({ namespace, name, logger }: ReconcileRequest): Promise<ReconcileResult> => {
    const { ledger } = this.#deps;
    const cached = this.#deps.jobs.get(namespace!, name);
    if (!cached || !hasOutcomeFinalizer(cached) || ledger.isReleased(cached)) return done;
    let job = cached;
    const found = this.#deps.jobTypes(namespace!, job.metadata?.labels?.[LABEL_JOB_TYPE] ?? '');
    const jobType = 'jobType' in found ? found.jobType : undefined;
    const terminal = (error: unknown) => {
      if (!(error instanceof OutcomeError)) throw error;
      this.#failures.record(job, jobType, error, logger);
    };

    let phase = observedPhase(job);
    let override: { reason: string; message: string } | undefined;
    let deleteJob = false;
    if (phase === 'queued' || phase === 'running') {
      if (job.metadata?.deletionTimestamp) {
        phase = 'failed';
        override = { reason: 'Deleted', message: 'the Job was deleted before it finished' };
      } else {
        const pending = this.#unschedulable(job, jobType);
        if (!('failed' in pending)) {
          await this.#status.write(job, jobType, outcomeFacts(job, [], phase), logger).catch(terminal);
          return pending.recheckAfterMs ? requeueAfter(pending.recheckAfterMs) : done;
        }
        phase = 'failed';
        override = pending.failed;
        deleteJob = true;
        // The cache keeps an unfinished Job without its message; its dead letter needs it.
        if (messageLeftOut(job)) {
          const whole = await this.#deps.batch.readNamespacedJob({ namespace: namespace!, name }).catch((error: unknown) => {
            if (isNotFound(error)) return undefined;
            throw error;
          });
          if (!whole || !hasOutcomeFinalizer(whole)) return done;
          job = whole;
        }
      }
    }

    const pods = this.#deps.pods(job);
    let facts = outcomeFacts(job, pods, phase, override);
    if (!override && !this.#podsSettled(pods, facts)) return requeueAfter(POD_SETTLE_RECHECK_MS);
    // The payload is read (maybe from a Secret) only when a step needs it.
    const context = lazy(async () => messageContext(job, await payloadOf(this.#deps.core, job), facts));

    // A success whose follow-up can never be built did not complete: say so in the record too.
    let followUps: PlannedMessage[] = [];
    const onSuccess = jobType?.spec.onSuccess;
    if (phase === 'succeeded' && onSuccess) {
      try {
        followUps = planFollowUp(onSuccess, await context(), `${namespace}/${name}/on-success`, 'onSuccess', 'FollowUpInvalid');
      } catch (error) {
        terminal(error);
        facts = { ...facts, phase: 'failed', reason: EventReason.OutcomeFailed, message: (error as Error).message };
      }
    }
    await this.#status.write(job, jobType, facts, logger).catch(terminal);

    const steps = this.#steps(job, logger);
    if (facts.phase === 'failed') {
      // A success whose outcome failed was recorded as such (OutcomeFailed) above.
      // One Event per failure, on the Job; the JobType's status counts failures (no Event per Job there).
      if (phase === 'failed') this.#deps.event(job, 'Warning', EventReason.JobFailed, `${facts.reason ?? 'Failed'}: ${facts.message ?? 'no message'}`);
      const reason = phase === 'failed' ? 'JobFailed' : 'OutcomeFailed';
      await steps.run('dead-letter', () => this.#deadLetter(job, facts, reason, `${facts.reason ?? 'Failed'}: ${facts.message ?? ''}`.trim(), logger)).catch(terminal);
      const notifications = jobType?.spec.notifications;
      if (notifications) await steps.run('notify', () => this.#deps.notify(this.#report(job, facts), notifications, namespace!));
    }
    if (followUps.length > 0 && onSuccess) {
      await steps.run('on-success', async () => {
        try {
          // A FIFO follow-up stays in its message's group; other messages share their binding's.
          const group = (await context()).attributes.MessageGroupId ?? job.metadata?.labels?.[LABEL_BINDING] ?? 'sluice';
          await sendMessages(this.#deps.sqsFor(onSuccess.queueUrl, onSuccess), onSuccess.queueUrl, followUps, group);
          this.#deps.event(job, 'Normal', EventReason.FollowUpSent, `Sent ${followUps.length} message(s) to ${onSuccess.queueUrl}`);
        } catch (error) {
          terminal(error);
          await this.#deadLetter(job, facts, 'OutcomeFailed', (error as Error).message, logger).catch(terminal);
        }
      });
    }
    if (jobType?.spec.fanIn && job.metadata?.annotations?.[ANNOTATION_FAN_IN_GROUP] !== undefined) {
      await steps.run('fan-in', async () => {
        try {
          await countIntoFanIn({ core: this.#deps.core, sqsFor: this.#deps.sqsFor, now: () => this.#now() }, job, jobType, facts.phase, context, logger);
        } catch (error) {
          terminal(error);
          await this.#deadLetter(job, facts, 'OutcomeFailed', (error as Error).message, logger).catch(terminal);
        }
      });
    }

    // Coming back later (or failing here), what ran is first marked on the Job: the retry may be
    // another process's.
    const released = await this.#releaseJob(job, deleteJob, steps).catch(async (error: unknown) => {
      await steps.flush().catch(() => undefined);
      throw error;
    });
    if (released !== 'released') {
      await steps.flush();
      return requeueAfter(released.waitMs);
    }
    ledger.released(job);
    jobFinished(namespace!, job.metadata?.labels?.[LABEL_JOB_TYPE] ?? '', phase, facts.durationSeconds);
    this.#status.forget(job.metadata?.uid ?? '');
    logger.info({ phase: facts.phase, reason: facts.reason }, 'Recorded Job outcome; removed finalizer');
    const failures = this.#failures.of(job);
    if (failures.length > 0) {
      throw new TerminalError(`outcome of Job ${namespace}/${name} recorded incompletely: ${failures.map((f) => `${f.reason}: ${f.message}`).join('; ')}`);
    }
    if (jobType) this.#deps.health.recorded(namespace!, jobType.metadata.name);
    return done;
  };

  /** The message gone from SQS, the Job deleted if asked, then the finalizer off. */
  async #releaseJob(job: k8s.V1Job, deleteJob: boolean, steps: OutcomeSteps): Promise<'released' | { waitMs: number }> {
    const release = await this.#deps.messages.release(job);
    if ('waitMs' in release) return { waitMs: release.waitMs };
    if (deleteJob) {
      await this.#deps.batch.deleteNamespacedJob({ namespace: job.metadata!.namespace!, name: job.metadata!.name!, propagationPolicy: 'Background' }).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
    if ((await releaseFinalizer(this.#deps.batch, steps.latest())) === 'changed') return { waitMs: FINALIZER_RECHECK_MS };
    return 'released';
  }

  /** The Job is gone (informer delete): nothing of it will come back. */
  forget(uid: string): void {
    this.#deps.ledger.forget(uid);
    this.#status.forget(uid);
    this.#failures.forget(uid);
    this.#deps.messages.forget(uid);
  }

  /**
   * Runs each step at most once (the ledger). What is done is written to the Job (so a restarted
   * controller does not repeat it) before the next step starts, or before the reconcile comes back
   * later; after the last step it is not written at all, since the finalizer removal follows at
   * once — a crash between them repeats that step, as a crash between a step and its mark would.
   * A mark's answer is the freshest copy of the Job, which the finalizer patch then uses.
   */
  #steps(job: k8s.V1Job, logger: Logger): OutcomeSteps {
    const { ledger } = this.#deps;
    let latest = job;
    let unmarked = false;
    const flush = async (): Promise<void> => {
      if (!unmarked) return;
      latest = await this.#deps.batch.patchNamespacedJob(
        { namespace: job.metadata!.namespace!, name: job.metadata!.name!, body: { metadata: { annotations: { [ANNOTATION_OUTCOME_DONE]: [...ledger.done(job)].join(',') } } } },
        mergePatch(),
      );
      unmarked = false;
    };
    return {
      run: async (step, run) => {
        if (ledger.done(job).has(step)) return;
        await flush();
        await run();
        ledger.add(job, step);
        unmarked = true;
        logger.debug({ step }, 'Outcome step done');
      },
      flush,
      latest: () => latest,
    };
  }

  async #deadLetter(job: k8s.V1Job, facts: Facts, reason: 'JobFailed' | 'OutcomeFailed', detail: string, logger: Logger): Promise<void> {
    const sent = await deadLetterJob((queueUrl) => this.#deps.sqsFor(queueUrl), job, await payloadOf(this.#deps.core, job), facts, reason, detail);
    if (sent) {
      messagesDeadLettered.inc({ namespace: job.metadata!.namespace!, binding: job.metadata?.labels?.[LABEL_BINDING] ?? '', reason });
      logger.info({ reason }, 'Dead-lettered the Job\'s message');
    }
    else logger.info({ reason }, 'The Job\'s message cannot be dead-lettered: its binding has no dead-letter queue');
  }

  /** Fails a Job whose pod has not been scheduled within retries.maxPendingSeconds. */
  #unschedulable(job: k8s.V1Job, jobType: JobType | undefined): { failed: { reason: string; message: string } } | { recheckAfterMs?: number } {
    const maxPending = jobType?.spec.retries.maxPendingSeconds;
    if (!maxPending || (job.status?.ready ?? 0) > 0) return {};
    const age = this.#now() - new Date(job.metadata?.creationTimestamp ?? this.#now()).getTime();
    if (age < maxPending * 1000) return { recheckAfterMs: maxPending * 1000 - age + 500 };
    const unscheduled = this.#deps.pods(job)
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

  /** Whether the last pod's end (exit code, termination message: the result) is in the cache yet. */
  #podsSettled(pods: k8s.V1Pod[], facts: Facts): boolean {
    if (facts.phase !== 'succeeded' && facts.phase !== 'failed') return true;
    const pod = lastPod(pods);
    const terminated = pod?.status?.containerStatuses?.some((c) => c.state?.terminated !== undefined) ?? false;
    if (terminated) return true;
    return facts.finishedAt === undefined || this.#now() - facts.finishedAt.getTime() > POD_SETTLE_MS;
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

  #now(): number {
    return this.#deps.now?.().getTime() ?? Date.now();
  }
}

type OutcomeSteps = {
  run: (step: Step, run: () => Promise<unknown>) => Promise<void>;
  /** Writes the steps done so far to the Job, if any is not there yet. */
  flush: () => Promise<void>;
  latest: () => k8s.V1Job;
};

