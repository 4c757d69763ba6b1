// What only the DynamoDB sink does: the StatusSink's default table, key types taken from the
// table, and clear errors for tables a status record cannot be addressed in.
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink } from '../../../controller/src/sinks/open.ts';
import type { SinkWrite, StatusSinkClient } from '../../../controller/src/sinks/types.ts';
import { stack } from '../support/stack.ts';
import { dynamoBackend, VERSION_FIELD } from './backends.ts';

const backend = dynamoBackend();
const opened: StatusSinkClient[] = [];
let defaultTable: string;
let numericTable: string;
let sortKeyTable: string;

const open = async (table?: string) => {
  const sink = await openSink({ dynamodb: { endpoint: stack.awsEndpoint, region: stack.awsRegion, ...(table ? { table } : {}) } }, backend.readSecret);
  opened.push(sink);
  return sink;
};
const write = (overrides: Partial<SinkWrite>): SinkWrite => ({
  table: '', keyField: 'id', key: 'k', version: 10, versionField: VERSION_FIELD,
  fields: { state: 'processing' }, createIfMissing: true, ...overrides,
});

beforeAll(async () => {
  defaultTable = await backend.createTable('string');
  numericTable = await backend.createTable('number');
  sortKeyTable = `${defaultTable}_sorted`;
  await backend.client.send(new CreateTableCommand({
    TableName: sortKeyTable,
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }, { AttributeName: 'at', KeyType: 'RANGE' }],
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }, { AttributeName: 'at', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
});
afterAll(async () => {
  await Promise.all(opened.map((sink) => sink.close()));
  await backend.client.send(new DeleteTableCommand({ TableName: sortKeyTable })).catch(() => undefined);
  await backend.cleanUp();
});

describe('DynamoDB status sink', () => {
  it("writes to the StatusSink's table when the JobType names none, and pings it", async () => {
    const sink = await open(defaultTable);
    await expect(sink.ping()).resolves.toBeUndefined();
    expect(await sink.write(write({ key: 'interview-1' }))).toBe('written');
    expect(await backend.records(defaultTable, 'interview-1')).toEqual([{ id: 'interview-1', state: 'processing', [VERSION_FIELD]: 10 }]);
  });

  it('fails ping and writes for a table that does not exist', async () => {
    const sink = await open(`${defaultTable}_missing`);
    await expect(sink.ping()).rejects.toThrow(/not found|non-existent|ResourceNotFound/i);
    await expect(sink.write(write({}))).rejects.toThrow(/not found|non-existent|ResourceNotFound/i);
  });

  it("takes the key's type from the table: a key string finds a numeric key", async () => {
    const sink = await open();
    await backend.seed(numericTable, { id: 314, owner: 'app' });
    expect(await sink.write(write({ table: numericTable, key: '314', createIfMissing: false }))).toBe('written');
    expect(await backend.records(numericTable, 314)).toEqual([{ id: 314, owner: 'app', state: 'processing', [VERSION_FIELD]: 10 }]);
    await expect(sink.write(write({ table: numericTable, key: 'abc' }))).rejects.toThrow(`key "abc" is not a number, but ${numericTable}.id is numeric`);
  });

  it('explains tables whose key a status record cannot use', async () => {
    const sink = await open();
    await expect(sink.write(write({ table: defaultTable, keyField: 'interview_id' })))
      .rejects.toThrow(`the partition key of DynamoDB table ${defaultTable} is id, not interview_id`);
    await expect(sink.write(write({ table: sortKeyTable }))).rejects.toThrow(`DynamoDB table ${sortKeyTable} has a sort key (at)`);
  });
});
