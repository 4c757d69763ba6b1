// An in-memory SQS for unit tests: standard and FIFO queues with the semantics Sluice depends on —
// visibility timeouts, receipt handles that go stale when a message is received again, idempotent
// deletes, FIFO message groups that stay locked while one of their messages is in flight,
// deduplication ids, batch limits and SQS's character and size rules. Time is the fake's own
// (real time plus what advance() added), so a visibility timeout passes when a test says so.
import {
  ChangeMessageVisibilityCommand, DeleteMessageBatchCommand, DeleteMessageCommand, GetQueueAttributesCommand,
  InvalidMessageContents, MessageNotInflight, QueueDoesNotExist, ReceiptHandleIsInvalid, ReceiveMessageCommand,
  SendMessageBatchCommand, SendMessageCommand, TooManyEntriesInBatchRequest,
  type BatchResultErrorEntry, type Message, type MessageAttributeValue, type SQSClient,
} from '@aws-sdk/client-sqs';
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export type SqsOperation = 'receive' | 'delete' | 'deleteBatch' | 'changeVisibility' | 'send' | 'sendBatch' | 'attributes';

export type StoredMessage = {
  messageId: string;
  body: string;
  messageAttributes: Record<string, MessageAttributeValue>;
  groupId?: string;
  deduplicationId?: string;
  sentAt: number;
  sequence: number;
  visibleAt: number;
  receiveCount: number;
  /** The handle of the latest receive; earlier ones are stale. */
  receiptHandle?: string;
};

type Queue = {
  url: string;
  fifo: boolean;
  visibilityTimeoutSeconds: number;
  maxMessageBytes: number;
  messages: StoredMessage[];
  deleted: StoredMessage[];
  /** Every handle ever given out, to tell a stale handle from garbage. */
  handles: Map<string, StoredMessage>;
  dedupe: Map<string, { messageId: string; at: number }>;
};

type Fault = { operation: SqsOperation; error: () => Error; times: number; when?: (input: unknown) => boolean };

const DEDUPLICATION_WINDOW_MS = 5 * 60_000;
/** What SQS accepts in a body and in string attributes: #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD #x10000–#x10FFFF. */
const SQS_CHARACTERS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

const metadata = { $metadata: { httpStatusCode: 400 } };

export class FakeSqs {
  readonly #queues = new Map<string, Queue>();
  readonly #faults: Fault[] = [];
  #offsetMs = 0;
  #sequence = 0;
  /** Every call, in order: the operation and its input. */
  readonly calls: { operation: SqsOperation; input: unknown }[] = [];
  /** How long an empty long poll waits in real time, at most. Tests stay fast; the loop does not spin. */
  longPollMs = 5;

