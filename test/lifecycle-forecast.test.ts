/**
 * The lifecycle forecast (SPEC section 10): hand-written cases from ECR's documentation, then a
 * differential test against the ECR simulator's own run of the same policies — two evaluations
 * written apart, from the same documentation, that must agree.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type ForecastAnswer,
  type LifecycleImage,
  nextRun,
  PolicyEvaluator,
} from '../src/lifecycle/forecast.ts';
import { parseLifecyclePolicy } from '../src/lifecycle/rules.ts';
import type { SimImage } from '../sim/ecr/index.ts';
import { ACCOUNT, DAY, ecrFixture, NOW, REGION, ref } from './helpers/ecr.ts';

const HOUR = 3_600_000;

/** An image as a rule sees it; `digest` doubles as its name in the cases. */
function img(digest: string, over: Partial<LifecycleImage> = {}): LifecycleImage {
  return {
    digest,
    tags: [],
    pushedAt: new Date(NOW - 10 * DAY),
    lastRecordedPullTime: null,
    lastActivatedAt: null,
    lastArchivedAt: null,
    imageStatus: 'ACTIVE',
    ...over,
  };
}

interface RuleSpec {
  rulePriority: number;
  description?: string;
  selection: Record<string, unknown>;
  action: Record<string, unknown>;
}

function rules(...specs: RuleSpec[]) {
  const parsed = parseLifecyclePolicy(JSON.stringify({ rules: specs }));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
  return parsed.rules;
}

const expire = { type: 'expire' };
const archive = { type: 'transition', targetStorageClass: 'archive' };

/** `action@priority in Nd` or `none` / `unknown`, for readable assertions. */
function show(answer: ForecastAnswer, now = NOW): string {
  if (answer === null) return 'none';
  if ('unknown' in answer) return `unknown: ${answer.unknown}`;
  return `${answer.action}@${answer.rulePriority} ${((answer.at.getTime() - now) / DAY).toFixed(1)}d`;
}

