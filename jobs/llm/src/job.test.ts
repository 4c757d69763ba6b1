// The llm job as its container runs it: its own process, the seed systems' message shapes, the fake
// OpenAI endpoint, documents and large results in a private moto S3, progress to a local server.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMoto, type Moto } from '../../s3/test-support/moto.ts';
import { startProgressServer, type ProgressServer } from '../../sdk/test-support/progress-server.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../test-support/fake-openai.ts';
import type { LlmResult } from './job.ts';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const fakeScript = fileURLToPath(new URL('../test-support/fake-openai.ts', import.meta.url));

let moto: Moto;
let fake: FakeOpenAI;
let progress: ProgressServer;
let dir: string;

beforeAll(async () => {
  [moto, fake, progress] = await Promise.all([startMoto(), startFakeOpenAI({ delayMs: 250 }), startProgressServer()]);
  await moto.createBucket('notes');
  dir = mkdtempSync(join(tmpdir(), 'sluice-llm-test-'));
});
afterAll(async () => {
  await Promise.all([moto?.stop(), fake?.close(), progress?.close()]);
});
beforeEach(() => fake.reset());

type Run = { code: number; stderr: string; result: string | undefined };

function runLlmJob(body: unknown, args: string[], env: Record<string, string> = {}, endpoint: FakeOpenAI = fake): Promise<Run> {
  const resultFile = join(dir, `termination-log-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      {
        env: {
          PATH: process.env.PATH,
          ...moto.env,
          SLUICE_PAYLOAD: typeof body === 'string' ? body : JSON.stringify(body),
          SLUICE_PAYLOAD_FORMAT: typeof body === 'string' ? 'pipe' : 'json',
          SLUICE_RESULT_FILE: resultFile,
          SLUICE_JOB_NAME: 'llm-job-1',
          SLUICE_PROGRESS_URL: progress.url,
          OPENAI_BASE_URL: endpoint.url,
          OPENAI_API_KEY: 'sk-local',
          SLUICE_LLM_MODEL: 'fake-model',
          ...env,
        },
      },
      (error, _stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr, result: existsSync(resultFile) ? readFileSync(resultFile, 'utf8') : undefined });
      },
    );
  });
}

const ok = (run: Run): LlmResult => {
  expect(run, run.stderr).toMatchObject({ code: 0 });
  return JSON.parse(run.result!) as LlmResult;
};

const s3Text = async (uri: string) => {
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!;
  return (await moto.client().send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
};

describe('llm job', () => {
  it('grades a training platform roleplay (000) with token usage and progress to 100', async () => {
    const before = progress.requests.length;
    const roleplay = {
      sessionId: 'rp-1',
      transcript: [{ speaker: 'trainee', text: 'Hi! I understand the price worries you.' }, { speaker: 'bot', text: 'It does.' }],
      rubric: [{ competency: 'Empathy', weight: 2 }, { competency: 'Objection handling' }],
    };
    const result = ok(await runLlmJob({ roleplay, userId: 'u-1' }, ['--task', 'rubric-grading', '--input', 'roleplay']));
    expect(result).toMatchObject({ task: 'rubric-grading', model: 'fake-model', answers: 1, summary: { competencies: 2 } });
    expect((result.output as { competencies: { name: string }[] }).competencies.map((c) => c.name)).toEqual(['Empathy', 'Objection handling']);
    expect(result.usage.totalTokens).toBeGreaterThan(0);
    expect(fake.requests[0]!.body.messages[1]!.content).toContain('trainee: Hi! I understand the price worries you.');
    expect(progress.bodies().slice(before).map((b) => b.percent).at(-1)).toBe(100);
  });

  it('extracts interview questions (001) from a transcript stored in S3', async () => {
    await moto.client().send(new PutObjectCommand({ Bucket: 'notes', Key: 'transcripts/i-7.txt', Body: 'Interviewer: What is your biggest strength?\nCandidate: Focus.\nInterviewer: Where do you see yourself in five years?' }));
    const result = ok(await runLlmJob({ interview_id: 'i-7', transcript: 's3://notes/transcripts/i-7.txt' }, ['--task', 'question-extraction']));
    expect((result.output as { questions: { question: string }[] }).questions.map((q) => q.question)).toEqual([
      'What is your biggest strength?',
      'Where do you see yourself in five years?',
    ]);
  });

  it('sums usage over a schema retry and fails with exit 2 once the retries are spent', async () => {
    fake.script({ answer: 'schema-invalid' });
    const retried = ok(await runLlmJob({ text: 'Mitochondria make ATP.', count: 2 }, ['--task', 'quiz']));
    expect(retried.answers).toBe(2);
    fake.script({ answer: 'schema-invalid' }, { answer: 'schema-invalid' }, { answer: 'schema-invalid' });
    const failed = await runLlmJob({ text: 'Mitochondria make ATP.', count: 2 }, ['--task', 'quiz']);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/^the model's answer for quiz failed its schema after 3 attempts: questions: .+\n$/);
  });

  it('exits 1 (retried by the Job) when the endpoint keeps failing', async () => {
    fake.script({ status: 503 }, { status: 503 });
    const run = await runLlmJob({ description: 'a cell' }, ['--task', 'visual'], { SLUICE_LLM_MAX_RETRIES: '1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^the model endpoint failed the visual request after 1 retries: 503/);
  });

  it('exits 2 on input that does not fit the task', async () => {
    const run = await runLlmJob({ transcript: 42 }, ['--task', 'question-extraction']);
    expect(run).toMatchObject({ code: 2 });
    expect(run.stderr).toMatch(/^the question-extraction input at body is invalid: transcript: /);
  });

  it('generates a whole course (004) with stepwise progress; the course goes to S3 and the termination message names it', async () => {
    const before = progress.requests.length;
    const body = { courseId: 'c-1', userId: 'u-1', videoId: 'yt-1', transcript: 'Today we learn how to brew coffee at home.', language: 'es', difficulty: 'easy' };
    // A model that takes its time, so that the steps' progress is not all coalesced into one report.
    const slow = await startFakeOpenAI({ delayMs: 700 });
    const run = await runLlmJob(body, ['--task', 'course', '--concurrency', '1'], { SLUICE_RESULT_PREFIX: 's3://notes/courses/' }, slow).finally(() => slow.close());
    const result = ok(run);
    expect(Buffer.byteLength(run.result!)).toBeLessThanOrEqual(4096);
    expect(result).toMatchObject({ resultUri: 's3://notes/courses/llm-job-1.json', task: 'course', answers: 5, summary: { chapters: 3, lessons: 6, assessmentExercises: 3 } });
    expect(result.output).toBeUndefined();
    const stored = JSON.parse(await s3Text(result.resultUri!)) as LlmResult & { output: { chapters: { lessons: { markdown: string; objectives: string[] }[] }[] } };
    expect(stored.output.chapters[2]!.lessons[1]).toMatchObject({ markdown: expect.stringContaining('## ') as string, objectives: expect.any(Array) as unknown[] });
    expect(stored.usage).toEqual(result.usage);
    const percents = progress.bodies().slice(before).map((b) => b.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).toBe(100);
    expect(percents.filter((p) => p > 0 && p < 100).length, percents.join(',')).toBeGreaterThanOrEqual(2);
    expect(slow.requests.map((r) => r.body.response_format.json_schema.name)).toEqual(['course-structure', 'chapter-lessons', 'chapter-lessons', 'chapter-lessons', 'final-assessment']);
  });

  it('fails a large answer without anywhere to put it, saying how to give it one', async () => {
    const run = await runLlmJob({ transcript: 'coffee' }, ['--task', 'course']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/over the 4 KiB termination message: give the JobType --result-uri or SLUICE_RESULT_PREFIX/);
  });

  it('runs the 003 chain: lesson structure → visuals → assembled note → study tools, handing off through S3', async () => {
    const structure = ok(await runLlmJob({ sourceId: 17, textContent: 'Volcanoes form where magma reaches the surface.' }, [
      '--task', 'lesson-structure', '--upload', 'always', '--result-uri', 's3://notes/sources/{sourceId}/structure.json',
    ]));
    expect(structure.resultUri).toBe('s3://notes/sources/17/structure.json');
    const visuals = structure.summary.visuals as { visualIndex: number; description: string }[];
    expect(visuals.map((v) => v.visualIndex)).toEqual([0, 1, 2]);
    // One message per visual (onSuccess.forEach); visual 2 fails, so its answer is never written.
    for (const v of visuals.slice(0, 2)) {
      ok(await runLlmJob({ sourceId: 17, visualIndex: v.visualIndex, totalVisuals: 3, description: v.description }, [
        '--task', 'visual', '--upload', 'always', '--result-uri', 's3://notes/sources/{sourceId}/visuals/{visualIndex}.json',
      ]));
    }
    const note = ok(await runLlmJob({ sourceId: 17, structure: 's3://notes/sources/17/structure.json', visualsPrefix: 's3://notes/sources/17/visuals', visuals: 3 }, [
      '--task', 'assemble-note', '--upload', 'always', '--result-uri', 's3://notes/sources/{sourceId}/note.json',
    ]));
    expect(note).toMatchObject({ answers: 0, summary: { visualsMissing: 1 } });
    const markdown = (note.output as { markdown: string }).markdown;
    expect(markdown).toMatch(/^# Understanding Volcanoes form where magma reaches/);
    expect(markdown.match(/> \*\*Figure:\*\*/g)).toHaveLength(2);
    expect(markdown).toContain('belongs here.');
    expect(markdown).not.toContain('[VISUAL::');
    // The next message names the stored note; study-tools reads its markdown from it.
    const tools = ok(await runLlmJob({ sourceId: 17, note: note.resultUri }, ['--task', 'study-tools']));
    expect(tools.summary).toEqual({ questions: 5, cards: 8 });
    expect(fake.requests.at(-1)!.body.messages[1]!.content).toContain('## Introduction');
    expect(fake.requests.at(-1)!.body.messages[1]!.content).not.toContain('"visualsMissing"');
  });
});

describe('the fake as a process', () => {
  it('serves on the given port and takes a script over HTTP', async () => {
    const port = 30000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [fakeScript, '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      const base = `http://127.0.0.1:${port}`;
      await fetch(`${base}/_fake/script`, { method: 'POST', body: JSON.stringify([{ status: 429, retryAfter: '2' }]) });
      const chat = (schemaName: string) =>
        fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Write 2 flashcards.\n\nMaterial:\nStars' }], response_format: { type: 'json_schema', json_schema: { name: schemaName, schema: { type: 'object' } } } }),
        });
      const limited = await chat('flashcards');
      expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '2']);
      const answered = (await (await chat('flashcards')).json()) as { choices: { message: { content: string } }[] };
      expect(JSON.parse(answered.choices[0]!.message.content)).toEqual({ cards: [{ front: 'Stars: key term 1', back: 'Its definition, in one sentence (1).' }, { front: 'Stars: key term 2', back: 'Its definition, in one sentence (2).' }] });
      const requests = (await (await fetch(`${base}/_fake/requests`)).json()) as unknown[];
      expect(requests).toHaveLength(2);
      const unauthenticated = await fetch(`${base}/v1/chat/completions`, { method: 'POST', body: '{}' });
      expect(unauthenticated.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
