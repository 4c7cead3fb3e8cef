/**
 * Compiles the project to JavaScript in a temporary directory, and bundles a benchmark's entry as
 * `npm run bundle` bundles the container image's program, so a benchmark can measure the controller
 * as it ships. Run from the TypeScript sources, Node strips types with a WebAssembly compiler whose
 * memory stays resident (about 20 MiB measured), which the shipped controller never loads.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundleProgram } from '../scripts/bundle.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

export interface CompiledProject {
  /** The directory that holds src/, bench/ and test/ compiled. */
  dir: string;
  /**
   * Bundles bench/<name>.ts and what it imports, the controller included, as scripts/bundle.ts
   * bundles the image's program, into bench/<name>.bundle.js of `dir` (beside the compiled scripts it
   * may fork); returns its path.
   */
  bundle(name: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function compileProject(): Promise<CompiledProject> {
  const dir = await mkdtemp(join(tmpdir(), 'ecr-warden-bench-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await promisify(execFile)(
      process.execPath,
      [
        tsc,
        '-p',
        join(ROOT, 'tsconfig.json'),
        '--noEmit',
        'false',
        '--outDir',
        dir,
        '--rootDir',
        ROOT,
        '--sourceMap',
        'false',
        '--declaration',
        'false',
      ],
      { cwd: ROOT },
    );
    // ES modules, as the package declares, and the project's dependencies where Node looks for them.
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  } catch (err) {
    await cleanup();
    const output = (err as { stdout?: string }).stdout;
    throw new Error(`compiling the project for the benchmark failed${output ? `:\n${output}` : ''}`, {
      cause: err,
    });
  }
  const bundle = async (name: string) => {
    const outfile = join(dir, 'bench', `${name}.bundle.js`);
    await bundleProgram({ entry: join(ROOT, 'bench', `${name}.ts`), outfile });
    return outfile;
  };
  return { dir, bundle, cleanup };
}
