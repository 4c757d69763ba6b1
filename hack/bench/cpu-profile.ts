// Where a process's CPU time went, from a V8 .cpuprofile (node --cpu-prof): self time summed by
// function and by where the code lives (a package, Sluice's own files, Node's internals), and the
// time spent inside each of Sluice's own functions, callees included. The controller runs from a
// bundle (controller/dist/sluice.js), so each frame is mapped back through the bundle's source map
// (node:module's SourceMap) to the source file and line it came from: the map of the bundle that
// ran, so summarize a profile before the bundle is built again.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from './kit.ts';

type CallFrame = { functionName: string; url: string; lineNumber: number; columnNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
type Place = { name: string; file: string; line: number };

/** The place a file belongs to: `pkg <name>`, `sluice <path>`, `node <module>` or `(v8)`. */
function owner(file: string): string {
  if (!file) return '(v8: GC, compiler, idle, program)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg) return `pkg ${pkg[1]}`;
  if (file.startsWith('node:')) return `node ${file.slice(5).split('/')[0]}`;
  const own = /(?:^|\/)(controller\/src\/.*)$/.exec(file);
  return own ? `sluice ${own[1]}` : file;
}

/** Maps a frame of a bundled file to its source through the `.map` beside the file, when there is one. */
function sourcePlaces(): (frame: CallFrame) => Place {
  const maps = new Map<string, SourceMap | undefined>();
  const mapOf = (url: string) => {
    if (!url.startsWith('file://')) return undefined;
    if (!maps.has(url)) {
      const file = `${fileURLToPath(url)}.map`;
      maps.set(url, existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]) : undefined);
    }
    return maps.get(url);
  };
  return (frame) => {
    const entry = mapOf(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry && 'originalSource' in entry) {
      return { name: frame.functionName, file: resolve(dirname(fileURLToPath(frame.url)), entry.originalSource.replace(/^file:\/\//, '')), line: entry.originalLine + 1 };
    }
    return { name: frame.functionName, file: frame.url.replace(/^file:\/\//, ''), line: frame.lineNumber + 1 };
  };
}

export function summarizeProfile(file: string, top = 15): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const placeOf = sourcePlaces();
  const places = new Map(profile.nodes.map((n) => [n.id, placeOf(n.callFrame)]));
  const label = (place: Place) => `${place.name || '(anonymous)'} ${owner(place.file)}:${place.line}`;

  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);
  const isIdle = (id: number) => byId.get(id)?.callFrame.functionName === '(idle)';
  const busy = total - [...selfMicros.entries()].filter(([id]) => isIdle(id)).reduce((a, [, v]) => a + v, 0);

  const add = (sums: Map<string, number>, key: string, micros: number) => sums.set(key, (sums.get(key) ?? 0) + micros);
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  // Inclusive: each sample counts once for every one of Sluice's functions on its stack.
  const within = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    if (isIdle(id)) continue;
    add(byOwner, owner(places.get(id)!.file), micros);
    add(byFunction, label(places.get(id)!), micros);
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const place = places.get(at)!;
      if (owner(place.file).startsWith('sluice ')) onStack.add(label(place));
    }
    for (const key of onStack) add(within, key, micros);
  }
  const rows = (sums: Map<string, number>) => [...sums.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, micros]) => [name, (micros / 1e6).toFixed(2), `${((micros / busy) * 100).toFixed(1)} %`]);
  return [
    `busy ${(busy / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s profiled`,
    '',
    table(['where (self time)', 'CPU s', 'share of busy'], rows(byOwner)),
    '',
    table(['function (self time)', 'CPU s', 'share of busy'], rows(byFunction)),
    '',
    table(["Sluice's function (callees included)", 'CPU s', 'share of busy'], rows(within)),
  ].join('\n');
}

if (import.meta.main) console.log(summarizeProfile(process.argv[2]!, Number(process.argv[3] ?? 15)));
