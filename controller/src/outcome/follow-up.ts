// The messages a finished Job sends on: onSuccess (one, or one per element of forEach) and a fan-in
// group's message. Planning them is pure and fails for good (OutcomeError) when an expression does
// not evaluate or gives something that is not a message; sending batches them (SendMessageBatch,
// 10 per call) and gives each a Sluice.DedupeKey, so a repeat after a crash collides downstream.
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { ATTRIBUTE_DEDUPE_KEY } from '../job/labels.ts';
import { celToJsonText, compileCached, type MessageContext } from '../route/cel.ts';
import { SQS_MAX_BATCH_ENTRIES, sqsTextProblem } from '../sqs/limits.ts';
import { OutcomeError, type OutcomeFailureReason } from './outcome-error.ts';

export type PlannedMessage = { body: string; dedupeKey: string };
export type FollowUpSpec = { body: string; forEach?: string };

/** More messages than this from one Job is a mistake in forEach, not a fan-out. */
export const MAX_FOR_EACH = 1000;
/** SendMessageBatch takes at most this much in one call, whatever the queue's message size. */
const MAX_BATCH_BYTES = 256 * 1024;

/** `field` names the spec field in messages (onSuccess, fanIn.send). */
export function planFollowUp(spec: FollowUpSpec, context: MessageContext, dedupeKey: string, field: string, reason: OutcomeFailureReason): PlannedMessage[] {
  if (spec.forEach === undefined) return [{ body: renderBody(spec.body, context, `${field}.body`, reason), dedupeKey }];
  const result = compileCached(spec.forEach, 'followUp')(context);
  if ('error' in result) throw new OutcomeError(reason, `${field}.forEach ${spec.forEach}: ${result.error}`);
  if (!Array.isArray(result.value)) throw new OutcomeError(reason, `${field}.forEach ${spec.forEach} gave ${kindOf(result.value)}, not a list`);
  const items: unknown[] = result.value;
  if (items.length > MAX_FOR_EACH) throw new OutcomeError(reason, `${field}.forEach ${spec.forEach} gave ${items.length} elements, more than ${MAX_FOR_EACH}`);
  return items.map((item, index) => ({
    body: renderBody(spec.body, { ...context, item, index: BigInt(index) }, `${field}.body`, reason),
    dedupeKey: `${dedupeKey}/${index}`,
  }));
}

function renderBody(expression: string, context: MessageContext, field: string, reason: OutcomeFailureReason): string {
  const result = compileCached(expression, 'followUp')(context);
  if ('error' in result) throw new OutcomeError(reason, `${field} ${expression}: ${result.error}`);
  const body = celToJsonText(result.value);
  if (body === undefined) throw new OutcomeError(reason, `${field} ${expression} gave ${kindOf(result.value)}, not a string or a map`);
  const problem = sqsTextProblem(body);
  if (problem) throw new OutcomeError(reason, `${field} ${expression} gave a body SQS cannot carry: it ${problem.replace(/^it /, '')}`);
  return body;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'bigint') return 'an int';
  return `a ${typeof value}`;
}

/**
 * Sends the messages in batches. An entry SQS refuses for its content fails for good (FollowUpRejected
 * unless told otherwise); anything else throws to be retried, and a retry sends the batch again: the
 * dedupe keys make repeats collide.
 */
export async function sendMessages(sqs: SQSClient, queueUrl: string, messages: PlannedMessage[], groupId: string, reason: OutcomeFailureReason = 'FollowUpRejected'): Promise<void> {
  const fifo = queueUrl.endsWith('.fifo');
  for (const batch of batches(messages)) {
    const entries: SendMessageBatchRequestEntry[] = batch.map((message, i) => ({
      Id: String(i),
      MessageBody: message.body,
      MessageAttributes: { [ATTRIBUTE_DEDUPE_KEY]: { DataType: 'String', StringValue: message.dedupeKey } },
      ...(fifo && { MessageGroupId: groupId, MessageDeduplicationId: createHash('sha256').update(message.dedupeKey).digest('hex') }),
    }));
    const { Failed = [] } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    const refused = Failed.find((f) => f.SenderFault);
    if (refused) {
      const message = batch[Number(refused.Id)];
      throw new OutcomeError(reason, `${queueUrl} refused the message with dedupe key ${message?.dedupeKey ?? ''}: ${refused.Code ?? ''} ${refused.Message ?? ''}`.trim());
    }
    if (Failed.length > 0) throw new Error(`sending to ${queueUrl} failed for ${Failed.length} message(s): ${Failed[0]!.Code ?? ''} ${Failed[0]!.Message ?? ''}`.trim());
  }
}

function batches(messages: PlannedMessage[]): PlannedMessage[][] {
  const result: PlannedMessage[][] = [];
  let current: PlannedMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = Buffer.byteLength(message.body) + Buffer.byteLength(message.dedupeKey) + 64;
    if (current.length === SQS_MAX_BATCH_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) result.push(current);
  return result;
}
