// One llm job: the task's input from the message (documents fetched from S3), the task run against
// the endpoint, and a result with the answer, a summary and the token usage. An answer too large
// for the termination message, or one the JobType wants kept (--upload always), goes to S3 and the
// termination message names it (resultUri).
import type { S3Client } from '@aws-sdk/client-s3';
import { getText, isMissingObject, isS3Uri, joinS3Uri, putText, s3Client } from '@sluice/job-s3';
import { badInput, JobError, pick, type JobContext, type LargeResultUpload } from '@sluice/job-sdk';
import { describeIssues, llmOptionsFromEnv, StructuredLlm, type Usage } from './llm.ts';
import { taskNames, tasks } from './tasks.ts';

export type UploadMode = 'large' | 'always';

export type LlmJobOptions = {
  task: string;
  /** Dotted path of the task's input in the body ('' = the body). */
  inputPath?: string;
  /** S3 URI for the whole answer, with {field} placeholders from the body: s3://notes/{sourceId}/structure.json */
  resultUri?: string;
  /** Default URI prefix (key = the Job's name) when no resultUri is given. */
  resultPrefix?: string;
  upload?: UploadMode;
  concurrency?: number;
};

export type LlmResult = {
  task: string;
  model: string;
  usage: Usage;
  /** Answers received, schema retries included. */
  answers: number;
  summary: Record<string, unknown>;
  output?: unknown;
  resultUri?: string;
};

/** Fills {field.path} placeholders from the body; a missing field is bad input. */
export function fillTemplate(template: string, body: unknown, extra: Record<string, string | undefined> = {}): string {
  return template.replace(/\{([^{}]+)\}/g, (_match, path: string) => {
    const value = extra[path] ?? pick(body, path);
    if (value === undefined || value === null || typeof value === 'object') throw badInput(`the result URI ${template} needs body.${path}, which the message lacks`);
    return encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value)).replaceAll('%2F', '/');
  });
}

export function resolveResultUri(options: LlmJobOptions, context: JobContext): string | undefined {
  const identity = { jobName: context.identity.jobName, messageId: context.identity.messageId };
  if (options.resultUri) return fillTemplate(options.resultUri, context.payload.body, identity);
  if (options.resultPrefix) return joinS3Uri(options.resultPrefix, `${identity.jobName ?? identity.messageId ?? `result-${Date.now()}`}.json`);
  return undefined;
}

export async function llmJob(context: JobContext, options: LlmJobOptions, deps: { llm?: StructuredLlm; s3?: () => S3Client } = {}): Promise<LlmResult> {
  const task = tasks[options.task];
  if (!task) throw badInput(`unknown llm task ${JSON.stringify(options.task)}; expected one of ${taskNames.join(', ')}`);
  const s3 = memo(deps.s3 ?? (() => s3Client()));
  const where = options.inputPath ? `body.${options.inputPath}` : 'body';
  const raw = pick(context.payload.body, options.inputPath);
  const resolved = await resolveDocuments(raw, task.documents, s3);
  const parsed = task.input.safeParse(resolved);
  if (!parsed.success) throw badInput(`the ${task.name} input at ${where} is invalid: ${describeIssues(parsed.error)}`);
  const llm = deps.llm ?? new StructuredLlm(llmOptionsFromEnv());

  context.progress(0, `starting ${task.name}`);
  const output = await task.run(parsed.data, {
    llm,
    progress: context.progress,
    concurrency: options.concurrency ?? 3,
    readText: async (uri) => {
      try {
        return await getText(s3(), uri);
      } catch (error) {
        if (error instanceof JobError && !error.retryable) return undefined; // missing: a visual that failed
        throw error;
      }
    },
  });
  const result: LlmResult = { task: task.name, model: llm.model, usage: { ...llm.usage }, answers: llm.answers, summary: task.summarize(output as never), output };
  if (options.upload === 'always') {
    const uri = resolveResultUri(options, context);
    if (!uri) throw badInput('--upload always needs --result-uri or SLUICE_RESULT_PREFIX');
    context.progress(95, 'storing the answer');
    await putText(s3(), uri, JSON.stringify(result));
    result.resultUri = uri;
  }
  return result;
}

/** The SDK's hook for answers over 4 KiB: the whole result to S3, the summary in the termination message. */
export function largeResultUpload(options: LlmJobOptions, context: () => JobContext, s3: () => S3Client = () => s3Client()): LargeResultUpload {
  return async (json, value) => {
    const result = value as LlmResult;
    let uri = result.resultUri;
    if (uri === undefined) {
      uri = resolveResultUri(options, context());
      if (!uri) throw new JobError(`the ${result.task} answer is ${Buffer.byteLength(json)} bytes, over the 4 KiB termination message: give the JobType --result-uri or SLUICE_RESULT_PREFIX`);
      await putText(s3(), uri, json);
    }
    return { resultUri: uri, task: result.task, model: result.model, usage: result.usage, answers: result.answers, summary: result.summary };
  };
}

/** Replaces document fields holding an s3:// URI by the object's text. */
async function resolveDocuments(input: unknown, fields: string[], s3: () => S3Client): Promise<unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const copy: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const field of fields) {
    const value = copy[field];
    if (!isS3Uri(value)) continue;
    try {
      copy[field] = await getText(s3(), value);
    } catch (error) {
      if (isMissingObject(error)) throw badInput(`${field} ${value} does not exist`, error);
      throw error;
    }
  }
  return copy;
}

function memo<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
