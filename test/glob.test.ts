import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../src/errors.ts';
import {
  compileImageGlob,
  compileImageGlobs,
  matchesAnyImageGlob,
  validateImageGlob,
} from '../src/images/glob.ts';
import { parseImageReference } from '../src/images/reference.ts';
import type { ImageReference } from '../src/images/types.ts';

const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

function ref(input: string): ImageReference {
  const result = parseImageReference(input);
  if (!result.ok) assert.fail(result.message);
  return result.ref;
}

// [glob, reference, matches]
const CASES: ReadonlyArray<readonly [string, string, boolean]> = [
  // `*` stays inside one path segment
  ['docker.io/library/*', 'docker.io/library/nginx:latest', true],
  ['docker.io/library/*', 'docker.io/library/nginx', true],
  ['docker.io/library/*', 'docker.io/library/team/nginx:1', false],
  ['docker.io/*/nginx:*', 'docker.io/library/nginx:1.27', true],
  ['docker.io/*/nginx:*', 'docker.io/a/b/nginx:1.27', false],
  ['*', 'nginx', true],
  ['*', 'library/nginx', false],
  ['*', '', true],
  ['nginx*', 'nginx', true],
  ['nginx*', 'nginx:1.27', true],
  ['nginx*', 'nginx-exporter:v1', true],
  ['nginx*', 'nginx/sub', false],
  [`*.dkr.ecr.*.amazonaws.com/*`, `${ECR}/api:v7`, true],
  [`*.dkr.ecr.*.amazonaws.com/*`, `${ECR}/team/api:v7`, false],
  [`${ECR}/team/*:v*`, `${ECR}/team/api:v7`, true],
  [`${ECR}/team/*:v*`, `${ECR}/team/api@sha256:${'a'.repeat(64)}`, false],
  // `**` crosses segments
  ['docker.io/**', 'docker.io/library/team/nginx:1', true],
  ['**', 'a/b/c', true],
  ['**', '', true],
  [`*.dkr.ecr.*.amazonaws.com/**`, `${ECR}/team/api:v7`, true],
  [`${ECR}/docker-hub/**`, `${ECR}/docker-hub/library/nginx:1.27`, true],
  [`${ECR}/docker-hub/**`, `${ECR}/docker-hubx/nginx:1.27`, false],
  ['**/nginx:*', 'docker.io/library/nginx:1', true],
  ['**/nginx:*', 'nginx:1', false],
  ['docker.io/**/nginx:*', 'docker.io/library/nginx:1', true],
  ['docker.io/**/nginx:*', 'docker.io/a/b/c/nginx:1', true],
  ['docker.io/**/nginx:*', 'docker.io/nginx:1', false],
  ['**nginx**', 'docker.io/library/nginx:1', true],
  ['**nginx**', 'docker.io/library/redis:1', false],
  // `?` is one character within a segment
  ['nginx:1.2?', 'nginx:1.25', true],
  ['nginx:1.2?', 'nginx:1.2', false],
  ['nginx:1.2?', 'nginx:1.255', false],
  ['a?c', 'abc', true],
  ['a?c', 'a/c', false],
  ['???', 'abc', true],
  ['???', 'ab', false],
  // anchored: the whole reference must match
  ['registry.example.com/app', 'registry.example.com/app', true],
  ['registry.example.com/app', 'registry.example.com/app:v1', false],
  ['registry.example.com/app', 'x.registry.example.com/app', false],
  ['app', 'my-app', false],
  // every other character is literal, regular-expression metacharacters included
  ['a.b', 'axb', false],
  ['a.b', 'a.b', true],
  ['a+b', 'aab', false],
  ['a+b', 'a+b', true],
  ['a{2}', 'aa', false],
  ['a{2}', 'a{2}', true],
  ['x(y)|z', 'z', false],
  ['x(y)|z', 'x(y)|z', true],
  ['^a$', 'a', false],
  ['^a$', '^a$', true],
  ['a\\d', 'a1', false],
  ['a\\d', 'a\\d', true],
  ['[::1]:5000/*', '[::1]:5000/app', true],
  ['[ab]', 'a', false],
  ['[ab]', '[ab]', true],
  [`app@sha256:*`, `app@sha256:${'b'.repeat(64)}`, true],
  ['app:v1.*', 'app:v1.0', true],
  ['app:v1.*', 'app:v10', false],
];

