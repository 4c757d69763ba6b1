// Bundles the `sluice` binary into dist/ for the image: one file of JavaScript with only the code
// that is reached, instead of ~1,200 TypeScript modules stripped at every start. Loading the
// sources costs ~45 MiB more resident memory at start (module sources kept for lazy compilation,
// the type stripper's WebAssembly, all of client-node's generated models; docs/benchmarks.md).
// The sink drivers stay in chunks of their own, loaded when a StatusSink of their kind opens.
//   node controller/build.ts [--outdir DIR]
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
/** Where the bundle lands by default; its parent must hold package.json (metrics.ts reads the version there). */
export const defaultOutdir = resolve(here, 'dist');
/** The bundled binary, relative to its outdir. */
export const bundleEntry = 'sluice.js';

export interface BuiltController {
  /** The binary's path. */
  entry: string;
  /** The source files in the binary itself (its chunks not included), relative to the working directory. */
  entryInputs: string[];
}

export async function buildController(outdir = defaultOutdir): Promise<BuiltController> {
  await rm(outdir, { recursive: true, force: true });
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
    legalComments: 'linked',
    logLevel: 'warning',
    metafile: true,
  });
  if (result.errors.length > 0) throw new Error(`bundling failed: ${result.errors.length} errors`);
  const entry = resolve(outdir, bundleEntry);
  const output = Object.entries(result.metafile.outputs).find(([path]) => resolve(path) === entry)?.[1];
  return { entry, entryInputs: Object.keys(output?.inputs ?? {}) };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const { entry } = await buildController(values.outdir ? resolve(values.outdir) : undefined);
  console.log(`built ${entry}`);
}
