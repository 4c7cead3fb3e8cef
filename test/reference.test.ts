import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isKnownRegion } from '../src/images/regions.ts';
import {
  formatName,
  formatReference,
  isEcrHost,
  isValidDigest,
  isValidTag,
  MAX_REFERENCE_LENGTH,
  parseEcrHost,
  parseImageReference,
  withDigest,
} from '../src/images/reference.ts';
import type { ImageReference } from '../src/images/types.ts';

const SHA256_F = `sha256:${'f'.repeat(64)}`;
const SHA512_F = `sha512:${'f'.repeat(128)}`;
const REDIS_DIGEST = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const BUSYBOX_DIGEST = 'sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa';
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

function parsed(input: string): ImageReference {
  const result = parseImageReference(input);
  if (!result.ok) assert.fail(`expected ${JSON.stringify(input)} to parse, got: ${result.message}`);
  return result.ref;
}

function failure(input: string): string {
  const result = parseImageReference(input);
  if (result.ok) assert.fail(`expected ${JSON.stringify(input)} to be invalid, got ${result.ref.normalized}`);
  assert.equal(result.reason, 'invalid_reference');
  return result.message;
}

// [input, registry, path, tag, digest]: what ParseNormalizedNamed + the default tag make of the input.
// Cases from distribution/reference's reference_test.go (TestReferenceParse, read through the
// normalizing parser the runtime uses) and normalize_test.go.
const VALID: ReadonlyArray<readonly [string, string, string, string | null, string | null]> = [
  ['test_com', 'docker.io', 'library/test_com', 'latest', null],
  ['test.com:tag', 'docker.io', 'library/test.com', 'tag', null],
  ['test.com:5000', 'docker.io', 'library/test.com', '5000', null],
  ['test.com/repo:tag', 'test.com', 'repo', 'tag', null],
  ['test:5000/repo', 'test:5000', 'repo', 'latest', null],
  ['test:5000/repo:tag', 'test:5000', 'repo', 'tag', null],
  [`test:5000/repo@${SHA256_F}`, 'test:5000', 'repo', null, SHA256_F],
  [`test:5000/repo:tag@${SHA256_F}`, 'test:5000', 'repo', 'tag', SHA256_F],
  ['lowercase:Uppercase', 'docker.io', 'library/lowercase', 'Uppercase', null],
  [
    `${'a/'.repeat(127)}a:tag-puts-this-over-max`,
    'docker.io',
    `${'a/'.repeat(127)}a`,
    'tag-puts-this-over-max',
    null,
  ],
  ['sub-dom1.foo.com/bar/baz/quux', 'sub-dom1.foo.com', 'bar/baz/quux', 'latest', null],
  ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag', null],
  [
    'b.gcr.io/test.example.com/my-app:test.example.com',
    'b.gcr.io',
    'test.example.com/my-app',
    'test.example.com',
    null,
  ],
  ['xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com', 'myimage', 'xn--n3h.com', null],
  [`xn--7o8h.com/myimage:xn--7o8h.com@${SHA512_F}`, 'xn--7o8h.com', 'myimage', 'xn--7o8h.com', SHA512_F],
  ['foo_bar.com:8080', 'docker.io', 'library/foo_bar.com', '8080', null],
  ['foo/foo_bar.com:8080', 'docker.io', 'foo/foo_bar.com', '8080', null],
  ['192.168.1.1', 'docker.io', 'library/192.168.1.1', 'latest', null],
  ['192.168.1.1:tag', 'docker.io', 'library/192.168.1.1', 'tag', null],
  ['192.168.1.1:5000', 'docker.io', 'library/192.168.1.1', '5000', null],
  ['192.168.1.1/repo', '192.168.1.1', 'repo', 'latest', null],
  ['192.168.1.1:5000/repo', '192.168.1.1:5000', 'repo', 'latest', null],
  ['192.168.1.1:5000/repo:5050', '192.168.1.1:5000', 'repo', '5050', null],
  ['[2001:db8::1]/repo', '[2001:db8::1]', 'repo', 'latest', null],
  ['[2001:db8:1:2:3:4:5:6]/repo:tag', '[2001:db8:1:2:3:4:5:6]', 'repo', 'tag', null],
  ['[2001:db8::1]:5000/repo', '[2001:db8::1]:5000', 'repo', 'latest', null],
  ['[2001:db8::1]:5000/repo:tag', '[2001:db8::1]:5000', 'repo', 'tag', null],
  [`[2001:db8::1]:5000/repo@${SHA256_F}`, '[2001:db8::1]:5000', 'repo', null, SHA256_F],
  [`[2001:db8::1]:5000/repo:tag@${SHA256_F}`, '[2001:db8::1]:5000', 'repo', 'tag', SHA256_F],
  ['[2001:db8::]:5000/repo', '[2001:db8::]:5000', 'repo', 'latest', null],
  ['[::1]:5000/repo', '[::1]:5000', 'repo', 'latest', null],
  ['[fc00:1:2:3:4:5:6:7]:5000/library/debian', '[fc00:1:2:3:4:5:6:7]:5000', 'library/debian', 'latest', null],
  // normalize_test.go TestValidateReferenceName / TestValidateRemoteName
  ['docker/docker', 'docker.io', 'docker/docker', 'latest', null],
  ['library/debian', 'docker.io', 'library/debian', 'latest', null],
  ['debian', 'docker.io', 'library/debian', 'latest', null],
  ['docker.io/docker/docker', 'docker.io', 'docker/docker', 'latest', null],
  ['docker.io/library/debian', 'docker.io', 'library/debian', 'latest', null],
  ['docker.io/debian', 'docker.io', 'library/debian', 'latest', null],
  ['index.docker.io/docker/docker', 'docker.io', 'docker/docker', 'latest', null],
  ['index.docker.io/library/debian', 'docker.io', 'library/debian', 'latest', null],
  ['index.docker.io/debian', 'docker.io', 'library/debian', 'latest', null],
  ['127.0.0.1:5000/docker/docker', '127.0.0.1:5000', 'docker/docker', 'latest', null],
  ['127.0.0.1:5000/library/debian', '127.0.0.1:5000', 'library/debian', 'latest', null],
  ['127.0.0.1:5000/debian', '127.0.0.1:5000', 'debian', 'latest', null],
  ['192.168.0.1:80', 'docker.io', 'library/192.168.0.1', '80', null],
  ['192.168.0.1:8/debian', '192.168.0.1:8', 'debian', 'latest', null],
  [
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    'docker.io',
    'library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    'latest',
    null,
  ],
  [`docker.io/${HEX64}`, 'docker.io', `library/${HEX64}`, 'latest', null],
  ['Docker/docker', 'Docker', 'docker', 'latest', null],
  ['DOCKER/docker', 'DOCKER', 'docker', 'latest', null],
  ['docker-rules/docker', 'docker.io', 'docker-rules/docker', 'latest', null],
  ['docker---rules/docker', 'docker.io', 'docker---rules/docker', 'latest', null],
  ['d/docker', 'docker.io', 'd/docker', 'latest', null],
  ['jess/t', 'docker.io', 'jess/t', 'latest', null],
  ['dock__er/docker', 'docker.io', 'dock__er/docker', 'latest', null],
  // normalize_test.go TestParseRepositoryInfo / TestNormalizedSplitHostname / TestParseAnyReference
  ['fooo/bar', 'docker.io', 'fooo/bar', 'latest', null],
  ['index.docker.io/fooo/bar', 'docker.io', 'fooo/bar', 'latest', null],
  ['other/library', 'docker.io', 'other/library', 'latest', null],
  ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000', 'private/moonbase', 'latest', null],
  ['example.com:8000/privatebasee', 'example.com:8000', 'privatebasee', 'latest', null],
  ['ubuntu-12.04-base', 'docker.io', 'library/ubuntu-12.04-base', 'latest', null],
  ['library/foo/bar', 'docker.io', 'library/foo/bar', 'latest', null],
  ['store/foo/bar', 'docker.io', 'store/foo/bar', 'latest', null],
  ['Foo/bar', 'Foo', 'bar', 'latest', null],
  ['test_com/foo', 'docker.io', 'test_com/foo', 'latest', null],
  ['test-com:8080/foo', 'test-com:8080', 'foo', 'latest', null],
  ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo', 'latest', null],
  ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar', 'latest', null],
  [`busybox:latest@${BUSYBOX_DIGEST}`, 'docker.io', 'library/busybox', 'latest', BUSYBOX_DIGEST],
  [`redis@${REDIS_DIGEST}`, 'docker.io', 'library/redis', null, REDIS_DIGEST],
  [`dmcgowan/myapp@${REDIS_DIGEST}`, 'docker.io', 'dmcgowan/myapp', null, REDIS_DIGEST],
  ['docker.io/mcgowan/myapp:latest', 'docker.io', 'mcgowan/myapp', 'latest', null],
  [HEX64.slice(0, 63), 'docker.io', `library/${HEX64.slice(0, 63)}`, 'latest', null],
  ['dbcc1', 'docker.io', 'library/dbcc1', 'latest', null],
  // A lone digest has no slash, so the runtime reads it as Docker Hub's `sha256` repository and a tag.
  [REDIS_DIGEST, 'docker.io', 'library/sha256', REDIS_DIGEST.slice(7), null],
  // `localhost` is a host only before a slash; alone it is a Docker Hub name and `:5000` a tag.
  ['localhost/app', 'localhost', 'app', 'latest', null],
  ['localhost:5000/app:v1', 'localhost:5000', 'app', 'v1', null],
  ['localhost:5000', 'docker.io', 'library/localhost', '5000', null],
  // A first element with a dot is taken as the registry even where `_` keeps it from being a
  // grammatical host; the runtime then contacts it as the registry.
  ['foo_bar.com/app', 'foo_bar.com', 'app', 'latest', null],
  // The path may be 255 characters after the host.
  [`example.com/${'a'.repeat(255)}`, 'example.com', 'a'.repeat(255), 'latest', null],
  [`app:${'t'.repeat(128)}`, 'docker.io', 'library/app', 't'.repeat(128), null],
  ['app:_underscore.start', 'docker.io', 'library/app', '_underscore.start', null],
  [`app@sha384:${'0'.repeat(96)}`, 'docker.io', 'library/app', null, `sha384:${'0'.repeat(96)}`],
  ['registry.k8s.io/pause:3.10', 'registry.k8s.io', 'pause', '3.10', null],
  ['public.ecr.aws/nginx/nginx:1.27', 'public.ecr.aws', 'nginx/nginx', '1.27', null],
  ['REGISTRY.Example.COM/app', 'REGISTRY.Example.COM', 'app', 'latest', null],
];

