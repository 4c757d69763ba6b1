// The three stores behind status sinks, as the e2e tests see them: how to make an application table
// keyed by `id`, seed a record the way the application would, and read records back in one shape.
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import type { StatusSinkSpec } from '../../../controller/src/api/schemas.ts';
import type { ReadSecret } from '../../../controller/src/sinks/open.ts';
import { stack } from '../support/stack.ts';

export type KeyKind = 'string' | 'number';
export type StoredRecord = Record<string, unknown>;

export type Backend = {
  name: 'mongodb' | 'dynamodb' | 'postgres';
  spec: StatusSinkSpec;
  readSecret: ReadSecret;
  /** A new, empty table (collection) for records keyed by `id`. */
  createTable(keyKind: KeyKind): Promise<string>;
  /** Inserts a record as the application would, bypassing Sluice. */
  seed(table: string, record: StoredRecord): Promise<void>;
  /** Every record whose id is `key`: versions as numbers, no empty columns, no store-internal ids. */
  records(table: string, key: string | number): Promise<StoredRecord[]>;
  /** How a Date written by Sluice reads back. */
  stored(date: Date): unknown;
  cleanUp(): Promise<void>;
};

export const VERSION_FIELD = 'sluice_version';
const uniqueName = () => `sink_e2e_${randomBytes(4).toString('hex')}`;
const secretHolding = (uri: string): ReadSecret => () => Promise.resolve(uri);

export function mongoBackend(): Backend & { client: MongoClient; database: string } {
  const client = new MongoClient(stack.mongoUri, { serverSelectionTimeoutMS: 5_000 });
  const database = 'sluice_test';
  const tables: string[] = [];
  return {
    name: 'mongodb',
    client,
    database,
    spec: { mongodb: { uriSecretRef: { name: 'mongo', key: 'uri' }, database } },
    readSecret: secretHolding(stack.mongoUri),
    createTable(): Promise<string> {
      const name = uniqueName();
      tables.push(name);
      return Promise.resolve(name);
    },
    async seed(table, record) {
      await client.db(database).collection(table).insertOne({ ...record });
    },
    async records(table, key) {
      const found = await client.db(database).collection(table).find({ id: key }).toArray();
      return found.map(({ _id, ...record }) => withNumericVersion(record));
    },
    stored: (date) => date,
    async cleanUp() {
      for (const table of tables) await client.db(database).collection(table).drop().catch(() => undefined);
      await client.close();
    },
  };
}

export function dynamoBackend(): Backend & { client: DynamoDBClient } {
  const client = new DynamoDBClient({ endpoint: stack.awsEndpoint, region: stack.awsRegion });
  const tables: string[] = [];
  return {
    name: 'dynamodb',
    client,
    spec: { dynamodb: { endpoint: stack.awsEndpoint, region: stack.awsRegion } },
    readSecret: () => Promise.reject(new Error('a DynamoDB sink reads no Secret')),
    async createTable(keyKind) {
      const name = uniqueName();
      await client.send(new CreateTableCommand({
        TableName: name,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: keyKind === 'number' ? 'N' : 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }));
      tables.push(name);
      return name;
    },
    async seed(table, record) {
      await client.send(new PutItemCommand({ TableName: table, Item: marshall(record) }));
    },
    async records(table, key) {
      // A scan, not GetItem: it would also find a second item, were one ever created.
      const { Items = [] } = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
      return Items.map((item) => withNumericVersion(unmarshall(item))).filter((record) => record.id === key);
    },
    stored: (date) => date.toISOString(),
    async cleanUp() {
      for (const table of tables) await client.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
      client.destroy();
    },
  };
}

/** The application's table: Sluice needs a unique key and a bigint version column. */
export function postgresTableDdl(table: string, keyKind: KeyKind): string {
  return `CREATE TABLE ${table} (
    id ${keyKind === 'number' ? 'bigint' : 'text'} PRIMARY KEY,
    status text, job_name text, attempts integer, started_at timestamptz, finished_at timestamptz,
    result jsonb, owner text, note text, ${VERSION_FIELD} bigint)`;
}

export function postgresBackend(): Backend & { pool: Pool } {
  const pool = new Pool({ connectionString: stack.postgresUri, max: 2 });
  pool.on('error', () => {}); // idle connections die when a test stops the server
  const tables: string[] = [];
  const keyKinds = new Map<string, KeyKind>();
  return {
    name: 'postgres',
    pool,
    spec: { postgres: { uriSecretRef: { name: 'postgres', key: 'uri' } } },
    readSecret: secretHolding(stack.postgresUri),
    async createTable(keyKind) {
      const name = uniqueName();
      await pool.query(postgresTableDdl(name, keyKind));
      tables.push(name);
      keyKinds.set(name, keyKind);
      return name;
    },
    async seed(table, record) {
      const columns = Object.keys(record);
      const values = Object.values(record).map((value) => (value !== null && typeof value === 'object' && !(value instanceof Date) ? JSON.stringify(value) : value));
      await pool.query(
        `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        values,
      );
    },
    async records(table, key) {
      const { rows } = await pool.query<StoredRecord>(`SELECT * FROM ${table} WHERE id = $1`, [key]);
      return rows.map((row) => {
        const record = withNumericVersion(Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null)));
        // bigint comes back as a string
        if (keyKinds.get(table) === 'number') record.id = Number(record.id);
        return record;
      });
    },
    stored: (date) => date,
    async cleanUp() {
      for (const table of tables) await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await pool.end();
    },
  };
}

function withNumericVersion(record: StoredRecord): StoredRecord {
  if (record[VERSION_FIELD] !== undefined) record[VERSION_FIELD] = Number(record[VERSION_FIELD]);
  return record;
}
