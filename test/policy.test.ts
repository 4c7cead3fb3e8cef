import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageFacts, Resolution } from '../src/ecr/types.ts';
import { parseImageReference } from '../src/images/reference.ts';
import { evaluate, needsEcrFacts } from '../src/policy/evaluate.ts';
import { config, DAY, HOST, NOW } from './helpers/ecr.ts';

function facts(overrides: Partial<ImageFacts> = {}): ImageFacts {
  return {
    registryId: '123456789012',
    region: 'us-east-1',
    repository: 'api',
    digest: `sha256:${'a'.repeat(64)}`,
    tags: ['v7'],
    imageStatus: 'ACTIVE',
    pushedAt: new Date(NOW - 10 * DAY),
    lastRecordedPullTime: new Date(NOW - DAY),
    sizeBytes: 1000,
    manifestMediaType: null,
    scan: { status: 'COMPLETE', description: null, findings: {}, completedAt: new Date(NOW - DAY) },
    scanError: null,
    lastArchivedAt: null,
    lastActivatedAt: null,
    index: null,
    tagImmutable: null,
    ...overrides,
  };
}

const ok = (f: Partial<ImageFacts> = {}): Resolution => ({ status: 'resolved', facts: facts(f) });
const failed = (
  reason: 'not_found' | 'throttled',
  message = 'tag v9 not found in repository api',
): Resolution => ({
  status: 'unresolved',
  reason,
  message,
});

const ENFORCE_ALL = {
  mode: 'enforce',
  checks: {
    nonEcr: { action: 'deny' },
    allowedRegistries: { action: 'warn', registries: ['123456789012', 'ghcr.io'] },
    digestRequired: { action: 'warn' },
    scanAge: { action: 'warn', maxAge: '30d' },
    imageAge: { action: 'deny', maxAge: '365d' },
  },
};

interface Case {
  name: string;
  image: string;
  resolution: Resolution | null;
  policy?: Record<string, unknown>;
  namespace?: string;
  verdict: 'allow' | 'warn' | 'deny';
  messages: string[];
}

