// MongoDB status sink. The version filter on updateOne makes each write monotonic; a record is
// created by a separate insertOne only once no record holds the key, so a record with a newer
// version is never duplicated. Only updateOne, insertOne, find and deleteOne: the local MongoDB-wire
// server has no transactions and no atomic findAndModify, and the application's collection may
// have no unique index on the key field. Without such an index two inserts for one key could both
// land, so this process serializes the writes for each key, and an insert that then finds a rival
// record (the application creating it at that moment) gives way to it.
import { MongoClient, MongoServerError, ObjectId, type Collection, type Db, type Filter } from 'mongodb';
import { KeyedSerializer } from './keyed-serializer.ts';
import type { SinkWrite, StatusSinkClient, WriteResult } from './types.ts';
import { checkVersion, fieldsToSet, targetTable } from './write-fields.ts';

/** A stopped server fails a write within seconds instead of the driver's 30 s default. */
export const MONGO_CLIENT_OPTIONS = {
  serverSelectionTimeoutMS: 5_000,
  connectTimeoutMS: 3_000,
  socketTimeoutMS: 15_000,
  maxPoolSize: 10,
} as const;

/** Rounds of "insert, find a rival record for the key, give way" before the caller retries. */
const MAX_INSERT_ROUNDS = 5;
const DUPLICATE_KEY = 11000;

/** An application record: any _id type (ObjectId, string, number), any fields. */
type SinkRecord = { _id: ObjectId | string | number; [field: string]: unknown };

export class MongoStatusSink implements StatusSinkClient {
  readonly #newClient: () => MongoClient;
  readonly #database: string;
  readonly #perRecord = new KeyedSerializer();
  /** Made up front, so a malformed URI fails open() rather than every write. */
  #unusedClient: MongoClient | undefined;
  #connected: Promise<MongoClient> | undefined;
  #closed = false;

  constructor(newClient: () => MongoClient, database: string) {
    this.#newClient = newClient;
    this.#database = database;
    this.#unusedClient = newClient();
  }

  static open(uri: string, database: string): MongoStatusSink {
    return new MongoStatusSink(() => new MongoClient(uri, MONGO_CLIENT_OPTIONS), database);
  }

  /**
   * The database on a connected client. A MongoClient whose first connection fails stays closed
   * for good ("Topology is closed"), so a failed connect is thrown away and the next call starts
   * over with a new client. Once connected, the driver itself rides out server restarts.
   */
  async #db(): Promise<Db> {
    if (this.#closed) throw new Error('the MongoDB status sink is closed');
    if (!this.#connected) {
      const client = this.#unusedClient ?? this.#newClient();
      this.#unusedClient = undefined;
      const connecting: Promise<MongoClient> = client.connect().catch(async (error: unknown) => {
        if (this.#connected === connecting) this.#connected = undefined;
        await client.close().catch(() => undefined);
        throw error;
      });
      this.#connected = connecting;
    }
    return (await this.#connected).db(this.#database);
  }

  async write(write: SinkWrite): Promise<WriteResult> {
    checkVersion(write);
    const collectionName = targetTable(write, undefined, 'collection');
    // String(key): '42' and 42 may name the same record (see keyMatch).
    const record = JSON.stringify([collectionName, write.keyField, String(write.key)]);
    return this.#perRecord.run(record, async () => this.#write((await this.#db()).collection<SinkRecord>(collectionName), write));
  }

  async #write(collection: Collection<SinkRecord>, write: SinkWrite): Promise<WriteResult> {
    const { versionField: v, version } = write;
    const ofKey: Filter<SinkRecord> = { [write.keyField]: keyMatch(write.key) };
    // `null` matches a missing field too.
    const older: Filter<SinkRecord> = { ...ofKey, $or: [{ [v]: null }, { [v]: { $lt: version } }] };
    const set = { ...Object.fromEntries(fieldsToSet(write, ['_id'])), [v]: version };

    for (let round = 1; round <= MAX_INSERT_ROUNDS; round++) {
      if ((await collection.updateOne(older, { $set: set })).matchedCount > 0) return 'written';
      const current = await collection.findOne(ofKey, { projection: { [v]: 1 } });
      if (current) {
        if (isAtLeast(current, v, version)) return 'stale';
        continue; // created meanwhile with an older version: the update will now match
      }
      if (!write.createIfMissing) return 'missing';
      if (await this.#insert(collection, write, set, ofKey)) return 'written';
    }
    throw new Error(`records for ${write.keyField}=${write.key} kept appearing and disappearing while writing; try again`);
  }

  /** Inserts the record; false when another record for the key appeared meanwhile (then it wins). */
  async #insert(collection: Collection<SinkRecord>, write: SinkWrite, set: Record<string, unknown>, ofKey: Filter<SinkRecord>): Promise<boolean> {
    const ownId = write.keyField === '_id' ? write.key : new ObjectId();
    try {
      await collection.insertOne({ ...nestDottedPaths({ ...set, [write.keyField]: write.key }), _id: ownId });
    } catch (error) {
      if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return false;
      throw error;
    }
    // The _id index is always unique; any other key field may have no index at all.
    if (write.keyField === '_id') return true;
    const holders = await collection.find(ofKey, { projection: { _id: 1 } }).limit(2).toArray();
    if (holders.length < 2) return true;
    // Another record for the key appeared meanwhile: remove ours unless something changed it
    // since, and go back to updating the one that remains.
    const ownCopy: Filter<SinkRecord> = { _id: ownId, [write.versionField]: write.version };
    const removed = await collection.deleteOne(ownCopy);
    return removed.deletedCount === 0;
  }

  async ping(): Promise<void> {
    await (await this.#db()).command({ ping: 1 });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connected = this.#connected;
    this.#connected = undefined;
    const client = await connected?.catch(() => undefined);
    await client?.close();
  }
}

function isAtLeast(record: SinkRecord, versionField: string, version: number): boolean {
  const stored: unknown = record[versionField];
  return stored !== null && stored !== undefined && Number(stored) >= version;
}

/**
 * What a key matches. Keys from messages arrive as strings, while applications often key their
 * records by an ObjectId or a number: a string also matches the ObjectId or integer it spells.
 */
export function keyMatch(key: string | number): unknown {
  if (typeof key === 'number') return key;
  const alternatives: unknown[] = [key];
  if (/^[0-9a-f]{24}$/i.test(key)) alternatives.push(ObjectId.createFromHexString(key));
  if (/^-?(0|[1-9][0-9]*)$/.test(key) && Number.isSafeInteger(Number(key))) alternatives.push(Number(key));
  return alternatives.length === 1 ? key : { $in: alternatives };
}

/** `{'progress.step': 2}` → `{progress: {step: 2}}`, so an inserted record has the shape $set gives. */
export function nestDottedPaths(fields: Record<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(fields)) {
    const parts = path.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const child = node[part];
      if (typeof child !== 'object' || child === null || child instanceof Date || Array.isArray(child)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts.at(-1)!] = value;
  }
  return root;
}
