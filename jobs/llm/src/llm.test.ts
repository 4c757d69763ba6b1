// StructuredLlm against the local OpenAI-compatible fake: request shapes, the JSON-schema response
// format, HTTP retries (the openai client's, honouring Retry-After), schema retries, usage.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobError } from '@sluice/job-sdk';
import { startFakeOpenAI, type FakeOpenAI } from '../test-support/fake-openai.ts';
import { StructuredLlm, type LlmOptions } from './llm.ts';
import { chapterLessons, courseStructure, finalAssessment, flashcards, lessonStructure, questionExtraction, quiz, rubricGrading, visual } from './steps.ts';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const llm = (options: Partial<LlmOptions> = {}) => new StructuredLlm({ baseURL: fake.url, apiKey: 'sk-test', model: 'test-model', maxRetries: 2, ...options });

const grading = { transcript: 'Trainee: Hello, how can I help you today?\nCustomer: The price is too high.', rubric: [{ competency: 'Empathy' }, { competency: 'Closing', weight: 2 }], guidelines: undefined };

const caught = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as JobError;
  }
  throw new Error('expected a failure');
};

describe('StructuredLlm', () => {
  it('sends chat completions with a strict JSON-schema response format generated from the zod schema', async () => {
    const answer = await llm().generate(rubricGrading, grading);
    expect(answer.competencies.map((c) => c.name)).toEqual(['Empathy', 'Closing']);
    const [request] = fake.requests;
    expect(request!.path).toBe('/v1/chat/completions');
    expect(request!.headers.authorization).toBe('Bearer sk-test');
    expect(request!.body.model).toBe('test-model');
    expect(request!.body.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(request!.body.messages[1]!.content).toContain('- Closing (weight 2)');
    expect(request!.body.messages[1]!.content).toContain('The price is too high.');
    const format = request!.body.response_format;
    expect(format.type).toBe('json_schema');
    expect(format.json_schema).toMatchObject({ name: 'rubric-grading', strict: true });
    expect(format.json_schema.schema).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['overallScore', 'competencies', 'strengths', 'improvements', 'summary'],
      properties: { overallScore: { type: 'integer', minimum: 0, maximum: 100 } },
    });
  });

  it('waits as a 429 Retry-After says, then succeeds (the client\'s own retries)', async () => {
    fake.script({ status: 429, retryAfter: '1' });
    const client = llm();
    await client.generate(visual, { description: 'a water cycle diagram', lessonTitle: undefined });
    expect(fake.requests.map((r) => r.answeredWith)).toEqual(['429', 'good']);
    expect(fake.requests[1]!.at - fake.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(client.answers).toBe(1);
  });

  it('retries 500s and succeeds', async () => {
    fake.script({ status: 500 }, { status: 503 });
    await llm().generate(visual, { description: 'x', lessonTitle: undefined });
    expect(fake.requests.map((r) => r.answeredWith)).toEqual(['500', '503', 'good']);
  });

  it('fails retryably (exit 1) when 5xx outlast the retries', async () => {
    fake.script({ status: 500 }, { status: 500 });
    const error = await caught(llm({ maxRetries: 1 }).generate(visual, { description: 'x', lessonTitle: undefined }));
    expect(error).toBeInstanceOf(JobError);
    expect(error).toMatchObject({ retryable: true, message: expect.stringMatching(/^the model endpoint failed the visual request after 1 retries: 500/) as string });
  });

  it('does not retry a request the endpoint refuses (400): bad input', async () => {
    fake.script({ status: 400, message: 'context_length_exceeded' });
    const error = await caught(llm().generate(visual, { description: 'x', lessonTitle: undefined }));
    expect(error).toMatchObject({ retryable: false, message: expect.stringContaining('context_length_exceeded') as string });
    expect(fake.requests).toHaveLength(1);
  });

  it('asks again after an answer that fails its schema, with the errors, and sums usage over both answers', async () => {
    fake.script({ answer: 'schema-invalid' });
    const client = llm();
    const answer = await client.generate(quiz, { text: 'Photosynthesis turns light into sugar.', count: 3 });
    expect(answer.questions).toHaveLength(3);
    expect(fake.requests.map((r) => r.answeredWith)).toEqual(['schema-invalid', 'good']);
    const retry = fake.requests[1]!.body.messages;
    expect(retry.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(retry[3]!.content).toMatch(/does not match the required JSON schema \(questions: /);
    expect(client.answers).toBe(2);
    expect(client.usage.promptTokens).toBeGreaterThan(0);
    expect(client.usage.totalTokens).toBe(client.usage.promptTokens + client.usage.completionTokens);
    const single = llm();
    await single.generate(quiz, { text: 'Photosynthesis turns light into sugar.', count: 3 });
    expect(client.usage.completionTokens).toBeGreaterThan(single.usage.completionTokens);
  });

  it('treats an answer that is not JSON or was cut off like one that fails its schema', async () => {
    fake.script({ answer: 'not-json' }, { answer: 'truncated' });
    await llm().generate(flashcards, { text: 'Cells', count: 2 });
    expect(fake.requests.map((r) => r.answeredWith)).toEqual(['not-json', 'truncated', 'good']);
  });

  it('fails as bad input (exit 2) once the schema retries are spent', async () => {
    fake.script({ answer: 'schema-invalid' }, { answer: 'schema-invalid' }, { answer: 'schema-invalid' });
    const error = await caught(llm({ schemaRetries: 2 }).generate(quiz, { text: 'x', count: 1 }));
    expect(error).toMatchObject({ retryable: false, message: expect.stringMatching(/^the model's answer for quiz failed its schema after 3 attempts: questions: /) as string });
    expect(fake.requests).toHaveLength(3);
  });

  it('fails as bad input when the model refuses', async () => {
    fake.script({ answer: 'refusal' });
    const error = await caught(llm().generate(visual, { description: 'x', lessonTitle: undefined }));
    expect(error).toMatchObject({ retryable: false, message: 'the model refused the visual request: I cannot help with that.' });
  });
});

describe('the fake answers every step with content its schema accepts', () => {
  const brief = { transcript: 'Welcome to this video about baking bread at home.', language: 'en', targetLanguage: 'en', difficulty: 'easy' as const };
  it('for all steps', async () => {
    const client = llm();
    await client.generate(rubricGrading, grading);
    const questions = await client.generate(questionExtraction, { transcript: 'Interviewer: Why do you want this role?\nMe: Because.', maxQuestions: 5 });
    expect(questions.questions[0]).toMatchObject({ question: 'Why do you want this role?', global: true });
    const structure = await client.generate(lessonStructure, { text: 'The water cycle moves water around the planet.' });
    expect(structure.structure.map((s) => s.content).join('')).toContain(`[VISUAL::${structure.visualOpportunities[0]!.description}]`);
    await client.generate(visual, { description: 'a diagram', lessonTitle: 'Water' });
    await client.generate(flashcards, { text: 'x', count: 4 });
    const course = await client.generate(courseStructure, brief);
    await client.generate(chapterLessons, { ...brief, course, chapterIndex: 1 });
    await client.generate(finalAssessment, { ...brief, course });
    expect(fake.requests.every((r) => r.answeredWith === 'good')).toBe(true);
    expect(client.answers).toBe(8);
  });
});
