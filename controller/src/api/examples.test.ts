// Every example in manifests/examples is a valid resource: the documentation runs.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { compileBinding } from '../dispatch/plan.ts';
import type { QueueBinding } from './schemas.ts';
import { parseSpec } from './validate.ts';
import { kinds, type KindName } from './kinds.ts';

const examples = resolve(dirname(fileURLToPath(import.meta.url)), '../../../manifests/examples');
const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));

describe('manifests/examples', () => {
  it('has examples', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  it.each(files)('%s holds valid Sluice resources whose routes compile', (file) => {
    const docs = parseAllDocuments(readFileSync(resolve(examples, file), 'utf8')).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string }; spec: unknown });
    const names = new Set<string>();
    for (const doc of docs.filter((d) => d.kind !== 'Secret')) {
      expect(doc.apiVersion).toBe('sluice.dev/v1alpha1');
      expect(Object.keys(kinds)).toContain(doc.kind);
      const parsed = parseSpec(doc.kind as KindName, doc.spec);
      expect(parsed, `${doc.kind}/${doc.metadata.name}: ${parsed.success ? '' : parsed.message}`).toMatchObject({ success: true });
      if (doc.kind === 'QueueBinding' && parsed.success) {
        const binding = { ...doc, metadata: { ...doc.metadata, namespace: 'default' }, spec: parsed.spec } as QueueBinding;
        expect(() => compileBinding(binding)).not.toThrow();
        for (const route of binding.spec.routes) expect(docs.some((d) => d.kind === 'JobType' && d.metadata.name === route.jobType), `${route.jobType} is defined`).toBe(true);
      }
      names.add(`${doc.kind}/${doc.metadata.name}`);
    }
    expect(names.size).toBe(docs.filter((d) => d.kind !== 'Secret').length);
  });
});
