// Opens the client for a StatusSink's store, and keeps one client per StatusSink for as long as
// the resource stays the same. Each store's driver is imported when a StatusSink of its kind is
// first opened: a controller without MongoDB sinks never loads the driver (bson alone holds a 17 MiB
// serialization buffer from its import on), nor pg or the DynamoDB client without theirs.
import type { StatusSink, StatusSinkSpec } from '../api/schemas.ts';
import type { StatusSinkClient } from './types.ts';

/** A key of a Secret in the StatusSink's namespace. */
export type ReadSecret = (name: string, key: string) => Promise<string>;

/** Connections are made lazily: an unreachable store shows on ping() or write(), not here. */
export async function openSink(spec: StatusSinkSpec, readSecret: ReadSecret): Promise<StatusSinkClient> {
  if (spec.mongodb) {
    const { uriSecretRef, database } = spec.mongodb;
    const uri = await readUri(readSecret, uriSecretRef);
    const { MongoStatusSink } = await import('./mongodb.ts');
    return MongoStatusSink.open(uri, database);
  }
  if (spec.dynamodb) {
    const { DynamoStatusSink } = await import('./dynamodb.ts');
    return DynamoStatusSink.open(spec.dynamodb);
  }
  if (spec.postgres) {
    const { uriSecretRef, table } = spec.postgres;
    const uri = await readUri(readSecret, uriSecretRef);
    const { PostgresStatusSink } = await import('./postgres.ts');
    return PostgresStatusSink.open(uri, table);
  }
  throw new Error('the StatusSink sets none of mongodb, dynamodb or postgres');
}

async function readUri(readSecret: ReadSecret, ref: { name: string; key: string }): Promise<string> {
  // Secrets made with --from-file usually end in a newline.
  const uri = (await readSecret(ref.name, ref.key)).trim();
  if (!uri) throw new Error(`Secret ${ref.name} key ${ref.key} is empty`);
  return uri;
}

type Entry = { version: string; client: Promise<StatusSinkClient> };
export type OpenSink = (spec: StatusSinkSpec, readSecret: ReadSecret) => Promise<StatusSinkClient>;

/**
 * One open client per StatusSink (namespace/name), reused while its spec (generation) stays the same.
 * A changed StatusSink gets a new client and the replaced one is closed; a write still in flight on
 * it fails, and the caller's retry uses the new one. A failed open is not remembered.
 */
export class SinkCache {
  readonly #open: OpenSink;
  readonly #entries = new Map<string, Entry>();

  constructor(open: OpenSink = openSink) {
    this.#open = open;
  }

  /** readSecret reads Secrets in the StatusSink's namespace; it is used only when a client is opened. */
  get(sink: StatusSink, readSecret: ReadSecret): Promise<StatusSinkClient> {
    const id = `${sink.metadata.namespace}/${sink.metadata.name}`;
    // The generation moves with the spec only; status writes (Reachable) must not reopen clients.
    const version = String(sink.metadata.generation ?? sink.metadata.resourceVersion ?? '');
    const existing = this.#entries.get(id);
    if (existing?.version === version) return existing.client;
    if (existing) void closeQuietly(existing);
    const entry: Entry = { version, client: this.#open(sink.spec, readSecret) };
    this.#entries.set(id, entry);
    entry.client.catch(() => {
      if (this.#entries.get(id) === entry) this.#entries.delete(id);
    });
    return entry.client;
  }
  /** The StatusSink was deleted. */
  async delete(namespace: string, name: string): Promise<void> {
    const id = `${namespace}/${name}`;
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    await closeQuietly(entry);
  }

  async close(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map(closeQuietly));
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** Closing is best effort: a client that never opened, or whose store is gone, has nothing to flush. */
async function closeQuietly(entry: Entry): Promise<void> {
  try {
    await (await entry.client).close();
  } catch {
    // nothing to do
  }
}
