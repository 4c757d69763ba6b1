// Where a process's CPU time went, from a V8 .cpuprofile (node --cpu-prof): self time summed by
// function and by where the code lives (a package, Sluice's own files, Node's internals).
import { readFileSync } from 'node:fs';
import { table } from './kit.ts';

type ProfileNode = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number };
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

/** The place a frame's code belongs to: `pkg <name>`, `sluice <path>`, `node <module>` or `(v8)`. */
function owner(url: string): string {
  if (!url) return '(v8: GC, compiler, idle, program)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `pkg ${pkg[1]}`;
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  const own = /\/(controller\/src\/.*)$/.exec(url);
  return own ? `sluice ${own[1]}` : url;
}

export function summarizeProfile(file: string, top = 15): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);
  const idle = [...selfMicros.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, v]) => a + v, 0);
  const busy = total - idle;
  const sum = (key: (n: ProfileNode) => string) => {
    const sums = new Map<string, number>();
    for (const [id, micros] of selfMicros) {
      const node = byId.get(id)!;
      if (node.callFrame.functionName === '(idle)') continue;
      sums.set(key(node), (sums.get(key(node)) ?? 0) + micros);
    }
    return [...sums.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([name, micros]) => [name, (micros / 1e6).toFixed(2), `${((micros / busy) * 100).toFixed(1)} %`]);
  };
  return [
    `busy ${(busy / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s profiled`,
    '',
    table(['where (self time)', 'CPU s', 'share of busy'], sum((n) => owner(n.callFrame.url))),
    '',
    table(['function (self time)', 'CPU s', 'share of busy'], sum((n) => `${n.callFrame.functionName || '(anonymous)'} ${owner(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`)),
  ].join('\n');
}

if (import.meta.main) console.log(summarizeProfile(process.argv[2]!, Number(process.argv[3] ?? 15)));
