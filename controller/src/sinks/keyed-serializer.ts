// Runs tasks that share a key one after another, and tasks with different keys side by side.

export class KeyedSerializer {
  readonly #tails = new Map<string, Promise<void>>();

  /** Starts `task` once every earlier task with this key has settled, whether it failed or not. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.#tails.get(key) ?? Promise.resolve()).then(task);
    const tail = result.then(() => undefined, () => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting. */
  get busyKeys(): number {
    return this.#tails.size;
  }
}
