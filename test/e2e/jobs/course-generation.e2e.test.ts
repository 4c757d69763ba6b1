// Seed 004 end to end, from manifests/examples/course-generation.yaml as written: the producer's
// payload becomes a transcript Job (Aristocrat's own image, simulated by kwok), whose follow-up runs
// the course on the real llm image against the fake OpenAI server. The PostgreSQL row goes pending
// → … → ready, with the progress the job reports going from 0 to 100 while it runs, and the course
// in S3.
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../../../jobs/llm/test-support/fake-openai.ts';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { applyExample, ensureBuckets, type AppliedExample } from '../support/examples.ts';
import { nodeIp } from '../support/exec-node.ts';
import { createTestNamespace, eventually } from '../support/kube.ts';
import { cleanUp, installCrds, sqs } from '../support/sluice.ts';
import { stack } from '../support/stack.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess;
let openai: FakeOpenAI;
let example: AppliedExample;
const postgres = new pg.Client({ connectionString: stack.postgresUri });
const s3 = new S3Client({ forcePathStyle: true });
const id = `gen-${Date.now().toString(36)}`;

async function freePort(host: string): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('seed-004');
  // The fake model answers on the node address, where job pods reach it; a model takes a moment.
  openai = await startFakeOpenAI({ host: nodeIp, delayMs: 400 });
  await ensureBuckets('aristocrat-courses');
  await s3.send(new PutObjectCommand({ Bucket: 'aristocrat-courses', Key: `${id}/transcript.txt`, Body: 'Hoy hablamos de la fotosíntesis: la luz, el agua y el dióxido de carbono se convierten en glucosa y oxígeno.' }));
  await postgres.connect();
  await postgres.query(`CREATE TABLE IF NOT EXISTS course_generations (generation_process_id text PRIMARY KEY, status text, progress_percentage double precision,
    current_step text, course jsonb, error text, finished_at timestamptz, job_name text, sluice_version bigint)`);
  example = await applyExample('course-generation.yaml', {
    namespace: ns.name,
    jobTypes: {
      'extract-transcript': { simulated: { 'sim.sluice.dev/message': JSON.stringify({ transcriptUri: `s3://aristocrat-courses/${id}/transcript.txt` }) } },
    },
    realEnv: { OPENAI_BASE_URL: openai.url },
    secrets: { openai: { apiKey: 'sk-local-test' } },
  });
  const port = await freePort(nodeIp);
  controller = await startController({ namespace: ns.name, progress: { bindAddress: `${nodeIp}:${port}`, url: `http://${nodeIp}:${port}/v1/progress` } });
}, 180_000);

afterAll(async () => {
  await cleanUp(ns, [controller]);
  await openai?.close();
  await postgres.end();
});

type Row = { status: string; progress_percentage: number | null; current_step: string | null; course: { resultUri?: string; summary?: { chapters?: number } } | null; job_name: string | null };

it('turns the producer\'s payload into a course: the row moves to ready and its progress from 0 to 100', async () => {
  await sqs.send(new SendMessageCommand({
    QueueUrl: example.queue('course-generation'),
    MessageBody: JSON.stringify({ userId: 'u-7', userAuthToken: 'tok-secret', videoId: 'v-42', language: 'es', generationProcessId: id, difficulty: 'easy' }),
  }));
  const progress: number[] = [];
  const statuses: string[] = [];
  const row = await eventually('the row to be ready', async () => {
    const { rows } = await postgres.query<Row>('SELECT * FROM course_generations WHERE generation_process_id = $1', [id]);
    const current = rows[0];
    if (current && statuses.at(-1) !== current.status) statuses.push(current.status);
    if (current?.status === 'generating' && current.progress_percentage !== null && progress.at(-1) !== current.progress_percentage) progress.push(current.progress_percentage);
    return current?.status === 'ready' || current?.status === 'failed' ? current : undefined;
  }, 300_000, 100);
  expect(row.status, JSON.stringify(row)).toBe('ready');
  expect(statuses[0]).toMatch(/pending|extracting_transcript|generating/);
  // Reported while running: it rose from the start to the end, never down.
  expect(progress.length).toBeGreaterThanOrEqual(2);
  expect(progress[0]).toBeLessThanOrEqual(20);
  expect(progress).toEqual([...progress].sort((a, b) => a - b));
  expect(row.progress_percentage).toBe(100);
  expect(row.job_name).toMatch(/^course-content-/);
  expect(row.course?.resultUri).toBe(`s3://aristocrat-courses/${id}/course.json`);
  // The whole answer in S3: the course itself, what it cost, and the summary the row keeps.
  const stored = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: 'aristocrat-courses', Key: `${id}/course.json` }))).Body!.transformToString()) as {
    output: { chapters: unknown[]; finalAssessment: unknown }; usage: { totalTokens: number };
  };
  expect(stored.output.chapters.length).toBe(row.course?.summary?.chapters);
  expect(stored.output.finalAssessment).toBeDefined();
  expect(stored.usage.totalTokens).toBeGreaterThan(0);
  // The model was asked with JSON-schema answers, by the llm image.
  expect(openai.requests.length).toBeGreaterThanOrEqual(3);
  expect(openai.requests.every((r) => r.body.response_format.type === 'json_schema')).toBe(true);
}, 360_000);
