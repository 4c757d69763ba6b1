// FIFO queues keep their order: at most one unfinished Job per MessageGroupId, and a group's
// messages dispatched one after another in the order SQS gave them. This knows each group's
// unfinished Jobs (from the Job informer, and the Jobs this process just created) and hands out
// turns: a message waits for its turn while it is first of its group here and the group has no
// unfinished Job.
//
// A message that must wait is held here, invisible in SQS (the dispatcher keeps extending its
// visibility), rather than handed back to SQS every few seconds: SQS FIFO then delivers nothing
// more of that group (a group with a message in flight is locked), other groups go on, and the
// message's receive count does not climb — with a queue redrive policy a message handed back for
// the length of a long Job would reach maxReceiveCount and be moved to the queue's dead-letter
// queue by SQS itself.
import { EventEmitter } from 'node:events';

export type GroupJob = { namespace: string; binding: string; name: string; group?: string };

/** Remembers finished Jobs, so a late "active" from a lagging cache cannot count them again. */
const FINISHED_MEMORY = 10_000;

type Group = { active: Set<string>; queue: object[] };

export type Turn = {
  /** Waits until the group has no unfinished Job again (after more were found); false when aborted. */
  ready(signal: AbortSignal): Promise<boolean>;
  /** The message became this Job: the group is busy until it finishes. Ends the turn. */
  created(jobName: string): void;
  /** The message is done without a Job (dead-lettered, handed back): the next one may go. */
  leave(): void;
};

export class FifoGroups {
  readonly #groups = new Map<string, Group>();
  readonly #finished = new Set<string>();
  readonly #changes = new EventEmitter();

  constructor() {
    this.#changes.setMaxListeners(0);
  }

  jobActive(job: GroupJob): void {
    if (job.group === undefined || this.#finished.has(jobId(job))) return;
    this.#group(groupKey(job.namespace, job.binding, job.group)).active.add(job.name);
  }

  jobFinished(job: GroupJob): void {
    if (job.group === undefined) return;
    this.#finished.add(jobId(job));
    if (this.#finished.size > FINISHED_MEMORY) this.#finished.delete(this.#finished.values().next().value!);
    const key = groupKey(job.namespace, job.binding, job.group);
    const group = this.#groups.get(key);
    if (group?.active.delete(job.name)) this.#changed(key, group);
  }

  /** Unfinished Jobs of the group that this process knows of. */
  active(namespace: string, binding: string, group: string): number {
    return this.#groups.get(groupKey(namespace, binding, group))?.active.size ?? 0;
  }

  /**
   * Queues for the group's turn, in call order, and resolves once this is first in line and the group
   * has no unfinished Job; undefined when `signal` aborts first. Call synchronously in the order SQS
   * delivered the messages.
   */
  async turn(namespace: string, binding: string, group: string, signal: AbortSignal): Promise<Turn | undefined> {
    const key = groupKey(namespace, binding, group);
    const state = this.#group(key);
    const ticket = {};
    state.queue.push(ticket);
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      state.queue.splice(state.queue.indexOf(ticket), 1);
      this.#changed(key, state);
    };
    const turn: Turn = {
      ready: (waitSignal) => this.#until(() => state.active.size === 0, waitSignal),
      created: (jobName) => {
        if (!this.#finished.has(`${namespace}/${jobName}`)) state.active.add(jobName);
        leave();
      },
      leave,
    };
    if (await this.#until(() => state.queue[0] === ticket && state.active.size === 0, signal)) return turn;
    leave();
    return undefined;
  }

  #until(holds: () => boolean, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (signal.aborted) finish(false);
        else if (holds()) finish(true);
      };
      const finish = (value: boolean) => {
        this.#changes.off('change', check);
        signal.removeEventListener('abort', check);
        resolve(value);
      };
      this.#changes.on('change', check);
      signal.addEventListener('abort', check);
      check();
    });
  }

  #group(key: string): Group {
    let group = this.#groups.get(key);
    if (!group) this.#groups.set(key, (group = { active: new Set(), queue: [] }));
    return group;
  }

  #changed(key: string, group: Group): void {
    if (group.active.size === 0 && group.queue.length === 0) this.#groups.delete(key);
    this.#changes.emit('change');
  }
}

function groupKey(namespace: string, binding: string, group: string): string {
  return JSON.stringify([namespace, binding, group]);
}

function jobId(job: GroupJob): string {
  return `${job.namespace}/${job.name}`;
}
