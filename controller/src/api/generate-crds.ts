// Writes crds/sluice.dev_<plural>.yaml from the zod schemas: `npm run generate`.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { customResourceDefinition } from './crd.ts';
import { kinds } from './kinds.ts';
import { GROUP } from './schemas.ts';

export const crdDirectory = resolve(dirname(fileURLToPath(import.meta.url)), '../../../crds');

const header = `# Generated from controller/src/api/schemas.ts by controller/src/api/generate-crds.ts.
# Do not edit: change the zod schemas and run \`npm run generate\`.
`;

/** Whether a file in crds/ is one this generator owns. */
export const isGeneratedFileName = (fileName: string) => fileName.startsWith(`${GROUP}_`) && fileName.endsWith('.yaml');

/** File name → YAML content for every Sluice CRD. */
export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const definition of Object.values(kinds)) {
    const crd = customResourceDefinition(definition);
    // lineWidth 0: long descriptions and CEL rules stay on one line, so diffs stay readable.
    files.set(`${GROUP}_${definition.plural}.yaml`, header + stringify(crd, { lineWidth: 0 }));
  }
  return files;
}

function writeCrdFiles(): void {
  const files = renderCrdFiles();
  mkdirSync(crdDirectory, { recursive: true });
  // A renamed kind must not leave its old CRD behind.
  for (const fileName of readdirSync(crdDirectory)) {
    if (isGeneratedFileName(fileName) && !files.has(fileName)) rmSync(resolve(crdDirectory, fileName));
  }
  for (const [fileName, content] of files) writeFileSync(resolve(crdDirectory, fileName), content);
  console.log(`wrote ${[...files.keys()].map((name) => `crds/${name}`).join(', ')}`);
}

if (import.meta.main) writeCrdFiles();
