// `npm run generate:chart`: writes the chart's CRD templates from crds/ and its values.schema.json.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { crdTemplateDirectory, renderCrdTemplates } from './crd-templates.ts';
import { renderValuesSchema, valuesSchemaPath } from './values-schema.ts';

const files = renderCrdTemplates();
mkdirSync(crdTemplateDirectory, { recursive: true });
// A CRD removed from crds/ must leave the chart too.
for (const name of readdirSync(crdTemplateDirectory)) if (!files.has(name)) rmSync(resolve(crdTemplateDirectory, name));
for (const [name, content] of files) writeFileSync(resolve(crdTemplateDirectory, name), content);
console.log(`wrote ${[...files.keys()].map((name) => `charts/sluice/templates/crds/${name}`).join(', ')}`);
writeFileSync(valuesSchemaPath, renderValuesSchema());
console.log('wrote charts/sluice/values.schema.json');