describe('the lifecycle forecast, as ECR documents the evaluation', () => {
  it('applies the first rule that selects an image, by priority, whatever the order in the policy', () => {
    const policy = rules(
      {
        rulePriority: 5,
        selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 },
        action: expire,
      },
      {
        rulePriority: 1,
        selection: {
          tagStatus: 'tagged',
          tagPrefixList: ['prod'],
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 90,
        },
        action: expire,
      },
    );
    const evaluator = new PolicyEvaluator({ rules: policy, repository: null, lastEvaluatedAt: null }, NOW);
    // prod-1 matches rule 1's tags: rule 5 (30 days, sooner) can never act on it.
    assert.equal(show(evaluator.forecast(img('a', { tags: ['prod-1'] }))), 'expire@1 80.0d');
    assert.equal(show(evaluator.forecast(img('b', { tags: ['dev-1'] }))), 'expire@5 20.0d');
  });

  it('needs every pattern of a tagPatternList, and every prefix of a tagPrefixList, to match some tag', () => {
    const policy = rules(
      {
        rulePriority: 1,
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['prod*', '*-2026'],
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 1,
        },
        action: expire,
      },
      {
        rulePriority: 2,
        selection: {
          tagStatus: 'tagged',
          tagPrefixList: ['rel', 'v'],
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 2,
        },
        action: expire,
      },
    );
    const evaluator = new PolicyEvaluator({ rules: policy, repository: null, lastEvaluatedAt: null }, NOW);
    const cases: [string[], string][] = [
      [['prod', 'build-2026'], 'expire@1 -9.0d'],
      [['prod-2026'], 'expire@1 -9.0d'],
      [['prod'], 'none'],
      [['release', 'v3'], 'expire@2 -8.0d'],
      [['release'], 'none'],
      [[], 'none'],
    ];
    for (const [tags, expected] of cases) {
      assert.equal(show(evaluator.forecast(img('x', { tags }))), expected, tags.join(','));
    }
  });

  it('counts youngest first by push time, keeping countNumber, every image of the rule counted', () => {
    // The user guide's example A: rule 1 keeps one prod image, rule 2 one beta image.
    const policy = rules(
      {
        rulePriority: 1,
        selection: {
          tagStatus: 'tagged',
          tagPrefixList: ['prod'],
          countType: 'imageCountMoreThan',
          countNumber: 1,
        },
        action: expire,
      },
      {
        rulePriority: 2,
        selection: {
          tagStatus: 'tagged',
          tagPrefixList: ['beta'],
          countType: 'imageCountMoreThan',
          countNumber: 1,
        },
        action: expire,
      },
    );
    const repository = [
      img('A', { tags: ['beta-1', 'prod-1'], pushedAt: new Date(NOW - 10 * DAY) }),
      img('B', { tags: ['beta-2', 'prod-2'], pushedAt: new Date(NOW - 9 * DAY) }),
      img('C', { tags: ['beta-3'], pushedAt: new Date(NOW - 8 * DAY) }),
    ];
    const lastEvaluatedAt = new Date(NOW - 5 * HOUR);
    const evaluator = new PolicyEvaluator({ rules: policy, repository, lastEvaluatedAt }, NOW);
    // Image A is expired (rule 1); B is kept by rule 1 and shielded from rule 2; C is beta's youngest.
    assert.deepEqual(
      repository.map((i) => show(evaluator.forecast(i))),
      [`expire@1 ${(19 / 24).toFixed(1)}d`, 'none', 'none'],
    );
  });

  it('counts from the last pull, the push for a never-pulled image, or a later restore', () => {
    const policy = rules({
      rulePriority: 1,
      selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 },
      action: archive,
    });
    const evaluator = new PolicyEvaluator({ rules: policy, repository: null, lastEvaluatedAt: null }, NOW);
    const cases: [Partial<LifecycleImage>, string][] = [
      [{ lastRecordedPullTime: new Date(NOW - 2 * DAY) }, 'archive@1 28.0d'],
      [{ pushedAt: new Date(NOW - 40 * DAY) }, 'archive@1 -10.0d'],
      [
        { lastRecordedPullTime: new Date(NOW - 20 * DAY), lastActivatedAt: new Date(NOW - DAY) },
        'archive@1 29.0d',
      ],
      [{ pushedAt: null }, 'unknown: no pull or push time'],
    ];
    for (const [over, expected] of cases) assert.equal(show(evaluator.forecast(img('x', over))), expected);
  });

  it('treats each storage class apart: archived images by archive rules, from lastArchivedAt', () => {
    const policy = rules(
      {
        rulePriority: 1,
        selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 60 },
        action: archive,
      },
      {
        rulePriority: 2,
        selection: {
          tagStatus: 'any',
          storageClass: 'archive',
          countType: 'sinceImageTransitioned',
          countUnit: 'days',
          countNumber: 180,
        },
        action: expire,
      },
    );
    const evaluator = new PolicyEvaluator({ rules: policy, repository: null, lastEvaluatedAt: null }, NOW);
    assert.equal(
      show(
        evaluator.forecast(img('a', { imageStatus: 'ARCHIVED', lastArchivedAt: new Date(NOW - 100 * DAY) })),
      ),
      'expire@2 80.0d',
    );
    assert.equal(
      show(evaluator.forecast(img('b', { lastRecordedPullTime: new Date(NOW - 10 * DAY) }))),
      'archive@1 50.0d',
    );
    // Being restored: no rule selects it until it is active again.
    assert.equal(show(evaluator.forecast(img('c', { imageStatus: 'ACTIVATING' }))), 'none');
  });

  it('is unknown for a count rule without the repository listed, never "safe"', () => {
    const policy = rules({
      rulePriority: 1,
      selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 3 },
      action: expire,
    });
    const evaluator = new PolicyEvaluator({ rules: policy, repository: null, lastEvaluatedAt: null }, NOW);
    assert.equal(show(evaluator.forecast(img('a'))), 'unknown: the repository has not been listed');
  });

  it('puts the next run a day after the last, in the future', () => {
    assert.equal(nextRun(null, NOW).getTime(), NOW + DAY);
    assert.equal(nextRun(new Date(NOW - 3 * HOUR), NOW).getTime(), NOW + 21 * HOUR);
    assert.equal(nextRun(new Date(NOW - 50 * HOUR), NOW).getTime(), NOW + 22 * HOUR);
  });

  it('reads every rule of a valid policy, and refuses what it cannot read exactly', () => {
    assert.deepEqual(
      [
        '{"rules": [{"rulePriority": 1, "selection": {"tagStatus": "elsewhere", "countType": "sinceImagePushed", "countNumber": 1}, "action": {"type": "expire"}}]}',
        '{"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "hours", "countNumber": 1}, "action": {"type": "expire"}}]}',
        'not json',
      ].map((text) => {
        const parsed = parseLifecyclePolicy(text);
        return parsed.ok ? 'ok' : parsed.message;
      }),
      [
        'rule 1: unknown tagStatus elsewhere',
        'rule 1: unknown countUnit hours',
        'the lifecycle policy is not JSON',
      ],
    );
  });
});

