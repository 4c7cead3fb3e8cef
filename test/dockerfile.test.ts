/**
 * No Docker engine runs here, so the Dockerfile is checked statically: what it copies exists
 * (in the build context, or produced by the build stage), what it runs is the file the bundler
 * emits (test/bundle.test.ts runs that file as a program), and the runtime is a pinned Node 24
 * image running as a non-root user.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PROGRAM_BUNDLE } from '../scripts/bundle.ts';
import { IMAGE_ENV, IMAGE_NODE_FLAGS } from '../bench/image.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions of a Dockerfile: comments dropped, backslash continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const match = /^(\S+)\s+(.*)$/.exec(full);
    assert.ok(match, `unparsable Dockerfile line: ${full}`);
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim() });
  }
  return instructions;
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      assert.ok(match, `FROM ${instruction.args}`);
      stages.push({ image: match[1]!, name: match[2], instructions: [] });
    } else {
      assert.ok(stages.length > 0, `${instruction.keyword} before FROM`);
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

interface Copy {
  from: string | undefined;
  sources: string[];
  destination: string;
}

function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const destination = words.pop();
  assert.ok(destination && words.length > 0, `COPY ${args}`);
  return { from, sources: words, destination };
}

/** Absolute path of `path` inside a stage whose working directory is `workdir`. */
function inStage(workdir: string, path: string): string {
  return posix.normalize(path.startsWith('/') ? path : posix.join(workdir, path)).replace(/\/$/, '');
}

/** A .dockerignore glob: `*` and `?` stay within one path segment, `**` crosses segments. */
function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * Whether the build context leaves `path` out, by .dockerignore's rules: patterns in order, the
 * last one that matches the path or one of its parent directories decides, `!` re-includes.
 */
function ignoredByDockerignore(patterns: string[], path: string): boolean {
  const candidates: string[] = [];
  const parts = path.split('/');
  for (let i = 1; i <= parts.length; i++) candidates.push(parts.slice(0, i).join('/'));
  let ignored = false;
  for (const line of patterns) {
    const negated = line.startsWith('!');
    const pattern = posix.normalize(negated ? line.slice(1) : line).replace(/\/$/, '');
    const regex = globToRegExp(pattern);
    if (candidates.some((candidate) => regex.test(candidate))) ignored = !negated;
  }
  return ignored;
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = stagesOf(parseDockerfile(dockerfile));
const buildStage = stages[0]!;
const runtimeStage = stages.at(-1)!;
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const tsconfigBuild = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
  extends?: string;
  include?: string[];
  compilerOptions: { outDir: string; rootDir: string; sourceMap?: boolean };
};
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
/** What only `ecr-warden demo`, the tests and the benchmarks use: never in the image. */
const NOT_IN_IMAGE = ['sim', 'test', 'bench'];

function lastWorkdir(stage: Stage, before = stage.instructions.length): string {
  let workdir = '/';
  for (const instruction of stage.instructions.slice(0, before)) {
    if (instruction.keyword === 'WORKDIR') workdir = inStage(workdir, instruction.args);
  }
  return workdir;
}

/** Where the npm package's CLI lands: what `tsc -p tsconfig.build.json` emits for src/cli.ts. */
function emittedCli(): string {
  const { outDir, rootDir } = tsconfigBuild.compilerOptions;
  const source = relative(join(ROOT, rootDir), join(ROOT, 'src/cli.ts'));
  return posix.join(outDir, source.replace(/\.ts$/, '.js'));
}

/** Where `npm run bundle` writes the program, relative to the repository root. */
const BUNDLE = relative(ROOT, PROGRAM_BUNDLE).split('\\').join('/');

/**
 * Paths (absolute, in the build stage) that exist when the stage ends: what it copied in, and
 * what its RUN steps produce (npm ci: node_modules; npm run bundle: the bundled program).
 */
