// A controller that watches a list of namespaces (`sluice controller --namespace a,b`) is granted a
// Role in each, not a ClusterRole, so it cannot list or watch across the cluster: it runs one
// Informer per namespace. This composite puts them behind the Informer's interface, so the rest of
// the controller does not care which. Without namespaces it is one cluster-wide informer.
import type * as k8s from '@kubernetes/client-node';
import type { Informer, InformerHandlers } from './informer.ts';
import { splitKey } from './keys.ts';

export class NamespacedInformers<T extends k8s.KubernetesObject> {
  /** undefined: the one cluster-wide informer. */
  readonly #informers: Map<string | undefined, Informer<T>>;

  /** `make(namespace)` builds the informer of one namespace, or the cluster-wide one for undefined. */
  constructor(namespaces: readonly string[], make: (namespace: string | undefined) => Informer<T>) {
    const watched = [...new Set(namespaces)];
    this.#informers = new Map(watched.length === 0 ? [[undefined, make(undefined)]] : watched.map((namespace) => [namespace, make(namespace)]));
  }

  /** The namespaces watched; empty: all of them. */
  get namespaces(): string[] {
    return [...this.#informers.keys()].filter((namespace) => namespace !== undefined);
  }

  start(): void {
    for (const informer of this.#informers.values()) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((informer) => informer.stop()));
  }

  /** Resolves once every namespace's first list is in; rejects if one is stopped before. */
  async synced(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((informer) => informer.synced()));
  }

  hasSynced(): boolean {
    return [...this.#informers.values()].every((informer) => informer.hasSynced());
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#informerFor(namespace)?.get(namespace, name);
  }

  getByKey(key: string): T | undefined {
    const { namespace, name } = splitKey(key);
    return this.get(namespace, name);
  }

  /** Objects of one namespace (none for one not watched), or of all watched namespaces. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return this.#informerFor(namespace)?.list(namespace) ?? [];
    return [...this.#informers.values()].flatMap((informer) => informer.list());
  }

  keys(): string[] {
    return [...this.#informers.values()].flatMap((informer) => informer.keys());
  }

  /** Adds the handlers to every namespace's informer; returns a function that removes them. */
  addHandlers(handlers: InformerHandlers<T>): () => void {
    const removers = [...this.#informers.values()].map((informer) => informer.addHandlers(handlers));
    return () => { for (const remove of removers) remove(); };
  }

  onChange(onChange: (key: string, object: T) => void): () => void {
    const removers = [...this.#informers.values()].map((informer) => informer.onChange(onChange));
    return () => { for (const remove of removers) remove(); };
  }

  #informerFor(namespace: string | undefined): Informer<T> | undefined {
    return this.#informers.get(undefined) ?? (namespace === undefined ? undefined : this.#informers.get(namespace));
  }
}