// ─── The differential test ────────────────────────────────────────────────────────────────────

const TAGS = ['prod-1', 'prod-2', 'beta-1', 'v1.0', 'v2.0', 'latest', 'rc-2026'];
const PREFIX_SETS = [['prod'], ['beta'], ['v'], ['prod', 'beta'], ['rc']];
const PATTERN_SETS = [['prod*'], ['v*.0'], ['*-2026'], ['prod*', '*1'], ['*']];

const imageArb = fc.record({
  tags: fc.uniqueArray(fc.constantFrom(...TAGS), { maxLength: 2 }),
  pushedDaysAgo: fc.integer({ min: 1, max: 400 }),
  pulledDaysAgo: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
  archivedDaysAgo: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
});

const ruleArb = fc.record({
  tagStatus: fc.constantFrom('tagged', 'untagged', 'any'),
  byPattern: fc.boolean(),
  prefixes: fc.constantFrom(...PREFIX_SETS),
  patterns: fc.constantFrom(...PATTERN_SETS),
  countType: fc.constantFrom(
    'imageCountMoreThan',
    'sinceImagePushed',
    'sinceImagePulled',
    'sinceImageTransitioned',
  ),
  countNumber: fc.integer({ min: 1, max: 200 }),
  transition: fc.boolean(),
});

type GeneratedRule = typeof ruleArb extends fc.Arbitrary<infer R> ? R : never;

/**
 * A policy ECR accepts, shaped from generated rules by ECR's documented restrictions (ECR User Guide,
 * "Lifecycle policy properties"): per storage class, one `any` rule, last; one untagged rule; no two
 * rules with the same tag list; sinceImagePulled only to transition; sinceImageTransitioned only over
 * archived images, to expire. The simulator validates it as ECR does, and refuses what is left.
 */
