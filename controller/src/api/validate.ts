// Run-time validation of Sluice specs: the zod schema (which applies defaults) and then the CRD's
// CEL rules, evaluated here with cel-js, so a spec the controller accepts is one the API server
// would accept. A failure comes back as one line fit for a status condition's message.
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { z } from 'zod';
import { structuralSchema, type JsonSchema } from './crd.ts';
import { kinds, type KindName } from './kinds.ts';

export type SpecOf<K extends KindName> = z.output<(typeof kinds)[K]['spec']>;
export type SpecResult<T> = { success: true; spec: T } | { success: false; message: string };

type ValidationRule = { rule: string; message?: string };

const cel = new Environment({ unlistedVariablesAreDyn: true });
const compiledRules = new Map<string, ParseResult>();
const compile = (rule: string) => {
  let compiled = compiledRules.get(rule);
  if (!compiled) compiledRules.set(rule, (compiled = cel.parse(rule)));
  return compiled;
};

const specSchemas = new Map<KindName, JsonSchema>();
const specSchema = (kind: KindName) => {
  let schema = specSchemas.get(kind);
  if (!schema) specSchemas.set(kind, (schema = structuralSchema(kinds[kind].spec)));
  return schema;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Evaluates the x-kubernetes-validations rules of `schema` and its descendants over `value`,
 * children first, appending failures; returns `value` as CEL sees it (integers as int).
 */
function checkRules(schema: JsonSchema, value: unknown, path: string, failures: string[]): unknown {
  let celValue = value;
  if (Array.isArray(value) && schema.items) {
    const items = schema.items;
    celValue = value.map((item, i) => checkRules(items, item, `${path}[${i}]`, failures));
  } else if (isRecord(value) && (schema.properties || schema.additionalProperties)) {
    celValue = Object.fromEntries(
      Object.entries(value).map(([key, child]) => {
        const childSchema = schema.properties?.[key] ?? schema.additionalProperties;
        return [key, childSchema ? checkRules(childSchema, child, `${path}.${key}`, failures) : child];
      }),
    );
  } else if (Number.isInteger(value) && (schema.type === 'integer' || schema['x-kubernetes-int-or-string'])) {
    celValue = BigInt(value as number);
  }

  for (const { rule, message } of (schema['x-kubernetes-validations'] ?? []) as ValidationRule[]) {
    if (rule.includes('oldSelf')) continue; // transition rules need the stored object; the API server has it
    let holds: unknown;
    try {
      holds = compile(rule)({ self: celValue });
    } catch (error) {
      holds = `cannot evaluate: ${(error as Error).message}`;
    }
    if (holds === true) continue;
    const reason = message ?? `failed rule: ${rule}`;
    failures.push(typeof holds === 'string' ? `${path}: ${reason} (${holds})` : `${path}: ${reason}`);
  }
  return celValue;
}

/** Parses a spec of `kind`: the spec with defaults applied, or why it is invalid. */
export function parseSpec<K extends KindName>(kind: K, spec: unknown): SpecResult<SpecOf<K>> {
  const parsed = kinds[kind].spec.safeParse(spec);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${z.core.toDotPath(['spec', ...issue.path])}: ${issue.message}`);
    return { success: false, message: issues.join('; ') };
  }
  const failures: string[] = [];
  checkRules(specSchema(kind), parsed.data, 'spec', failures);
  if (failures.length > 0) return { success: false, message: failures.join('; ') };
  return { success: true, spec: parsed.data as SpecOf<K> };
}

export const parseQueueBindingSpec = (spec: unknown) => parseSpec('QueueBinding', spec);
export const parseJobTypeSpec = (spec: unknown) => parseSpec('JobType', spec);
export const parseStatusSinkSpec = (spec: unknown) => parseSpec('StatusSink', spec);
