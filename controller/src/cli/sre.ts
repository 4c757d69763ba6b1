// What an SRE needs at 3 a.m., as `kubectl sluice …`: test a message against a binding's routes and
// see the Job it would become, look into the dead-letter queue and send its messages back, send a
// test message. These run with the caller's kubeconfig and AWS credentials (default chain).
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageCommand, type Message, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { GROUP, VERSION, type JobType, type QueueBinding } from '../api/schemas.ts';
import { kinds } from '../api/kinds.ts';
import { parseSpec } from '../api/validate.ts';
import { compileBinding, planMessage, type JobTypeLookup } from '../dispatch/plan.ts';
import { ATTRIBUTE_REDRIVE, ATTRIBUTE_SOURCE_MESSAGE_ID } from '../job/labels.ts';
import { receivedMessages } from '../sqs/received.ts';
import { makeClients, loadKubeConfig, isNotFound } from '../kube/client.ts';
import { awsClientOptions, makeS3Client, makeSqsClient } from '../sqs/client.ts';
import { s3PayloadStore } from '../sqs/payload-store.ts';

export type Output = (line: string) => void;

type Target = { binding: QueueBinding; sqs: SQSClient; custom: k8s.CustomObjectsApi };

async function loadBinding(namespace: string, name: string): Promise<Target> {
  const clients = makeClients(loadKubeConfig());
  let stored: QueueBinding;
  try {
    stored = await clients.customObjects.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: kinds.QueueBinding.plural, name }) as QueueBinding;
  } catch (error) {
    if (isNotFound(error)) throw new Error(`QueueBinding ${namespace}/${name} not found`, { cause: error });
    throw error;
  }
  const parsed = parseSpec('QueueBinding', stored.spec);
  if (!parsed.success) throw new Error(`QueueBinding ${namespace}/${name} is invalid: ${parsed.message}`);
  const binding = { ...stored, spec: parsed.spec };
  return { binding, sqs: makeSqsClient(awsClientOptions(binding.spec)), custom: clients.customObjects };
}

/** `route`: the decision and the Job a message would become; nothing is created or sent. */
export async function routeMessage(namespace: string, name: string, body: string, attributes: Record<string, string>, out: Output): Promise<boolean> {
  const { binding, custom } = await loadBinding(namespace, name);
  const list = await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: kinds.JobType.plural }) as { items: JobType[] };
  const jobTypes: JobTypeLookup = (_namespace, jobTypeName) => {
    const stored = list.items.find((j) => j.metadata.name === jobTypeName);
    if (!stored) return { problem: `JobType ${jobTypeName} not found` };
    const parsed = parseSpec('JobType', stored.spec);
    return parsed.success ? { jobType: { ...stored, spec: parsed.spec } } : { problem: `JobType ${jobTypeName} is invalid: ${parsed.message}` };
  };
  const message: Message = {
    MessageId: 'dry-run',
    Body: body,
    Attributes: { SentTimestamp: String(Date.now()), ApproximateReceiveCount: '1' },
    MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
  };
  const plan = await planMessage(binding, compileBinding(binding), message, jobTypes, s3PayloadStore(() => makeS3Client(awsClientOptions(binding.spec))));
  if (plan.action === 'dead-letter') {
    out(`dead-letter: ${plan.reason}: ${plan.detail}`);
    return false;
  }
  if (plan.action === 'defer') {
    out(`waits in SQS: ${plan.detail}`);
    return false;
  }
  out(`route ${plan.route} → JobType ${plan.jobType.metadata.name}`);
  out(stringify(plan.built.job).trimEnd());
  if (plan.built.secret) out(`(the payload would travel in Secret ${plan.built.secret.metadata?.name ?? ''})`);
  return true;
}

function deadLetterQueue(binding: QueueBinding): string {
  const queueUrl = binding.spec.deadLetter?.queueUrl;
  if (!queueUrl) throw new Error(`QueueBinding ${binding.metadata.name} has no deadLetter queue`);
  return queueUrl;
}

