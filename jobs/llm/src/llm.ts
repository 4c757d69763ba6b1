// Structured output from any OpenAI-compatible chat-completions endpoint. HTTP retries (429, 5xx,
// timeouts, connection errors, honouring Retry-After / retry-after-ms) are the openai client's own;
// on top of them an answer that fails its schema is asked for again, a bounded number of times,
// with the validation errors, then fails the job as bad input. Token usage is summed over every
// answer received.
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { badInput, JobError } from '@sluice/job-sdk';
import type { z } from 'zod';
import type { Step } from './steps.ts';

export type Usage = { promptTokens: number; completionTokens: number; totalTokens: number };

export type LlmOptions = {
  baseURL?: string;
  apiKey?: string;
  model: string;
  /** openai client retries per request (429, 5xx, timeouts). */
  maxRetries?: number;
  /** Re-asks after an answer that fails its schema. */
  schemaRetries?: number;
  timeoutMs?: number;
  temperature?: number;
  maxCompletionTokens?: number;
};

type Env = Record<string, string | undefined>;

const intOf = (value: string | undefined, fallback: number) => (value !== undefined && value !== '' && Number.isFinite(Number(value)) ? Number(value) : fallback);

/** OPENAI_BASE_URL and OPENAI_API_KEY as the openai client reads them; SLUICE_LLM_* for the rest. */
export function llmOptionsFromEnv(env: Env = process.env): LlmOptions {
  const model = env.SLUICE_LLM_MODEL;
  if (!model) throw new JobError('SLUICE_LLM_MODEL is not set: the JobType must name the model');
  return {
    baseURL: env.OPENAI_BASE_URL || undefined,
    apiKey: env.OPENAI_API_KEY || undefined,
    model,
    maxRetries: intOf(env.SLUICE_LLM_MAX_RETRIES, 4),
    schemaRetries: intOf(env.SLUICE_LLM_SCHEMA_RETRIES, 2),
    timeoutMs: intOf(env.SLUICE_LLM_TIMEOUT_MS, 120_000),
    temperature: env.SLUICE_LLM_TEMPERATURE ? Number(env.SLUICE_LLM_TEMPERATURE) : undefined,
    maxCompletionTokens: env.SLUICE_LLM_MAX_COMPLETION_TOKENS ? Number(env.SLUICE_LLM_MAX_COMPLETION_TOKENS) : undefined,
  };
}

/** The zod issues, short: `questions.0.options: Too small: expected array to have >=2 items`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(answer)'}: ${i.message}`)
    .join('; ');
}

export class StructuredLlm {
  readonly model: string;
  readonly usage: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  /** Answers received (schema retries included), across all steps. */
  answers = 0;
  readonly #client: OpenAI;
  readonly #options: LlmOptions;

  constructor(options: LlmOptions) {
    this.model = options.model;
    this.#options = options;
    this.#client = new OpenAI({
      baseURL: options.baseURL,
      // Local OpenAI-compatible servers often need no key; the client insists on one.
      apiKey: options.apiKey ?? 'unused',
      maxRetries: options.maxRetries ?? 4,
      timeout: options.timeoutMs ?? 120_000,
    });
  }

  async generate<I, O>(step: Step<I, O>, input: I): Promise<O> {
    const responseFormat = zodResponseFormat(step.schema as z.ZodType, step.name);
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: step.system },
      { role: 'user', content: step.prompt(input) },
    ];
    const attempts = 1 + (this.#options.schemaRetries ?? 2);
    let problem = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const completion = await this.#complete(step.name, messages, responseFormat);
      this.answers++;
      this.#count(completion.usage);
      const choice = completion.choices[0];
      const content = choice?.message.content ?? '';
      if (choice?.message.refusal) throw badInput(`the model refused the ${step.name} request: ${choice.message.refusal}`);
      const verdict = check(step.schema, content, choice?.finish_reason);
      if (verdict.ok) return verdict.value;
      problem = verdict.problem;
      messages.push(
        { role: 'assistant', content },
        { role: 'user', content: `That answer does not match the required JSON schema (${problem}). Answer again with JSON that matches the schema exactly.` },
      );
    }
    throw badInput(`the model's answer for ${step.name} failed its schema after ${attempts} attempts: ${problem}`);
  }

  async #complete(name: string, messages: ChatCompletionMessageParam[], responseFormat: ReturnType<typeof zodResponseFormat>) {
    try {
      return await this.#client.chat.completions.create({
        model: this.model,
        messages,
        response_format: { type: 'json_schema', json_schema: responseFormat.json_schema },
        ...(this.#options.temperature !== undefined ? { temperature: this.#options.temperature } : {}),
        ...(this.#options.maxCompletionTokens !== undefined ? { max_completion_tokens: this.#options.maxCompletionTokens } : {}),
      });
    } catch (error) {
      throw endpointFailure(name, error, this.#options.maxRetries ?? 4);
    }
  }

  #count(usage: OpenAI.CompletionUsage | undefined): void {
    if (!usage) return;
    this.usage.promptTokens += usage.prompt_tokens ?? 0;
    this.usage.completionTokens += usage.completion_tokens ?? 0;
    this.usage.totalTokens += usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0);
  }
}

type Verdict<O> = { ok: true; value: O } | { ok: false; problem: string };

function check<O>(schema: z.ZodType<O>, content: string, finishReason: string | undefined): Verdict<O> {
  if (finishReason === 'length') return { ok: false, problem: 'the answer was cut off at the token limit' };
  let json: unknown;
  try {
    json = JSON.parse(content) as unknown;
  } catch (error) {
    return { ok: false, problem: `not JSON: ${(error as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problem: describeIssues(parsed.error) };
}

/**
 * What an endpoint failure means for the Job. The request itself being refused (400, 422: the
 * input is too long for the model, the schema is not supported) will not change on a retry;
 * anything else (429 or 5xx after the client's retries, auth, a network outage) may.
 */
export function endpointFailure(name: string, error: unknown, retries: number): JobError {
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    const detail = `${error.status} ${error.message}`.slice(0, 500);
    if (error.status === 400 || error.status === 422) return badInput(`the model endpoint refused the ${name} request: ${detail}`, error);
    const retried = error.status === 429 || error.status >= 500 ? ` after ${retries} retries` : '';
    return new JobError(`the model endpoint failed the ${name} request${retried}: ${detail}`, { cause: error });
  }
  return new JobError(`the model endpoint could not be reached for ${name}: ${(error as Error).message}`, { cause: error });
}
