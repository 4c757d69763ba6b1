// Seed 003 end to end, from manifests/examples/studynaut-pipeline.yaml as written, every step on the
// real llm image against the fake OpenAI server: PROCESS_SOURCE_TEXT fans out one GENERATE_VISUAL per
// placeholder (onSuccess.forEach), the last visual to finish sends the one ASSEMBLE_NOTE (fanIn),
// which sends GENERATE_STUDY_TOOLS. The source record ends COMPLETED with every field the seed wrote.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../../../jobs/llm/test-support/fake-openai.ts';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { applyExample, ensureBuckets, type AppliedExample } from '../support/examples.ts';
import { nodeIp } from '../support/exec-node.ts';
import { createTestNamespace, eventually } from '../support/kube.ts';
import { cleanUp, installCrds, sluiceJobs, sqs } from '../support/sluice.ts';
import { stack } from '../support/stack.ts';

let ns: Awaited<ReturnType<typeof createTestNamespace>>;
let controller: ControllerProcess;
let openai: FakeOpenAI;
let example: AppliedExample;
const mongo = new MongoClient(stack.mongoUri);
const sourceId = `src-${Date.now().toString(36)}`;
const sources = () => mongo.db('studynaut').collection<{ _id: string; [field: string]: unknown }>('sources');

beforeAll(async () => {
  await installCrds();
  ns = await createTestNamespace('seed-003');
  openai = await startFakeOpenAI({ host: nodeIp, delayMs: 200 });
  await ensureBuckets('studynaut-notes');
  example = await applyExample('studynaut-pipeline.yaml', {
    namespace: ns.name,
    realEnv: { OPENAI_BASE_URL: openai.url },
    secrets: { openai: { apiKey: 'sk-local-test' } },
  });
  // The application made the source record when the user uploaded the text.
  await sources().insertOne({ _id: sourceId, title: 'Photosynthesis', processingStatus: 'PENDING' });
  controller = await startController({ namespace: ns.name });
}, 180_000);

afterAll(async () => {
  await cleanUp(ns, [controller]);
  await openai?.close();
  await mongo.close();
});

it('runs the chain with its fan-out and fan-in: every step once, the source COMPLETED', async () => {
  await sqs.send(new SendMessageCommand({
    QueueUrl: example.queue('studynaut-note-processing'),
    MessageBody: JSON.stringify({ type: 'PROCESS_SOURCE_TEXT', sourceId, textContent: 'Plants turn light, water and carbon dioxide into glucose and oxygen. Chlorophyll absorbs the light.' }),
  }));
  const source = await eventually('the source to be COMPLETED', async () => {
    const current = await sources().findOne({ _id: sourceId });
    return current?.processingStatus === 'COMPLETED' || current?.processingStatus === 'FAILED' || current?.processingStatus === 'COMPLETED_WITH_ERRORS' ? current : undefined;
  }, 420_000, 500);
  expect(source.processingStatus, JSON.stringify(source)).toBe('COMPLETED');
  expect(source.processingStage).toBe('');
  for (const field of ['lessonStructure', 'note', 'studyTools']) expect(source[field], field).toBeDefined();

  const jobs = await sluiceJobs(ns.name);
  const ofType = (type: string) => jobs.filter((j) => j.metadata?.labels?.['sluice.dev/job-type'] === type);
  const visuals = (source.lessonStructure as { summary?: { visuals?: number } } | undefined)?.summary?.visuals;
  expect(ofType('process-source-text')).toHaveLength(1);
  expect(ofType('generate-visual').length).toBeGreaterThanOrEqual(1);
  if (typeof visuals === 'number') expect(ofType('generate-visual')).toHaveLength(visuals);
  // The fan-in step ran exactly once, after the last visual.
  expect(ofType('assemble-note')).toHaveLength(1);
  expect(ofType('generate-study-tools')).toHaveLength(1);
  const lastVisual = Math.max(...ofType('generate-visual').map((j) => Date.parse(String(j.status?.completionTime))));
  expect(Date.parse(String(ofType('assemble-note')[0]!.metadata?.creationTimestamp))).toBeGreaterThanOrEqual(lastVisual - 1000);
  const visualRecords = await mongo.db('studynaut').collection('visuals').find({ visualKey: { $regex: `^${sourceId}:` } }).toArray();
  expect(visualRecords).toHaveLength(ofType('generate-visual').length);
  expect(visualRecords.every((v) => v.status === 'COMPLETED')).toBe(true);
}, 480_000);
