// A local server speaking the OpenAI chat-completions API, the one fake in the project: it checks
// each request's shape (auth, model, messages, a json_schema response format) and answers with
// plausible, deterministic content for each llm task's schema (by the schema's name; any other
// schema gets values generated from the schema itself). Tests script failures ahead of requests:
// an HTTP status (429 with Retry-After, 500), an answer that is not JSON, one that fails its
// schema, a refusal, a cut-off answer.
//
//   import { startFakeOpenAI } from '…/fake-openai.ts'            (in a test)
//   node jobs/llm/test-support/fake-openai.ts --port 30400          (a process, e.g. for e2e)
// As a process: POST /_fake/script with a JSON array of behaviours, GET /_fake/requests,
// POST /_fake/reset.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export type Behaviour =
  | { status: number; retryAfter?: string; message?: string }
  | { answer: 'not-json' | 'schema-invalid' | 'refusal' | 'truncated' };

export type ChatRequest = {
  model: string;
  messages: { role: string; content: string }[];
  response_format: { type: string; json_schema: { name: string; strict?: boolean; schema: JsonSchema } };
  [key: string]: unknown;
};

export type RecordedChat = { path: string; headers: IncomingHttpHeaders; body: ChatRequest; at: number; answeredWith: string };

export type FakeOpenAI = {
  /** Base URL for OPENAI_BASE_URL (ends in /v1). */
  url: string;
  port: number;
  requests: RecordedChat[];
  /** Behaviours for the next requests, in order; requests beyond them get good answers. */
  script: (...behaviours: Behaviour[]) => void;
  reset: () => void;
  close: () => Promise<void>;
};

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  anyOf?: JsonSchema[];
};

