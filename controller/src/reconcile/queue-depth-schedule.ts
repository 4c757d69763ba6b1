// When a QueueBinding's status round reads its queue's depth from SQS. Each read is a
// GetQueueAttributes call, and the AWS SDK allocates ≈ 175 KiB for one (middleware, signing,
// serde): at a 5 s round, 100 bindings cost 20 calls and ≈ 3.5 MiB of garbage a second (at 10,000
// Jobs, reading idle queues less took the steady CPU to 0.69×). A queue that holds messages, or took some since the last read, is
// read every round; an empty one that took nothing, every IDLE_DEPTH_INTERVAL_MS. Its dispatcher
// receives what arrives at once (long polling), so an idle queue's first messages show up in the
// next round through the received count; only a suspended binding's backlog waits for the slower read.

export const IDLE_DEPTH_INTERVAL_MS = 30_000;

type LastRead = { at: number; empty: boolean; received: number | undefined };

export class QueueDepthSchedule {
  readonly #last = new Map<string, LastRead>();
  readonly #idleIntervalMs: number;

  constructor(idleIntervalMs: number = IDLE_DEPTH_INTERVAL_MS) {
    this.#idleIntervalMs = idleIntervalMs;
  }

  /** Whether this round reads the depth; `received` is the dispatcher's count (undefined when it runs elsewhere). */
  due(key: string, now: number, received: number | undefined): boolean {
    const last = this.#last.get(key);
    if (!last || !last.empty) return true;
    if (received !== undefined && received !== last.received) return true;
    return now - last.at >= this.#idleIntervalMs;
  }

  /** A read that succeeded: `messages` is every message the queue holds (visible, in flight, delayed). */
  read(key: string, now: number, received: number | undefined, messages: number): void {
    this.#last.set(key, { at: now, empty: messages === 0, received });
  }

  forget(key: string): void {
    this.#last.delete(key);
  }
}
