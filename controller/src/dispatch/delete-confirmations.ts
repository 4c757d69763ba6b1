// Which Jobs' messages this process has deleted from SQS, keyed by Job uid. The embedded
// dispatchers write it after a successful (batched) delete; the outcome reconciler reads it before
// it lets a finished Job go (outcome/message-release.ts). In memory only: after a restart, or for
// Jobs made by a dispatcher in another process, nothing is known and the outcome path deletes the
// message itself.

/** Deletes the outcome path has not consumed yet (a Job that never finishes while we lead). */
const MAX_TRACKED = 100_000;

export class DeleteConfirmations {
  readonly #confirmed = new Set<string>();

  confirm(jobUid: string): void {
    this.#confirmed.add(jobUid);
    if (this.#confirmed.size > MAX_TRACKED) this.#confirmed.delete(this.#confirmed.values().next().value!);
  }

  has(jobUid: string): boolean {
    return this.#confirmed.has(jobUid);
  }

  forget(jobUid: string): void {
    this.#confirmed.delete(jobUid);
  }
}
