#!/usr/bin/env node
// The llm job image's entrypoint:
//   node jobs/llm/src/main.ts --task <rubric-grading|question-extraction|lesson-structure|visual|
//     assemble-note|quiz|flashcards|study-tools|course-structure|course> [--input <dotted path>]
//     [--result-uri s3://bucket/{field}/name.json] [--upload large|always] [--concurrency 3]
// Env: OPENAI_BASE_URL, OPENAI_API_KEY, SLUICE_LLM_MODEL (required), SLUICE_LLM_MAX_RETRIES (4),
// SLUICE_LLM_SCHEMA_RETRIES (2), SLUICE_LLM_TIMEOUT_MS, SLUICE_LLM_TEMPERATURE,
// SLUICE_LLM_MAX_COMPLETION_TOKENS, SLUICE_RESULT_PREFIX; flags may also come from SLUICE_LLM_TASK,
// SLUICE_LLM_INPUT, SLUICE_RESULT_URI.
import { parseArgs } from 'node:util';
import { badInput, runJob, type JobContext } from '@sluice/job-sdk';
import { largeResultUpload, llmJob, type LlmJobOptions } from './job.ts';

function options(): LlmJobOptions {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      options: { task: { type: 'string' }, input: { type: 'string' }, 'result-uri': { type: 'string' }, upload: { type: 'string' }, concurrency: { type: 'string' } },
      strict: true,
    }));
  } catch (error) {
    throw badInput(`bad arguments: ${(error as Error).message}`);
  }
  const task = values.task ?? process.env.SLUICE_LLM_TASK;
  if (!task) throw badInput('no llm task: pass --task or set SLUICE_LLM_TASK');
  const upload = values.upload ?? 'large';
  if (upload !== 'large' && upload !== 'always') throw badInput(`--upload must be large or always, got ${JSON.stringify(upload)}`);
  const concurrency = Number(values.concurrency ?? 3);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw badInput(`--concurrency must be a positive integer, got ${values.concurrency}`);
  return {
    task,
    inputPath: values.input ?? process.env.SLUICE_LLM_INPUT ?? '',
    resultUri: values['result-uri'] ?? (process.env.SLUICE_RESULT_URI || undefined),
    resultPrefix: process.env.SLUICE_RESULT_PREFIX || undefined,
    upload,
    concurrency,
  };
}

let parsed: LlmJobOptions | undefined;
let current: JobContext | undefined;
await runJob(
  (context) => {
    current = context;
    parsed = options();
    return llmJob(context, parsed);
  },
  { upload: (json, result) => largeResultUpload(parsed!, () => current!)(json, result) },
);
