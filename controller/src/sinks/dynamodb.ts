// DynamoDB status sink: one conditional UpdateItem per write, so the version check and the update
// are atomic, and an item is created by the same call when createIfMissing allows it.
import {
  DescribeTableCommand, DynamoDBClient, GetItemCommand, ListTablesCommand, UpdateItemCommand,
  type AttributeValue, type ScalarAttributeType,
} from '@aws-sdk/client-dynamodb';
import { convertToAttr } from '@aws-sdk/util-dynamodb';
import type { SinkWrite, StatusSinkClient, WriteResult } from './types.ts';
import { SinkConfigError } from './permanent-errors.ts';
import { checkVersion, fieldsToSet, targetTable } from './write-fields.ts';

export type DynamoSinkOptions = { region?: string; endpoint?: string; table?: string };

/** What a table's key is, when DescribeTable may be called; undefined: use the key as given. */
type KeyType = ScalarAttributeType | undefined;

export class DynamoStatusSink implements StatusSinkClient {
  readonly #client: DynamoDBClient;
  readonly #defaultTable: string | undefined;
  readonly #keyTypes = new Map<string, Promise<KeyType>>();

  constructor(client: DynamoDBClient, defaultTable?: string) {
    this.#client = client;
    this.#defaultTable = defaultTable;
  }

  /** Credentials come from the SDK's default chain (pod identity, IRSA, environment). */
  static open(options: DynamoSinkOptions): DynamoStatusSink {
    const client = new DynamoDBClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      maxAttempts: 3,
      // A stopped endpoint fails within seconds rather than hanging on the socket.
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
    });
    return new DynamoStatusSink(client, options.table);
  }

  async write(write: SinkWrite): Promise<WriteResult> {
    checkVersion(write);
    const table = targetTable(write, this.#defaultTable, 'table');
    const Key = { [write.keyField]: keyAttribute(write.key, await this.#keyType(table, write.keyField), table, write.keyField) };
    const names: Record<string, string> = { '#v': write.versionField };
    const values: Record<string, AttributeValue> = { ':v': { N: String(write.version) } };
    const assignments = ['#v = :v'];
    fieldsToSet(write).forEach(([name, value], i) => {
      names[`#f${i}`] = name;
      values[`:f${i}`] = toAttributeValue(value);
      assignments.push(`#f${i} = :f${i}`);
    });
    let condition = '(attribute_not_exists(#v) OR #v < :v)';
    if (!write.createIfMissing) {
      names['#k'] = write.keyField;
      condition = `attribute_exists(#k) AND ${condition}`;
    }
    try {
      await this.#client.send(new UpdateItemCommand({
        TableName: table,
        Key,
        UpdateExpression: `SET ${assignments.join(', ')}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }));
      return 'written';
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      // With createIfMissing only an item at this or a later version fails the condition.
      if (write.createIfMissing || (error as { Item?: unknown }).Item) return 'stale';
      // Without the old item in the error (some emulators), look it up.
      const { Item } = await this.#client.send(new GetItemCommand({ TableName: table, Key, ConsistentRead: true }));
      return Item ? 'stale' : 'missing';
    }
  }

  /** The table's key type, looked up once: message keys arrive as strings, keys may be numbers. */
  #keyType(table: string, keyField: string): Promise<KeyType> {
    const cacheKey = `${table}\0${keyField}`;
    let found = this.#keyTypes.get(cacheKey);
    if (!found) {
      found = this.#describeKey(table, keyField);
      this.#keyTypes.set(cacheKey, found);
      found.catch(() => this.#keyTypes.delete(cacheKey));
    }
    return found;
  }

  async #describeKey(table: string, keyField: string): Promise<KeyType> {
    let description;
    try {
      description = (await this.#client.send(new DescribeTableCommand({ TableName: table }))).Table;
    } catch (error) {
      // Least-privilege roles may allow UpdateItem but not DescribeTable.
      if ((error as Error).name === 'AccessDeniedException') return undefined;
      throw error;
    }
    const keys = description?.KeySchema ?? [];
    const partition = keys.find((k) => k.KeyType === 'HASH')?.AttributeName;
    const sort = keys.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    if (sort !== undefined) {
      throw new SinkConfigError(`DynamoDB table ${table} has a sort key (${sort}); a status record must be addressed by its partition key alone`);
    }
    if (partition !== keyField) {
      throw new SinkConfigError(`the partition key of DynamoDB table ${table} is ${partition}, not ${keyField}`);
    }
    return description?.AttributeDefinitions?.find((a) => a.AttributeName === keyField)?.AttributeType;
  }

  /** DescribeTable on the default table, else ListTables: either proves the endpoint and credentials. */
  async ping(): Promise<void> {
    try {
      if (this.#defaultTable) await this.#client.send(new DescribeTableCommand({ TableName: this.#defaultTable }));
      else await this.#client.send(new ListTablesCommand({ Limit: 1 }));
    } catch (error) {
      // Authenticated, and the service answered: writes may still be allowed.
      if ((error as Error).name === 'AccessDeniedException') return;
      throw error;
    }
  }

  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }
}

export function keyAttribute(key: string | number, type: KeyType, table: string, keyField: string): AttributeValue {
  if (type === 'B') throw new SinkConfigError(`DynamoDB table ${table} has a binary key (${keyField}); status sinks support string and number keys`);
  if (type === 'S') return { S: String(key) };
  if (type === 'N' || typeof key === 'number') {
    const number = typeof key === 'number' ? key : key.trim() === '' ? Number.NaN : Number(key);
    if (!Number.isFinite(number)) throw new SinkConfigError(`key ${JSON.stringify(key)} is not a number, but ${table}.${keyField} is numeric`);
    return { N: typeof key === 'number' ? String(key) : key.trim() };
  }
  return { S: key };
}

/** Dates become ISO 8601 strings (DynamoDB has no time type); objects and arrays become maps and lists. */
export function toAttributeValue(value: unknown): AttributeValue {
  return convertToAttr(datesToIso(value), { removeUndefinedValues: true });
}

function datesToIso(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(datesToIso);
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value) as object | null)) {
    return Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, datesToIso(inner)]));
  }
  return value;
}
