// What one received message becomes, decided without side effects: a Job to create (built and
// ready), a dead-letter record with its reason, or a wait for its JobType. The dispatcher acts on
// the plan; `kubectl sluice route` prints it.
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { JobType, QueueBinding } from '../api/schemas.ts';
import { decodeMessage, DecodeError, type PayloadStore } from '../decode/index.ts';
import { plainData, type CelMap } from '../decode/plain-data.ts';
import { decodeRecord } from '../decode/record.ts';
import { buildJob, type BuiltJob } from '../job/build-job.ts';
import { ATTRIBUTE_DEDUPE_KEY, ATTRIBUTE_REDRIVE } from '../job/labels.ts';
import { celValueToKey, compile, compileCached, type Compiled, type MessageContext } from '../route/cel.ts';
import { compileRouter, type Router } from '../route/router.ts';
import type { DeadLetterReason } from '../sqs/dead-letter.ts';

export type JobTypeLookup = (namespace: string, name: string) => { jobType: JobType } | { problem: string };

export type MessagePlan =
  | { action: 'create'; route: string; jobType: JobType; built: BuiltJob; sentTimestamp?: number; extendedPayload?: { bucket: string; key: string } }
  | { action: 'dead-letter'; reason: DeadLetterReason; detail: string }
  | { action: 'defer'; detail: string };

export type CompiledBinding = { router: Router; dedupe?: Compiled };