  /** The client to hand to code under test. */
  readonly client = { send: (command: unknown, options?: { abortSignal?: AbortSignal }) => this.#send(command, options) } as unknown as SQSClient;

  now(): number {
    return Date.now() + this.#offsetMs;
  }

  /** Moves the fake's time forward: visibility timeouts and delays pass. */
  advance(ms: number): void {
    this.#offsetMs += ms;
  }

  createQueue(name: string, options: { visibilityTimeoutSeconds?: number; maxMessageBytes?: number } = {}): string {
    const url = `https://sqs.us-east-1.amazonaws.com/000000000000/${name}`;
    this.#queues.set(url, {
      url,
      fifo: name.endsWith('.fifo'),
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
      maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
      messages: [],
      deleted: [],
      handles: new Map(),
      dedupe: new Map(),
    });
    return url;
  }

  /** The next `times` calls of `operation` (matching `when`) fail with `error`. */
  fail(operation: SqsOperation, error: () => Error, options: { times?: number; when?: (input: unknown) => boolean } = {}): void {
    this.#faults.push({ operation, error, times: options.times ?? 1, when: options.when });
  }

  /** Messages not yet deleted, in order. */
  messages(url: string): StoredMessage[] {
    return [...this.#queue(url).messages];
  }

  deleted(url: string): StoredMessage[] {
    return [...this.#queue(url).deleted];
  }

  /** Not deleted and visible now. */
  visible(url: string): StoredMessage[] {
    const now = this.now();
    return this.#queue(url).messages.filter((m) => m.visibleAt <= now);
  }

  inFlight(url: string): StoredMessage[] {
    const now = this.now();
    return this.#queue(url).messages.filter((m) => m.visibleAt > now);
  }

  /** Sends a message as a producer would; returns its MessageId. */
  put(url: string, body: string, options: { attributes?: Record<string, MessageAttributeValue>; groupId?: string; deduplicationId?: string } = {}): string {
    return this.#enqueue(this.#queue(url), {
      MessageBody: body,
      MessageAttributes: options.attributes,
      MessageGroupId: options.groupId,
      MessageDeduplicationId: options.deduplicationId,
    });
  }

  count(operation: SqsOperation): number {
    return this.calls.filter((c) => c.operation === operation).length;
  }

  async #send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown> {
    const [operation, input] = describe(command);
    this.calls.push({ operation, input });
    const fault = this.#faults.find((f) => f.operation === operation && f.times > 0 && (!f.when || f.when(input)));
    if (fault) {
      fault.times -= 1;
      throw fault.error();
    }
    await Promise.resolve();
    switch (operation) {
      case 'receive': return this.#receive(input as ReceiveMessageCommand['input'], options?.abortSignal);
      case 'delete': return this.#deleteOne(input as DeleteMessageCommand['input']);
      case 'deleteBatch': return this.#deleteBatch(input as DeleteMessageBatchCommand['input']);
      case 'changeVisibility': return this.#changeVisibility(input as ChangeMessageVisibilityCommand['input']);
      case 'send': return this.#sendOne(input as SendMessageCommand['input']);
      case 'sendBatch': return this.#sendBatch(input as SendMessageBatchCommand['input']);
      case 'attributes': return this.#attributes(input as GetQueueAttributesCommand['input']);
    }
  }

  #queue(url: string | undefined): Queue {
    const queue = this.#queues.get(url ?? '');
    if (!queue) throw new QueueDoesNotExist({ message: `The specified queue ${url ?? ''} does not exist`, ...metadata });
    return queue;
  }

  async #receive(input: ReceiveMessageCommand['input'], signal: AbortSignal | undefined): Promise<{ Messages?: Message[] }> {
    const queue = this.#queue(input.QueueUrl);
    const max = input.MaxNumberOfMessages ?? 1;
    if (max < 1 || max > 10) throw new Error('MaxNumberOfMessages must be 1..10');
    const deadline = Date.now() + Math.min((input.WaitTimeSeconds ?? 0) * 1000, this.longPollMs);
    for (;;) {
      if (signal?.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      const picked = this.#pick(queue, max);
      if (picked.length > 0 || Date.now() >= deadline) {
        const now = this.now();
        const visibility = (input.VisibilityTimeout ?? queue.visibilityTimeoutSeconds) * 1000;
        return {
          Messages: picked.length === 0 ? undefined : picked.map((m) => {
            m.receiveCount += 1;
            m.visibleAt = now + visibility;
            m.receiptHandle = `${m.messageId}#${m.receiveCount}#${randomUUID()}`;
            queue.handles.set(m.receiptHandle, m);
            return this.#wire(queue, m);
          }),
        };
      }
      await sleep(1);
    }
  }

  /** Standard queues: visible messages in order. FIFO: whole groups without a message in flight, in order. */
  #pick(queue: Queue, max: number): StoredMessage[] {
    const now = this.now();
    if (!queue.fifo) return queue.messages.filter((m) => m.visibleAt <= now).slice(0, max);
    const locked = new Set(queue.messages.filter((m) => m.visibleAt > now).map((m) => m.groupId));
    return queue.messages.filter((m) => !locked.has(m.groupId)).slice(0, max);
  }

  #wire(queue: Queue, m: StoredMessage): Message {
    const attributes: Record<string, string> = {
      SentTimestamp: String(m.sentAt),
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp: String(m.sentAt),
      SenderId: 'AIDAFAKE',
    };
    if (queue.fifo) {
      attributes.MessageGroupId = m.groupId!;
      attributes.MessageDeduplicationId = m.deduplicationId!;
      attributes.SequenceNumber = String(m.sequence).padStart(20, '0');
    }
    return {
      MessageId: m.messageId,
      ReceiptHandle: m.receiptHandle,
      Body: m.body,
      MD5OfBody: createHash('md5').update(m.body).digest('hex'),
      Attributes: attributes,
      ...(Object.keys(m.messageAttributes).length > 0 && { MessageAttributes: structuredClone(m.messageAttributes) }),
    };
  }

  /** The message a handle was given for; throws for garbage. A stale handle returns its message with stale = true. */
  #byHandle(queue: Queue, handle: string | undefined): { message: StoredMessage; stale: boolean } {
    const message = queue.handles.get(handle ?? '');
    if (!message) throw new ReceiptHandleIsInvalid({ message: `The input receipt handle "${handle ?? ''}" is not a valid receipt handle.`, ...metadata });
    return { message, stale: message.receiptHandle !== handle };
  }

  /** Deletes with the latest handle (again: a no-op); a handle from an earlier receive deletes nothing. */
  #delete(queue: Queue, handle: string | undefined): void {
    const { message, stale } = this.#byHandle(queue, handle);
    if (stale) throw new ReceiptHandleIsInvalid({ message: 'The receipt handle has expired: the message was received again', ...metadata });
    const index = queue.messages.indexOf(message);
    if (index < 0) return;
    queue.messages.splice(index, 1);
    queue.deleted.push(message);
  }

  #deleteOne(input: DeleteMessageCommand['input']): object {
    this.#delete(this.#queue(input.QueueUrl), input.ReceiptHandle);
    return {};
  }

  #deleteBatch(input: DeleteMessageBatchCommand['input']): { Successful: { Id: string }[]; Failed: BatchResultErrorEntry[] } {
    const queue = this.#queue(input.QueueUrl);
    const entries = input.Entries ?? [];
    if (entries.length > 10) throw new TooManyEntriesInBatchRequest({ message: 'at most 10 entries', ...metadata });
    const Successful: { Id: string }[] = [];
    const Failed: BatchResultErrorEntry[] = [];
    for (const entry of entries) {
      try {
        this.#delete(queue, entry.ReceiptHandle);
        Successful.push({ Id: entry.Id! });
      } catch (error) {
        Failed.push({ Id: entry.Id!, Code: (error as Error).name, Message: (error as Error).message, SenderFault: true });
      }
    }
    return { Successful, Failed };
  }

  #changeVisibility(input: ChangeMessageVisibilityCommand['input']): object {
    const queue = this.#queue(input.QueueUrl);
    const { message, stale } = this.#byHandle(queue, input.ReceiptHandle);
    if (stale) throw new ReceiptHandleIsInvalid({ message: 'The receipt handle has expired', ...metadata });
    if (!queue.messages.includes(message) || message.visibleAt <= this.now()) {
      throw new MessageNotInflight({ message: 'The message is not in flight', ...metadata });
    }
    message.visibleAt = this.now() + (input.VisibilityTimeout ?? 0) * 1000;
    return {};
  }

  #sendOne(input: SendMessageCommand['input']): { MessageId: string } {
    return { MessageId: this.#enqueue(this.#queue(input.QueueUrl), input) };
  }

  #sendBatch(input: SendMessageBatchCommand['input']): { Successful: { Id: string; MessageId: string }[]; Failed: BatchResultErrorEntry[] } {
    const queue = this.#queue(input.QueueUrl);
    const entries = input.Entries ?? [];
    if (entries.length > 10) throw new TooManyEntriesInBatchRequest({ message: 'at most 10 entries', ...metadata });
    const Successful: { Id: string; MessageId: string }[] = [];
    const Failed: BatchResultErrorEntry[] = [];
    for (const entry of entries) {
      try {
        Successful.push({ Id: entry.Id!, MessageId: this.#enqueue(queue, entry) });
      } catch (error) {
        Failed.push({ Id: entry.Id!, Code: (error as Error).name, Message: (error as Error).message, SenderFault: true });
      }
    }
    return { Successful, Failed };
  }

  #enqueue(queue: Queue, input: Pick<SendMessageCommand['input'], 'MessageBody' | 'MessageAttributes' | 'MessageGroupId' | 'MessageDeduplicationId'>): string {
    const body = input.MessageBody ?? '';
    const attributes = input.MessageAttributes ?? {};
    if (body === '') throw new InvalidMessageContents({ message: 'The message body must not be empty', ...metadata });
    if (!SQS_CHARACTERS.test(body)) throw new InvalidMessageContents({ message: 'Invalid characters found in the message body', ...metadata });
    if (Object.keys(attributes).length > 10) throw new InvalidMessageContents({ message: 'Number of message attributes exceeds 10', ...metadata });
    const bytes = Buffer.byteLength(body) + Object.entries(attributes).reduce(
      (sum, [name, a]) => sum + Buffer.byteLength(name) + Buffer.byteLength(a.DataType ?? '') + Buffer.byteLength(a.StringValue ?? '') + (a.BinaryValue?.byteLength ?? 0), 0);
    if (bytes > queue.maxMessageBytes) throw new InvalidMessageContents({ message: `Message of ${bytes} bytes is longer than ${queue.maxMessageBytes}`, ...metadata });
    const now = this.now();
    let deduplicationId: string | undefined;
    if (queue.fifo) {
      if (!input.MessageGroupId) throw new InvalidMessageContents({ message: 'MessageGroupId is required for FIFO queues', ...metadata });
      if (!input.MessageDeduplicationId) throw new InvalidMessageContents({ message: 'MessageDeduplicationId is required (no content-based deduplication)', ...metadata });
      deduplicationId = input.MessageDeduplicationId;
      const seen = queue.dedupe.get(deduplicationId);
      if (seen && now - seen.at < DEDUPLICATION_WINDOW_MS) return seen.messageId;
    }
    const messageId = randomUUID();
    if (deduplicationId) queue.dedupe.set(deduplicationId, { messageId, at: now });
    queue.messages.push({
      messageId,
      body,
      messageAttributes: structuredClone(attributes),
      ...(queue.fifo && { groupId: input.MessageGroupId, deduplicationId }),
      sentAt: now,
      sequence: ++this.#sequence,
      visibleAt: now,
      receiveCount: 0,
    });
    return messageId;
  }

  #attributes(input: GetQueueAttributesCommand['input']): { Attributes: Record<string, string> } {
    const queue = this.#queue(input.QueueUrl);
    return {
      Attributes: {
        ApproximateNumberOfMessages: String(this.visible(queue.url).length),
        ApproximateNumberOfMessagesNotVisible: String(this.inFlight(queue.url).length),
        ApproximateNumberOfMessagesDelayed: '0',
      },
    };
  }
}

function describe(command: unknown): [SqsOperation, unknown] {
  const input = (command as { input: unknown }).input;
  if (command instanceof ReceiveMessageCommand) return ['receive', input];
  if (command instanceof DeleteMessageBatchCommand) return ['deleteBatch', input];
  if (command instanceof DeleteMessageCommand) return ['delete', input];
  if (command instanceof ChangeMessageVisibilityCommand) return ['changeVisibility', input];
  if (command instanceof SendMessageBatchCommand) return ['sendBatch', input];
  if (command instanceof SendMessageCommand) return ['send', input];
  if (command instanceof GetQueueAttributesCommand) return ['attributes', input];
  throw new Error(`FakeSqs does not implement ${(command as object).constructor.name}`);
}

/** An error as a network failure surfaces from the SDK. */
export function networkError(message = 'connect ECONNREFUSED 127.0.0.1:4566'): Error {
  return Object.assign(new Error(message), { name: 'Error', code: 'ECONNREFUSED' });
}
