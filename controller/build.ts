// Bundles the `sluice` binary into dist/ for the image: one file of JavaScript with only the code
// that is reached, instead of ~1,200 TypeScript modules stripped at every start. Loading the
// sources costs ~40 MiB more resident memory at start (module sources kept for lazy compilation,
// the type stripper's WebAssembly, all of client-node's generated models; docs/benchmarks.md).
// The sink drivers stay in chunks of their own, loaded when a StatusSink of their kind opens; so do
// the SES and SMTP clients (first e-mail) and the S3 client (first large payload).
//   node controller/build.ts [--outdir DIR]
import http2 from 'node:http2';
import { builtinModules } from 'node:module';
import { build, type Plugin } from 'esbuild';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
/** Where the bundle lands by default. */
export const defaultOutdir = resolve(here, 'dist');
/** The bundled binary, relative to its outdir. */
export const bundleEntry = 'sluice.js';

export interface BuiltController {
  /** The binary's path. */
  entry: string;
  /** The source files in the binary itself (its chunks not included), relative to the working directory. */
  entryInputs: string[];
}

/** Bundles into outdir (esbuild throws on errors). Unchanged sources give the same files, so a rebuild leaves a running binary's chunks in place. */
export async function buildController(outdir = defaultOutdir): Promise<BuiltController> {
  const result = await build({
    entryPoints: { sluice: resolve(here, 'src/cli/main.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    // Whitespace and syntax only: names stay, so stack traces and heap snapshots still read.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    chunkNames: 'chunks/[name]-[hash]',
    // Bundled CommonJS packages call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __sluiceRequire } from 'node:module'; const require = __sluiceRequire(import.meta.url);" },
    // Optional native add-ons the drivers try to load and do without.
    external: ['pg-native', 'kerberos', '@mongodb-js/zstd', 'snappy', 'mongodb-client-encryption', 'bufferutil', 'utf-8-validate'],
    plugins: [builtinsByRequire],
    legalComments: 'linked',
    logLevel: 'warning',
    metafile: true,
  });
  const outputs = new Map(Object.entries(result.metafile.outputs).map(([path, output]) => [resolve(path), output]));
  // Chunks of an earlier build (their names carry a hash of their content), and their maps.
  for (const file of await readdir(outdir, { recursive: true, withFileTypes: true })) {
    const path = join(file.parentPath, file.name);
    const output = path.replace(/\.(map|LEGAL\.txt)$/, '');
    if (file.isFile() && !outputs.has(path) && !outputs.has(output)) await rm(path);
  }
  for (const path of outputs.keys()) if (path.endsWith('.js')) await writeAscii(path);
  const entry = resolve(outdir, bundleEntry);
  return { entry, entryInputs: Object.keys(outputs.get(entry)?.inputs ?? {}) };
}

const builtinFilter = new RegExp(`^(node:)?(${builtinModules.map((name) => name.replace(/[/]/g, '\\/')).join('|')})$`);
const cjsBuiltin = 'cjs-builtin';
const lazyHttp2 = 'lazy-http2';

/**
 * Loads Node's built-in modules with require() where the sources import them. Importing a built-in
 * as an ES module reads every export, and some are getters that load more: `node:http`'s
 * WebSocket, CloseEvent and MessageEvent load Node's own copy of undici (nothing here uses it).
 * require() leaves them unread until used; named imports become property reads at the point of use,
 * as esbuild does for any CommonJS module.
 *
 * `node:http2` is loaded on first use only: undici and the AWS SDK's HTTP handler require it at
 * start for its constants (≈ 4 MiB resident with Node's HTTP/2 client and server), and neither
 * speaks HTTP/2 here. Its constants are copied in at build time from the Node that builds, the
 * image's.
 */
export const builtinsByRequire: Plugin = {
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: builtinFilter }, ({ path, kind, namespace }) => {
      const name = path.startsWith('node:') ? path : `node:${path}`;
      if (namespace === cjsBuiltin || namespace === lazyHttp2) return { path: name, external: true };
      if (name === 'node:http2') return { path: name, namespace: lazyHttp2 };
      if (kind !== 'import-statement') return { path: name, external: true };
      return { path: name, namespace: cjsBuiltin };
    });
    build.onLoad({ filter: /.*/, namespace: cjsBuiltin }, ({ path }) => ({
      contents: `module.exports = require(${JSON.stringify(path)});`,
      loader: 'js',
    }));
    build.onLoad({ filter: /.*/, namespace: lazyHttp2 }, () => ({ contents: lazyHttp2Source(), loader: 'js' }));
  },
};

/** A CommonJS module: http2's constants as plain values, every other export a getter that loads it. */
export function lazyHttp2Source(): string {
  const names = Object.keys(http2).filter((name) => name !== 'constants');
  return [
    `const constants = Object.freeze(${JSON.stringify(http2.constants)});`,
    'let http2;',
    "const load = () => (http2 ??= require('node:http2'));",
    'Object.defineProperty(exports, "constants", { enumerable: true, value: constants });',
    `for (const name of ${JSON.stringify(names)}) Object.defineProperty(exports, name, { enumerable: true, get: () => load()[name] });`,
    '',
  ].join('\n');
}

/**
 * Escapes what esbuild's ASCII output leaves (a `µ` in a bundled regular expression literal): V8
 * keeps a module's source for lazy compilation, and one character beyond ASCII makes the whole
 * 5.5 MB a two-byte string, ≈ 5 MiB more resident memory. The source map's columns shift on that
 * line only.
 */
async function writeAscii(path: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  const ascii = toAscii(text);
  if (ascii !== text) await writeFile(path, ascii);
}

export function toAscii(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const { entry } = await buildController(values.outdir ? resolve(values.outdir) : undefined);
  console.log(`built ${entry}`);
}