/** Compiles routes and the dedupe expression; throws with a message fit for a status condition. */
export function compileBinding(binding: QueueBinding): CompiledBinding {
  const router = compileRouter(binding.spec.routes);
  if (!binding.spec.dedupeKey) return { router };
  try {
    return { router, dedupe: compile(binding.spec.dedupeKey) };
  } catch (error) {
    throw new Error(`dedupeKey: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Decodes, routes and builds the Job for a message. Throws only when the message cannot be judged
 * now (a payload S3 could not serve): it should then stay in SQS for redelivery.
 */
/** What the process creating Jobs adds to every one: the progress API it offers and its own identity. */
export type JobContext = { progressUrl?: string; dispatcher?: string };

export async function planMessage(
  binding: QueueBinding,
  compiled: CompiledBinding,
  message: Message,
  jobTypes: JobTypeLookup,
  payloads: PayloadStore,
  jobContext: JobContext = {},
): Promise<MessagePlan> {
  const spec = binding.spec;
  let decoded;
  try {
    decoded = await decodeMessage({ body: message.Body ?? '', messageAttributes: message.MessageAttributes ?? {} }, spec.message, payloads);
  } catch (error) {
    if (error instanceof DecodeError && !error.retryable) return { action: 'dead-letter', reason: error.reason, detail: error.message };
    throw error;
  }
  const context: MessageContext = {
    body: decoded.body,
    attributes: message.Attributes ?? {},
    messageAttributes: attributeValues(message.MessageAttributes),
    envelope: decoded.envelope,
  };
  const decision = compiled.router(context);
  if (!decision.matched) return { action: 'dead-letter', reason: decision.reason, detail: decision.message };

  const key = dedupeKeyOf(message, compiled, context, spec.dedupeKey);
  if ('failure' in key) return { action: 'dead-letter', reason: 'DedupeKeyFailed', detail: key.failure };
  const dedupeKey = key.key;

  const found = jobTypes(binding.metadata.namespace, decision.jobType);
  if (!('jobType' in found)) return { action: 'defer', detail: `route ${decision.route}: ${found.problem}` };
  const { jobType } = found;
  const derived = deriveFromMessage(jobType, context);
  if ('failure' in derived) return { action: 'dead-letter', ...derived.failure };

  const sentTimestamp = Number(message.Attributes?.SentTimestamp) || undefined;
  const built = buildJob({
    namespace: binding.metadata.namespace,
    binding: binding.metadata.name,
    queueUrl: spec.queueUrl,
    route: decision.route,
    messageId: message.MessageId ?? '',
    dedupeKey,
    ...(message.ReceiptHandle && { receiptHandle: message.ReceiptHandle }),
    ...(spec.queueUrl.endsWith('.fifo') && message.Attributes?.MessageGroupId !== undefined && { messageGroup: message.Attributes.MessageGroupId }),
    sentTimestamp,
    payload: { raw: decoded.raw, format: decoded.format, bytes: decoded.bytes },
    decodeRecord: decodeRecord(decoded, spec.message.pipeFields, message.Attributes ?? {}),
    messageAttributes: stringAttributes(message.MessageAttributes),
    deadLetterQueueUrl: spec.deadLetter?.queueUrl,
    ...derived,
    ...jobContext,
  }, jobType);
  const pointer = decoded.envelope.extendedClient;
  return {
    action: 'create', route: decision.route, jobType, built,
    ...(sentTimestamp && { sentTimestamp }),
    ...(pointer && { extendedPayload: { bucket: pointer.bucket, key: pointer.key } }),
  };
}

/**
 * The message's idempotency key: the binding's dedupeKey expression, else the Sluice.DedupeKey of
 * messages Sluice sent (follow-ups, fan-ins), else the MessageId. A redriven message (Sluice.Redrive)
 * gets a new attempt identity derived from the dead letter, never from its own MessageId, which
 * changes with every redrive.
 */
function dedupeKeyOf(message: Message, compiled: CompiledBinding, context: MessageContext, expression: string | undefined): { key: string } | { failure: string } {
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue || undefined;
  const sent = attribute(ATTRIBUTE_DEDUPE_KEY);
  const redrive = attribute(ATTRIBUTE_REDRIVE);
  let stable = sent;
  if (compiled.dedupe) {
    const key = messageKey(compiled.dedupe(context));
    if ('problem' in key) return { failure: `dedupeKey ${expression ?? ''}: ${key.problem}` };
    stable = key.key;
  }
  if (redrive) return { key: stable ? `${stable}#redrive:${redrive}` : `redrive:${redrive}` };
  const key = stable ?? message.MessageId;
  return key ? { key } : { failure: 'the message has no MessageId and no dedupe key' };
}

/** What the JobType computes from the message up front: its record's key and its fan-in group. */
function deriveFromMessage(jobType: JobType, context: MessageContext):
  | { statusKey?: string; fanIn?: { group: string; expected: number } }
  | { failure: { reason: DeadLetterReason; detail: string } } {
  const evaluate = (what: string, expression: string): string | { failure: { reason: DeadLetterReason; detail: string } } => {
    const key = messageKey(compileCached(expression)(context));
    if ('key' in key) return key.key;
    return { failure: { reason: what === 'statusSink.key.value' ? 'StatusKeyFailed' : 'FanInKeyFailed', detail: `JobType ${jobType.metadata.name} ${what} ${expression}: ${key.problem}` } };
  };
  const derived: { statusKey?: string; fanIn?: { group: string; expected: number } } = {};
  const { statusSink, fanIn } = jobType.spec;
  if (statusSink) {
    const key = evaluate('statusSink.key.value', statusSink.key.value);
    if (typeof key !== 'string') return key;
    derived.statusKey = key;
  }
  if (fanIn) {
    const group = evaluate('fanIn.group', fanIn.group);
    if (typeof group !== 'string') return group;
    const expected = evaluate('fanIn.expected', fanIn.expected);
    if (typeof expected !== 'string') return expected;
    if (!/^[1-9][0-9]{0,5}$/.test(expected)) {
      return { failure: { reason: 'FanInKeyFailed', detail: `JobType ${jobType.metadata.name} fanIn.expected gave ${expected}, not a positive count` } };
    }
    derived.fanIn = { group, expected: Number(expected) };
  }
  return derived;
}

/** Keys longer than this are a mistake in the expression (they ride on the Job and on messages). */
export const MAX_KEY_LENGTH = 1024;

/** A key from a CEL result (dedupe, status, fan-in): an exact, non-empty, bounded string. */
function messageKey(result: { value: unknown } | { error: string }): { key: string } | { problem: string } {
  if ('error' in result) return { problem: result.error };
  const { value } = result;
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    return { problem: `it returned ${value}, a number beyond 2^53 that stands for many integers; send it as a string or an int64` };
  }
  const key = celValueToKey(value);
  if (key === undefined) return { problem: 'it did not return a string or number' };
  if (key === '') return { problem: 'it returned an empty string' };
  if (key.length > MAX_KEY_LENGTH) return { problem: `it returned ${key.length} characters; a key has at most ${MAX_KEY_LENGTH}` };
  return { key };
}

function stringAttributes(attributes: Record<string, MessageAttributeValue> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes ?? {}).flatMap(([name, a]) => (a.StringValue === undefined ? [] : [[name, a.StringValue]])));
}

function attributeValues(attributes: Record<string, MessageAttributeValue> | undefined): CelMap<string | Uint8Array> {
  return plainData(Object.entries(attributes ?? {}).flatMap(([name, attribute]) => {
    const value = attribute.StringValue ?? attribute.BinaryValue;
    return value === undefined ? [] : [[name, value] as [string, string | Uint8Array]];
  }));
}
