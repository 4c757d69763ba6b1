// An in-memory Kubernetes API for unit tests: the batch/v1, core/v1, events and custom-object calls
// Sluice makes, with the API server's rules that matter to it — AlreadyExists on create, NotFound,
// Conflict when a resourceVersion precondition is stale, merge and JSON patches (with `test`),
// finalizers that hold a deleted object until they are removed, owner references that take
// dependents along. Objects are stored as wire JSON. A cache view shows what an informer would,
// and can be held back to play a stale cache.
import * as k8s from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import type { InformerHandlers } from '../kube/informer.ts';
import type { SecretSource } from '../kube/secret-cache.ts';
import type { ObjectCache } from '../reconcile/cache.ts';

export type Kind = 'Job' | 'Pod' | 'Secret' | 'ConfigMap' | 'Event' | 'QueueBinding' | 'JobType' | 'StatusSink';
type Verb = 'create' | 'read' | 'list' | 'replace' | 'patch' | 'delete';
type Obj = k8s.KubernetesObject & { metadata: k8s.V1ObjectMeta } & Record<string, unknown>;

export type ApiCall = { verb: Verb; kind: Kind; namespace: string; name?: string; body?: unknown };
export type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; kind: Kind; object: Obj };

const apiVersions: Record<Kind, string> = {
  Job: 'batch/v1', Pod: 'v1', Secret: 'v1', ConfigMap: 'v1', Event: 'events.k8s.io/v1',
  QueueBinding: 'sluice.dev/v1alpha1', JobType: 'sluice.dev/v1alpha1', StatusSink: 'sluice.dev/v1alpha1',
};
const pluralKinds: Record<string, Kind> = { queuebindings: 'QueueBinding', jobtypes: 'JobType', statussinks: 'StatusSink' };

export function apiError(code: number, reason: string, message: string): k8s.ApiException<string> {
  return new k8s.ApiException(code, message, JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message }), {});
}

type Fault = { verb: Verb; kind: Kind; error: () => Error; times: number };

export class FakeKube {
  readonly #objects = new Map<string, Obj>();
  readonly #faults: Fault[] = [];
  readonly #listeners = new Set<(event: WatchEvent) => void>();
  #resourceVersion = 0;
  now: () => Date = () => new Date();
  readonly calls: ApiCall[] = [];

  readonly batch = {
    createNamespacedJob: ({ namespace, body }: { namespace: string; body: k8s.V1Job }) => this.#async(() => this.create<k8s.V1Job>('Job', namespace, body)),
    readNamespacedJob: ({ namespace, name }: { namespace: string; name: string }) => this.#async(() => this.read<k8s.V1Job>('Job', namespace, name)),
    listNamespacedJob: ({ namespace, labelSelector }: { namespace: string; labelSelector?: string }) =>
      this.#async(() => ({ items: this.list<k8s.V1Job>('Job', namespace, labelSelector) })),
    patchNamespacedJob: ({ namespace, name, body }: { namespace: string; name: string; body: unknown }) =>
      this.#async(() => this.patch<k8s.V1Job>('Job', namespace, name, body)),
    deleteNamespacedJob: ({ namespace, name }: { namespace: string; name: string; propagationPolicy?: string }) =>
      this.#async(() => this.delete('Job', namespace, name)),
  } satisfies Partial<Record<keyof k8s.BatchV1Api, unknown>>;

  readonly core = {
    createNamespacedSecret: ({ namespace, body }: { namespace: string; body: k8s.V1Secret }) => this.#async(() => this.create<k8s.V1Secret>('Secret', namespace, body)),
    readNamespacedSecret: ({ namespace, name }: { namespace: string; name: string }) => this.#async(() => this.read<k8s.V1Secret>('Secret', namespace, name)),
    listNamespacedPod: ({ namespace, labelSelector }: { namespace: string; labelSelector?: string }) =>
      this.#async(() => ({ items: this.list<k8s.V1Pod>('Pod', namespace, labelSelector) })),
    readNamespacedConfigMap: ({ namespace, name }: { namespace: string; name: string }) => this.#async(() => this.read<k8s.V1ConfigMap>('ConfigMap', namespace, name)),
    createNamespacedConfigMap: ({ namespace, body }: { namespace: string; body: k8s.V1ConfigMap }) =>
      this.#async(() => this.create<k8s.V1ConfigMap>('ConfigMap', namespace, body)),
    replaceNamespacedConfigMap: ({ namespace, name, body }: { namespace: string; name: string; body: k8s.V1ConfigMap }) =>
      this.#async(() => this.replace<k8s.V1ConfigMap>('ConfigMap', namespace, name, body)),
    deleteNamespacedConfigMap: ({ namespace, name, body }: { namespace: string; name: string; body?: k8s.V1DeleteOptions }) =>
      this.#async(() => this.delete('ConfigMap', namespace, name, body?.preconditions?.resourceVersion)),
  } satisfies Partial<Record<keyof k8s.CoreV1Api, unknown>>;

