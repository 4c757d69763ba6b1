// The chart's CRD templates (charts/sluice/templates/crds/) are crds/ behind the `crds.install`
// toggle, with the release's labels and `helm.sh/resource-policy: keep`: `npm run generate:chart`.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { repoRoot } from '../observability/paths.ts';

export const crdSourceDirectory = resolve(repoRoot, 'crds');
export const crdTemplateDirectory = resolve(repoRoot, 'charts/sluice/templates/crds');

const metadataName = /^metadata:\n {2}name: (\S+)\n/m;

/** One CRD file of crds/ as a chart template. */
export function crdTemplate(fileName: string, source: string): string {
  const body = source.replace(/^(#.*\n)+/, '');
  // The CRD is text inside a Go template: template delimiters in it would be executed.
  if (body.includes('{{') || body.includes('}}')) throw new Error(`crds/${fileName} contains template delimiters`);
  if (!metadataName.test(body)) throw new Error(`crds/${fileName}: no top-level metadata.name`);
  const withMetadata = body.replace(metadataName, (_match, name: string) => [
    'metadata:',
    `  name: ${name}`,
    '  labels:',
    '    {{- include "sluice.labels" . | nindent 4 }}',
    '  {{- if .Values.crds.keep }}',
    '  annotations:',
    '    helm.sh/resource-policy: keep',
    '  {{- end }}',
    '',
  ].join('\n'));
  return [
    '{{- if .Values.crds.install }}',
    `# Generated from crds/${fileName} by hack/chart/generate.ts (npm run generate:chart). Do not edit.`,
    withMetadata.trimEnd(),
    '{{- end }}',
    '',
  ].join('\n');
}

/** File name → template for every CRD in crds/. */
export function renderCrdTemplates(): Map<string, string> {
  const files = new Map<string, string>();
  for (const fileName of readdirSync(crdSourceDirectory).filter((name) => name.endsWith('.yaml')).sort()) {
    files.set(fileName, crdTemplate(fileName, readFileSync(resolve(crdSourceDirectory, fileName), 'utf8')));
  }
  return files;
}
