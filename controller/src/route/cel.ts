// CEL over a message, through a spec-following implementation (@marcbachmann/cel-js). Expressions
// are compiled once per binding generation; evaluation errors are returned, never thrown past here.
import { Environment } from '@marcbachmann/cel-js';
import type { CelMap } from '../decode/plain-data.ts';

/** What a route predicate or a dedupe expression sees. */
export type MessageContext = {
  body: unknown;
  /** SQS system attributes (SentTimestamp, ApproximateReceiveCount, MessageGroupId, …). */
  attributes: Record<string, string>;
  /** Message attributes by name: string values, numbers as their string, binary as bytes. */
  messageAttributes: CelMap<string | Uint8Array>;
  /** Facts from unwrapped envelopes (SNS TopicArn, EventBridge source, S3 bucket and key, …). */
  envelope: Record<string, unknown>;
  /** After a Job finished (follow-up bodies): its termination message, parsed when it is JSON. */
  result?: unknown;
  /** After a Job finished: name, namespace, jobType, binding, messageId, phase. */
  job?: Record<string, unknown>;
  /** In a follow-up body with forEach: the element and its position. */
  item?: unknown;
  index?: bigint;
};

const environment = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false })
  .registerVariable('body', 'dyn')
  .registerVariable('attributes', 'map<string, string>')
  .registerVariable('messageAttributes', 'map<string, dyn>')
  .registerVariable('envelope', 'map<string, dyn>')
  .registerVariable('result', 'dyn')
  .registerVariable('job', 'map<string, dyn>');

/** Follow-up bodies with forEach also see the element and its index. */
const followUpEnvironment = environment.clone().registerVariable('item', 'dyn').registerVariable('index', 'int');

/** Which variables an expression may use: a message's, or also a fan-out element's. */
export type CelScope = 'message' | 'followUp';

export class CelCompileError extends Error {
  override name = 'CelCompileError';
}

export type Compiled = (context: MessageContext) => { value: unknown } | { error: string };

/** Parses and type-checks `expression`; throws CelCompileError with the position of the problem. */
export function compile(expression: string, scope: CelScope = 'message'): Compiled {
  let program: ReturnType<typeof environment.parse>;
  try {
    program = (scope === 'followUp' ? followUpEnvironment : environment).parse(expression);
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
export function compileCached(expression: string, scope: CelScope = 'message'): Compiled {
  const key = `${scope}\n${expression}`;
  let compiled = compiledCache.get(key);
  if (!compiled) {
    compiled = compile(expression, scope);
    if (compiledCache.size > 1000) compiledCache.clear();
    compiledCache.set(key, compiled);
  }
  return compiled;
}

/** cel-js appends a source excerpt after the first line; the first line is the reason. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}

/** A CEL result as JSON: ints become numbers (or exact JSON numbers with exactInts), maps and lists recurse. */
export function celToJson(value: unknown, exactInts = false): unknown {
  if (typeof value === 'bigint') return exactInts ? rawJson(String(value)) : Number(value);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), celToJson(v, exactInts)]));
  if (Array.isArray(value)) return value.map((v) => celToJson(v, exactInts));
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value !== null && typeof value === 'object') {
    const primitive: unknown = value.valueOf();
    if (primitive !== value) return celToJson(primitive, exactInts);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, celToJson(v, exactInts)]));
  }
  return value;
}

const rawJson = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON;

/**
 * A CEL result as a message body: a string as it is, a map as JSON with every int exact (an int64 id
 * beyond 2^53 must not round). Anything else is not a message: undefined.
 */
export function celToJsonText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const isMap = value instanceof Map
    || (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value) as object | null));
  return isMap ? JSON.stringify(celToJson(value, true)) : undefined;
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