  readonly events = {
    createNamespacedEvent: ({ namespace, body }: { namespace: string; body: k8s.EventsV1Event }) => this.#async(() => this.create<k8s.EventsV1Event>('Event', namespace, body)),
    patchNamespacedEvent: ({ namespace, name, body }: { namespace: string; name: string; body: unknown }) =>
      this.#async(() => this.patch<k8s.EventsV1Event>('Event', namespace, name, body)),
  } satisfies Partial<Record<keyof k8s.EventsV1Api, unknown>>;

  readonly custom = {
    patchNamespacedCustomObjectStatus: ({ namespace, plural, name, body }: { namespace: string; plural: string; name: string; body: unknown }) =>
      this.#async(() => this.patch(pluralKinds[plural]!, namespace, name, body, { statusOnly: true })),
  } satisfies Partial<Record<keyof k8s.CustomObjectsApi, unknown>>;

  /** The next `times` calls of verb on kind fail with `error`. */
  fail(verb: Verb, kind: Kind, error: () => Error, times = 1): void {
    this.#faults.push({ verb, kind, error, times });
  }

  /** Called with every change, as a watch would deliver it. */
  watch(listener: (event: WatchEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  count(verb: Verb, kind: Kind): number {
    return this.calls.filter((c) => c.verb === verb && c.kind === kind).length;
  }

  /** Objects as stored now (for assertions; tests may also seed with create()). */
  get<T extends k8s.KubernetesObject>(kind: Kind, namespace: string, name: string): T | undefined {
    const found = this.#objects.get(key(kind, namespace, name));
    return found === undefined ? undefined : (clone(found) as T);
  }

  all<T extends k8s.KubernetesObject>(kind: Kind, namespace?: string): T[] {
    return [...this.#objects.values()]
      .filter((o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace))
      .map((o) => clone(o) as T);
  }

  /** An informer's view of `kind`: live by default; hold() freezes it until sync(). `transform` is the informer's (kube/slim.ts). */
  cache<T extends k8s.KubernetesObject>(kind: Kind, transform: (object: T) => T = (object) => object): FakeCache<T> {
    return new FakeCache<T>(this, kind, transform);
  }

  create<T extends k8s.KubernetesObject>(kind: Kind, namespace: string, body: k8s.KubernetesObject): T {
    this.#record('create', kind, namespace, body.metadata?.name, body);
    const name = body.metadata?.name;
    if (!name) throw apiError(422, 'Invalid', `${kind} name is required`);
    const id = key(kind, namespace, name);
    if (this.#objects.has(id)) throw apiError(409, 'AlreadyExists', `${kind.toLowerCase()}s "${name}" already exists`);
    const stored = clone({ ...body, apiVersion: apiVersions[kind], kind }) as Obj;
    const secret = stored as k8s.V1Secret;
    if (kind === 'Secret' && secret.stringData) {
      secret.data = { ...secret.data, ...Object.fromEntries(Object.entries(secret.stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) };
      delete secret.stringData;
    }
    stored.metadata = {
      ...stored.metadata,
      namespace,
      uid: randomUUID(),
      resourceVersion: this.#nextVersion(),
      creationTimestamp: this.now().toISOString() as unknown as Date,
      generation: 1,
    };
    this.#objects.set(id, stored);
    this.#emit('ADDED', kind, stored);
    return clone(stored) as T;
  }

  read<T extends k8s.KubernetesObject>(kind: Kind, namespace: string, name: string): T {
    this.#record('read', kind, namespace, name);
    return clone(this.#existing(kind, namespace, name)) as T;
  }

  list<T extends k8s.KubernetesObject>(kind: Kind, namespace: string, labelSelector?: string): T[] {
    this.#record('list', kind, namespace);
    return this.all<T>(kind, namespace).filter((o) => matchesSelector(o.metadata?.labels, labelSelector));
  }

  replace<T extends k8s.KubernetesObject>(kind: Kind, namespace: string, name: string, body: k8s.KubernetesObject): T {
    this.#record('replace', kind, namespace, name, body);
    const current = this.#existing(kind, namespace, name);
    const expected = body.metadata?.resourceVersion;
    if (expected !== undefined && expected !== current.metadata.resourceVersion) throw conflict(kind, name);
    const next = clone({ ...body, apiVersion: current.apiVersion, kind }) as Obj;
    next.metadata = { ...next.metadata, namespace, uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp };
    return clone(this.#store(kind, next)) as T;
  }

  patch<T extends k8s.KubernetesObject>(kind: Kind, namespace: string, name: string, body: unknown, options: { statusOnly?: boolean } = {}): T {
    this.#record('patch', kind, namespace, name, body);
    const current = this.#existing(kind, namespace, name);
    let next: Obj;
    if (Array.isArray(body)) {
      next = applyJsonPatch(current, body as JsonPatchOperation[], kind, name);
    } else {
      const patch = body as { metadata?: { resourceVersion?: string }; status?: unknown };
      const expected = patch.metadata?.resourceVersion;
      if (expected !== undefined && expected !== current.metadata.resourceVersion) throw conflict(kind, name);
      next = mergePatch(current, options.statusOnly ? { status: patch.status } : body) as Obj;
    }
    next.metadata = { ...next.metadata, uid: current.metadata.uid, namespace, name };
    return clone(this.#store(kind, next)) as T;
  }

  /** With finalizers the object only gets a deletionTimestamp; without, it goes (and its dependents with it). */
  delete(kind: Kind, namespace: string, name: string, precondition?: string): k8s.V1Status {
    this.#record('delete', kind, namespace, name);
    const current = this.#existing(kind, namespace, name);
    if (precondition !== undefined && precondition !== current.metadata.resourceVersion) throw conflict(kind, name);
    if (current.metadata.finalizers?.length) {
      if (!current.metadata.deletionTimestamp) {
        this.#store(kind, { ...clone(current), metadata: { ...current.metadata, deletionTimestamp: this.now().toISOString() as unknown as Date } });
      }
    } else {
      this.#remove(kind, current);
    }
    return { status: 'Success' };
  }

  #store(kind: Kind, next: Obj): Obj {
    const id = key(kind, next.metadata.namespace!, next.metadata.name!);
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
      this.#remove(kind, next);
      return next;
    }
    next.metadata.resourceVersion = this.#nextVersion();
    this.#objects.set(id, next);
    this.#emit('MODIFIED', kind, next);
    return next;
  }

  #remove(kind: Kind, object: Obj): void {
    this.#objects.delete(key(kind, object.metadata.namespace!, object.metadata.name!));
    this.#emit('DELETED', kind, object);
    for (const dependent of [...this.#objects.values()]) {
      if (dependent.metadata.ownerReferences?.some((o) => o.uid === object.metadata.uid)) this.#remove(dependent.kind as Kind, dependent);
    }
  }

  #existing(kind: Kind, namespace: string, name: string): Obj {
    const found = this.#objects.get(key(kind, namespace, name));
    if (!found) throw apiError(404, 'NotFound', `${kind.toLowerCase()}s "${name}" not found`);
    return found;
  }

  #record(verb: Verb, kind: Kind, namespace: string, name?: string, body?: unknown): void {
    this.calls.push({ verb, kind, namespace, ...(name !== undefined && { name }), ...(body !== undefined && { body: clone(body) }) });
    const fault = this.#faults.find((f) => f.verb === verb && f.kind === kind && f.times > 0);
    if (fault) {
      fault.times -= 1;
      throw fault.error();
    }
  }

  #emit(type: WatchEvent['type'], kind: Kind, object: Obj): void {
    for (const listener of this.#listeners) listener({ type, kind, object: clone(object) });
  }

  #nextVersion(): string {
    return String(++this.#resourceVersion);
  }

  /** API calls resolve on a later tick, as real ones do, so interleavings show. */
  async #async<T>(call: () => T): Promise<T> {
    await Promise.resolve();
    return call();
  }
}

export class FakeCache<T extends k8s.KubernetesObject> implements ObjectCache<T> {
  readonly #kube: FakeKube;
  readonly #kind: Kind;
  readonly #transform: (object: T) => T;
  #held: Map<string, T> | undefined;

  constructor(kube: FakeKube, kind: Kind, transform: (object: T) => T) {
    this.#kube = kube;
    this.#kind = kind;
    this.#transform = transform;
  }

  get(namespace: string, name: string): T | undefined {
    if (this.#held) return this.#held.get(`${namespace}/${name}`);
    const object = this.#kube.get<T>(this.#kind, namespace, name);
    return object && this.#transform(object);
  }

  list(namespace?: string): T[] {
    if (this.#held) return [...this.#held.values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
    return this.#kube.all<T>(this.#kind, namespace).map(this.#transform);
  }

  /** Keeps showing the objects as they are now, whatever happens to them, until sync(). */
  hold(): void {
    this.#held = new Map(this.#kube.all<T>(this.#kind).map((o) => [`${o.metadata!.namespace!}/${o.metadata!.name!}`, this.#transform(o)]));
  }

  sync(): void {
    this.#held = undefined;
  }
}

type JsonPatchOperation = { op: 'add' | 'remove' | 'replace' | 'test'; path: string; value?: unknown };

function applyJsonPatch(current: Obj, operations: JsonPatchOperation[], kind: Kind, name: string): Obj {
  const document = clone(current) as Record<string, unknown>;
  for (const operation of operations) {
    const parts = operation.path.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = parts.pop()!;
    let parent: unknown = document;
    for (const part of parts) parent = (parent as Record<string, unknown> | undefined)?.[part];
    if (parent === undefined || parent === null || typeof parent !== 'object') {
      throw apiError(422, 'Invalid', `the JSON patch path ${operation.path} does not exist in ${kind} ${name}`);
    }
    const container = parent as Record<string, unknown> & unknown[];
    const index = Array.isArray(container) ? (last === '-' ? container.length : Number(last)) : undefined;
    const exists = index === undefined ? Object.hasOwn(container, last) : index < container.length;
    switch (operation.op) {
      case 'test':
        if (!exists || JSON.stringify(container[index ?? last]) !== JSON.stringify(operation.value)) {
          throw apiError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${operation.path} failed`);
        }
        break;
      case 'remove':
        if (!exists) throw apiError(422, 'Invalid', `unable to remove nonexistent key ${operation.path}`);
        if (index === undefined) Reflect.deleteProperty(container, last);
        else container.splice(index, 1);
        break;
      case 'replace':
        if (!exists) throw apiError(422, 'Invalid', `unable to replace nonexistent key ${operation.path}`);
        container[index ?? last] = clone(operation.value);
        break;
      case 'add':
        if (index === undefined) container[last] = clone(operation.value);
        else container.splice(index, 0, clone(operation.value));
        break;
    }
  }
  return document as Obj;
}

/** RFC 7386: objects merge, null removes, everything else (arrays too) replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const result: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = mergePatch(result[name], value);
  }
  return result;
}

function matchesSelector(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [name, value] = term.split('=') as [string, string | undefined];
    return value === undefined ? labels?.[name] !== undefined : labels?.[name] === value;
  });
}

function conflict(kind: Kind, name: string): k8s.ApiException<string> {
  return apiError(409, 'Conflict', `Operation cannot be fulfilled on ${kind.toLowerCase()}s "${name}": the object has been modified; please apply your changes to the latest version and try again`);
}

function key(kind: Kind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** One Secret's watch over the fake API, as ReferencedSecrets opens them: synced once started. */
export function fakeSecretSource(kube: FakeKube, namespace: string, name: string): SecretSource & { started: boolean; stopped: boolean } {
  const handlers = new Set<InformerHandlers<k8s.V1Secret>>();
  let unwatch: (() => void) | undefined;
  const source = {
    started: false,
    stopped: false,
    start: () => {
      source.started = true;
      unwatch = kube.watch(({ type, kind, object }) => {
        if (kind !== 'Secret' || object.metadata.namespace !== namespace || object.metadata.name !== name) return;
        for (const h of handlers) {
          if (type === 'ADDED') h.add?.(object);
          else if (type === 'MODIFIED') h.update?.(object, object);
          else h.delete?.(object);
        }
      });
    },
    stop: () => {
      source.stopped = true;
      unwatch?.();
      return Promise.resolve();
    },
    hasSynced: () => source.started,
    get: (ns: string, n: string) => (ns === namespace && n === name ? kube.get<k8s.V1Secret>('Secret', ns, n) : undefined),
    addHandlers: (h: InformerHandlers<k8s.V1Secret>) => {
      handlers.add(h);
      return () => void handlers.delete(h);
    },
  };
  return source;
}
