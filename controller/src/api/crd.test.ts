import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { customResourceDefinition, resourceSchema, structuralSchema, type JsonSchema } from './crd.ts';
import { crdDirectory, isGeneratedFileName, renderCrdFiles } from './generate-crds.ts';
import { kinds, kindNames } from './kinds.ts';

// Kubernetes' rules for structural schemas (apiextensions "Specifying a structural schema"),
// checked independently of crd.ts so a regression there cannot hide.
const jsonSchemaPropsKeys = new Set([
  'type', 'description', 'title', 'default', 'example', 'nullable', 'enum', 'required', 'format',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern',
  'minItems', 'maxItems', 'minProperties', 'maxProperties', 'properties', 'additionalProperties', 'items', 'anyOf',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations',
]);

function structuralProblems(node: JsonSchema, path = '<root>'): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(node)) {
    if (!jsonSchemaPropsKeys.has(key)) problems.push(`${path}: ${key} is not allowed`);
  }
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preservesUnknown = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node.type === undefined && !intOrString && !preservesUnknown) problems.push(`${path}: no type`);
  if (node.anyOf !== undefined) {
    const intOrStringBranches = JSON.stringify(node.anyOf) === JSON.stringify([{ type: 'integer' }, { type: 'string' }]);
    if (!intOrString || !intOrStringBranches) problems.push(`${path}: anyOf outside the int-or-string form`);
  }
  if (node.properties && node.additionalProperties !== undefined) {
    problems.push(`${path}: additionalProperties beside properties`);
  }
  if (preservesUnknown && (node.additionalProperties !== undefined || (node.properties && !Object.keys(node.properties).length))) {
    problems.push(`${path}: preserve-unknown-fields with an empty properties or additionalProperties`);
  }
  if (typeof node.additionalProperties === 'boolean') problems.push(`${path}: additionalProperties is a boolean`);
  if (node.maximum === Number.MAX_SAFE_INTEGER || node.minimum === Number.MIN_SAFE_INTEGER) {
    problems.push(`${path}: zod's safe-integer bound`);
  }
  if (node.type === 'array' && (node.items === undefined || Array.isArray(node.items))) {
    problems.push(`${path}: array without one items schema`);
  }
  if (node['x-kubernetes-list-type'] === 'map') {
    const item = node.items;
    for (const key of (node['x-kubernetes-list-map-keys'] ?? []) as string[]) {
      if (!item?.required?.includes(key) && item?.properties?.[key]?.default === undefined) {
        problems.push(`${path}: list map key ${key} is neither required nor defaulted`);
      }
    }
  }
  for (const [name, child] of Object.entries(node.properties ?? {})) problems.push(...structuralProblems(child, `${path}.${name}`));
  if (node.items && !Array.isArray(node.items)) problems.push(...structuralProblems(node.items, `${path}[*]`));
  if (typeof node.additionalProperties === 'object') {
    problems.push(...structuralProblems(node.additionalProperties, `${path}{*}`));
  }
  return problems;
}

/** Follows a printer column's JSONPath through the schema; filters like [?(@.type=="Ready")] select items. */
function schemaAt(root: JsonSchema, jsonPath: string): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const step of jsonPath.replace(/\[\?\([^\]]*\)\]/g, '.[*]').split('.').slice(1)) {
    node = step === '[*]' ? node?.items : node?.properties?.[step];
  }
  return node;
}

describe('crds/', () => {
  it('holds exactly the generated CRDs, byte for byte', () => {
    const generated = renderCrdFiles();
    const onDisk = readdirSync(crdDirectory).filter(isGeneratedFileName).sort();
    const stale = 'crds/ is stale: run `npm run generate` after changing controller/src/api';
    expect(onDisk, stale).toEqual([...generated.keys()].sort());
    for (const [fileName, content] of generated) {
      expect(readFileSync(resolve(crdDirectory, fileName), 'utf8'), `crds/${fileName} is stale: run \`npm run generate\``).toBe(content);
    }
  });
});

describe.each(kindNames)('the %s CRD', (kindName) => {
  const definition = kinds[kindName];
  const crd = customResourceDefinition(definition);
  const [version] = crd.spec.versions;
  const schema = version!.schema.openAPIV3Schema;

  it('has a structural schema', () => {
    expect(structuralProblems(schema)).toEqual([]);
    expect(JSON.stringify(schema)).not.toMatch(/"\$(ref|schema|defs)"|"definitions"/);
  });

  it('describes the whole object with a required spec', () => {
    expect(Object.keys(schema.properties!)).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    expect(schema.properties!.metadata).toEqual({ type: 'object' });
    expect(schema.required).toEqual(['spec']);
  });

  it('is namespaced, in the sluice category, with a status subresource', () => {
    expect(crd.metadata.name).toBe(`${definition.plural}.sluice.dev`);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.categories).toEqual(['sluice']);
    expect(version!.subresources).toEqual({ status: {} });
    expect(version!.name).toBe('v1alpha1');
  });

  it('prints columns that point at fields of the schema and of their type, ending with Age', () => {
    const columns = version!.additionalPrinterColumns;
    for (const column of columns.filter((c) => !c.jsonPath.startsWith('.metadata.'))) {
      expect(schemaAt(schema, column.jsonPath)?.type, `${column.name}: ${column.jsonPath}`).toBe(column.type);
    }
    expect(columns.at(-1)).toEqual({ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' });
  });
});

describe('kinds', () => {
  it('have the short names kubectl users type', () => {
    expect(kinds.QueueBinding.shortNames).toEqual(['qb']);
    expect(kinds.JobType.shortNames).toEqual(['jt']);
    expect(kinds.StatusSink.shortNames).toEqual(['sink']);
  });

  it('show readiness, depth and counters of a QueueBinding, and its queue with -o wide', () => {
    const columns = kinds.QueueBinding.printerColumns;
    const expected = ['Ready', 'Polling', 'Visible', 'InFlight', 'Dispatched', 'DeadLettered', 'Queue', 'Age'];
    expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(expected));
    expect(columns.find((c) => c.name === 'Ready')?.jsonPath).toBe('.status.conditions[?(@.type=="Ready")].status');
    expect(columns.find((c) => c.name === 'Queue')).toMatchObject({ jsonPath: '.spec.queueUrl', priority: 1 });
  });

  it('show the image, GPUs and Job counts of a JobType', () => {
    const columns = kinds.JobType.printerColumns;
    const expected = ['Ready', 'Image', 'GPUs', 'MaxConcurrency', 'Active', 'Succeeded', 'Failed', 'Age'];
    expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(expected));
    expect(columns.find((c) => c.name === 'GPUs')).toMatchObject({ type: 'integer', jsonPath: '.spec.gpu.count' });
  });
});

