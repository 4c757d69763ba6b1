import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../observability/paths.ts';
import { crdTemplate, crdTemplateDirectory, renderCrdTemplates } from './crd-templates.ts';
import { crdJsonSchemas } from './crd-json-schemas.ts';
import { renderValuesSchema, valuesSchema, valuesSchemaPath } from './values-schema.ts';

type Schema = { type?: string; properties?: Record<string, Schema>; additionalProperties?: unknown };

describe('chart CRD templates', () => {
  it.each([...renderCrdTemplates()])('templates/crds/%s is crds/ behind the toggle (npm run generate:chart)', (name, content) => {
    expect(readFileSync(resolve(crdTemplateDirectory, name), 'utf8')).toBe(content);
  });

  it('keeps the CRD itself unchanged apart from labels and the keep annotation', () => {
    const source = readFileSync(resolve(repoRoot, 'crds/sluice.dev_queuebindings.yaml'), 'utf8');
    const template = crdTemplate('sluice.dev_queuebindings.yaml', source);
    const body = template.split('\n').filter((line) => !line.includes('{{') && !line.startsWith('#')).join('\n')
      .replace('  labels:\n', '').replace('  annotations:\n    helm.sh/resource-policy: keep\n', '');
    expect(parse(body)).toEqual(parse(source));
  });

  it('refuses a CRD that would be executed as a template', () => {
    expect(() => crdTemplate('x.yaml', 'metadata:\n  name: x\nspec:\n  description: "{{ oops }}"\n')).toThrow(/template delimiters/);
  });
});

describe('values.yaml', () => {
  it("gives the controller the image's own Node flags and entry (Dockerfile ENTRYPOINT)", () => {
    const values = parse(readFileSync(resolve(repoRoot, 'charts/sluice/values.yaml'), 'utf8')) as { nodeFlags: string[] };
    const entrypoint = /^ENTRYPOINT (.+)$/m.exec(readFileSync(resolve(repoRoot, 'Dockerfile'), 'utf8'))?.[1];
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['node', ...values.nodeFlags, 'controller/dist/sluice.js']);
    const deployment = readFileSync(resolve(repoRoot, 'charts/sluice/templates/deployment.yaml'), 'utf8');
    expect(deployment).toContain('- controller/dist/sluice.js');
  });
});

describe('values.schema.json', () => {
  it('is up to date (npm run generate:chart)', () => {
    expect(readFileSync(valuesSchemaPath, 'utf8')).toBe(renderValuesSchema());
  });

  it('allows no unknown key in any object it describes', () => {
    const loose: string[] = [];
    const walk = (node: Schema, path: string) => {
      if (node.properties) {
        if (node.additionalProperties !== false) loose.push(path);
        for (const [key, child] of Object.entries(node.properties)) walk(child, `${path}.${key}`);
      }
    };
    walk(valuesSchema, 'values');
    expect(loose).toEqual([]);
  });

  it('describes every key of values.yaml and no other', () => {
    const values = parse(readFileSync(resolve(repoRoot, 'charts/sluice/values.yaml'), 'utf8')) as Record<string, unknown>;
    const keys = (node: Schema, value: unknown, path: string): string[] => {
      if (!node.properties || value === null || typeof value !== 'object' || Array.isArray(value)) return [];
      const own = Object.keys(node.properties).sort();
      const given = Object.keys(value).sort();
      // Kubernetes types passed through: the defaults set only some of their fields.
      const passThrough = ['values.podSecurityContext', 'values.securityContext', 'values.affinity', 'values.resources'].includes(path);
      if (passThrough) expect(own, path).toEqual(expect.arrayContaining(given));
      else expect(given, path).toEqual(own);
      return given.flatMap((key) => keys(node.properties![key]!, (value as Record<string, unknown>)[key], `${path}.${key}`));
    };
    keys(valuesSchema, values, 'values');
  });
});

describe('CRD JSON schemas for kubeconform', () => {
  const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {x-kubernetes-int-or-string: true}
                free: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {known: {type: string}}}
                labels: {type: object, additionalProperties: {type: string}}
`;
  const schemas = crdJsonSchemas(crd, 'defs.json#/ObjectMeta');

  it('names each version as kubeconform looks it up', () => {
    expect([...schemas.keys()]).toEqual(['widget-example-v1.json']);
  });

  it('rejects unknown fields except where the CRD preserves them', () => {
    const schema = schemas.get('widget-example-v1.json') as { additionalProperties: unknown; properties: Record<string, Schema & { properties: Record<string, Schema> }> };
    expect(schema.additionalProperties).toBe(false);
    const spec = schema.properties.spec!;
    expect(spec.additionalProperties).toBe(false);
    expect(spec.properties.free!.additionalProperties).toBeUndefined();
    expect(spec.properties.labels!.additionalProperties).toEqual({ type: 'string' });
    expect(spec.properties.size).toEqual({ anyOf: [{ type: 'integer' }, { type: 'string' }] });
  });

  it('checks apiVersion, kind and metadata', () => {
    const schema = schemas.get('widget-example-v1.json') as { properties: Record<string, unknown>; required: string[] };
    expect(schema.properties.apiVersion).toEqual({ type: 'string', enum: ['example.com/v1'] });
    expect(schema.properties.kind).toEqual({ type: 'string', enum: ['Widget'] });
    expect(schema.properties.metadata).toEqual({ $ref: 'defs.json#/ObjectMeta' });
    expect(schema.required).toEqual(['apiVersion', 'kind', 'metadata']);
  });
});
