/**
 * The controller carries only itself: `serve`, `check` and `report` load no simulator module, and
 * `demo` loads the simulators on demand. Checked on the modules Node actually loads, through a
 * load hook in the child process, not on what the sources seem to import.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'src/cli.ts');
/** Prints every file module the process loads, one `LOADED <url>` line each, on stderr. */
const LOAD_HOOK = `data:text/javascript,${encodeURIComponent(
  `import { registerHooks } from 'node:module';
   registerHooks({ load(url, context, next) {
     if (url.startsWith('file:')) process.stderr.write('LOADED ' + url + '\\n');
     return next(url, context);
   } });`,
)}`;

interface Loaded {
  code: number | null;
  stdout: string;
  /** Project files loaded (node_modules left out), relative to the repository root. */
  own: string[];
}

/** Runs the CLI until `until` appears on stdout (then SIGTERM) or it exits by itself. */
function runCli(args: string[], until?: RegExp): Promise<Loaded> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', LOAD_HOOK, CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', AWS_REGION: 'us-east-1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let stopped = false;
    // The log (pino, JSON lines) goes to stderr, beside the load hook's lines.
    const watch = () => {
      if (!stopped && until?.test(stdout + stderr)) {
        stopped = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      watch();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      watch();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const own = [...stderr.matchAll(/^LOADED (file:\S+)$/gm)]
        .map((m) => fileURLToPath(m[1]!))
        .filter((path) => path.startsWith(ROOT) && !path.includes('/node_modules/'))
        .map((path) => path.slice(ROOT.length));
      resolve({ code, stdout, own });
    });
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecr-warden-boundaries-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('the controller apart from the simulators', () => {
  it('serve starts, serving metrics, without loading one simulator module', async () => {
    const config = join(dir, 'serve.yaml');
    await writeFile(
      config,
      'logLevel: info\ninventory: { enabled: false }\nmetrics: { address: 127.0.0.1, port: 0 }\n',
    );
    const run = await runCli(['serve', '--config', config], /ecr-warden serving/);
    assert.equal(run.code, 0, 'serve stopped cleanly on SIGTERM');
    assert.ok(run.own.includes('src/cli.ts') && run.own.some((f) => f.startsWith('src/admission/')));
    assert.deepEqual(
      run.own.filter((f) => !f.startsWith('src/')),
      [],
      'serve loads only src/ of the project',
    );
  });

  for (const args of [
    ['check', '--help'],
    ['report', '--help'],
    ['serve', '--help'],
  ]) {
    it(`${args.join(' ')} loads no simulator module`, async () => {
      const run = await runCli(args);
      assert.equal(run.code, 0);
      assert.deepEqual(
        run.own.filter((f) => f.startsWith('sim/')),
        [],
      );
    });
  }

  it('demo loads the simulators on demand, when it runs', async () => {
    const help = await runCli(['demo', '--help']);
    assert.equal(help.code, 0);
    assert.deepEqual(
      help.own.filter((f) => f.startsWith('sim/')),
      [],
    );
    const demo = await runCli(['demo'], /Press Ctrl-C to stop/);
    assert.equal(demo.code, 0);
    for (const module of ['sim/demo/command.ts', 'sim/ecr/index.ts', 'sim/kube/index.ts']) {
      assert.ok(demo.own.includes(module), `${module} loaded by the demo`);
    }
  });
});

describe('the build', () => {
  let out: string;
  before(async () => {
    out = join(dir, 'build');
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await promisify(execFile)(
      process.execPath,
      [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out],
      {
        cwd: ROOT,
      },
    );
    await writeFile(join(out, 'package.json'), JSON.stringify({ type: 'module' }));
    await symlink(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  });

  it('emits the controller and, for the npm package, the simulators; no source maps', async () => {
    const files = (await readdir(out, { recursive: true }))
      .map(String)
      .filter((f) => !f.startsWith('node_modules'));
    assert.ok(files.includes(join('src', 'cli.js')));
    assert.ok(files.includes(join('sim', 'demo', 'command.js')));
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
    );
  });

  it('without the simulators, as in the container image, demo says in one line where to run it', async () => {
    await rm(join(out, 'sim'), { recursive: true });
    const child = await promisify(execFile)(process.execPath, [join(out, 'src/cli.js'), 'demo'], {
      env: { PATH: process.env.PATH ?? '' },
    }).then(
      () => assert.fail('demo exits non-zero without its simulators'),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(child.code, 2);
    assert.equal(child.stdout, '');
    assert.equal(
      child.stderr,
      'ecr-warden: the demo is not part of the container image; run it from the npm package: npx ecr-warden demo\n',
    );
  });
});