function producedByBuildStage(): Set<string> {
  const produced = new Set<string>();
  buildStage.instructions.forEach((instruction, index) => {
    const workdir = lastWorkdir(buildStage, index + 1);
    if (instruction.keyword === 'COPY') {
      const copy = parseCopy(instruction.args);
      for (const source of copy.sources) {
        const target = copy.destination.endsWith('/')
          ? inStage(workdir, posix.join(copy.destination, posix.basename(source)))
          : inStage(workdir, copy.destination);
        produced.add(target);
      }
    }
    if (instruction.keyword === 'RUN') {
      if (/\bnpm ci\b/.test(instruction.args)) produced.add(inStage(workdir, 'node_modules'));
      if (/\bnpm run bundle\b/.test(instruction.args)) produced.add(inStage(workdir, BUNDLE));
    }
  });
  return produced;
}

describe('Dockerfile', () => {
  test('has a build stage and a separate runtime stage on pinned Node 24 images', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.ok(buildStage.name, 'the build stage is named');
    for (const stage of stages) {
      // A full version (or a digest) pins the image; "24-slim" or "lts" would move under us.
      assert.match(stage.image, /^node:24\.\d+\.\d+-[a-z]+-slim$|@sha256:[0-9a-f]{64}$/, stage.image);
    }
    assert.equal(runtimeStage.name, undefined);
  });

  test('copies from the build context only files that exist and that .dockerignore lets in', () => {
    for (const stage of stages) {
      for (const instruction of stage.instructions.filter(
        (i) => i.keyword === 'COPY' || i.keyword === 'ADD',
      )) {
        const copy = parseCopy(instruction.args);
        if (copy.from !== undefined) continue;
        for (const source of copy.sources) {
          const path = posix.normalize(source).replace(/\/$/, '');
          assert.ok(existsSync(join(ROOT, path)), `${source} exists`);
          assert.equal(ignoredByDockerignore(dockerignore, path), false, `${source} is in the build context`);
        }
      }
    }
  });

  test('gives the bundler everything it reads, and no simulator', () => {
    const copied = producedByBuildStage();
    const workdir = lastWorkdir(buildStage);
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'scripts', 'src']) {
      assert.ok(copied.has(inStage(workdir, needed)), `${needed} is copied into the build stage`);
    }
    assert.equal(packageJson.scripts.bundle, 'node scripts/bundle.ts');
    const runs = buildStage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    assert.ok(
      runs.some((run) => /^npm ci\b/.test(run)),
      'the lockfile decides what is bundled',
    );
  });

  test('copies into the runtime the bundled program alone: no node_modules, no package.json', () => {
    const produced = producedByBuildStage();
    const copies = runtimeStage.instructions
      .filter((i) => i.keyword === 'COPY')
      .map((i) => parseCopy(i.args));
    assert.ok(copies.length > 0);
    for (const copy of copies) {
      assert.equal(copy.from, buildStage.name, `COPY ${copy.sources.join(' ')} comes from the build stage`);
      for (const source of copy.sources)
        assert.ok(produced.has(posix.normalize(source)), `${source} is produced by the build`);
    }
    assert.deepEqual(
      copies.flatMap((c) => c.sources),
      [inStage(lastWorkdir(buildStage), BUNDLE)],
    );
  });

  test('starts the bundled program, with serve as the default command', () => {
    const entrypoint = runtimeStage.instructions.find((i) => i.keyword === 'ENTRYPOINT');
    const cmd = runtimeStage.instructions.find((i) => i.keyword === 'CMD');
    assert.ok(entrypoint && cmd, 'ENTRYPOINT and CMD are set');
    const entry = JSON.parse(entrypoint.args) as string[];
    const args = JSON.parse(cmd.args) as string[];
    assert.equal(entry[0], 'node');
    // The flags the inventory benchmark measures memory with.
    assert.deepEqual(entry.slice(1, -1), IMAGE_NODE_FLAGS);
    const copy = runtimeStage.instructions
      .filter((i) => i.keyword === 'COPY')
      .map((i) => parseCopy(i.args))
      .find((c) => c.sources.includes(inStage(lastWorkdir(buildStage), BUNDLE)));
    assert.ok(copy, 'the bundle is copied');
    assert.equal(
      entry.at(-1),
      inStage(lastWorkdir(runtimeStage), copy.destination),
      'the entrypoint is the bundle',
    );
    // The npm package runs the TypeScript build instead (dist/src, with dist/sim for the demo).
    assert.equal(packageJson.bin['ecr-warden'], emittedCli());
    assert.equal(args[0], 'serve');
    assert.deepEqual(args.slice(1), ['--config', '/etc/ecr-warden/config.yaml']);
  });

  test('sets the environment the inventory benchmark measures memory in', () => {
    const env: Record<string, string> = {};
    for (const instruction of runtimeStage.instructions.filter((i) => i.keyword === 'ENV')) {
      for (const pair of instruction.args.split(/\s+/)) {
        const [name, value] = pair.split('=') as [string, string];
        env[name] = value;
      }
    }
    assert.deepEqual(env, IMAGE_ENV);
  });

  test('runs as a numeric non-root user, the one the chart runs the pod as', () => {
    const user = runtimeStage.instructions.filter((i) => i.keyword === 'USER').at(-1);
    assert.ok(user, 'USER is set in the runtime stage');
    const match = /^(\d+)(?::(\d+))?$/.exec(user.args);
    assert.ok(match, `USER ${user.args} is numeric, so runAsNonRoot can check it`);
    const uid = Number(match[1]);
    assert.notEqual(uid, 0);
    const deployment = readFileSync(join(ROOT, 'charts/ecr-warden/templates/deployment.yaml'), 'utf8');
    assert.match(deployment, new RegExp(`runAsUser: ${uid}\\b`));
    if (match[2] !== undefined) assert.match(deployment, new RegExp(`runAsGroup: ${match[2]}\\b`));
  });
});

