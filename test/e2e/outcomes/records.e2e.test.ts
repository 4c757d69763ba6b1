// The application's own records follow each Job: MongoDB result documents (000), a DynamoDB
// interviews table whose `state` goes processing → completed / failed (001), a PostgreSQL table
// (004) — driven by kwok pod outcomes, with the Job's result and failure details.
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { batch, core, createTestNamespace, eventually, isNotFound } from '../support/kube.ts';
import { finishPod } from '../support/pods.ts';
import { apply, createQueue, installCrds, releaseJobs, sqs, waitForJobCount } from '../support/sluice.ts';
import { stack } from '../support/stack.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess;
let queueUrl: string;
const mongo = new MongoClient(stack.mongoUri);
const dynamo = new DynamoDBClient({});
const postgres = new pg.Client({ connectionString: stack.postgresUri });
let database: string;
let interviewsTable: string;
let coursesTable: string;

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('records');
  database = `sluice_${ns.name.replace(/-/g, '_')}`;
  interviewsTable = `interviews-${ns.name}`;
  coursesTable = `courses_${ns.name.replace(/-/g, '_')}`;
  queueUrl = await createQueue(`${ns.name}-apps`);

  await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: 'stores' }, stringData: { mongodb: stack.mongoUri, postgres: stack.postgresUri } } });
  await apply('StatusSink', ns.name, 'results', { mongodb: { uriSecretRef: { name: 'stores', key: 'mongodb' }, database } });
  await apply('StatusSink', ns.name, 'interviews', { dynamodb: { table: interviewsTable, endpoint: stack.awsEndpoint, region: stack.awsRegion } });
  await apply('StatusSink', ns.name, 'courses', { postgres: { uriSecretRef: { name: 'stores', key: 'postgres' }, table: coursesTable } });

  await dynamo.send(new CreateTableCommand({
    TableName: interviewsTable,
    KeySchema: [{ AttributeName: 'interview_id', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'interview_id', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  await postgres.connect();
  await postgres.query(`CREATE TABLE ${coursesTable} (course_id text PRIMARY KEY, status text, result jsonb, job text, sluice_version bigint)`);

  await apply('JobType', ns.name, 'grade', {
    image: 'registry.invalid/grader:1',
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/outcome': 'hold' } } },
    statusSink: {
      name: 'results', table: 'roleplay_results',
      key: { field: 'sessionId', value: 'body.roleplay.sessionId' },
      fields: { result: 'result', jobName: 'jobName', attempts: 'attempts', finishedAt: 'finishedAt' },
    },
  });
  await apply('JobType', ns.name, 'process-interview', {
    image: 'registry.invalid/interviews:1',
    retries: { backoffLimit: 0 },
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/outcome': 'fail', 'sim.sluice.dev/exit-code': '4', 'sim.sluice.dev/message': 'transcription failed: corrupt video' } } },
    statusSink: {
      name: 'interviews', createIfMissing: false, statusField: 'state',
      key: { field: 'interview_id', value: 'body.interview_id' },
      values: { queued: 'processing', running: 'processing', succeeded: 'completed', failed: 'failed' },
      fields: { error: 'message', exitCode: 'exitCode', reason: 'reason' },
    },
  });
  await apply('JobType', ns.name, 'generate-course', {
    image: 'registry.invalid/courses:1',
    podTemplate: { metadata: { annotations: { 'sim.sluice.dev/message': '{"modules":6,"progress":100}' } } },
    statusSink: { name: 'courses', key: { field: 'course_id', value: 'body.courseId' }, versionField: 'sluice_version', fields: { result: 'result', job: 'jobName' } },
  });
  await apply('JobType', ns.name, 'stuck', {
    image: 'registry.invalid/stuck:1',
    nodeSelector: { pool: 'does-not-exist' },
    retries: { maxPendingSeconds: 10 },
    statusSink: { name: 'results', table: 'stuck', key: { field: 'sessionId', value: 'body.sessionId' }, fields: { reason: 'reason', error: 'message' } },
  });
  await apply('QueueBinding', ns.name, 'apps', {
    queueUrl,
    routes: [
      { name: 'grade', when: 'has(body.roleplay)', jobType: 'grade' },
      { name: 'interview', when: 'has(body.interview_id)', jobType: 'process-interview' },
      { name: 'course', when: 'has(body.courseId)', jobType: 'generate-course' },
      { name: 'stuck', when: 'has(body.stuck)', jobType: 'stuck' },
    ],
  });
  controller = await startController({ namespace: ns.name });
});

afterAll(async () => {
  await controller?.stop();
  await mongo.close();
  await postgres.end();
  if (ns) {
    await releaseJobs(ns.name);
    await ns.remove();
  }
});

const send = async (body: unknown) => {
  const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }));
  const [job] = await waitForJobCount(ns.name, 1, `sluice.dev/message-id=${MessageId!}`);
  return job!.metadata!.name!;
};