describe('structuralSchema', () => {
  it('turns a string | integer union into int-or-string, keeping the string pattern', () => {
    expect(structuralSchema(z.union([z.string().regex(/^\d+m$/), z.int()]).describe('CPU'))).toEqual({
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      description: 'CPU',
      pattern: '^\\d+m$',
      'x-kubernetes-int-or-string': true,
    });
  });

  it('refuses a string | number union, which int-or-string cannot hold', () => {
    expect(() => structuralSchema(z.object({ cpu: z.union([z.string(), z.number()]) }))).toThrow(/cpu: .*use z\.int\(\)/);
  });

  it('refuses other unions and untyped fields', () => {
    expect(() => structuralSchema(z.object({ a: z.union([z.string(), z.boolean()]) }))).toThrow(/^a: the only union/);
    expect(() => structuralSchema(z.object({ a: z.unknown() }))).toThrow(/^a: every schema node needs a type/);
  });

  it('refuses recursive schemas, which would need $ref', () => {
    const tree: z.ZodType = z.object({ get children() { return z.array(tree); } });
    expect(() => structuralSchema(tree)).toThrow(/\$ref/);
  });

  it('spells open objects as x-kubernetes-preserve-unknown-fields, without properties or additionalProperties', () => {
    const loose = z.looseObject({}).meta({ 'x-kubernetes-preserve-unknown-fields': true });
    expect(structuralSchema(loose)).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    expect(structuralSchema(z.record(z.string(), z.unknown()))).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    expect(structuralSchema(z.looseObject({ a: z.string() }))).toEqual({
      type: 'object',
      properties: { a: { type: 'string' } },
      required: ['a'],
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it('keeps typed maps as additionalProperties', () => {
    expect(structuralSchema(z.record(z.string(), z.string()))).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
  });

  it("drops zod's safe-integer bounds but keeps ours", () => {
    expect(structuralSchema(z.int().min(1))).toEqual({ type: 'integer', minimum: 1 });
    expect(structuralSchema(z.int().max(5))).toEqual({ type: 'integer', maximum: 5 });
  });

  it('keeps defaults (fields with one are optional), descriptions and x-kubernetes keys', () => {
    const listMap = { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k'] };
    const schema = z
      .object({ n: z.int().default(3).describe('n'), tags: z.array(z.object({ k: z.string() })).meta(listMap) })
      .meta({ 'x-kubernetes-validations': [{ rule: 'self.n > 0' }] });
    expect(structuralSchema(schema)).toEqual({
      type: 'object',
      properties: {
        n: { default: 3, description: 'n', type: 'integer' },
        tags: {
          type: 'array',
          items: { type: 'object', properties: { k: { type: 'string' } }, required: ['k'] },
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['k'],
        },
      },
      required: ['tags'],
      'x-kubernetes-validations': [{ rule: 'self.n > 0' }],
    });
  });

  it('keeps formats the API server reads the same way and drops the others', () => {
    expect(structuralSchema(z.url())).toEqual({ type: 'string', format: 'uri' });
    expect(structuralSchema(z.string().startsWith('/'))).toEqual({ type: 'string', pattern: '^\\/.*' });
    expect(structuralSchema(z.iso.duration())).not.toHaveProperty('format');
  });

  it('leaves a schema that the structural checker rejects untouched by zod alone', () => {
    // Guards the checker above: zod's raw output breaks the rules that structuralSchema fixes.
    const raw = z.toJSONSchema(kinds.JobType.spec, { target: 'openapi-3.0', io: 'input' }) as JsonSchema;
    expect(structuralProblems(raw)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/\.env\[\*\]: additionalProperties beside properties/),
        expect.stringMatching(/\.resources\.requests\{\*\}: no type/),
        expect.stringMatching(/\.maxConcurrency: zod's safe-integer bound/),
      ]),
    );
  });
});

describe('resourceSchema', () => {
  it('puts the spec and status schemas under the object', () => {
    const schema = resourceSchema(kinds.StatusSink);
    expect(schema.properties!.spec).toEqual(structuralSchema(kinds.StatusSink.spec));
    expect(schema.properties!.status).toEqual(structuralSchema(kinds.StatusSink.status));
    expect(schema.description).toBe(kinds.StatusSink.description);
  });
});