/** Up to `max` distinct messages; with visibility 0 (peek) a message can come back, so stop at repeats. */
async function receive(sqs: SQSClient, queueUrl: string, max: number, visibilityTimeout: number): Promise<Message[]> {
  const messages = new Map<string, Message>();
  while (messages.size < max) {
    const received = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queueUrl, MaxNumberOfMessages: Math.min(10, max - messages.size), WaitTimeSeconds: 1,
      VisibilityTimeout: visibilityTimeout, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'],
    }));
    const fresh = receivedMessages(received.Messages).filter((m) => !messages.has(m.MessageId!));
    if (fresh.length === 0) break;
    for (const m of fresh) messages.set(m.MessageId!, m);
  }
  return [...messages.values()];
}

/** `dlq peek`: dead-lettered messages with their reasons; they stay in the queue. */
export async function peekDeadLetters(namespace: string, name: string, max: number, out: Output): Promise<number> {
  const { binding, sqs } = await loadBinding(namespace, name);
  const messages = await receive(sqs, deadLetterQueue(binding), max, 0);
  for (const m of messages) {
    const attribute = (key: string) => m.MessageAttributes?.[key]?.StringValue ?? '';
    out(`${m.MessageId ?? ''}  ${attribute('Sluice.Reason')}: ${attribute('Sluice.Detail')}`);
    out(`    ${(m.Body ?? '').slice(0, 200)}`);
  }
  out(`${messages.length} message(s)`);
  return messages.length;
}

/** `dlq redrive`: sends dead-lettered messages back to the binding's queue, as the producer sent them. */
export async function redriveDeadLetters(namespace: string, name: string, max: number, out: Output): Promise<number> {
  const { binding, sqs } = await loadBinding(namespace, name);
  const count = await redrive(sqs, deadLetterQueue(binding), binding.spec.queueUrl, max);
  out(`redrove ${count} message(s) to ${binding.spec.queueUrl}`);
  return count;
}

/** Moves up to `max` messages from the dead-letter queue back to the binding's queue. */
export async function redrive(sqs: SQSClient, dlq: string, queueUrl: string, max: number): Promise<number> {
  const messages = await receive(sqs, dlq, max, 60);
  for (const m of messages) {
    // Sluice's diagnostics stay behind; the producer's attributes go along.
    const attributes: Record<string, MessageAttributeValue> = Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).filter(([key]) => !key.startsWith('Sluice.')),
    );
    // The failed message's own id, not this dead letter's: a dead letter recorded twice (a crash
    // between sending it and recording so) is redriven into one run, not two.
    const source = m.MessageAttributes?.[ATTRIBUTE_SOURCE_MESSAGE_ID]?.StringValue;
    attributes[ATTRIBUTE_REDRIVE] = { DataType: 'String', StringValue: source && source !== '-' ? source : m.MessageId! };
    await sqs.send(new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: m.Body ?? '',
      MessageAttributes: attributes,
      ...(queueUrl.endsWith('.fifo') && { MessageGroupId: m.Attributes?.MessageGroupId ?? 'sluice-redrive', MessageDeduplicationId: m.MessageId }),
    }));
    const { Failed = [] } = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlq, Entries: [{ Id: '0', ReceiptHandle: m.ReceiptHandle! }] }));
    // Left behind, it would be redriven again; Sluice.Redrive makes that collide, but say so.
    if (Failed[0]) throw new Error(`could not delete dead letter ${m.MessageId ?? ''}: ${Failed[0].Code ?? ''} ${Failed[0].Message ?? ''}`.trim());
  }
  return messages.length;
}

/** `send`: a test message on the binding's queue. */
export async function sendTestMessage(namespace: string, name: string, body: string, out: Output): Promise<void> {
  const { binding, sqs } = await loadBinding(namespace, name);
  const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: binding.spec.queueUrl, MessageBody: body }));
  out(`sent ${MessageId ?? ''} to ${binding.spec.queueUrl}`);
}
