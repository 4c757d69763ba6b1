// Whether two rendered manifests hold the same objects (Helm 3 and 4 differ in blank lines only):
//   node hack/chart/same-objects.ts A.yaml B.yaml
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';

export function objects(manifest: string): unknown[] {
  return parseAllDocuments(manifest).map((document) => document.toJS() as unknown).filter((object) => object !== null);
}

if (import.meta.main) {
  const [a, b] = process.argv.slice(2);
  if (!a || !b) throw new Error('usage: same-objects.ts A.yaml B.yaml');
  const left = objects(readFileSync(a, 'utf8'));
  const right = objects(readFileSync(b, 'utf8'));
  const differing = left.map((object, index) => (isDeepStrictEqual(object, right[index]) ? -1 : index)).filter((index) => index >= 0);
  if (left.length !== right.length || differing.length) {
    console.error(`${a} and ${b} differ: ${left.length} vs ${right.length} objects; first differing object #${differing[0] ?? left.length}`);
    const name = (object: unknown) => JSON.stringify((object as { kind?: string; metadata?: { name?: string } } | undefined)?.metadata?.name);
    if (differing[0] !== undefined) console.error(`  ${name(left[differing[0]])} vs ${name(right[differing[0]])}`);
    process.exit(1);
  }
}