// ---------------------------------------------------------------------------------------------
// Deterministic content.

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** The first words after a label such as "Transcript:" or "Material:", as the subject of the answer. */
function topicOf(prompt: string): string {
  const after = /(?:Transcript|Material|Source material|Illustration needed|Course):\s*\n?([^\n]+)/.exec(prompt)?.[1] ?? prompt;
  const words = after.replace(/[^\p{L}\p{N}\s'-]/gu, ' ').split(/\s+/).filter(Boolean).slice(0, 6).join(' ');
  return words || 'the material';
}

const countIn = (prompt: string, pattern: RegExp, fallback: number, max: number) => Math.min(max, Number(pattern.exec(prompt)?.[1] ?? fallback));

const answers: Record<string, (prompt: string, seed: number) => unknown> = {
  'rubric-grading': (prompt, seed) => {
    const rubric = [...prompt.matchAll(/^- ([^(:\n]+?)(?: \(weight [\d.]+\))?(?::|$)/gm)].map((m) => m[1]!.trim());
    const competencies = (rubric.length ? rubric : ['Communication']).map((name, i) => ({
      name,
      score: 5 + ((seed >> i) % 5),
      evidence: `The trainee said: "${topicOf(prompt)}"`,
      feedback: `Keep working on ${name.toLowerCase()}: name the customer's concern before answering it.`,
    }));
    const overall = Math.round((competencies.reduce((s, c) => s + c.score, 0) / competencies.length) * 10);
    return {
      overallScore: overall,
      competencies,
      strengths: [`Clear opening about ${topicOf(prompt)}`],
      improvements: ['Summarise the agreed next steps before closing'],
      summary: `Graded ${competencies.length} competencies; overall ${overall}/100.`,
    };
  },
  'question-extraction': (prompt) => {
    const max = countIn(prompt, /at most (\d+) questions/, 20, 50);
    const asked = [...prompt.matchAll(/([^\n.?!]*\?)/g)].map((m) => m[1]!.replace(/^\s*\w+:\s*/, '').trim()).filter((q) => q.length > 3);
    const questions = (asked.length ? asked : ['Tell me about yourself?', 'Why do you want this role?']).slice(0, max);
    return {
      questions: questions.map((question, i) => ({
        question,
        answer: `A concise answer with one concrete example (${i + 1}).`,
        context: i === 0 ? 'Opening of the interview' : null,
        question_context: null,
        global: /yourself|why do you want|strength|weakness/i.test(question),
      })),
    };
  },
  'lesson-structure': (prompt) => {
    const topic = topicOf(prompt);
    const visuals = [`a diagram of ${topic}`, `a timeline of ${topic}`, `a photo illustrating ${topic}`];
    return {
      title: `Understanding ${topic}`,
      structure: [
        { heading: 'Introduction', content: `What ${topic} is and why it matters.\n\n[VISUAL::${visuals[0]}]` },
        { heading: 'Key ideas', content: `The main ideas of ${topic}, step by step.\n\n[VISUAL::${visuals[1]}]` },
        { heading: 'In practice', content: `How ${topic} shows up in everyday life.\n\n[VISUAL::${visuals[2]}]` },
      ],
      visualOpportunities: visuals.map((description) => ({ description, reason: 'Makes the section easier to follow' })),
    };
  },
  visual: (prompt) => {
    const description = /Illustration needed: ([^\n]+)/.exec(prompt)?.[1]?.trim() ?? topicOf(prompt);
    return { searchQuery: description, altText: `Illustration: ${description}`, caption: `${description[0]?.toUpperCase() ?? ''}${description.slice(1)}.` };
  },
  quiz: (prompt) => {
    const count = countIn(prompt, /Write (\d+) questions/, 5, 30);
    const topic = topicOf(prompt);
    return {
      questions: Array.from({ length: count }, (_, i) => ({
        question: `Which statement about ${topic} is correct? (${i + 1})`,
        options: ['It is described in the material', 'It is never mentioned', 'It contradicts the material', 'None of these'].map((o, j) => (j === i % 4 ? `Correct: ${o}` : o)),
        correctIndex: i % 4,
        explanation: `The material on ${topic} says so in its section ${(i % 3) + 1}.`,
      })),
    };
  },
  flashcards: (prompt) => {
    const count = countIn(prompt, /Write (\d+) flashcards/, 8, 50);
    const topic = topicOf(prompt);
    return { cards: Array.from({ length: count }, (_, i) => ({ front: `${topic}: key term ${i + 1}`, back: `Its definition, in one sentence (${i + 1}).` })) };
  },
  'course-structure': (prompt) => {
    const topic = topicOf(prompt);
    return {
      title: `Course: ${topic}`,
      description: `A short course built from the video about ${topic}.`,
      chapters: ['Foundations', 'Techniques', 'Applications'].map((name, c) => ({
        title: `${name} of ${topic}`,
        summary: `${name} covered in the video.`,
        lessons: [0, 1].map((l) => ({ title: `${name} ${l + 1}`, objectives: [`Explain ${name.toLowerCase()} ${l + 1}`, 'Apply it to an example'], startSeconds: (c * 2 + l) * 90 })),
      })),
    };
  },
  'chapter-lessons': (prompt) => {
    const titles = [...prompt.matchAll(/^\d+\. (.+?) \(objectives:/gm)].map((m) => m[1]!);
    return {
      lessons: (titles.length ? titles : ['Lesson 1']).map((title) => ({
        title,
        markdown: `## ${title}\n\n${`This lesson explains ${title.toLowerCase()} with the examples from the video. `.repeat(8)}\n\n- Remember the key idea.\n- Try it yourself.`,
        exercises: [
          { type: 'multiple_choice', prompt: `What is the main point of ${title}?`, options: ['The key idea', 'A side note', 'Nothing'], answer: 'The key idea' },
          { type: 'true_false', prompt: `${title} builds on the previous lesson.`, options: null, answer: 'true' },
        ],
      })),
    };
  },
  'final-assessment': (prompt) => {
    const chapters = [...prompt.matchAll(/^Chapter \d+: (.+?) —/gm)].map((m) => m[1]!);
    const types = ['multiple_choice', 'true_false', 'fill_in_blank', 'short_answer'] as const;
    return {
      passingScore: 70,
      timeLimitMinutes: 30,
      exercises: (chapters.length ? chapters : ['the course']).map((chapter, i) => ({
        type: types[i % 4],
        prompt: `Show what you learned in ${chapter}.`,
        options: types[i % 4] === 'multiple_choice' ? ['A', 'B', 'C'] : null,
        answer: types[i % 4] === 'true_false' ? 'true' : 'A',
      })),
    };
  },
};

/** Values for any JSON schema (strict structured-output schemas: objects with every field required). */
export function fromSchema(schema: JsonSchema, name = 'value', depth = 0): unknown {
  if (schema.anyOf?.length) return fromSchema(schema.anyOf[0]!, name, depth);
  if (schema.enum?.length) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, value]) => [key, fromSchema(value, key, depth + 1)]));
    case 'array':
      return Array.from({ length: Math.max(schema.minItems ?? 1, Math.min(2, schema.maxItems ?? 2)) }, () => fromSchema(schema.items ?? {}, name, depth + 1));
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 0, Math.min(schema.maximum ?? 1, 1));
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return `${name} ${depth}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The server.

function problem(request: unknown, headers: IncomingHttpHeaders, path: string): string | undefined {
  if (!/\/chat\/completions$/.test(path)) return `unknown path ${path}`;
  if (!/^Bearer \S+/.test(headers.authorization ?? '')) return 'missing bearer token';
  const body = request as Partial<ChatRequest> | null;
  if (!body || typeof body.model !== 'string' || body.model === '') return 'model is required';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages must be a non-empty array';
  if (!body.messages.every((m) => typeof m?.role === 'string' && typeof m.content === 'string')) return 'each message needs a role and string content';
  const format = body.response_format;
  if (format?.type !== 'json_schema' || typeof format.json_schema?.name !== 'string' || typeof format.json_schema.schema !== 'object') {
    return "response_format must be {type: 'json_schema', json_schema: {name, schema}}";
  }
  return undefined;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export async function startFakeOpenAI(options: { port?: number; host?: string; /** Wait before each answer, as a real model does. */ delayMs?: number } = {}): Promise<FakeOpenAI> {
  const started = Date.now();
  const requests: RecordedChat[] = [];
  let queue: Behaviour[] = [];
  let counter = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void answer());
    const answer = async () => {
      const path = (req.url ?? '').split('?')[0]!;
      const text = Buffer.concat(chunks).toString('utf8');
      if (path === '/_fake/requests') return send(res, 200, requests);
      if (path === '/_fake/reset') {
        requests.length = 0;
        queue = [];
        return send(res, 200, { ok: true });
      }
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        return send(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } });
      }
      if (path === '/_fake/script') {
        queue.push(...(body as Behaviour[]));
        return send(res, 200, { queued: queue.length });
      }
      const wrong = problem(body, req.headers, path);
      if (wrong) return send(res, wrong === 'missing bearer token' ? 401 : 400, { error: { message: wrong, type: 'invalid_request_error' } });
      const chat = body as ChatRequest;
      const behaviour = queue.shift();
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      const record = (answeredWith: string) => requests.push({ path, headers: req.headers, body: chat, at: Date.now() - started, answeredWith });

      if (behaviour && 'status' in behaviour) {
        record(String(behaviour.status));
        return send(res, behaviour.status, { error: { message: behaviour.message ?? `injected ${behaviour.status}`, type: 'server_error' } }, behaviour.retryAfter ? { 'retry-after': behaviour.retryAfter } : {});
      }
      const name = chat.response_format.json_schema.name;
      const prompt = chat.messages.filter((m) => m.role === 'user').map((m) => m.content)[0] ?? '';
      const generated = answers[name]?.(prompt, hash(prompt)) ?? fromSchema(chat.response_format.json_schema.schema);
      let content = JSON.stringify(generated);
      let finish = 'stop';
      let refusal: string | null = null;
      const kind = behaviour && 'answer' in behaviour ? behaviour.answer : 'good';
      if (kind === 'not-json') content = 'Sure! Here is the JSON you asked for: {';
      if (kind === 'schema-invalid') content = JSON.stringify({ unexpected: true });
      if (kind === 'truncated') {
        content = content.slice(0, Math.floor(content.length / 2));
        finish = 'length';
      }
      if (kind === 'refusal') {
        content = '';
        refusal = 'I cannot help with that.';
      }
      record(kind);
      const promptTokens = tokens(chat.messages.map((m) => m.content).join('\n'));
      const completionTokens = tokens(content || refusal || '');
      send(res, 200, {
        id: `chatcmpl-fake-${++counter}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: chat.model,
        choices: [{ index: 0, message: { role: 'assistant', content: refusal ? null : content, refusal }, finish_reason: finish, logprobs: null }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      });
    };
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/v1`,
    port,
    requests,
    script: (...behaviours) => {
      queue.push(...behaviours);
    },
    reset: () => {
      requests.length = 0;
      queue = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// Run as a process.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, 'delay-ms': { type: 'string', default: '0' } } });
  const fake = await startFakeOpenAI({ port: Number(values.port), host: values.host, delayMs: Number(values['delay-ms']) });
  process.stdout.write(`fake OpenAI API listening on ${fake.url}\n`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
