// The leader's work as the rest of the process sees it. /readyz: a standby is ready (it serves
// /metrics and waits to take over); a replica that has become the leader is ready only once its
// caches have synced — it says so from the moment it starts leading, not only once its start
// returns. Stopping goes in an order that loses nothing: work queues, then dispatchers (in-flight
// messages finish), then connections and watches, and last the Event recorders are flushed, since
// everything before may still record Events.

export type Leading = { stop: () => Promise<void> };

export type LeaderParts = {
  queues: { shutDown(): Promise<void> }[];
  dispatchers: { stopAll(): Promise<void> };
  /** Notifier, sinks, message deleters: flushed and closed. */
  closers: (() => Promise<void>)[];
  informers: { stop(): Promise<void> }[];
  recorders: { flush(): Promise<void> }[];
};

export class LeaderLifecycle {
  #phase: 'standby' | 'syncing' | 'leading' = 'standby';
  #leading: Leading | undefined;

  ready(): boolean {
    return this.#phase !== 'syncing';
  }

  /** Runs the leader's start, which calls `synced` once its caches are in. */
  async lead(start: (synced: () => void) => Promise<Leading>): Promise<void> {
    this.#phase = 'syncing';
    this.#leading = await start(() => { this.#phase = 'leading'; });
    this.#phase = 'leading';
  }

  async stop(): Promise<void> {
    await this.#leading?.stop();
  }
}

export async function stopLeader(parts: LeaderParts): Promise<void> {
  // Queues first, so no reconcile starts a dispatcher while they stop.
  await Promise.all(parts.queues.map((q) => q.shutDown()));
  await parts.dispatchers.stopAll();
  await Promise.all(parts.closers.map((close) => close()));
  await Promise.all(parts.informers.map((informer) => informer.stop()));
  await Promise.all(parts.recorders.map((recorder) => recorder.flush()));
}
