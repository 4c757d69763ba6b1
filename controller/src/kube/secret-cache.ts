// The Secrets the controller needs on a hot path (QueueBinding credentials), each watched on its own
// (fieldSelector metadata.name=NAME), like KEDA's SecretsLister but limited to what is referenced: a
// watch starts when a binding first references a Secret and stops when none does. No GET per
// reconcile, no cache of every Secret in the cluster, and a rotated Secret is seen at once.
import type * as k8s from '@kubernetes/client-node';
import type { InformerHandlers } from './informer.ts';
import { keyOf } from './keys.ts';

/** One Secret's watch; an Informer with a name field selector is one. */
export interface SecretSource {
  start(): void;
  stop(): Promise<void>;
  hasSynced(): boolean;
  get(namespace: string, name: string): k8s.V1Secret | undefined;
  addHandlers(handlers: InformerHandlers<k8s.V1Secret>): () => void;
}

export type SecretView = { synced: false } | { synced: true; secret: k8s.V1Secret | undefined };

export class ReferencedSecrets {
  readonly #open: (namespace: string, name: string) => SecretSource;
  readonly #watches = new Map<string, { source: SecretSource; owners: Set<string> }>();
  readonly #ownerOf = new Map<string, string>();
  readonly #listeners = new Set<(namespace: string, name: string) => void>();

  constructor(open: (namespace: string, name: string) => SecretSource) {
    this.#open = open;
  }

  /** `owner` (a binding's key) needs this Secret; what it needed before is let go. */
  use(owner: string, namespace: string, name: string): void {
    const key = keyOf(namespace, name);
    if (this.#ownerOf.get(owner) === key) return;
    this.release(owner);
    this.#ownerOf.set(owner, key);
    let watch = this.#watches.get(key);
    if (!watch) {
      const source = this.#open(namespace, name);
      const changed = () => { for (const listener of this.#listeners) listener(namespace, name); };
      source.addHandlers({ add: changed, update: changed, delete: changed });
      source.start();
      this.#watches.set(key, (watch = { source, owners: new Set() }));
    }
    watch.owners.add(owner);
  }

  release(owner: string): void {
    const key = this.#ownerOf.get(owner);
    if (key === undefined) return;
    this.#ownerOf.delete(owner);
    const watch = this.#watches.get(key);
    watch?.owners.delete(owner);
    if (watch && watch.owners.size === 0) {
      this.#watches.delete(key);
      void watch.source.stop();
    }
  }

  /** The Secret as its watch has it; not synced until its first list is in. Call use() first. */
  get(namespace: string, name: string): SecretView {
    const watch = this.#watches.get(keyOf(namespace, name));
    if (!watch?.source.hasSynced()) return { synced: false };
    return { synced: true, secret: watch.source.get(namespace, name) };
  }

  /** Called when a watched Secret appears, changes or goes. */
  onChange(listener: (namespace: string, name: string) => void): void {
    this.#listeners.add(listener);
  }

  /** Watched Secrets, for tests and metrics. */
  watched(): string[] {
    return [...this.#watches.keys()];
  }

  async stop(): Promise<void> {
    const watches = [...this.#watches.values()];
    this.#watches.clear();
    this.#ownerOf.clear();
    await Promise.all(watches.map((w) => w.source.stop()));
  }
}