describe('MongoDB result documents (000)', () => {
  it('follow the Job from running to succeeded with its JSON result', async () => {
    const jobName = await send({ roleplay: { sessionId: 'rp-42' } });
    const results = mongo.db(database).collection('roleplay_results');
    const running = await eventually('the record to show running', async () => {
      const doc = await results.findOne({ sessionId: 'rp-42' });
      return doc?.status === 'running' ? doc : undefined;
    });
    expect(running.jobName).toBe(jobName);

    await finishPod(ns.name, jobName, { 'sim.sluice.dev/outcome': 'succeed', 'sim.sluice.dev/message': '{"score":87,"competencies":{"empathy":4}}' });
    const done = await eventually('the record to show succeeded', async () => {
      const doc = await results.findOne({ sessionId: 'rp-42' });
      return doc?.status === 'succeeded' ? doc : undefined;
    });
    expect(done.result).toEqual({ score: 87, competencies: { empathy: 4 } });
    expect(done.attempts).toBe(1);
    expect(done.finishedAt).toBeInstanceOf(Date);
    expect(await results.countDocuments({ sessionId: 'rp-42' })).toBe(1);
  });
});

describe('DynamoDB interviews table (001)', () => {
  it('moves state to failed with the exit code and reason, leaving other attributes alone', async () => {
    await dynamo.send(new PutItemCommand({ TableName: interviewsTable, Item: { interview_id: { S: 'iv-9' }, state: { S: 'uploaded' }, owner: { S: 'u-1' } } }));
    await send({ interview_id: 'iv-9' });
    const item = await eventually('the interview to be failed', async () => {
      const { Item } = await dynamo.send(new GetItemCommand({ TableName: interviewsTable, Key: { interview_id: { S: 'iv-9' } } }));
      return Item?.state?.S === 'failed' ? Item : undefined;
    });
    expect(item.exitCode?.N).toBe('4');
    expect(item.reason?.S).toBe('BackoffLimitExceeded');
    expect(item.error?.S).toBe('transcription failed: corrupt video');
    expect(item.owner?.S).toBe('u-1');
  });

  it('does not create a record that the application never made (createIfMissing: false)', async () => {
    const jobName = await send({ interview_id: 'iv-unknown' });
    await eventually('the Job to be finalized', async () => {
      const job = await batch.readNamespacedJob({ namespace: ns.name, name: jobName });
      return job.metadata?.finalizers?.length ? undefined : job;
    });
    const { Item } = await dynamo.send(new GetItemCommand({ TableName: interviewsTable, Key: { interview_id: { S: 'iv-unknown' } } }));
    expect(Item).toBeUndefined();
  });
});

describe('PostgreSQL courses table (004)', () => {
  it('inserts and completes the row with the result as JSON', async () => {
    const jobName = await send({ courseId: 'course-3', title: 'Negotiation 101' });
    const row = await eventually('the course row to succeed', async () => {
      const { rows } = await postgres.query<{ status: string; result: unknown; job: string; sluice_version: string }>(`SELECT * FROM ${coursesTable} WHERE course_id = 'course-3'`);
      return rows[0]?.status === 'succeeded' ? rows[0] : undefined;
    });
    expect(row.result).toEqual({ modules: 6, progress: 100 });
    expect(row.job).toBe(jobName);
    expect(Number(row.sluice_version)).toBeGreaterThan(0);
  });
});

describe('a pod that is never scheduled', () => {
  it('is queued, then failed as Unschedulable after maxPendingSeconds, and its Job removed', async () => {
    const jobName = await send({ stuck: true, sessionId: 'st-1' });
    const stuck = mongo.db(database).collection('stuck');
    await eventually('the record to show queued', async () => ((await stuck.findOne({ sessionId: 'st-1' }))?.status === 'queued' ? true : undefined));
    const failed = await eventually('the record to show failed', async () => {
      const doc = await stuck.findOne({ sessionId: 'st-1' });
      return doc?.status === 'failed' ? doc : undefined;
    }, 60_000);
    expect(failed.reason).toBe('Unschedulable');
    expect(failed.error).toMatch(/no node could run the pod for 10s/);
    await eventually('the Job to be deleted', async () => {
      try {
        await batch.readNamespacedJob({ namespace: ns.name, name: jobName });
        return undefined;
      } catch (error) {
        return isNotFound(error) ? true : undefined;
      }
    });
  });
});
