/**
 * The container image's program: src/cli.ts and every production dependency it imports, in one ES
 * module (`npm run bundle` → dist/bundle/ecr-warden.mjs), with what the controller never calls left
 * out. Started from it, the controller holds about 40 MiB less resident memory than started from
 * node_modules (the inventory benchmark measures the bundle, as the image ships it):
 * `@kubernetes/client-node`'s index re-exports its exec, attach, port-forward, cp and websocket
 * clients and all of its 225 generated API groups, and loading the package loads them all.
 *
 * The demo is not in it: src/cli.ts imports the simulators through a URL computed at run time,
 * which the bundler leaves as it is, so in the image that import finds nothing and `demo` says how
 * to run it from the npm package.
 *
 *   node scripts/bundle.ts [outfile]
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const PROGRAM_BUNDLE = join(ROOT, 'dist', 'bundle', 'ecr-warden.mjs');

/**
 * client-node declares no `sideEffects` in its package.json, so a bundler must keep every module its
 * index reaches, used or not. Its modules only declare classes and functions, with one exception,
 * polyfill.js (it sets globalThis.File on Node 18); marking the rest free of side effects lets the
 * bundler drop the modules nothing imports from. If a release ever adds a module that does work on
 * import, the end-to-end test of the bundled program (test/bundle.test.ts) is what notices.
 */
const clientNodeWithoutSideEffects: Plugin = {
  name: 'client-node-without-side-effects',
  setup(builder) {
    const resolving = Symbol('resolving');
    builder.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === resolving) return undefined;
      const result = await builder.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: resolving,
      });
      if (result.errors.length) return undefined;
      const inClientNode = result.path.includes('/node_modules/@kubernetes/client-node/');
      if (inClientNode && !result.path.endsWith('/polyfill.js')) return { ...result, sideEffects: false };
      return result;
    });
  },
};

export interface BundleOptions {
  /** The module to start from: src/cli.ts for the image. */
  entry: string;
  outfile: string;
}

/** Bundles `entry` and everything it imports (but node: built-ins) into one ES module. */
export async function bundleProgram({ entry, outfile }: BundleOptions): Promise<void> {
  await mkdir(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    // The oldest Node the package supports (package.json engines).
    target: 'node22.19',
    // Whitespace and redundant syntax out: V8 keeps a script's source for as long as any function
    // of it may still be compiled, so the source's size is resident (7 MiB less measured, with
    // about 5 MiB less RSS at start). Identifiers are kept, and their names too (keepNames), so a
    // stack trace still names the program's functions.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    legalComments: 'none',
    logLevel: 'warning',
    // Dependencies published as CommonJS call require() for Node's built-in modules, which an ES module
    // lacks; this gives the bundle one.
    banner: {
      js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);",
    },
    plugins: [clientNodeWithoutSideEffects],
  });
  // V8 holds a script's source as one string, in one byte per character only if every character is
  // Latin-1: a single other character (esbuild escapes them in strings, not in regular expressions)
  // doubles the source's footprint for the life of the process (3.5 MB more measured).
  const source = await readFile(outfile, 'latin1');
  const wide = /[^\x00-\x7f]/.exec(source);
  if (wide) {
    const around = source.slice(Math.max(0, wide.index - 60), wide.index + 20);
    throw new Error(`${outfile}: a non-ASCII byte in the bundle, escape it at its source: …${around}…`);
  }
}

if (import.meta.main) {
  const outfile = process.argv[2] ?? PROGRAM_BUNDLE;
  await bundleProgram({ entry: join(ROOT, 'src', 'cli.ts'), outfile });
  process.stdout.write(`${outfile}\n`);
}
