// Where a V8 heap snapshot's memory goes: self sizes summed by node type and by constructor (or
// code/closure name), largest first. scale.ts --heap-snapshot prints it for the controller at 10,000
// Jobs; alone: node hack/bench/heap-summary.ts FILE.heapsnapshot [--top 30]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { table } from './kit.ts';

type HeapSnapshot = {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
};

export type HeapGroup = { name: string; bytes: number; count: number };

/** Self sizes by node type ("object", "string", "code", …) and by type and name. */
export function summarizeHeap(snapshot: HeapSnapshot): { total: number; byType: HeapGroup[]; byName: HeapGroup[] } {
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const typeNames = snapshot.snapshot.meta.node_types[0];
  const byType = new Map<string, HeapGroup>();
  const byName = new Map<string, HeapGroup>();
  const add = (groups: Map<string, HeapGroup>, name: string, bytes: number) => {
    const group = groups.get(name) ?? groups.set(name, { name, bytes: 0, count: 0 }).get(name)!;
    group.bytes += bytes;
    group.count += 1;
  };
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = typeNames[snapshot.nodes[i + typeAt]!]!;
    const bytes = snapshot.nodes[i + sizeAt]!;
    total += bytes;
    add(byType, type, bytes);
    // A string's name is its content: group strings by type only.
    add(byName, type.includes('string') ? `(${type})` : `${type} ${snapshot.strings[snapshot.nodes[i + nameAt]!]!.slice(0, 60)}`, bytes);
  }
  const sorted = (groups: Map<string, HeapGroup>) => [...groups.values()].sort((a, b) => b.bytes - a.bytes);
  return { total, byType: sorted(byType), byName: sorted(byName) };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Markdown tables of a snapshot file's summary. */
export function heapSummaryTables(file: string, top = 25): string {
  const { total, byType, byName } = summarizeHeap(JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot);
  return [
    `Heap snapshot: ${mib(total)} of objects (self sizes)`,
    table(['node type', 'size', 'count'], byType.slice(0, 12).map((g) => [g.name, mib(g.bytes), g.count])),
    table(['type and constructor / name', 'size', 'count'], byName.slice(0, top).map((g) => [g.name.replaceAll('|', '\\|'), mib(g.bytes), g.count])),
  ].join('\n\n');
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
  if (positionals.length !== 1) {
    console.error('usage: node hack/bench/heap-summary.ts FILE.heapsnapshot [--top 30]');
    process.exit(2);
  }
  console.log(heapSummaryTables(positionals[0]!, Number(values.top)));
}