// [input, what the message must mention]
const INVALID: ReadonlyArray<readonly [string, RegExp]> = [
  ['', /empty/],
  [':justtag', /empty component/],
  [`@${SHA256_F}`, /empty component/],
  ['repo@sha256:ffffffffffffffffffffffffffffffffff', /exactly 64 lowercase hex/],
  [`validname@invaliddigest:${'f'.repeat(64)}`, /unsupported digest algorithm "invaliddigest"/],
  ['Uppercase:tag', /repository name \(library\/Uppercase\) must be lowercase/],
  ['test:5000/Uppercase/lowercase:tag', /repository name \(Uppercase\/lowercase\) must be lowercase/],
  [`${'a/'.repeat(128)}a:tag`, /not be more than 255 characters/],
  [`example.com/${'a'.repeat(256)}`, /not be more than 255 characters/],
  ['aa/asdf$$^/aa', /path component "asdf\$\$\^"/],
  ['[2001:db8::1]', /invalid reference format/],
  ['[2001:db8::1]:5000', /invalid reference format/],
  ['[2001:db8::1]:tag', /invalid reference format/],
  ['[fe80::1%eth0]:5000/repo', /registry host "\[fe80::1%eth0\]:5000"/],
  ['[fe80::1%@invalidzone]:5000/repo', /invalid reference format/],
  ['https://github.com/docker/docker', /URL; a reference has no scheme/],
  ['http://registry.example.com/app:v1', /no scheme/],
  ['docker/Docker', /must be lowercase/],
  ['-docker', /path component "-docker"/],
  ['-docker/docker', /path component "-docker"/],
  ['-docker.io/docker/docker', /registry host "-docker.io"/],
  ['docker///docker', /empty component/],
  ['docker.io/docker/Docker', /must be lowercase/],
  ['docker.io/docker///docker', /empty component/],
  ['[fc00::1]', /invalid reference format/],
  ['[fc00::1]:5000', /invalid reference format/],
  ['fc00::1:5000/debian', /registry host "fc00::1:5000"/],
  ['[fe80::1%eth0]:5000/debian', /invalid reference format/],
  ['[2001:db8:3:4::192.0.2.33]:5000/debian', /invalid reference format/],
  [HEX64, /64-byte hexadecimal strings: this is an image ID/],
  [REDIS_DIGEST.slice(7), /image ID/],
  ['docker-/docker', /path component "docker-"/],
  ['-docker-/docker', /path component/],
  ['____/____', /path component/],
  ['_docker/_docker', /path component/],
  ['dock..er/docker', /registry host "dock..er"/],
  ['dock_.er/docker', /registry host "dock_.er"/],
  ['dock-.er/docker', /registry host "dock-.er"/],
  ['docker/', /empty component/],
  [`${'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_'.repeat(4)}x/docker`, /255/],
  [' nginx', /whitespace/],
  ['nginx ', /whitespace/],
  ['ngi nx', /whitespace/],
  ['nginx\n', /whitespace or a control character/],
  ['nginx\u0000', /control character/],
  ['Nginx', /repository name \(library\/Nginx\) must be lowercase/],
  ['nginx:', /tag ""/],
  ['nginx:-bad', /tag "-bad"/],
  ['nginx:.bad', /tag "\.bad"/],
  [`nginx:${'t'.repeat(129)}`, /tag "/],
  ['nginx:a:b', /tag "a:b"/],
  ['nginx@', /digest ""/],
  ['nginx@sha256', /digest "sha256"/],
  [`nginx@sha256:${'A'.repeat(64)}`, /lowercase hex/],
  [`nginx@SHA256:${'a'.repeat(64)}`, /digest algorithm \(SHA256\) must be lowercase/],
  [`nginx@sha256:${'a'.repeat(63)}`, /exactly 64/],
  [`nginx@sha256:${'a'.repeat(65)}`, /exactly 64/],
  [`nginx@sha512:${'a'.repeat(64)}`, /exactly 128/],
  [`nginx@md5:${'a'.repeat(32)}`, /unsupported digest algorithm "md5"/],
  [`nginx@${SHA256_F}@${SHA256_F}`, /digest/],
  [`nginx@${SHA256_F}:tag`, /digest/],
  ['registry.example.com:port/app', /registry host "registry.example.com:port"/],
  ['registry.example.com./app', /registry host "registry.example.com."/],
  ['exa mple.com/app', /whitespace/],
  ['Foo_bar.com/app', /must be lowercase/],
  ['café/app', /path component/],
  ['app/ünïcode', /path component/],
];

describe('parseImageReference', () => {
  for (const [input, registry, path, tag, digest] of VALID) {
    it(`reads ${JSON.stringify(input.length > 90 ? `${input.slice(0, 90)}…` : input)} as the runtime does`, () => {
      const ref = parsed(input);
      assert.deepEqual(
        { registry: ref.registry, path: ref.path, tag: ref.tag, digest: ref.digest },
        { registry, path, tag, digest },
      );
      assert.equal(ref.original, input);
      assert.equal(
        ref.normalized,
        `${registry}/${path}${tag === null ? '' : `:${tag}`}${digest ? `@${digest}` : ''}`,
      );
    });
  }

  for (const [input, mention] of INVALID) {
    it(`rejects ${JSON.stringify(input.length > 90 ? `${input.slice(0, 90)}…` : input)}`, () => {
      assert.match(failure(input), mention);
    });
  }

  it('normalizes Docker Hub names to docker.io/library/NAME:latest', () => {
    assert.equal(parsed('nginx').normalized, 'docker.io/library/nginx:latest');
    assert.equal(parsed('nginx:1.27').normalized, 'docker.io/library/nginx:1.27');
    assert.equal(parsed('bitnami/redis').normalized, 'docker.io/bitnami/redis:latest');
    assert.equal(parsed('index.docker.io/nginx').normalized, 'docker.io/library/nginx:latest');
  });

  it('keeps a digest-only reference without a tag, and both when both are given', () => {
    assert.equal(parsed(`nginx@${SHA256_F}`).tag, null);
    const both = parsed(`nginx:1.27@${SHA256_F}`);
    assert.equal(both.tag, '1.27');
    assert.equal(both.digest, SHA256_F);
    assert.equal(both.normalized, `docker.io/library/nginx:1.27@${SHA256_F}`);
  });

  it('refuses input longer than any pullable reference without quoting it', () => {
    const message = failure('a'.repeat(MAX_REFERENCE_LENGTH + 1));
    assert.match(message, /1025 characters long/);
    assert.ok(message.length < 200);
    assert.match(failure(`${'a/'.repeat(5_000_000)}a`), /characters long/);
  });

  it('accepts a reference right at the length bound when its parts are within theirs', () => {
    const host = `${'h'.repeat(60)}.${'o'.repeat(60)}.${'s'.repeat(60)}.${'t'.repeat(60)}:5000`;
    const input = `${host}/${'p'.repeat(255)}:${'t'.repeat(128)}@sha512:${'e'.repeat(128)}`;
    assert.ok(input.length <= MAX_REFERENCE_LENGTH);
    assert.equal(parsed(input).registry, host);
  });

  it('answers pathological input within the length bound (runs of separators, brackets, hex)', () => {
    // Each piece is checked by a small anchored pattern, so none of these can backtrack for long.
    const hostile = [
      `${'a-'.repeat(500)}!`,
      `${'a.'.repeat(500)}/x!`,
      `[${':'.repeat(1000)}`,
      `${'a_'.repeat(500)}!`,
      `${'a/'.repeat(500)}!`,
      `x/${'a--'.repeat(330)}_`,
      `x/y@sha256:${'a'.repeat(1000)}`,
      `${'1-'.repeat(300)}${'.'.repeat(300)}/a`,
    ];
    for (const input of hostile) {
      assert.ok(input.length <= MAX_REFERENCE_LENGTH);
      assert.equal(parseImageReference(input).ok, false);
    }
  });

  it('answers non-strings with invalid_reference instead of throwing', () => {
    for (const value of [undefined, null, 42, {}, [], Symbol('x'), new String('nginx'), () => 'nginx']) {
      const result = parseImageReference(value as unknown as string);
      assert.equal(result.ok, false);
    }
  });
});

describe('ECR registry hosts', () => {
  // [host, registryId, region, fips, dualStack]
  const ECR_HOSTS: ReadonlyArray<readonly [string, string, string, boolean, boolean]> = [
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com', '123456789012', 'us-east-1', false, false],
    ['123456789012.dkr.ecr-fips.us-east-1.amazonaws.com', '123456789012', 'us-east-1', true, false],
    ['000000000000.dkr.ecr.cn-north-1.amazonaws.com.cn', '000000000000', 'cn-north-1', false, false],
    ['123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn', '123456789012', 'cn-northwest-1', false, false],
    ['123456789012.dkr-ecr.us-west-2.on.aws', '123456789012', 'us-west-2', false, true],
    ['123456789012.dkr-ecr-fips.us-east-2.on.aws', '123456789012', 'us-east-2', true, true],
    [
      '123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn',
      '123456789012',
      'cn-north-1',
      false,
      true,
    ],
    ['123456789012.dkr.ecr.us-gov-west-1.amazonaws.com', '123456789012', 'us-gov-west-1', false, false],
    ['123456789012.dkr.ecr-fips.us-gov-east-1.amazonaws.com', '123456789012', 'us-gov-east-1', true, false],
    ['123456789012.dkr-ecr-fips.us-gov-west-1.on.aws', '123456789012', 'us-gov-west-1', true, true],
    ['123456789012.dkr.ecr.ap-southeast-7.amazonaws.com', '123456789012', 'ap-southeast-7', false, false],
    ['123456789012.dkr.ecr.mx-central-1.amazonaws.com', '123456789012', 'mx-central-1', false, false],
    ['123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk', '123456789012', 'eu-isoe-west-1', false, false],
    ['123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov', '123456789012', 'us-iso-east-1', false, false],
    ['123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov', '123456789012', 'us-isob-east-1', false, false],
    ['123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov', '123456789012', 'us-isof-south-1', false, false],
    ['123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu', '123456789012', 'eusc-de-east-1', false, false],
  ];

  for (const [host, registryId, region, fips, dualStack] of ECR_HOSTS) {
    it(`finds account and region in ${host}`, () => {
      const ref = parsed(`${host}/team/api:v7`);
      assert.deepEqual(ref.ecr, { registryId, region, repository: 'team/api', host, fips, dualStack });
      assert.equal(isEcrHost(host), true);
    });
  }

  it('reads hosts case-insensitively and reports them lower-cased', () => {
    const ref = parsed('123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM/api:v1');
    assert.equal(ref.registry, '123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM');
    assert.deepEqual(ref.ecr, {
      registryId: '123456789012',
      region: 'us-east-1',
      repository: 'api',
      host: ECR,
      fips: false,
      dualStack: false,
    });
  });

  it('treats :443 as the same registry and any other port as not ECR', () => {
    const ref = parsed(`${ECR}:443/api:v1`);
    assert.equal(ref.registry, `${ECR}:443`);
    assert.equal(ref.ecr?.host, ECR);
    assert.equal(ref.ecr?.registryId, '123456789012');
    assert.equal(parsed(`${ECR}:5000/api:v1`).ecr, null);
    assert.equal(parsed(`${ECR}:4443/api:v1`).ecr, null);
  });

  it('reads pull-through cache repositories as ordinary repositories', () => {
    const ref = parsed(`${ECR}/docker-hub/library/nginx:1.27`);
    assert.equal(ref.ecr?.repository, 'docker-hub/library/nginx');
    assert.equal(ref.path, 'docker-hub/library/nginx');
    assert.equal(parsed(`${ECR}/ecr-public/nginx/nginx`).ecr?.repository, 'ecr-public/nginx/nginx');
  });

  it('keeps the tag null for a digest-only ECR reference and adds latest when neither is given', () => {
    assert.equal(parsed(`${ECR}/api@${SHA256_F}`).tag, null);
    assert.equal(parsed(`${ECR}/api`).tag, 'latest');
    assert.equal(parsed(`${ECR}/api`).normalized, `${ECR}/api:latest`);
  });

  const NOT_ECR = [
    `${ECR}.evil.com/api`,
    '123456789012.dkr.ecr.us-east-1.amazonaws.com.cn.evil.com/api',
    `evil.com/${ECR}/api`,
    'evil-123456789012.dkr.ecr.us-east-1.amazonaws.com/api',
    'public.ecr.aws/nginx/nginx:latest',
    'public.ecr.aws/docker/library/redis:7',
    '12345678901.dkr.ecr.us-east-1.amazonaws.com/api',
    '1234567890.dkr.ecr.us-east-1.amazonaws.com/api',
    '1234567890123.dkr.ecr.us-east-1.amazonaws.com/api',
    '12345678901a.dkr.ecr.us-east-1.amazonaws.com/api',
    '123456789012.dkr-ecr.us-east-1.amazonaws.com/api',
    '123456789012.dkr.ecr.us-east-1.on.aws/api',
    '123456789012.dkr.ecr.amazonaws.com/api',
    '123456789012.dkr.ecr.useast1.amazonaws.com/api',
    '123456789012.dkr.ecr.us-east.amazonaws.com/api',
    '123456789012.ecr.us-east-1.amazonaws.com/api',
    '123456789012.dkr.ecr-fips-fips.us-east-1.amazonaws.com/api',
    'api.ecr.us-east-1.amazonaws.com/api',
    'ecr.us-east-1.amazonaws.com/api',
    'dkr.ecr.us-east-1.amazonaws.com/api',
    '123456789012/api',
    'docker.io/123456789012/api',
    'gcr.io/project/api',
    'nginx',
    'localhost:5000/api',
    '[::1]:443/api',
  ];
  for (const input of NOT_ECR) {
    it(`does not take ${input} for an ECR private registry`, () => {
      assert.equal(parsed(input).ecr, null);
    });
  }

  it('isEcrHost and parseEcrHost answer for hosts alone, never throwing', () => {
    assert.equal(isEcrHost(ECR), true);
    assert.equal(isEcrHost(`${ECR}:443`), true);
    assert.equal(isEcrHost(`${ECR}:80`), false);
    assert.equal(isEcrHost('public.ecr.aws'), false);
    assert.equal(isEcrHost(''), false);
    assert.equal(isEcrHost(`${'1'.repeat(12)}.dkr.ecr.${'a'.repeat(5000)}-east-1.amazonaws.com`), false);
    assert.equal(isEcrHost(undefined as unknown as string), false);
    assert.deepEqual(parseEcrHost('123456789012.dkr-ecr-fips.us-east-1.on.aws'), {
      registryId: '123456789012',
      region: 'us-east-1',
      host: '123456789012.dkr-ecr-fips.us-east-1.on.aws',
      fips: true,
      dualStack: true,
    });
  });
});

describe('formatting and digest pinning', () => {
  it('formats the name and the full reference', () => {
    const ref = parsed(`${ECR}/api:v7`);
    assert.equal(formatName(ref), `${ECR}/api`);
    assert.equal(formatReference(ref), `${ECR}/api:v7`);
    assert.equal(
      formatReference({ registry: 'docker.io', path: 'library/nginx', tag: null, digest: SHA256_F }),
      `docker.io/library/nginx@${SHA256_F}`,
    );
  });

  it('pins a tag to a digest as repo:tag@digest', () => {
    assert.equal(withDigest(parsed(`${ECR}/api:v7`), SHA256_F), `${ECR}/api:v7@${SHA256_F}`);
    assert.equal(withDigest(parsed(`${ECR}/api`), SHA256_F), `${ECR}/api:latest@${SHA256_F}`);
    assert.equal(withDigest(parsed('nginx'), SHA256_F), `docker.io/library/nginx:latest@${SHA256_F}`);
  });

  it('replaces a digest already present and keeps the registry as written', () => {
    const other = `sha256:${'0'.repeat(64)}`;
    assert.equal(withDigest(parsed(`${ECR}:443/api:v7@${other}`), SHA256_F), `${ECR}:443/api:v7@${SHA256_F}`);
    assert.equal(withDigest(parsed(`${ECR}/api@${other}`), SHA256_F), `${ECR}/api@${SHA256_F}`);
  });

  it('produces a reference that parses back to the pinned digest', () => {
    const pinned = parsed(withDigest(parsed(`${ECR}/api:v7`), REDIS_DIGEST));
    assert.equal(pinned.digest, REDIS_DIGEST);
    assert.equal(pinned.tag, 'v7');
    assert.equal(pinned.ecr?.repository, 'api');
  });

  it('refuses to pin to something that is not a digest', () => {
    const ref = parsed(`${ECR}/api:v7`);
    for (const bad of ['', 'sha256:abc', `sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, 'latest']) {
      assert.throws(() => withDigest(ref, bad), RangeError);
    }
  });

  it('validates digests and tags on their own', () => {
    assert.equal(isValidDigest(SHA256_F), true);
    assert.equal(isValidDigest(SHA512_F), true);
    assert.equal(isValidDigest(`sha384:${'a'.repeat(96)}`), true);
    assert.equal(isValidDigest(`sha256:${'a'.repeat(63)}`), false);
    assert.equal(isValidDigest(`sha256:${'g'.repeat(64)}`), false);
    assert.equal(isValidDigest(42 as unknown as string), false);
    assert.equal(isValidTag('v1.2.3-rc_1'), true);
    assert.equal(isValidTag('-v1'), false);
    assert.equal(isValidTag('t'.repeat(129)), false);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties. The oracle below is distribution/reference's own regular expressions (regexp.go) and
// ParseNormalizedNamed/splitDockerDomain (normalize.go) transcribed literally, with go-digest's
// validation; on short inputs its backtracking is harmless. The parser must agree with it exactly.

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const domainAndPort = `(?:${domainName}|${ipv6address})${optionalPort}`;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;
const referenceRegexp = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredIdentifierRegexp = /^[a-f0-9]{64}$/;

/**
 * Where ecr-warden is stricter than the grammar: an ECR host naming a region no AWS partition has
 * (`us-eaast-1`, one inserted letter away from a real one) is refused, as no pull can succeed.
 */
function beyondTheGrammar(normalized: string | null): string | null {
  if (normalized === null) return null;
  const host = parseEcrHost(normalized.slice(0, normalized.indexOf('/')));
  return host && !isKnownRegion(host.region) ? null : normalized;
}

function oracleNormalized(s: string): string | null {
  if (anchoredIdentifierRegexp.test(s)) return null;
  let domain: string;
  let remainder: string;
  const slash = s.indexOf('/');
  if (slash === -1) {
    domain = 'docker.io';
    remainder = `library/${s}`;
  } else {
    const maybeDomain = s.slice(0, slash);
    const maybeRemainder = s.slice(slash + 1);
    if (maybeDomain === 'localhost') [domain, remainder] = [maybeDomain, maybeRemainder];
    else if (maybeDomain === 'index.docker.io') [domain, remainder] = ['docker.io', maybeRemainder];
    else if (/[.:]/.test(maybeDomain)) [domain, remainder] = [maybeDomain, maybeRemainder];
    else if (maybeDomain.toLowerCase() !== maybeDomain) [domain, remainder] = [maybeDomain, maybeRemainder];
    else [domain, remainder] = ['docker.io', s];
    if (domain === 'docker.io' && !remainder.includes('/')) remainder = `library/${remainder}`;
  }
  const tagSep = remainder.indexOf(':');
  const remote = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) return null;
  const full = `${domain}/${remainder}`;
  const matches = referenceRegexp.exec(full);
  if (!matches) return null;
  const name = matches[1]!;
  const nameMatch = anchoredNameRegexp.exec(name);
  const path = nameMatch ? nameMatch[2]! : name;
  if (path.length > 255) return null;
  const digest = matches[3];
  if (digest !== undefined) {
    const [algorithm, encoded] = [
      digest.slice(0, digest.indexOf(':')),
      digest.slice(digest.indexOf(':') + 1),
    ];
    const lengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
    const length = lengths[algorithm];
    if (length === undefined || !new RegExp(`^[a-f0-9]{${length}}$`).test(encoded)) return null;
  }
  const tag = matches[2] ?? (digest === undefined ? 'latest' : undefined);
  return `${name}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`;
}

const hostArb = fc.constantFrom(
  '',
  'localhost/',
  'localhost:5000/',
  'docker.io/',
  'index.docker.io/',
  'example.com/',
  'Example.COM/',
  'sub-dom1.foo.com:8080/',
  'a--b.c/',
  '127.0.0.1:5000/',
  '[::1]:5000/',
  '[2001:db8::1]/',
  '[fe80::1%eth0]/',
  'foo_bar.com/',
  'Upper/',
  'host:/',
  'http://',
  '-bad.com/',
  `${ECR}/`,
  `${ECR}:443/`,
  '123456789012.dkr-ecr-fips.us-gov-west-1.on.aws/',
  'public.ecr.aws/',
);
const componentArb = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,3})[a-z0-9]{1,6}){0,2}$/);
const noisyComponentArb = fc.oneof(
  { weight: 4, arbitrary: componentArb },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z0-9._-]{0,8}$/) },
);
const tagArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  { weight: 4, arbitrary: fc.stringMatching(/^:\w[\w.-]{0,10}$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(':', ':-x', ':.x', `:${'t'.repeat(128)}`, `:${'t'.repeat(129)}`, ':a:b'),
  },
);
const hexArb = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
const digestArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: hexArb(64).map((hex) => `@sha256:${hex}`) },
  { weight: 1, arbitrary: hexArb(128).map((hex) => `@sha512:${hex}`) },
  { weight: 1, arbitrary: hexArb(96).map((hex) => `@sha384:${hex}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      `@sha256:${'a'.repeat(63)}`,
      `@sha256:${'A'.repeat(64)}`,
      `@SHA256:${'a'.repeat(64)}`,
      `@md5:${'a'.repeat(32)}`,
      '@sha256:',
      '@',
      `@sha256:${'a'.repeat(64)}@x`,
    ),
  },
);
/** Near-valid references: real building blocks, sometimes broken by one inserted character. */
const nearReferenceArb = fc
  .tuple(hostArb, fc.array(noisyComponentArb, { minLength: 1, maxLength: 4 }), tagArb, digestArb)
  .map(([host, components, tag, digest]) => `${host}${components.join('/')}${tag}${digest}`)
  .chain((reference) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(reference) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.nat({ max: reference.length }),
            fc.constantFrom('/', ':', '@', '.', '-', '_', 'A', ' ', '%', '[', ']'),
          )
          .map(([at, char]) => reference.slice(0, at) + char + reference.slice(at)),
      },
    ),
  );

describe('parseImageReference properties', () => {
  it('never throws, whatever string it gets', () => {
    for (const arbitrary of [
      fc.string(),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }),
      fc.string({
        unit: fc.constantFrom('a', '/', ':', '@', '.', '-', '_', '[', ']', '1', 'A'),
        maxLength: 200,
      }),
      nearReferenceArb,
    ]) {
      fc.assert(
        fc.property(arbitrary, (input) => {
          const result = parseImageReference(input);
          assert.equal(typeof result.ok, 'boolean');
          if (!result.ok) assert.ok(result.message.length > 0);
        }),
        { numRuns: 500 },
      );
    }
  });

  it('never throws for values that are not strings', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const result = parseImageReference(value as string);
        if (typeof value !== 'string') assert.equal(result.ok, false);
      }),
    );
  });

  it('accepts and normalizes exactly what distribution/reference does', () => {
    fc.assert(
      fc.property(nearReferenceArb, (input) => {
        const expected = beyondTheGrammar(oracleNormalized(input));
        const result = parseImageReference(input);
        assert.equal(result.ok ? result.ref.normalized : null, expected, `input ${JSON.stringify(input)}`);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with distribution/reference on references generated from its own grammar', () => {
    const grammarArb = fc.stringMatching(referenceRegexp, { maxLength: 120 });
    fc.assert(
      fc.property(grammarArb, (input) => {
        const expected = beyondTheGrammar(oracleNormalized(input));
        const result = parseImageReference(input);
        assert.equal(result.ok ? result.ref.normalized : null, expected, `input ${JSON.stringify(input)}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips every valid reference through its normalized form', () => {
    fc.assert(
      fc.property(nearReferenceArb, (input) => {
        const first = parseImageReference(input);
        if (!first.ok) return;
        const again = parsed(first.ref.normalized);
        assert.equal(again.normalized, first.ref.normalized);
        assert.deepEqual(
          {
            registry: again.registry,
            path: again.path,
            tag: again.tag,
            digest: again.digest,
            ecr: again.ecr,
          },
          {
            registry: first.ref.registry,
            path: first.ref.path,
            tag: first.ref.tag,
            digest: first.ref.digest,
            ecr: first.ref.ecr,
          },
        );
        assert.equal(formatReference(first.ref), first.ref.normalized);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses an ECR host naming a region no AWS partition has, whatever its shape', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^(?:us|eu|ap|zz)-(?:fake|nowhere|mars)-[0-9]{1,3}$/), (region) => {
        const result = parseImageReference(`123456789012.dkr.ecr.${region}.amazonaws.com/api:v1`);
        assert.equal(result.ok, false);
        assert.equal(!result.ok && result.reason, 'invalid_reference');
        assert.match(!result.ok ? result.message : '', new RegExp(`"${region}", which is not an AWS region`));
      }),
      { numRuns: 200 },
    );
  });

  it('extracts account, region and repository from every ECR host form', () => {
    const variants = [
      { build: (region: string) => `dkr.ecr.${region}.amazonaws.com`, fips: false, dualStack: false },
      { build: (region: string) => `dkr.ecr-fips.${region}.amazonaws.com`, fips: true, dualStack: false },
      { build: (region: string) => `dkr.ecr.${region}.amazonaws.com.cn`, fips: false, dualStack: false },
      { build: (region: string) => `dkr-ecr.${region}.on.aws`, fips: false, dualStack: true },
      { build: (region: string) => `dkr-ecr-fips.${region}.on.aws`, fips: true, dualStack: true },
    ];
    // Regions the SDK's partitions list; any other region is not a reference ECR can serve.
    const regionArb = fc.constantFrom(
      'us-east-1',
      'us-west-2',
      'us-gov-west-1',
      'cn-north-1',
      'eu-isoe-west-1',
      'ap-southeast-7',
      'il-central-1',
      'eu-central-2',
      'eusc-de-east-1',
    );
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{12}$/),
        regionArb,
        fc.constantFrom(...variants),
        fc.array(componentArb, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        tagArb.filter((tag) => /^(?::\w[\w.-]{0,127})?$/.test(tag)),
        fc.constantFrom('', `@${SHA256_F}`),
        (account, region, variant, components, upper, tag, digest) => {
          const host = `${account}.${variant.build(region)}`;
          const written = upper ? host.toUpperCase() : host;
          const repository = components.join('/');
          const ref = parsed(`${written}/${repository}${tag}${digest}`);
          assert.deepEqual(ref.ecr, {
            registryId: account,
            region,
            repository,
            host,
            fips: variant.fips,
            dualStack: variant.dualStack,
          });
          assert.equal(parsed(`${written}.example.com/${repository}`).ecr, null);
          assert.equal(parsed(`${account.slice(1)}.${variant.build(region)}/${repository}`).ecr, null);
        },
      ),
      { numRuns: 500 },
    );
  });
});
