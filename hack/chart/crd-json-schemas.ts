// JSON schemas for kubeconform from CRDs, like kubeconform's scripts/openapi2jsonschema.py, so that
// custom resources (Sluice's, KEDA's, the Prometheus Operator's) are validated offline too:
//   node hack/chart/crd-json-schemas.ts OUT_DIR DEFINITIONS_JSON CRD_FILE...
// Strict like the API server's strict field validation: an object with `properties` rejects
// other fields unless it preserves unknown fields; metadata is checked as an ObjectMeta.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';

type Schema = { [key: string]: unknown };

type Crd = {
  kind?: string;
  spec?: { group: string; names: { kind: string }; versions?: { name: string; schema?: { openAPIV3Schema?: Schema } }[] };
};

function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (node === null || typeof node !== 'object') return node;
  const schema = node as Schema;
  if (schema['x-kubernetes-int-or-string'] === true) return { anyOf: [{ type: 'integer' }, { type: 'string' }] };
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    // `properties` maps field names to schemas: recurse into the schemas, not the names.
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as Schema).map(([name, child]) => [name, strict(child)])) : strict(value);
  }
  if (out.properties && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

/** File name (kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`) → schema, per served version. */
export function crdJsonSchemas(crdYaml: string, objectMetaRef: string): Map<string, Schema> {
  const schemas = new Map<string, Schema>();
  for (const document of parseAllDocuments(crdYaml)) {
    const crd = document.toJS() as Crd | null;
    if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) continue;
    const { group, names } = crd.spec;
    for (const version of crd.spec.versions ?? []) {
      const root = version.schema?.openAPIV3Schema;
      if (!root) continue;
      const schema = strict(root) as Schema;
      const properties = (schema.properties ?? {}) as Schema;
      schema.properties = {
        ...properties,
        apiVersion: { type: 'string', enum: [`${group}/${version.name}`] },
        kind: { type: 'string', enum: [names.kind] },
        metadata: { $ref: objectMetaRef },
      };
      schema.required = [...new Set([...((schema.required as string[] | undefined) ?? []), 'apiVersion', 'kind', 'metadata'])];
      schema.additionalProperties = false;
      schemas.set(`${names.kind.toLowerCase()}-${group.split('.')[0]}-${version.name}.json`, schema);
    }
  }
  return schemas;
}

if (import.meta.main) {
  const [outDir, definitions, ...crdFiles] = process.argv.slice(2);
  if (!outDir || !definitions || crdFiles.length === 0) {
    console.error('usage: crd-json-schemas.ts OUT_DIR DEFINITIONS_JSON CRD_FILE...');
    process.exit(2);
  }
  const objectMetaRef = `${pathToFileURL(resolve(definitions)).href}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`;
  mkdirSync(outDir, { recursive: true });
  let count = 0;
  for (const file of crdFiles) {
    for (const [name, schema] of crdJsonSchemas(readFileSync(file, 'utf8'), objectMetaRef)) {
      writeFileSync(resolve(outDir, name), `${JSON.stringify(schema, null, 2)}\n`);
      count += 1;
    }
  }
  console.log(`wrote ${count} CRD schemas to ${outDir}`);
}
