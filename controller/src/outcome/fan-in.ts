// Counts a finished Job into its fan-in group and, for the Job that completes the group, sends the
// group's one message. The count lives in a ConfigMap, so it survives restarts and Job deletion; the
// Job that completes the group claims the send in the same write, so only one Job ever sends it,
// and the claim lets that Job resend after a crash before the send. A sent (or given-up) group is
// kept a while for late redeliveries, then deleted (fan-in-retention.ts).
import type * as k8s from '@kubernetes/client-node';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import type { JobType } from '../api/schemas.ts';
import { ANNOTATION_FAN_IN_EXPECTED, ANNOTATION_FAN_IN_GROUP, LABEL_BINDING, LABEL_JOB_TYPE, LABEL_MANAGED_BY, MANAGED_BY } from '../job/labels.ts';
import { isAlreadyExists, isConflict, isNotFound, type CoreApi } from '../kube/client.ts';
import type { Logger } from '../log.ts';
import type { MessageContext } from '../route/cel.ts';
import { planFollowUp, sendMessages } from './follow-up.ts';
import { OutcomeError } from './outcome-error.ts';

/** Set on a group's ConfigMap once its message was sent, or given up for good. */
export const FAN_IN_SENT_AT = 'sentAt';
export const FAN_IN_FAILED_AT = 'failedAt';

export type FanInDeps = {
  core: Pick<CoreApi, 'readNamespacedConfigMap' | 'createNamespacedConfigMap' | 'replaceNamespacedConfigMap'>;
  sqsFor: (queueUrl: string, options?: { region?: string; endpoint?: string }) => SQSClient;
  now: () => number;
};

export function fanInConfigMapName(jobType: string, group: string): string {
  return `sluice-fanin-${createHash('sha256').update(`${jobType}/${group}`).digest('hex').slice(0, 20)}`;
}

/**
 * Counts the Job and, when it completes the group, sends the group's message. `context` builds the
 * message context (the group's counts are added to job.*). Throws OutcomeError when the message can
 * never be built or sent; the group is then marked failed, not left claimed for ever.
 */
export async function countIntoFanIn(
  deps: FanInDeps, job: k8s.V1Job, jobType: JobType, phase: string, context: () => Promise<MessageContext>, logger: Logger,
): Promise<void> {
  const namespace = job.metadata!.namespace!;
  const jobName = job.metadata!.name!;
  const group = job.metadata!.annotations![ANNOTATION_FAN_IN_GROUP]!;
  const expected = Number(job.metadata!.annotations![ANNOTATION_FAN_IN_EXPECTED]);
  const name = fanInConfigMapName(jobType.metadata.name, group);
  const { core } = deps;

  let state = await readOrCreate(deps, namespace, name, jobType.metadata.name, group);
  const data = { ...state.data };
  data[`job.${jobName}`] = phase;
  const finished = Object.keys(data).filter((k) => k.startsWith('job.')).length;
  if (finished >= expected && !data.claimedBy) data.claimedBy = jobName;
  if (JSON.stringify(data) !== JSON.stringify(state.data ?? {})) state = await replace(core, namespace, name, { ...state, data });
  logger.debug({ group, finished, expected }, 'Counted Job into its fan-in group');
  if (state.data?.claimedBy !== jobName || state.data[FAN_IN_SENT_AT] || state.data[FAN_IN_FAILED_AT]) return;

  const send = jobType.spec.fanIn!.send;
  try {
    const base = await context();
    const messages = planFollowUp(send, { ...base, job: { ...base.job, group, finished, expected } }, `${namespace}/fan-in/${jobType.metadata.name}/${group}`, 'fanIn.send', 'FanInInvalid');
    await sendMessages(deps.sqsFor(send.queueUrl, send), send.queueUrl, messages, job.metadata?.labels?.[LABEL_BINDING] ?? 'sluice', 'FanInInvalid');
  } catch (error) {
    if (error instanceof OutcomeError) await replace(core, namespace, name, { ...state, data: { ...state.data, [FAN_IN_FAILED_AT]: new Date(deps.now()).toISOString() } });
    throw error;
  }
  await replace(core, namespace, name, { ...state, data: { ...state.data, [FAN_IN_SENT_AT]: new Date(deps.now()).toISOString() } });
  logger.info({ group, queueUrl: send.queueUrl }, 'Sent fan-in message');
}

async function readOrCreate(deps: FanInDeps, namespace: string, name: string, jobType: string, group: string): Promise<k8s.V1ConfigMap> {
  try {
    return await deps.core.readNamespacedConfigMap({ namespace, name });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    return await deps.core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name, labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_JOB_TYPE]: jobType }, annotations: { [ANNOTATION_FAN_IN_GROUP]: group } },
        data: {},
      },
    });
  } catch (error) {
    if (isAlreadyExists(error)) throw new Error('fan-in state created concurrently; retrying', { cause: error });
    throw error;
  }
}

async function replace(core: FanInDeps['core'], namespace: string, name: string, body: k8s.V1ConfigMap): Promise<k8s.V1ConfigMap> {
  try {
    return await core.replaceNamespacedConfigMap({ namespace, name, body });
  } catch (error) {
    if (isConflict(error)) throw new Error('fan-in state changed concurrently; retrying', { cause: error });
    throw error;
  }
}