const cases: Case[] = [
  {
    name: 'a clean pinned image',
    image: `${HOST}/api:v7@sha256:${'a'.repeat(64)}`,
    resolution: ok(),
    verdict: 'allow',
    messages: [],
  },
  {
    name: 'critical findings over the maximum',
    image: `${HOST}/api:v7@sha256:${'a'.repeat(64)}`,
    resolution: ok({
      scan: {
        status: 'COMPLETE',
        description: null,
        findings: { CRITICAL: 3, HIGH: 1 },
        completedAt: new Date(NOW),
      },
    }),
    verdict: 'deny',
    messages: ['severity: 3 CRITICAL findings (max 0)'],
  },
  {
    name: 'several severities over their maximums',
    image: `${HOST}/api:v7@sha256:${'a'.repeat(64)}`,
    policy: { checks: { severity: { action: 'deny', max: { CRITICAL: 0, HIGH: 2 } } } },
    resolution: ok({
      scan: {
        status: 'COMPLETE',
        description: null,
        findings: { CRITICAL: 1, HIGH: 5 },
        completedAt: new Date(NOW),
      },
    }),
    verdict: 'deny',
    messages: ['severity: 1 CRITICAL finding (max 0), 5 HIGH findings (max 2)'],
  },
  {
    name: 'a tag that does not exist',
    image: `${HOST}/api:v9`,
    resolution: failed('not_found'),
    verdict: 'deny',
    messages: ['digestRequired: not pinned to a digest', 'imageExists: tag v9 not found in repository api'],
  },
  {
    name: 'an archived image',
    image: `${HOST}/api:v7@sha256:${'a'.repeat(64)}`,
    resolution: ok({ imageStatus: 'ARCHIVED' }),
    verdict: 'deny',
    messages: ['archived: image is archived'],
  },
  {
    name: 'a scan still running',
    image: `${HOST}/api:v7@sha256:${'a'.repeat(64)}`,
    resolution: ok({ scan: { status: 'IN_PROGRESS', description: null, findings: {}, completedAt: null } }),
    verdict: 'warn',
    // An empty list from an unfinished scan is not "no findings": severity cannot tell, and says why.
    messages: [
      'scanComplete: scan status IN_PROGRESS',
      'severity: could not check severity: findings unknown: scan IN_PROGRESS (policy.onError: allow)',
    ],
  },
  {
    name: 'an old scan and an old push',
    image: `${HOST}/api:v7@sha256:${'a'.repeat(64)}`,
    resolution: ok({
      pushedAt: new Date(NOW - 400 * DAY),
      scan: { status: 'COMPLETE', description: null, findings: {}, completedAt: new Date(NOW - 45 * DAY) },
    }),
    verdict: 'deny',
    messages: ['scanAge: last scan 45d ago (max 30d)', 'imageAge: pushed 400d ago (max 365d)'],
  },
  {
    name: 'a Docker Hub image',
    image: 'nginx',
    resolution: null,
    verdict: 'deny',
    messages: [
      'nonEcr: not an Amazon ECR image (registry docker.io)',
      'allowedRegistries: registry docker.io is not in allowedRegistries',
      'digestRequired: not pinned to a digest',
    ],
  },
  {
    name: 'an invalid reference',
    image: 'Not A Reference',
    resolution: null,
    verdict: 'deny',
    messages: [],
  },
  {
    name: 'an exempt namespace',
    image: 'nginx',
    resolution: null,
    namespace: 'kube-system',
    verdict: 'allow',
    messages: [],
  },
  {
    name: 'an exempt image glob',
    image: 'docker.io/library/nginx:1.27',
    resolution: null,
    policy: { exemptImages: ['docker.io/library/*'] },
    verdict: 'allow',
    messages: [],
  },
  {
    name: 'ECR unreachable with onError allow: one warning naming every check it could not run',
    image: `${HOST}/api:v7@sha256:${'a'.repeat(64)}`,
    resolution: failed('throttled', 'Rate exceeded'),
    verdict: 'warn',
    messages: [
      'imageExists: could not check imageExists, archived, scanComplete, severity, scanAge, imageAge, lifecycleRisk: ECR throttled the request (Rate exceeded) (policy.onError: allow)',
    ],
  },
  {
    name: 'ECR unreachable with onError deny',
    image: `${HOST}/api:v7@sha256:${'a'.repeat(64)}`,
    resolution: failed('throttled', 'Rate exceeded'),
    policy: { onError: 'deny' },
    verdict: 'deny',
    messages: [
      'imageExists: could not check imageExists, archived, scanComplete, severity, scanAge, imageAge, lifecycleRisk: ECR throttled the request (Rate exceeded) (policy.onError: deny)',
    ],
  },
];

function policyFor(extra: Record<string, unknown> = {}) {
  const base = structuredClone(ENFORCE_ALL) as Record<string, unknown>;
  const merged = {
    ...base,
    ...extra,
    checks: { ...(base.checks as object), ...((extra.checks as object) ?? {}) },
  };
  return config({ policy: merged }).policy;
}

describe('policy', () => {
  for (const c of cases) {
    it(c.name, () => {
      const evaluation = evaluate(
        policyFor(c.policy),
        { parsed: parseImageReference(c.image), resolution: c.resolution },
        { namespace: c.namespace ?? 'default', now: NOW },
      );
      assert.equal(evaluation.verdict, c.verdict);
      if (c.name === 'an invalid reference') {
        assert.match(evaluation.violations[0]?.message ?? '', /^invalid image reference: /);
        return;
      }
      assert.deepEqual(
        evaluation.violations.map((v) => `${v.check}: ${v.message}`),
        c.messages,
      );
    });
  }

  it('applies the mode: audit records but allows, warn downgrades deny', () => {
    const subject = { parsed: parseImageReference(`${HOST}/api:v9`), resolution: failed('not_found') };
    const audit = evaluate(config({ policy: { mode: 'audit' } }).policy, subject, { now: NOW });
    assert.equal(audit.verdict, 'allow');
    assert.equal(audit.enforcedVerdict, 'deny');
    assert.equal(audit.violations.length, 1);
    const warn = evaluate(config({ policy: { mode: 'warn' } }).policy, subject, { now: NOW });
    assert.equal(warn.verdict, 'warn');
  });

  it('needs ECR facts only when an ECR check is on', () => {
    assert.equal(needsEcrFacts(config().policy), true);
    const off = Object.fromEntries(
      ['imageExists', 'archived', 'scanComplete', 'severity', 'scanAge', 'imageAge', 'lifecycleRisk'].map(
        (k) => [k, { action: 'off' }],
      ),
    );
    assert.equal(needsEcrFacts(config({ policy: { checks: off } }).policy), false);
  });
});