describe('compileImageGlob', () => {
  for (const [pattern, reference, expected] of CASES) {
    it(`${expected ? 'matches' : 'does not match'} ${JSON.stringify(reference)} with ${JSON.stringify(pattern)}`, () => {
      assert.equal(compileImageGlob(pattern)(reference), expected);
    });
  }

  it('keeps the pattern on the compiled glob', () => {
    assert.equal(compileImageGlob('docker.io/**').pattern, 'docker.io/**');
  });

  it('answers false for references no runtime would accept instead of throwing', () => {
    const glob = compileImageGlob('**');
    assert.equal(glob('a'.repeat(2000)), false);
    assert.equal(glob(undefined as unknown as string), false);
  });

  it('stays fast on hostile patterns: the cost is pattern × reference, never exponential', () => {
    // A backtracking regular expression needs on the order of n^5 steps here; the automaton 1000 × 18.
    const hostile = compileImageGlob('**a**a**a**a**a**b');
    const long = 'a'.repeat(1000);
    assert.equal(hostile(long), false);
    assert.equal(hostile(`${long}b`), true);
    const segments = compileImageGlob('*a*a*a*a*a*a*a*b');
    assert.equal(segments(long), false);
    assert.equal(segments(`${'a/'.repeat(499)}a`), false);
    const questions = compileImageGlob(`${'?*'.repeat(100)}b`);
    assert.equal(questions(long), false);
  });

  it('agrees with an equivalent regular expression on short inputs', () => {
    const toRegExp = (pattern: string): RegExp => {
      let source = '';
      for (let i = 0; i < pattern.length; i++) {
        const char = pattern[i]!;
        if (char === '*' && pattern[i + 1] === '*') {
          source += '.*';
          i++;
        } else if (char === '*') source += '[^/]*';
        else if (char === '?') source += '[^/]';
        else source += char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      }
      return new RegExp(`^${source}$`, 's');
    };
    const alphabet = fc.constantFrom('a', 'b', '/', ':', '.');
    const patternArb = fc
      .string({ unit: fc.constantFrom('a', 'b', '/', ':', '.', '*', '**', '?'), maxLength: 8 })
      .filter((pattern) => validateImageGlob(pattern) === null);
    fc.assert(
      fc.property(patternArb, fc.string({ unit: alphabet, maxLength: 12 }), (pattern, reference) => {
        assert.equal(compileImageGlob(pattern)(reference), toRegExp(pattern).test(reference));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('validateImageGlob', () => {
  const PROBLEMS: ReadonlyArray<readonly [unknown, RegExp]> = [
    ['', /must not be empty/],
    [42, /must be a string/],
    [null, /must be a string/],
    ['x'.repeat(1025), /longer than 1024/],
    [' nginx', /whitespace/],
    ['nginx\t*', /whitespace/],
    ['nginx\u0000', /control character/],
    ['https://registry.example.com/*', /URL scheme/],
    ['docker.io/***', /"\*\*\*"/],
  ];
  for (const [pattern, problem] of PROBLEMS) {
    it(`refuses ${JSON.stringify(pattern)}`, () => {
      assert.match(validateImageGlob(pattern) ?? '', problem);
    });
  }

  it('accepts ordinary globs', () => {
    for (const pattern of [
      'nginx',
      '*',
      '**',
      'docker.io/library/*',
      `${ECR}/**`,
      '[::1]:5000/?pp',
      'a*b**c?d',
    ]) {
      assert.equal(validateImageGlob(pattern), null);
    }
  });

  it('compiling an unusable glob throws a ConfigError naming the key', () => {
    assert.throws(
      () => compileImageGlob('', 'policy.exemptImages[0]'),
      (err: unknown) =>
        err instanceof ConfigError && err.code === 'ERR_CONFIG' && err.path === 'policy.exemptImages[0]',
    );
    assert.throws(
      () => compileImageGlobs(['nginx', 'a***']),
      (err: unknown) => err instanceof ConfigError && err.path === 'policy.exemptImages[1]',
    );
  });
});

describe('matchesAnyImageGlob', () => {
  it('matches the normalized form, so docker.io/library/* covers a bare nginx', () => {
    const globs = compileImageGlobs(['docker.io/library/*']);
    assert.equal(matchesAnyImageGlob(globs, ref('nginx')), true);
    assert.equal(matchesAnyImageGlob(globs, ref('nginx:1.27')), true);
    assert.equal(matchesAnyImageGlob(globs, ref('bitnami/nginx')), false);
  });

  it('matches the reference as written', () => {
    const globs = compileImageGlobs(['nginx*']);
    assert.equal(matchesAnyImageGlob(globs, ref('nginx:1.27')), true);
    assert.equal(matchesAnyImageGlob(globs, ref('docker.io/library/nginx')), false);
  });

  it('matches digest-pinned references through their normalized form', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const globs = compileImageGlobs(['docker.io/library/redis@*']);
    assert.equal(matchesAnyImageGlob(globs, ref(`redis@${digest}`)), true);
    assert.equal(matchesAnyImageGlob(globs, ref('redis:7')), false);
  });

  it('reads the registry host case-insensitively', () => {
    const globs = compileImageGlobs([`${ECR}/team/**`]);
    assert.equal(matchesAnyImageGlob(globs, ref(`${ECR.toUpperCase()}/team/api:v7`)), true);
    assert.equal(matchesAnyImageGlob(globs, ref(`${ECR}/other/api:v7`)), false);
  });

  it('matches when any one of several globs does, and never with none', () => {
    const globs = compileImageGlobs(['registry.k8s.io/**', `${ECR}/platform/*`]);
    assert.equal(matchesAnyImageGlob(globs, ref('registry.k8s.io/pause:3.10')), true);
    assert.equal(matchesAnyImageGlob(globs, ref(`${ECR}/platform/agent:v2`)), true);
    assert.equal(matchesAnyImageGlob(globs, ref(`${ECR}/app/api:v2`)), false);
    assert.equal(matchesAnyImageGlob([], ref('nginx')), false);
  });
});