function policyText(generated: GeneratedRule[]): string {
  const seen = new Set<string>();
  const kept = generated.filter((r) => {
    const storage = r.countType === 'sinceImageTransitioned' ? 'archive' : 'standard';
    const list = r.byPattern ? r.patterns : r.prefixes;
    // One untagged and one any rule per storage class; tag lists unique within one.
    const selects = r.tagStatus === 'tagged' ? `tagged:${[...list].sort().join(',')}` : r.tagStatus;
    const key = `${storage}|${selects}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // An `any` rule comes last in its storage class.
  kept.sort((a, b) => Number(a.tagStatus === 'any') - Number(b.tagStatus === 'any'));
  const specs: RuleSpec[] = kept.map((r, i) => {
    const archived = r.countType === 'sinceImageTransitioned';
    const selection: Record<string, unknown> = {
      tagStatus: r.tagStatus,
      countType: r.countType,
      countNumber: archived ? Math.max(90, r.countNumber) : r.countNumber,
    };
    if (r.countType !== 'imageCountMoreThan') selection.countUnit = 'days';
    if (r.tagStatus === 'tagged') {
      selection[r.byPattern ? 'tagPatternList' : 'tagPrefixList'] = r.byPattern ? r.patterns : r.prefixes;
    }
    if (archived) selection.storageClass = 'archive';
    const transition = !archived && (r.transition || r.countType === 'sinceImagePulled');
    return { rulePriority: (i + 1) * 10, selection, action: transition ? archive : expire };
  });
  return JSON.stringify({ rules: specs });
}

describe("the lifecycle forecast against the ECR simulator's own run", () => {
  it('agrees for a few hundred generated policies and repositories', async () => {
    const f = await ecrFixture({ registries: [{ accountId: ACCOUNT, region: REGION, repositories: [] }] });
    // The product's forecast as `serve` builds it: GetLifecyclePolicy and the listing through the real SDK.
    const forecaster = f.core.forecaster!;
    let compared = 0;
    let refused = 0;
    let acted = 0;
    let sample = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(ruleArb, { minLength: 1, maxLength: 5 }),
          fc.array(imageArb, { minLength: 1, maxLength: 12 }),
          fc.integer({ min: 1, max: 23 }),
          async (generated, images, hoursSinceRun) => {
            f.clock.now = NOW;
            const repository = `gen/r${sample++}`;
            const at = (days: number) => new Date(NOW - days * DAY);
            const loc = { registryId: ACCOUNT, region: REGION, repository };
            const lastEvaluatedAt = new Date(NOW - hoursSinceRun * HOUR);
            f.sim.createRepository(loc);
            const digests = images.map((i) => {
              const archivedAt =
                i.archivedDaysAgo !== undefined
                  ? at(Math.min(i.archivedDaysAgo, i.pushedDaysAgo - 1))
                  : undefined;
              const spec: SimImage = {
                tags: i.tags,
                pushedAt: at(i.pushedDaysAgo),
                ...(i.pulledDaysAgo !== undefined && i.pulledDaysAgo < i.pushedDaysAgo
                  ? { lastRecordedPullTime: at(i.pulledDaysAgo) }
                  : {}),
                ...(archivedAt ? { imageStatus: 'ARCHIVED' as const, lastArchivedAt: archivedAt } : {}),
              };
              return f.sim.pushImage(loc, spec).digest;
            });
            try {
              f.sim.setLifecyclePolicy(loc, policyText(generated), lastEvaluatedAt);
            } catch {
              refused++;
              return; // a policy ECR would refuse: nothing to compare
            }
            // The product reads the policy and the images through the real SDK, as `serve` does.
            const facts = await Promise.all(
              digests.map(async (digest) => {
                const r = await f.core.resolver.resolveOne(
                  ref(`${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repository}@${digest}`),
                );
                assert.equal(r.status, 'resolved');
                return r.status === 'resolved' ? r.facts : (undefined as never);
              }),
            );
            const forecasts = await forecaster.forecastMany(facts, 'bulk');
            // ECR's next run: a day after its last.
            const runAt = nextRun(lastEvaluatedAt, NOW);
            f.clock.now = runAt.getTime();
            const run = f.sim.planLifecyclePolicies(loc);
            const simActs = new Map(run.actions.map((a) => [a.digest, a]));
            facts.forEach((image, i) => {
              const forecast = forecasts[i]!;
              compared++;
              assert.ok(
                forecast === null || !('unknown' in forecast),
                `forecast unknown: ${JSON.stringify(forecast)}`,
              );
              const act = simActs.get(image.digest);
              if (act) {
                acted++;
                assert.ok(
                  forecast,
                  `${image.digest} (${image.tags}) is acted on by rule ${act.rulePriority} but forecast safe; policy ${policyText(generated)}`,
                );
                assert.equal(
                  forecast.rulePriority,
                  act.rulePriority,
                  `same rule; policy ${policyText(generated)}`,
                );
                assert.equal(forecast.action, act.action === 'expire' ? 'expire' : 'archive');
                assert.ok(forecast.at.getTime() <= runAt.getTime(), 'forecast due by the run');
              } else if (forecast && forecast.at.getTime() < runAt.getTime() - DAY) {
                // Due well before this run yet left alone: the forecast would be wrong.
                assert.fail(
                  `${image.digest} forecast ${show(forecast)} but the run leaves it; policy ${policyText(generated)}`,
                );
              }
            });
          },
        ),
        { numRuns: 300, seed: 20_261_202 },
      );
      // Enough to mean something: nearly every policy accepted, hundreds of images acted on.
      assert.ok(refused < 30, `${refused} of 300 generated policies were refused`);
      assert.ok(compared > 1_500, `compared ${compared} images`);
      assert.ok(acted > 200, `the run acted on ${acted} images`);
    } finally {
      await f.close();
    }
  });
});
