// Dead-letter records: the original body and attributes, plus why Sluice gave up on the message.
import { SendMessageCommand, type Message, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import { ATTRIBUTE_SOURCE_MESSAGE_ID } from '../job/labels.ts';

/** SQS allows 10 message attributes; Sluice's own come first, the producer's fill the rest. */
const MAX_ATTRIBUTES = 10;
const MAX_DETAIL_CHARS = 4096;

export const deadLetterReasons = [
  'MalformedJson', 'MalformedEnvelope', 'UnknownFormat', 'BodyTooLarge', 'InvalidUtf8', 'UnsupportedCharacters',
  'PayloadFetchFailed', 'MalformedPipe', 'NoRouteMatched', 'RouteEvaluationFailed', 'DedupeKeyFailed',
  'StatusKeyFailed', 'FanInKeyFailed', 'JobRejected', 'JobNameCollision', 'DedupeKeyConflict', 'JobFailed', 'OutcomeFailed',
] as const;
export type DeadLetterReason = (typeof deadLetterReasons)[number];

export type DeadLetterRecord = {
  reason: DeadLetterReason;
  detail: string;
  binding: string;
  sourceQueueUrl: string;
  /** Extra diagnostics (Job name, exit code, attempts, …), each becoming a `Sluice.<Name>` attribute. */
  extra?: Record<string, string>;
};

export function deadLetterAttributes(message: Message, record: DeadLetterRecord): Record<string, MessageAttributeValue> {
  const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value || '-' });
  const attributes: Record<string, MessageAttributeValue> = {
    'Sluice.Reason': text(record.reason),
    'Sluice.Detail': text(record.detail.slice(0, MAX_DETAIL_CHARS)),
    'Sluice.Binding': text(record.binding),
    'Sluice.SourceQueueUrl': text(record.sourceQueueUrl),
    [ATTRIBUTE_SOURCE_MESSAGE_ID]: text(message.MessageId ?? ''),
  };
  for (const [name, value] of Object.entries(record.extra ?? {})) attributes[`Sluice.${name}`] = text(value);
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (Object.keys(attributes).length >= MAX_ATTRIBUTES) break;
    attributes[name] ??= value;
  }
  return attributes;
}

export async function sendToDeadLetter(sqs: SQSClient, deadLetterQueueUrl: string, message: Message, record: DeadLetterRecord): Promise<void> {
  const fifo = deadLetterQueueUrl.endsWith('.fifo');
  await sqs.send(new SendMessageCommand({
    QueueUrl: deadLetterQueueUrl,
    MessageBody: message.Body ?? '',
    MessageAttributes: deadLetterAttributes(message, record),
    ...(fifo && {
      MessageGroupId: message.Attributes?.MessageGroupId ?? record.binding,
      MessageDeduplicationId: message.MessageId,
    }),
  }));
}
