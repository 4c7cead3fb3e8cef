/**
 * The controller carries only itself: `serve`, `check` and `report` load no simulator module, and
 * `demo` loads the simulators on demand. Checked on the modules Node actually loads, through a
 * load hook in the child process, not on what the sources seem to import.
 *
 * And of @kubernetes/client-node it takes only the few values it needs, none of the generated API
 * classes: a bundle of the controller then leaves out the ObjectSerializer and its model classes.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';

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

/**
 * The values src/ may import from @kubernetes/client-node. Type imports are free (they vanish when
 * compiled); a value import of anything else, above all a generated API class (CoreV1Api,
 * CustomObjectsApi…) or a model (V1MicroTime), brings in client-node's ObjectSerializer with every
 * model class: megabytes of memory; and its fetch-based HTTP layer (Watch, IsomorphicFetchHttpLibrary)
 * runs on undici, about 20 MiB more than node:https. src/kube/kept-connection.ts sends the requests,
 * src/kube/rest.ts is the JSON client over it.
 */
const CLIENT_NODE = '@kubernetes/client-node';
const CLIENT_NODE_VALUES = new Set(['KubeConfig', 'ApiException']);

/** Every value src/ imports from client-node that is not allowed, as `file: what`. */
function clientNodeValueImports(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const fromClientNode = (specifier: ts.Expression | undefined) =>
    specifier !== undefined &&
    ts.isStringLiteral(specifier) &&
    (specifier.text === CLIENT_NODE || specifier.text.startsWith(`${CLIENT_NODE}/`));
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && fromClientNode(node.moduleSpecifier)) {
      const clause = node.importClause;
      const where = (node.moduleSpecifier as ts.StringLiteral).text;
      if (where !== CLIENT_NODE) out.push(`${file}: a module inside the package (${where})`);
      else if (!clause) out.push(`${file}: the whole package, for its side effects`);
      else if (!clause.isTypeOnly) {
        if (clause.name) out.push(`${file}: a default import (${clause.name.text})`);
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) out.push(`${file}: * as ${bindings.name.text}`);
        if (bindings && ts.isNamedImports(bindings)) {
          for (const element of bindings.elements) {
            const name = (element.propertyName ?? element.name).text;
            if (!element.isTypeOnly && !CLIENT_NODE_VALUES.has(name)) out.push(`${file}: ${name}`);
          }
        }
      }
    } else if (ts.isExportDeclaration(node) && fromClientNode(node.moduleSpecifier) && !node.isTypeOnly) {
      const clause = node.exportClause;
      if (!clause || !ts.isNamedExports(clause)) out.push(`${file}: export * from the package`);
      else {
        for (const element of clause.elements) {
          const name = (element.propertyName ?? element.name).text;
          if (!element.isTypeOnly && !CLIENT_NODE_VALUES.has(name))
            out.push(`${file}: ${name} (re-exported)`);
        }
      }
    } else if (
      (ts.isCallExpression(node) &&
        (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
          (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
        node.arguments.some((arg) => fromClientNode(arg))) ||
      (ts.isImportEqualsDeclaration(node) &&
        ts.isExternalModuleReference(node.moduleReference) &&
        fromClientNode(node.moduleReference.expression))
    ) {
      out.push(`${file}: the whole package, loaded at run time`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

describe('what the controller takes from client-node', () => {
  it('no value import from @kubernetes/client-node in src/ but the allowed few', async () => {
    const src = join(ROOT, 'src');
    const files = (await readdir(src, { recursive: true })).map(String).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length > 50, 'the scan sees the sources');
    const found: string[] = [];
    let importing = 0;
    for (const file of files) {
      const text = await readFile(join(src, file), 'utf8');
      if (text.includes(CLIENT_NODE)) importing++;
      found.push(...clientNodeValueImports(relative(ROOT, join(src, file)), text));
    }
    assert.ok(importing >= 5, 'the scan sees the files that import client-node');
    assert.deepEqual(found, []);
  });

  it('the scan tells value imports from type imports', () => {
    const scan = (text: string) => clientNodeValueImports('x.ts', text);
    assert.deepEqual(scan(`import { KubeConfig, type V1Pod } from '${CLIENT_NODE}';`), []);
    assert.deepEqual(scan(`import type { CoreV1Api, V1Lease } from '${CLIENT_NODE}';`), []);
    assert.deepEqual(scan(`export type { V1Pod } from '${CLIENT_NODE}';`), []);
    assert.deepEqual(
      scan(
        `import {\n  ApiException,\n  CoordinationV1Api,\n  type V1Lease,\n  V1MicroTime as Micro,\n} from '${CLIENT_NODE}';`,
      ),
      ['x.ts: CoordinationV1Api', 'x.ts: V1MicroTime'],
    );
    assert.deepEqual(scan(`import * as k8s from '${CLIENT_NODE}';`), ['x.ts: * as k8s']);
    assert.deepEqual(scan(`import k8s from '${CLIENT_NODE}';`), ['x.ts: a default import (k8s)']);
    assert.deepEqual(scan(`export { CustomObjectsApi } from '${CLIENT_NODE}';`), [
      'x.ts: CustomObjectsApi (re-exported)',
    ]);
    assert.deepEqual(scan(`const k = await import('${CLIENT_NODE}');`), [
      'x.ts: the whole package, loaded at run time',
    ]);
    assert.deepEqual(
      scan(`import { ObjectSerializer } from '${CLIENT_NODE}/dist/gen/models/ObjectSerializer.js';`),
      [`x.ts: a module inside the package (${CLIENT_NODE}/dist/gen/models/ObjectSerializer.js)`],
    );
  });
});
