// Deletes received messages in batches of up to 10 (one DeleteMessageBatch call), each caller
// learning whether its own message was deleted.
import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** One entry of a batch that SQS did not delete, with its error code (e.g. ReceiptHandleIsInvalid). */
export class DeleteFailed extends Error {
  override readonly name = 'DeleteFailed';
  readonly code: string;

  constructor(code: string, message: string) {
    super(`delete failed: ${code} ${message}`.trim());
    this.code = code;
  }
}

type Pending = { receiptHandle: string; resolve: () => void; reject: (error: Error) => void };

export class BatchDeleter {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;
  readonly #lingerMs: number;
  #pending: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(sqs: SQSClient, queueUrl: string, lingerMs = 20) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
    this.#lingerMs = lingerMs;
  }

  delete(receiptHandle: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ receiptHandle, resolve, reject });
      if (this.#pending.length >= 10) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#lingerMs);
    });
  }

  /** Sends what is pending and waits for every batch in flight. */
  async drain(): Promise<void> {
    this.#flush();
    await Promise.allSettled([...this.#inFlight]);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, 10);
      const sent = this.#send(batch).finally(() => this.#inFlight.delete(sent));
      this.#inFlight.add(sent);
    }
  }

  async #send(batch: Pending[]): Promise<void> {
    try {
      const result = await this.#sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: this.#queueUrl,
        Entries: batch.map((p, i) => ({ Id: String(i), ReceiptHandle: p.receiptHandle })),
      }));
      const failed = new Map((result.Failed ?? []).map((f) => [f.Id, f]));
      batch.forEach((p, i) => {
        const failure = failed.get(String(i));
        if (failure) p.reject(new DeleteFailed(failure.Code ?? '', failure.Message ?? ''));
        else p.resolve();
      });
    } catch (error) {
      for (const p of batch) p.reject(error as Error);
    }
  }
}
