// sluice_queue_oldest_message_age_seconds. SQS has no API for the age of a queue's oldest message
// (CloudWatch's ApproximateAgeOfOldestMessage is AWS-side only), so a dispatcher estimates it from
// what it receives: the largest receive time − SentTimestamp among the messages received in the
// last WINDOW_MS. A receive that finds the queue empty means nothing is waiting: 0. SQS does not
// hand out the oldest messages first, so one receive alone would jump about; a short window smooths it.
import type { Message } from '@aws-sdk/client-sqs';
import { queueOldestMessageAge } from '../metrics.ts';

const WINDOW_MS = 10_000;

export class OldestMessageAge {
  readonly #labels: { namespace: string; binding: string };
  /** The oldest age of each recent non-empty receive, in receive order. */
  #samples: { at: number; ageSeconds: number }[] = [];

  constructor(namespace: string, binding: string) {
    this.#labels = { namespace, binding };
    queueOldestMessageAge.set(this.#labels, 0);
  }

  /** The messages of one successful receive (none: the queue had nothing visible). */
  received(messages: Message[], now: number): void {
    if (messages.length === 0) {
      this.#samples = [];
      queueOldestMessageAge.set(this.#labels, 0);
      return;
    }
    const sent = messages.map((m) => Number(m.Attributes?.SentTimestamp)).filter((t) => Number.isFinite(t) && t > 0);
    if (sent.length > 0) this.#samples.push({ at: now, ageSeconds: Math.max(0, (now - Math.min(...sent)) / 1000) });
    this.#samples = this.#samples.filter((s) => s.at > now - WINDOW_MS);
    if (this.#samples.length > 0) queueOldestMessageAge.set(this.#labels, Math.max(...this.#samples.map((s) => s.ageSeconds)));
  }

  /** The dispatcher stopped: it no longer sees the queue. */
  forget(): void {
    queueOldestMessageAge.remove(this.#labels);
  }
}
