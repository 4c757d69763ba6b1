// Before a finished Job may go, its message must be known to be deleted from SQS.
//
// The Job's deterministic name is the only record that a message was dispatched: a redelivery
// collides with it and is deleted. If the Job goes — ttlSecondsAfterFinished: 0, a person deleting
// finished Jobs — while its message is still in SQS (the dispatcher died between creating the Job
// and deleting the message, or the delete failed), a redelivery finds the name free and the work
// runs twice. So the finalizer stays until:
//   - this process's dispatcher confirmed the delete (DeleteConfirmations), or
//   - we deleted the message ourselves with the receipt handle of the receive that created the Job
//     (sluice.dev/receipt-handle; deleting is idempotent), and then waited a grace period.
// SQS refusing that handle (ReceiptHandleIsInvalid, an expired handle, a queue that is gone) means
// the message is already deleted or was received again; in the latter case a dispatcher holds it
// right now and is about to create the Job. The grace keeps the Job, and its name, long enough for
// that create to collide and for that dispatcher to delete the message. A create that takes longer
// than the grace (an API server outage during its retries) can still run twice; that is the window
// left. Transport errors throw, to be retried with backoff.
import type * as k8s from '@kubernetes/client-node';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DeleteConfirmations } from '../dispatch/delete-confirmations.ts';
import { ANNOTATION_QUEUE_URL, ANNOTATION_RECEIPT_HANDLE } from '../job/labels.ts';
import { BatchDeleter, DeleteFailed } from '../sqs/batch-deleter.ts';

/** SQS's answers meaning this handle will never delete anything again. */
const GONE_CODES = new Set(['ReceiptHandleIsInvalid', 'InvalidParameterValue', 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);

export type MessageReleaseDeps = {
  confirmations: DeleteConfirmations;
  /** The SQS client for the queue a Job's message came from. */
  sqsFor: (job: k8s.V1Job, queueUrl: string) => SQSClient;
  /** How long to keep a Job after deleting its message ourselves. */
  graceMs: (job: k8s.V1Job) => number;
  now: () => number;
};

export type Release = { released: true } | { waitMs: number };

/**
 * The grace after deleting a message ourselves: twice the binding's long-poll wait, within 5–40 s.
 * A receive that got the redelivery returns at once; the create after it normally takes
 * milliseconds, and seconds when the API server is slow. A Job whose ttlSecondsAfterFinished is at
 * least that long outlives the window by itself: no extra wait.
 */
export function messageGraceMs(waitTimeSeconds: number | undefined, ttlSecondsAfterFinished?: number): number {
  const grace = Math.min(Math.max(2 * (waitTimeSeconds ?? 20), 5), 40) * 1000;
  return ttlSecondsAfterFinished !== undefined && ttlSecondsAfterFinished * 1000 >= grace ? 0 : grace;
}

export class MessageRelease {
  readonly #deps: MessageReleaseDeps;
  /** One batching deleter per queue and client (a binding's credentials may change). */
  readonly #deleters = new Map<string, { sqs: SQSClient; deleter: BatchDeleter }>();
  /** When this process deleted (or found gone) a Job's message, per Job uid. */
  readonly #deletedAt = new Map<string, number>();

  constructor(deps: MessageReleaseDeps) {
    this.#deps = deps;
  }

  async release(job: k8s.V1Job): Promise<Release> {
    const uid = job.metadata?.uid ?? '';
    const handle = job.metadata?.annotations?.[ANNOTATION_RECEIPT_HANDLE];
    const queueUrl = job.metadata?.annotations?.[ANNOTATION_QUEUE_URL];
    // Jobs made before receipt handles were recorded: nothing to do, as before.
    if (!handle || !queueUrl || this.#deps.confirmations.has(uid)) return { released: true };
    let deletedAt = this.#deletedAt.get(uid);
    if (deletedAt === undefined) {
      await this.#delete(job, queueUrl, handle);
      deletedAt = this.#deps.now();
      this.#deletedAt.set(uid, deletedAt);
    }
    const waitMs = deletedAt + this.#deps.graceMs(job) - this.#deps.now();
    return waitMs > 0 ? { waitMs } : { released: true };
  }

  /** The Job is gone: forget it. */
  forget(uid: string): void {
    this.#deletedAt.delete(uid);
    this.#deps.confirmations.forget(uid);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#deleters.values()].map(({ deleter }) => deleter.drain()));
  }

  async #delete(job: k8s.V1Job, queueUrl: string, handle: string): Promise<void> {
    const sqs = this.#deps.sqsFor(job, queueUrl);
    let entry = this.#deleters.get(queueUrl);
    if (entry?.sqs !== sqs) {
      if (entry) void entry.deleter.drain();
      this.#deleters.set(queueUrl, (entry = { sqs, deleter: new BatchDeleter(sqs, queueUrl) }));
    }
    try {
      await entry.deleter.delete(handle);
    } catch (error) {
      const code = error instanceof DeleteFailed ? error.code : (error as Error).name;
      if (!GONE_CODES.has(code)) throw error;
    }
  }
}