describe('the runtime image', () => {
  test('carries no simulator, test, benchmark or source map', () => {
    for (const dir of NOT_IN_IMAGE) {
      assert.equal(ignoredByDockerignore(dockerignore, dir), true, `${dir}/ stays out of the build context`);
      assert.equal(ignoredByDockerignore(dockerignore, `${dir}/ecr/index.ts`), true);
    }
    assert.notEqual(tsconfigBuild.compilerOptions.sourceMap, true, 'the npm build emits no source maps');
    const copiedIntoBuild = buildStage.instructions
      .filter((i) => i.keyword === 'COPY')
      .flatMap((i) => parseCopy(i.args).sources);
    for (const dir of NOT_IN_IMAGE) assert.ok(!copiedIntoBuild.includes(dir), `${dir} is not copied`);
  });

  test('keeps selfsigned, which only the demo uses, an optional dependency of the npm package', () => {
    assert.equal(packageJson.dependencies.selfsigned, undefined);
    assert.ok(packageJson.optionalDependencies?.selfsigned, 'selfsigned is an optional dependency');
    const optional = Object.keys(packageJson.optionalDependencies ?? {});
    assert.deepEqual(optional, ['selfsigned'], 'only what the demo alone uses is optional');
  });
});

describe('.dockerignore', () => {
  test('keeps dependencies, build output, history and tests out of the build context', () => {
    for (const path of [
      'node_modules',
      'node_modules/yaml/package.json',
      'dist',
      'dist/src/cli.js',
      'sim',
      'bench',
      '.git',
      'test',
      'test/chart.test.ts',
    ]) {
      assert.equal(ignoredByDockerignore(dockerignore, path), true, path);
    }
    for (const path of [
      'src/cli.ts',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'scripts/bundle.ts',
    ]) {
      assert.equal(ignoredByDockerignore(dockerignore, path), false, path);
    }
  });
});
