// Sends a finished Job's message to its binding's dead-letter queue with the Job's diagnostics:
// a failed Job (JobFailed), or a Job whose outcome could not be completed (OutcomeFailed), so
// nothing is lost when a follow-up cannot be sent.
import type * as k8s from '@kubernetes/client-node';
import type { MessageAttributeValue, SQSClient } from '@aws-sdk/client-sqs';
import { ANNOTATION_DEAD_LETTER_QUEUE, ANNOTATION_MESSAGE_ID, ANNOTATION_QUEUE_URL, LABEL_BINDING, LABEL_JOB_TYPE } from '../job/labels.ts';
import type { Facts } from '../reconcile/outcome-facts.ts';
import { sendToDeadLetter } from '../sqs/dead-letter.ts';
import { messageAttributesOf } from './message-context.ts';
import { OutcomeError } from './outcome-error.ts';

/** SQS's answers that mean the message itself can never be sent. */
const REFUSED = new Set(['InvalidMessageContents', 'InvalidParameterValue', 'InvalidAttributeValue', 'InvalidAttributeName']);

/** False when the binding has no dead-letter queue. */
export async function deadLetterJob(
  sqsFor: (queueUrl: string) => SQSClient,
  job: k8s.V1Job,
  payload: string,
  facts: Facts,
  reason: 'JobFailed' | 'OutcomeFailed',
  detail: string,
): Promise<boolean> {
  const queueUrl = job.metadata?.annotations?.[ANNOTATION_DEAD_LETTER_QUEUE];
  if (!queueUrl) return false;
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(messageAttributesOf(job))) attributes[name] = { DataType: 'String', StringValue: value };
  const extra: Record<string, string> = {
    JobName: job.metadata!.name!,
    JobType: job.metadata?.labels?.[LABEL_JOB_TYPE] ?? '',
    Attempts: String(facts.attempts ?? 0),
  };
  if (facts.exitCode !== undefined) extra.ExitCode = String(facts.exitCode);
  try {
    await sendToDeadLetter(sqsFor(queueUrl), queueUrl, {
      Body: payload,
      MessageId: job.metadata?.annotations?.[ANNOTATION_MESSAGE_ID],
      MessageAttributes: attributes,
    }, {
      reason,
      detail,
      binding: job.metadata?.labels?.[LABEL_BINDING] ?? '',
      sourceQueueUrl: job.metadata?.annotations?.[ANNOTATION_QUEUE_URL] ?? '',
      extra,
    });
  } catch (error) {
    if (REFUSED.has((error as Error).name)) {
      throw new OutcomeError('DeadLetterRejected', `${queueUrl} refused the message of Job ${job.metadata?.name ?? ''}: ${(error as Error).message}`, { cause: error });
    }
    throw error;
  }
  return true;
}
