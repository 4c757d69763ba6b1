// CEL over a message, through a spec-following implementation (@marcbachmann/cel-js). Expressions
// are compiled once per binding generation; evaluation errors are returned, never thrown past here.
import { Environment } from '@marcbachmann/cel-js';

/** What a route predicate or a dedupe expression sees. */
export type MessageContext = {
  body: unknown;
  /** SQS system attributes (SentTimestamp, ApproximateReceiveCount, MessageGroupId, …). */
  attributes: Record<string, string>;
  /** Message attributes by name: string values, numbers as their string, binary as bytes. */
  messageAttributes: Record<string, string | Uint8Array>;
  /** Facts from unwrapped envelopes (SNS TopicArn, EventBridge source, S3 bucket and key, …). */
  envelope: Record<string, unknown>;
  /** After a Job finished (follow-up bodies): its termination message, parsed when it is JSON. */
  result?: unknown;
  /** After a Job finished: name, namespace, jobType, binding, messageId, phase. */
  job?: Record<string, unknown>;
};

const environment = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false })
  .registerVariable('body', 'dyn')
  .registerVariable('attributes', 'map<string, string>')
  .registerVariable('messageAttributes', 'map<string, dyn>')
  .registerVariable('envelope', 'map<string, dyn>')
  .registerVariable('result', 'dyn')
  .registerVariable('job', 'map<string, dyn>');

export class CelCompileError extends Error {
  override name = 'CelCompileError';
}

export type Compiled = (context: MessageContext) => { value: unknown } | { error: string };

/** Parses and type-checks `expression`; throws CelCompileError with the position of the problem. */
export function compile(expression: string): Compiled {
  let program: ReturnType<typeof environment.parse>;
  try {
    program = environment.parse(expression);
  } catch (error) {
    throw new CelCompileError(firstLine(error), { cause: error });
  }
  const checked = program.check();
  if (!checked.valid) throw new CelCompileError(firstLine(checked.error), { cause: checked.error });
  return (context) => {
    try {
      return { value: program(context) };
    } catch (error) {
      return { error: firstLine(error) };
    }
  };
}

const compiledCache = new Map<string, Compiled>();

/** compile(), remembering the result: JobType expressions are evaluated for every message. */
export function compileCached(expression: string): Compiled {
  let compiled = compiledCache.get(expression);
  if (!compiled) {
    compiled = compile(expression);
    if (compiledCache.size > 1000) compiledCache.clear();
    compiledCache.set(expression, compiled);
  }
  return compiled;
}

/** cel-js appends a source excerpt after the first line; the first line is the reason. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}

/** A CEL result as JSON: ints become numbers, maps and lists recurse. */
export function celToJson(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), celToJson(v)]));
  if (Array.isArray(value)) return value.map(celToJson);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value !== null && typeof value === 'object') {
    const primitive: unknown = value.valueOf();
    if (primitive !== value) return celToJson(primitive);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, celToJson(v)]));
  }
  return value;
}

/** A CEL result as a string key (dedupe keys, group keys): ints, strings, bools; not maps/lists. */
export function celValueToKey(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value !== null && typeof value === 'object' && 'valueOf' in value) {
    const primitive: unknown = value.valueOf(); // cel-js wraps uint in an object
    if (typeof primitive === 'bigint' || typeof primitive === 'number') return String(primitive);
  }
  return undefined;
}
