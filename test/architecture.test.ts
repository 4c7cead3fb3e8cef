/**
 * docs/architecture.md says what may import what; this holds the code to it, so the page stays true.
 * Every relative import of a file under src/ is checked against the list in the page.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');

/** The folder (or top-level module) of src/ a path belongs to: `ecr`, `cli`, … */
function layerOf(path: string): string {
  const first = relative(SRC, path).split('/')[0]!;
  return first.replace(/\.ts$/, '');
}

/** The `a → b c` lines of the page's import list. */
function allowedImports(): Map<string, Set<string>> {
  const page = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = page.slice(page.indexOf('## What may import what'));
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'docs/architecture.md lists what may import what');
  const allowed = new Map<string, Set<string>>();
  for (const line of block.trim().split('\n')) {
    const [from, to = ''] = line.split('→').map((part) => part.trim());
    allowed.set(from!, new Set(to.split(/\s+/).filter(Boolean)));
  }
  return allowed;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('the architecture page', () => {
  const allowed = allowedImports();
  const files = sources(SRC);

  it('names every folder of src/', () => {
    const layers = new Set(files.map(layerOf));
    assert.deepEqual([...layers].filter((layer) => !allowed.has(layer)).sort(), []);
  });

  it('allows every import the code makes, and the code makes no other', () => {
    const breaches: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
        const target = normalize(join(dirname(file), match[1]!));
        if (!target.startsWith(SRC)) continue;
        const to = layerOf(target);
        if (to !== from && !allowed.get(from)?.has(to))
          breaches.push(`${relative(ROOT, file)} imports ${to}`);
      }
    }
    assert.deepEqual(breaches, []);
  });
});
