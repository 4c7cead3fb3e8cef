import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  BatchGetImageCommand,
  DeleteLifecyclePolicyCommand,
  DescribeImagesCommand,
  type ECRClient,
  ECRServiceException,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  type GetLifecyclePolicyPreviewCommandOutput,
  ImageNotFoundException,
  InvalidParameterException,
  LifecyclePolicyNotFoundException,
  LifecyclePolicyPreviewInProgressException,
  LifecyclePolicyPreviewNotFoundException,
  type LifecyclePolicyPreviewResult,
  PutLifecyclePolicyCommand,
  RepositoryNotFoundException,
  StartLifecyclePolicyPreviewCommand,
} from '@aws-sdk/client-ecr';
import {
  type EcrSimulator,
  type EcrSimulatorOptions,
  ecrClientFor,
  evaluateLifecyclePolicy,
  type LifecycleImage,
  type LifecycleRunAction,
  parseLifecyclePolicy,
  type SimImage,
  StoreError,
  startEcrSimulator,
} from '../sim/ecr/index.ts';
import { matchesTagPattern } from '../sim/ecr/lifecycle/tags.ts';

const ME = '111122223333';
const REGION = 'us-east-1';
const REPOSITORY = 'shop/api';
const REPO = { registryId: ME, region: REGION, repository: REPOSITORY };
const T0 = new Date('2026-06-01T12:00:00.000Z');
const DAY_MS = 86_400_000;
const daysAgo = (days: number): Date => new Date(T0.getTime() - days * DAY_MS);

// ---- policy builders: rules read like the user guide's examples ----

type Selection = Record<string, unknown>;
interface Rule {
  rulePriority: number;
  description?: string;
  selection: Selection;
  action: Record<string, unknown>;
}

const EXPIRE = { type: 'expire' };
const ARCHIVE = { type: 'transition', targetStorageClass: 'archive' };

function rule(rulePriority: number, selection: Selection, action: Record<string, unknown> = EXPIRE): Rule {
  return { rulePriority, description: `Rule ${rulePriority}`, selection, action };
}
const moreThan = (countNumber: number): Selection => ({ countType: 'imageCountMoreThan', countNumber });
const pushedDays = (countNumber: number): Selection => ({
  countType: 'sinceImagePushed',
  countUnit: 'days',
  countNumber,
});
const pulledDays = (countNumber: number): Selection => ({
  countType: 'sinceImagePulled',
  countUnit: 'days',
  countNumber,
});
const archivedDays = (countNumber: number): Selection => ({
  storageClass: 'archive',
  countType: 'sinceImageTransitioned',
  countUnit: 'days',
  countNumber,
});
const patterns = (list: string[], count: Selection): Selection => ({
  tagStatus: 'tagged',
  tagPatternList: list,
  ...count,
});
const prefixes = (list: string[], count: Selection): Selection => ({
  tagStatus: 'tagged',
  tagPrefixList: list,
  ...count,
});
const untagged = (count: Selection): Selection => ({ tagStatus: 'untagged', ...count });
const anyImage = (count: Selection): Selection => ({ tagStatus: 'any', ...count });

/** Policy text; padded with trailing whitespace (valid JSON) to the model's 100-character minimum. */
function policyText(document: unknown): string {
  const text = typeof document === 'string' ? document : JSON.stringify(document, null, 2);
  return text.padEnd(100, ' ');
}
const policy = (...rules: Rule[]): string => policyText({ rules });

const validationFailure = (detail: string): string =>
  `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ${detail}'`;

// ---- harness ----

interface Harness {
  sim: EcrSimulator;
  ecr: ECRClient;
  clock: { now: Date };
  /** Pushes an image under a short name the assertions use. */
  push(name: string, image: Omit<SimImage, 'pushedAt'> & { pushedAt?: Date; daysAgo?: number }): string;
  digest(name: string): string;
  /** `name action rulePriority` for each action, in the order given. */
  named(actions: readonly { digest: string; action: string; rulePriority: number }[]): string[];
  put(text: string): Promise<unknown>;
}

async function harnessFor(t: TestContext, options: Partial<EcrSimulatorOptions> = {}): Promise<Harness> {
  const clock = { now: T0 };
  const sim = await startEcrSimulator({
    scenario: {
      callerAccount: ME,
      registries: [{ accountId: ME, region: REGION, repositories: [{ name: REPOSITORY, images: [] }] }],
    },
    clock: () => clock.now,
    ...options,
  });
  const ecr = ecrClientFor(sim, REGION, { maxAttempts: 1 });
  t.after(async () => {
    ecr.destroy();
    await sim.close();
  });
  const digests = new Map<string, string>();
  const names = new Map<string, string>();
  return {
    sim,
    ecr,
    clock,
    push(name, image) {
      const { daysAgo: age, ...rest } = image;
      const view = sim.pushImage(REPO, { ...rest, pushedAt: image.pushedAt ?? daysAgo(age ?? 0) });
      digests.set(name, view.digest);
      names.set(view.digest, name);
      return view.digest;
    },
    digest(name) {
      const digest = digests.get(name);
      assert.ok(digest, `no image named ${name}`);
      return digest;
    },
    named(actions) {
      return actions.map((a) => `${names.get(a.digest) ?? a.digest} ${a.action} ${a.rulePriority}`);
    },
    put(text) {
      return ecr.send(
        new PutLifecyclePolicyCommand({ repositoryName: REPOSITORY, lifecyclePolicyText: text }),
      );
    },
  };
}

async function failureOf(promise: Promise<unknown>): Promise<ECRServiceException> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ECRServiceException, `expected a service error, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

/** Images pushed as listed, oldest first, each `[name, tags, days ago]`. */
function pushAll(h: Harness, images: readonly [string, string[], number][]): void {
  for (const [name, tags, age] of images) h.push(name, { tags, daysAgo: age });
}

describe('simulated ECR lifecycle policies: the API', () => {
  it('stores a policy, gives it back in priority order, and deletes it', async (t) => {
    const h = await harnessFor(t);
    const rules = [rule(2, anyImage(moreThan(10))), rule(1, untagged(pushedDays(14)))];
    const put = (await h.put(policy(...rules))) as { lifecyclePolicyText?: string; registryId?: string };
    const stored = JSON.stringify({ rules: [rules[1], rules[0]] });
    assert.equal(put.lifecyclePolicyText, stored);
    assert.equal(put.registryId, ME);

    const got = await h.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: REPOSITORY }));
    assert.equal(got.lifecyclePolicyText, stored);
    assert.equal(got.repositoryName, REPOSITORY);
    assert.equal(got.lastEvaluatedAt, undefined, 'a policy that never ran has no lastEvaluatedAt');

    h.clock.now = new Date(T0.getTime() + 3_600_000);
    h.sim.runLifecyclePolicies();
    const after = await h.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: REPOSITORY }));
    assert.deepEqual(after.lastEvaluatedAt, h.clock.now);

    const deleted = await h.ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: REPOSITORY }));
    assert.equal(deleted.lifecyclePolicyText, stored);
    assert.deepEqual(deleted.lastEvaluatedAt, h.clock.now);
    for (const send of [
      () => h.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: REPOSITORY })),
      () => h.ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: REPOSITORY })),
    ]) {
      const error = await failureOf(send());
      assert.ok(error instanceof LifecyclePolicyNotFoundException);
      assert.equal(
        error.message,
        `Lifecycle policy does not exist for the repository with name '${REPOSITORY}' in the registry with id '${ME}'`,
      );
    }
  });

  it('starts a replaced policy afresh: lastEvaluatedAt belongs to the policy that ran', async (t) => {
    const h = await harnessFor(t);
    await h.put(policy(rule(1, anyImage(moreThan(10)))));
    h.sim.runLifecyclePolicies();
    await h.put(policy(rule(1, anyImage(moreThan(20)))));
    const got = await h.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: REPOSITORY }));
    assert.equal(got.lastEvaluatedAt, undefined);
  });

  it('answers for a missing repository, a denied one, and a policy too short for the model', async (t) => {
    const h = await harnessFor(t);
    const missing = await failureOf(
      h.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'shop/nope' })),
    );
    assert.ok(missing instanceof RepositoryNotFoundException);

    h.sim.setAccessDenied(REPO);
    const denied = await failureOf(h.put(policy(rule(1, anyImage(moreThan(1))))));
    assert.equal(denied.name, 'AccessDeniedException');
    assert.match(
      denied.message,
      /not authorized to perform: ecr:PutLifecyclePolicy on resource: arn:aws:ecr:/,
    );
    h.sim.setAccessDenied(REPO, false);

    const short = await failureOf(h.put('{"rules":[]}'));
    assert.ok(short instanceof InvalidParameterException);
    assert.equal(
      short.message,
      "Invalid parameter at 'lifecyclePolicyText' failed to satisfy constraint: 'Member must have length greater than or equal to 100'",
    );
  });

  it('seeds a policy from the scenario, and refuses to seed one ECR would refuse', async (t) => {
    const h = await harnessFor(t);
    const text = policy(rule(1, untagged(pushedDays(1))));
    h.sim.setLifecyclePolicy(REPO, text, daysAgo(1));
    const got = await h.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: REPOSITORY }));
    assert.deepEqual(got.lastEvaluatedAt, daysAgo(1));
    assert.deepEqual(h.sim.lifecyclePolicy(REPO), {
      text: JSON.stringify(JSON.parse(text)),
      lastEvaluatedAt: daysAgo(1),
    });
    assert.throws(
      () => h.sim.setLifecyclePolicy(REPO, policy(rule(1, { tagStatus: 'tagged', ...moreThan(1) }))),
      (error: unknown) =>
        error instanceof StoreError && /Must specify tagPrefixList or tagPatternList/.test(error.message),
    );
  });
});

describe('simulated ECR lifecycle policies: validation', () => {
  // Known messages are ECR's own, as users quote them; the rest follow their style.
  const refused: { name: string; text: string; detail: string }[] = [
    {
      name: 'text that is not JSON',
      text: policyText('x'),
      detail: 'Could not map policyString into LifecyclePolicy.',
    },
    {
      name: 'no rules',
      text: policyText({ description: 'no rules here' }),
      detail: 'object has missing required properties (["rules"])',
    },
    {
      name: 'an empty rule list',
      text: policyText({ rules: [] }),
      detail: 'array is too short: must have at least 1 elements but instance has 0 elements',
    },
    {
      name: 'a field the grammar does not have',
      text: policy({ ...rule(1, anyImage(moreThan(1))), enabled: true } as Rule),
      detail: 'object instance has properties which are not allowed by the schema: ["enabled"]',
    },
    {
      name: 'rulePriority 0',
      text: policy(rule(0, anyImage(moreThan(1)))),
      detail: 'numeric instance is lower than the required minimum (minimum: 1, found: 0)',
    },
    {
      name: 'a countUnit with imageCountMoreThan',
      text: policy(rule(1, anyImage({ ...moreThan(5), countUnit: 'days' }))),
      detail: 'instance failed to match exactly one schema (matched 0 out of 2)',
    },
    {
      name: 'no countUnit with sinceImagePushed',
      text: policy(rule(1, anyImage({ countType: 'sinceImagePushed', countNumber: 5 }))),
      detail: 'instance failed to match exactly one schema (matched 0 out of 2)',
    },
    {
      name: 'countNumber 0',
      text: policy(rule(1, anyImage(moreThan(0)))),
      detail: 'instance failed to match exactly one schema (matched 0 out of 2)',
    },
    {
      name: 'a null targetStorageClass on expire',
      text: policy(rule(1, anyImage(moreThan(5)), { type: 'expire', targetStorageClass: null })),
      detail: 'instance failed to match exactly one schema (matched 0 out of 2)',
    },
    {
      name: 'a transition without targetStorageClass',
      text: policy(rule(1, anyImage(pushedDays(30)), { type: 'transition' })),
      detail: 'instance failed to match exactly one schema (matched 0 out of 2)',
    },
    {
      name: 'an unknown tagStatus',
      text: policy(rule(1, { tagStatus: 'TAGGED', tagPrefixList: ['v'], ...moreThan(5) })),
      detail: 'instance failed to match exactly one schema (matched 0 out of 2)',
    },
    {
      name: 'an empty tagPrefixList',
      text: policy(rule(1, prefixes([], moreThan(5)))),
      detail: 'instance failed to match exactly one schema (matched 0 out of 2)',
    },
    {
      name: 'tagged without a tag list',
      text: policy(rule(1, { tagStatus: 'tagged', ...moreThan(5) })),
      detail: 'Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.',
    },
    {
      name: 'both a prefix and a pattern list',
      text: policy(rule(1, { ...prefixes(['v'], moreThan(5)), tagPatternList: ['v*'] })),
      detail: 'Only one of tagPrefixList or tagPatternList may be specified when tagStatus=TAGGED.',
    },
    {
      name: 'a tag list on an untagged rule',
      text: policy(rule(1, { ...untagged(moreThan(5)), tagPrefixList: ['v'] })),
      detail: 'tagPrefixList and tagPatternList may only be specified when tagStatus=TAGGED.',
    },
    {
      name: 'five wildcards in one pattern',
      text: policy(rule(1, patterns(['test*1*2*3*4*5'], moreThan(5)))),
      detail: 'A tag pattern may contain at most 4 wildcards (*).',
    },
    {
      name: 'two rules with the same priority',
      text: policy(rule(1, prefixes(['a'], moreThan(5))), rule(1, prefixes(['b'], moreThan(5)))),
      detail: 'rulePriority must be unique across rules',
    },
    {
      name: 'an any rule before another rule of its storage class',
      text: policy(rule(1, anyImage(moreThan(5))), rule(2, untagged(moreThan(1)))),
      detail: 'Rule for tagStatus=ANY must have the lowest priority per storage class',
    },
    {
      name: 'two untagged rules in one storage class',
      text: policy(rule(1, untagged(moreThan(5))), rule(2, untagged(pushedDays(3)))),
      detail: 'Only one rule can select Untagged images per storage class',
    },
    {
      name: 'two rules with the same prefixes in one storage class',
      text: policy(
        rule(1, prefixes(['v', 'rc'], moreThan(5))),
        rule(2, prefixes(['rc', 'v'], pushedDays(3))),
      ),
      detail: 'Rules selecting the same storage class must have a unique set of tag prefixes or patterns.',
    },
    {
      name: 'sinceImagePulled with expire',
      text: policy(rule(1, anyImage(pulledDays(90)))),
      detail: 'countType=SINCE_IMAGE_PULLED can only be used with action type TRANSITION.',
    },
    {
      name: 'sinceImageTransitioned without storageClass archive',
      text: policy(
        rule(1, anyImage({ countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 365 })),
      ),
      detail: 'countType=SINCE_IMAGE_TRANSITIONED requires storageClass=ARCHIVE.',
    },
    {
      name: 'sinceImageTransitioned with transition',
      text: policy(rule(1, anyImage(archivedDays(365)), ARCHIVE)),
      detail: 'countType=SINCE_IMAGE_TRANSITIONED can only be used with action type EXPIRE.',
    },
    {
      name: 'expiring archived images before their 90 days',
      text: policy(rule(1, anyImage(archivedDays(89)))),
      detail:
        'countNumber must be at least 90 for countType=SINCE_IMAGE_TRANSITIONED: archived images have a minimum storage duration of 90 days.',
    },
    {
      name: 'storageClass archive with sinceImagePushed',
      text: policy(rule(1, anyImage({ ...pushedDays(30), storageClass: 'archive' }))),
      detail: 'storageClass=ARCHIVE can only be used with countType=SINCE_IMAGE_TRANSITIONED.',
    },
  ];
  for (const { name, text, detail } of refused) {
    it(`refuses ${name}`, async (t) => {
      const h = await harnessFor(t);
      const error = await failureOf(h.put(text));
      assert.ok(error instanceof InvalidParameterException, `${error.name}: ${error.message}`);
      assert.equal(error.message, validationFailure(detail));
      const preview = await failureOf(
        h.ecr.send(
          new StartLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY, lifecyclePolicyText: text }),
        ),
      );
      assert.equal(preview.message, validationFailure(detail), 'a preview validates the same way');
      assert.ok(
        (await failureOf(
          h.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: REPOSITORY })),
        )) instanceof LifecyclePolicyNotFoundException,
        'nothing is stored',
      );
    });
  }

  const accepted: { name: string; text: string }[] = [
    {
      name: 'the guide\'s "Filtering on image age"',
      text: policy(rule(1, patterns(['prod*'], pushedDays(14)))),
    },
    { name: 'the guide\'s "Filtering on image count"', text: policy(rule(1, untagged(moreThan(1)))) },
    {
      name: 'four wildcards in each pattern',
      text: policy(rule(1, patterns(['*test*1*2*3', 'test*1*2*3*'], moreThan(5)))),
    },
    {
      name: 'an archive rule and an expiry of archived images, both for any image',
      text: policy(rule(1, anyImage(pushedDays(30)), ARCHIVE), rule(2, anyImage(archivedDays(365)))),
    },
    {
      name: 'an untagged rule per storage class',
      text: policy(rule(1, untagged(pulledDays(30)), ARCHIVE), rule(2, untagged(archivedDays(90)))),
    },
    {
      name: 'a prefix list and the same tags as patterns in different rules',
      text: policy(rule(1, prefixes(['v'], moreThan(5))), rule(2, patterns(['v'], pushedDays(3)))),
    },
    {
      name: "the guide's combined policy, rules out of order",
      text: policy(
        rule(3, anyImage(moreThan(1))),
        rule(1, patterns(['alpha*'], moreThan(1))),
        rule(2, untagged(pushedDays(1))),
      ),
    },
  ];
  for (const { name, text } of accepted) {
    it(`accepts ${name}`, async (t) => {
      const h = await harnessFor(t);
      await h.put(text);
      const got = await h.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: REPOSITORY }));
      const priorities = (JSON.parse(got.lifecyclePolicyText ?? '{}') as { rules: Rule[] }).rules.map(
        (r) => r.rulePriority,
      );
      assert.deepEqual(
        priorities,
        [...priorities].sort((a, b) => a - b),
      );
    });
  }
});

describe('simulated ECR lifecycle policies: which images a run acts on', () => {
  // The user guide's worked examples, image for image (lifecycle_policy_examples.html).
  const examples: {
    name: string;
    images: [string, string[], number][];
    rules: Rule[];
    acted: string[];
  }[] = [
    {
      name: 'multiple rules, example A: an image the higher rule matched is spared by the lower one',
      images: [
        ['A', ['beta-1', 'prod-1'], 10],
        ['B', ['beta-2', 'prod-2'], 9],
        ['C', ['beta-3'], 8],
      ],
      rules: [rule(1, patterns(['prod*'], moreThan(1))), rule(2, patterns(['beta*'], moreThan(1)))],
      acted: ['A expire 1'],
    },
    {
      name: 'multiple rules, example B: the same images with the priorities swapped',
      images: [
        ['A', ['beta-1', 'prod-1'], 10],
        ['B', ['beta-2', 'prod-2'], 9],
        ['C', ['beta-3'], 8],
      ],
      rules: [rule(1, patterns(['beta*'], moreThan(1))), rule(2, patterns(['prod*'], moreThan(1)))],
      acted: ['A expire 1', 'B expire 1'],
    },
    {
      name: 'multiple tags in one rule, example A: every pattern must match a tag',
      images: [
        ['A', ['alpha-1'], 12],
        ['B', ['beta-1'], 11],
        ['C', ['alpha-2', 'beta-2'], 10],
        ['D', ['alpha-3'], 4],
        ['E', ['beta-3'], 3],
        ['F', ['alpha-4', 'beta-4'], 2],
      ],
      rules: [rule(1, patterns(['alpha*', 'beta*'], pushedDays(5)))],
      acted: ['C expire 1'],
    },
    {
      name: 'multiple tags in one rule, example B: tags are not exclusive',
      images: [
        ['A', ['alpha-1', 'beta-1', 'gamma-1'], 10],
        ['B', ['alpha-2', 'beta-2'], 9],
        ['C', ['alpha-3', 'beta-3', 'gamma-2'], 8],
      ],
      rules: [rule(1, patterns(['alpha*', 'beta*'], moreThan(1)))],
      acted: ['A expire 1', 'B expire 1'],
    },
    {
      name: 'all images, example A: keep the youngest one',
      images: [
        ['A', ['alpha-1'], 4],
        ['B', ['beta-1'], 3],
        ['C', [], 2],
        ['D', ['alpha-2'], 1],
      ],
      rules: [rule(1, anyImage(moreThan(1)))],
      acted: ['A expire 1', 'B expire 1', 'C expire 1'],
    },
    {
      name: 'all images, example B: every rule type together, each image taken by one rule at most',
      images: [
        ['A', ['alpha-1', 'beta-1'], 4],
        ['B', [], 3],
        ['C', ['alpha-2'], 2],
        ['D', ['git hash'], 1 + 1 / 1440],
        ['E', [], 1],
      ],
      rules: [
        rule(1, patterns(['alpha*'], moreThan(1))),
        rule(2, untagged(pushedDays(1))),
        rule(3, anyImage(moreThan(1))),
      ],
      acted: ['A expire 1', 'B expire 2', 'D expire 3'],
    },
    {
      name: 'a prefix list: every prefix must start some tag',
      images: [
        ['both', ['release-1', 'prod'], 30],
        ['one', ['release-2'], 30],
        ['neither', ['dev'], 30],
      ],
      rules: [rule(1, prefixes(['release-', 'pro'], pushedDays(7)))],
      acted: ['both expire 1'],
    },
    {
      name: 'a tagged rule protects the images it keeps from a catch-all',
      images: [
        ['prod-old', ['prod-1'], 400],
        ['prod-new', ['prod-2'], 300],
        ['dev-old', ['dev-1'], 200],
        ['scratch', [], 100],
      ],
      rules: [rule(1, patterns(['prod*'], moreThan(5))), rule(2, anyImage(pushedDays(30)))],
      acted: ['dev-old expire 2', 'scratch expire 2'],
    },
  ];
  for (const example of examples) {
    it(example.name, async (t) => {
      const h = await harnessFor(t);
      pushAll(h, example.images);
      await h.put(policy(...example.rules));
      const run = h.sim.runLifecyclePolicies();
      assert.deepEqual(h.named(run.actions), example.acted);
      assert.equal(run.repositories, 1);
      const left = await h.ecr.send(new DescribeImagesCommand({ repositoryName: REPOSITORY }));
      const expired = new Set(example.acted.map((line) => line.split(' ')[0]));
      assert.deepEqual(
        left.imageDetails?.map((d) => d.imageDigest).sort(),
        example.images
          .map(([name]) => name)
          .filter((name) => !expired.has(name))
          .map((name) => h.digest(name))
          .sort(),
      );
    });
  }

  it('counts youngest first by push time, and by restore time for an image restored from archive', async (t) => {
    const h = await harnessFor(t);
    h.push('restored', { tags: ['v1'], daysAgo: 100, lastActivatedAt: daysAgo(1) });
    h.push('older', { tags: ['v2'], daysAgo: 5 });
    h.push('newer', { tags: ['v3'], daysAgo: 3 });
    await h.put(policy(rule(1, prefixes(['v'], moreThan(2)))));
    assert.deepEqual(h.named(h.sim.runLifecyclePolicies().actions), ['older expire 1']);
  });

  it('expires on age from the push, even for an image restored since', async (t) => {
    const h = await harnessFor(t);
    h.push('restored', { tags: ['v1'], daysAgo: 100, lastActivatedAt: daysAgo(1) });
    h.push('fresh', { tags: ['v2'], daysAgo: 10 });
    await h.put(policy(rule(1, prefixes(['v'], pushedDays(30)))));
    assert.deepEqual(h.named(h.sim.runLifecyclePolicies().actions), ['restored expire 1']);
  });

  it('acts only on images strictly older than the rule says', async (t) => {
    const h = await harnessFor(t);
    h.push('exactly', { daysAgo: 7 });
    h.push('older', { pushedAt: new Date(daysAgo(7).getTime() - 1) });
    await h.put(policy(rule(1, untagged(pushedDays(7)))));
    assert.deepEqual(h.named(h.sim.runLifecyclePolicies().actions), ['older expire 1']);
  });

  it('archives by last pull: never pulled counts from the push, restored-and-not-pulled from the restore', async (t) => {
    const h = await harnessFor(t);
    h.push('never-pulled', { tags: ['a'], daysAgo: 100 });
    h.push('pulled-long-ago', { tags: ['b'], daysAgo: 300, lastRecordedPullTime: daysAgo(120) });
    h.push('pulled-lately', { tags: ['c'], daysAgo: 300, lastRecordedPullTime: daysAgo(10) });
    h.push('restored-not-pulled', {
      tags: ['d'],
      daysAgo: 300,
      lastRecordedPullTime: daysAgo(200),
      lastActivatedAt: daysAgo(20),
    });
    h.push('restored-then-pulled', {
      tags: ['e'],
      daysAgo: 300,
      lastRecordedPullTime: daysAgo(95),
      lastActivatedAt: daysAgo(150),
    });
    h.push('young', { tags: ['f'], daysAgo: 30 });
    await h.put(policy(rule(1, anyImage(pulledDays(90)), ARCHIVE)));
    const run = h.sim.runLifecyclePolicies();
    assert.deepEqual(h.named(run.actions), [
      'pulled-long-ago transition 1',
      'never-pulled transition 1',
      'restored-then-pulled transition 1',
    ]);
    for (const action of run.actions) {
      const image = h.sim.image({ ...REPO, digest: action.digest });
      assert.equal(image?.imageStatus, 'ARCHIVED');
      assert.deepEqual(image?.lastArchivedAt, T0);
      assert.deepEqual(image?.tags, action.tags, 'an archived image keeps its tags');
    }
  });

  it('expires archived images by the time since they were archived, never standard ones', async (t) => {
    const h = await harnessFor(t);
    h.push('archived-long', {
      tags: ['a'],
      daysAgo: 900,
      imageStatus: 'ARCHIVED',
      lastArchivedAt: daysAgo(400),
    });
    h.push('archived-lately', {
      tags: ['b'],
      daysAgo: 900,
      imageStatus: 'ARCHIVED',
      lastArchivedAt: daysAgo(100),
    });
    h.push('standard-old', { tags: ['c'], daysAgo: 900 });
    h.push('standard-new', { tags: ['d'], daysAgo: 10 });
    await h.put(policy(rule(1, anyImage(pushedDays(30)), ARCHIVE), rule(2, anyImage(archivedDays(365)))));
    const run = h.sim.runLifecyclePolicies();
    // The `any` rule of the standard class does not shield archived images from the archive class's rule.
    assert.deepEqual(h.named(run.actions), ['standard-old transition 1', 'archived-long expire 2']);
    assert.deepEqual(
      run.actions.map((a) => a.storageClass),
      ['standard', 'archive'],
    );
    assert.equal(h.sim.image({ ...REPO, tag: 'a' }), undefined);
    assert.equal(h.sim.image({ ...REPO, tag: 'c' })?.imageStatus, 'ARCHIVED');

    // A run a day later: the image archived yesterday is a day into its archive time, not 365.
    h.clock.now = new Date(T0.getTime() + DAY_MS);
    assert.deepEqual(h.sim.runLifecyclePolicies().actions, []);
  });

  it('leaves an image being restored to both storage classes', async (t) => {
    const h = await harnessFor(t);
    h.push('activating', { daysAgo: 900, imageStatus: 'ACTIVATING', lastArchivedAt: daysAgo(500) });
    await h.put(policy(rule(1, anyImage(moreThan(1))), rule(2, anyImage(archivedDays(90)))));
    // One image alone is within any count, and an ACTIVATING image is not in the archive class.
    h.push('other', { daysAgo: 800 });
    assert.deepEqual(h.sim.planLifecyclePolicies().actions, []);
  });

  it('answers pulls of an image it archived with ImageInaccessible, and hides it from plain listings', async (t) => {
    const h = await harnessFor(t);
    h.push('old', { tags: ['v1'], daysAgo: 200 });
    h.push('new', { tags: ['v2'], daysAgo: 1 });
    await h.put(policy(rule(1, prefixes(['v'], pushedDays(90)), ARCHIVE)));
    h.sim.runLifecyclePolicies();

    const pulled = await h.ecr.send(
      new BatchGetImageCommand({
        repositoryName: REPOSITORY,
        imageIds: [{ imageTag: 'v1' }, { imageTag: 'v2' }],
      }),
    );
    assert.deepEqual(
      pulled.images?.map((i) => i.imageId?.imageTag),
      ['v2'],
    );
    assert.deepEqual(pulled.failures, [
      {
        imageId: { imageTag: 'v1' },
        failureCode: 'ImageInaccessible',
        failureReason: 'Requested image is archived and cannot be pulled until it is restored',
      },
    ]);
    assert.equal(h.sim.lastRecordedPullTime({ ...REPO, tag: 'v1' }), undefined, 'a refused pull is no pull');

    const active = await h.ecr.send(new DescribeImagesCommand({ repositoryName: REPOSITORY }));
    assert.deepEqual(
      active.imageDetails?.map((d) => d.imageTags),
      [['v2']],
    );
    const archived = await h.ecr.send(
      new DescribeImagesCommand({ repositoryName: REPOSITORY, filter: { imageStatus: 'ARCHIVED' } }),
    );
    assert.deepEqual(
      archived.imageDetails?.map((d) => [d.imageTags, d.imageStatus, d.lastArchivedAt]),
      [[['v1'], 'ARCHIVED', T0]],
    );
  });

  it('deletes an expired image with its tags', async (t) => {
    const h = await harnessFor(t);
    h.push('old', { tags: ['v1', 'stable'], daysAgo: 200 });
    await h.put(policy(rule(1, prefixes(['v'], pushedDays(90)))));
    const run = h.sim.runLifecyclePolicies();
    assert.deepEqual(run.actions, [
      {
        registryId: ME,
        region: REGION,
        repository: REPOSITORY,
        digest: h.digest('old'),
        action: 'expire',
        rulePriority: 1,
        storageClass: 'standard',
        tags: ['v1', 'stable'],
      } satisfies LifecycleRunAction,
    ]);
    for (const tag of ['v1', 'stable']) {
      const error = await failureOf(
        h.ecr.send(
          new DescribeImagesCommand({
            repositoryName: REPOSITORY,
            imageIds: [{ imageTag: tag }],
            filter: { imageStatus: 'ANY' },
          }),
        ),
      );
      assert.ok(error instanceof ImageNotFoundException);
    }
    // The tag is free again: a new push takes it without moving anything.
    h.push('again', { tags: ['stable'], daysAgo: 0 });
    assert.equal(h.sim.image({ ...REPO, tag: 'stable' })?.digest, h.digest('again'));
  });

  it('runs only the repositories a scope names, and records lastEvaluatedAt only for them', async (t) => {
    const h = await harnessFor(t);
    const other = { ...REPO, repository: 'shop/web' };
    h.sim.createRepository(other);
    const text = policy(rule(1, untagged(pushedDays(1))));
    h.sim.setLifecyclePolicy(REPO, text);
    h.sim.setLifecyclePolicy(other, text);
    h.push('here', { daysAgo: 5 });
    h.sim.pushImage(other, { pushedAt: daysAgo(5) });
    const run = h.sim.runLifecyclePolicies({ repository: REPOSITORY });
    assert.equal(run.repositories, 1);
    assert.deepEqual(h.named(run.actions), ['here expire 1']);
    assert.deepEqual(h.sim.lifecyclePolicy(REPO)?.lastEvaluatedAt, T0);
    assert.equal(h.sim.lifecyclePolicy(other)?.lastEvaluatedAt, undefined);
  });
});

describe('simulated ECR lifecycle policies: previews', () => {
  /** A repository and policy with expiries and transitions under three rules. */
  async function mixed(t: TestContext): Promise<{ h: Harness; text: string }> {
    const h = await harnessFor(t);
    for (let i = 0; i < 6; i++) h.push(`rc-${i}`, { tags: [`rc-${i}`], daysAgo: 60 - i });
    h.push('prod', { tags: ['prod-1'], daysAgo: 400, lastRecordedPullTime: daysAgo(200) });
    h.push('prod-pulled', { tags: ['prod-2'], daysAgo: 400, lastRecordedPullTime: daysAgo(2) });
    h.push('loose-1', { daysAgo: 30 });
    h.push('loose-2', { daysAgo: 1 });
    const text = policy(
      rule(1, patterns(['rc-*'], moreThan(2))),
      rule(2, patterns(['prod-*'], pulledDays(90)), ARCHIVE),
      rule(3, untagged(pushedDays(7))),
    );
    return { h, text };
  }

  async function completed(
    h: Harness,
    request: { maxResults?: number } = {},
  ): Promise<{ results: LifecyclePolicyPreviewResult[]; pages: GetLifecyclePolicyPreviewCommandOutput[] }> {
    const pages: GetLifecyclePolicyPreviewCommandOutput[] = [];
    let nextToken: string | undefined;
    do {
      const page = await h.ecr.send(
        new GetLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY, nextToken, ...request }),
      );
      assert.equal(page.status, 'COMPLETE');
      pages.push(page);
      nextToken = page.nextToken;
    } while (nextToken);
    return { results: pages.flatMap((page) => page.previewResults ?? []), pages };
  }

  it('runs IN_PROGRESS, then shows exactly what the run then does', async (t) => {
    const { h, text } = await mixed(t);
    const started = await h.ecr.send(
      new StartLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY, lifecyclePolicyText: text }),
    );
    assert.equal(started.status, 'IN_PROGRESS');
    assert.equal(started.lifecyclePolicyText, JSON.stringify(JSON.parse(text)));
    const again = await failureOf(
      h.ecr.send(
        new StartLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY, lifecyclePolicyText: text }),
      ),
    );
    assert.ok(again instanceof LifecyclePolicyPreviewInProgressException);

    const first = await h.ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY }));
    assert.equal(first.status, 'IN_PROGRESS');
    assert.equal(first.previewResults, undefined);

    const { results, pages } = await completed(h, { maxResults: 2 });
    assert.equal(pages.length, 3, 'six results, two per page');
    assert.deepEqual(pages[0]?.summary, {
      expiringImageTotalCount: 5,
      transitioningImageTotalCounts: [{ targetStorageClass: 'ARCHIVE', imageTotalCount: 1 }],
    });
    assert.deepEqual(results[0], {
      imageTags: ['rc-0'],
      imageDigest: h.digest('rc-0'),
      imagePushedAt: daysAgo(60),
      action: { type: 'EXPIRE' },
      appliedRulePriority: 1,
      storageClass: 'STANDARD',
    });
    assert.deepEqual(results.find((r) => r.imageDigest === h.digest('prod'))?.action, {
      type: 'TRANSITION',
      targetStorageClass: 'ARCHIVE',
    });

    // A preview does not act; applying the same policy and running does what it showed.
    assert.equal(h.sim.image({ ...REPO, tag: 'rc-0' })?.imageStatus, 'ACTIVE');
    await h.put(text);
    const run = h.sim.runLifecyclePolicies();
    const shown = results.map((r) => ({
      digest: r.imageDigest ?? '',
      action: r.action?.type === 'TRANSITION' ? 'transition' : 'expire',
      rulePriority: r.appliedRulePriority ?? 0,
    }));
    assert.deepEqual(h.named(shown), h.named(run.actions));
    assert.deepEqual(h.named(run.actions), [
      'rc-0 expire 1',
      'rc-1 expire 1',
      'rc-2 expire 1',
      'rc-3 expire 1',
      'prod transition 2',
      'loose-1 expire 3',
    ]);
  });

  it("previews the repository's own policy when given none, and narrows results by image and tag status", async (t) => {
    const { h, text } = await mixed(t);
    h.sim.setLifecyclePreviewPolls(0);
    await h.put(text);
    const started = await h.ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY }));
    assert.equal(started.status, 'COMPLETE');

    const byId = await h.ecr.send(
      new GetLifecyclePolicyPreviewCommand({
        repositoryName: REPOSITORY,
        imageIds: [{ imageTag: 'prod-1' }, { imageDigest: h.digest('loose-1') }, { imageTag: 'rc-5' }],
      }),
    );
    assert.deepEqual(
      byId.previewResults?.map((r) => r.imageDigest),
      [h.digest('prod'), h.digest('loose-1')],
    );
    assert.equal(byId.summary?.expiringImageTotalCount, 5, 'the summary covers the whole preview');

    const untaggedOnly = await h.ecr.send(
      new GetLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY, filter: { tagStatus: 'UNTAGGED' } }),
    );
    assert.deepEqual(
      untaggedOnly.previewResults?.map((r) => r.imageDigest),
      [h.digest('loose-1')],
    );
  });

  it('answers the documented errors for previews', async (t) => {
    const h = await harnessFor(t);
    const none = await failureOf(
      h.ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY })),
    );
    assert.ok(none instanceof LifecyclePolicyPreviewNotFoundException);
    const noPolicy = await failureOf(
      h.ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY })),
    );
    assert.ok(noPolicy instanceof LifecyclePolicyNotFoundException);

    await h.ecr.send(
      new StartLifecyclePolicyPreviewCommand({
        repositoryName: REPOSITORY,
        lifecyclePolicyText: policy(rule(1, untagged(moreThan(1)))),
      }),
    );
    const rows: { name: string; input: Record<string, unknown>; field: string }[] = [
      { name: 'maxResults over 100', input: { maxResults: 101 }, field: 'maxResults' },
      {
        name: 'maxResults with imageIds',
        input: { maxResults: 5, imageIds: [{ imageTag: 'a' }] },
        field: 'maxResults',
      },
      { name: 'a token from elsewhere', input: { nextToken: 'bm9wZQ' }, field: 'nextToken' },
      { name: 'an unknown tag status', input: { filter: { tagStatus: 'SOME' } }, field: 'filter.tagStatus' },
    ];
    // The first call completes the preview (one poll in progress); the rows then meet a finished one.
    await h.ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY }));
    for (const row of rows) {
      const error = await failureOf(
        h.ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY, ...row.input })),
      );
      assert.ok(error instanceof InvalidParameterException, row.name);
      assert.match(error.message, new RegExp(`^Invalid parameter at '${row.field}'`), row.name);
    }
  });
});

describe('simulated ECR lifecycle policies: listings while images go', () => {
  it('carries a DescribeImages listing on past images a run expired between its pages', async (t) => {
    const h = await harnessFor(t);
    const names = ['gone-0', 'keep-1', 'gone-2', 'keep-3', 'keep-4'];
    names.forEach((name, i) => h.push(name, { tags: [name], daysAgo: 50 - i }));
    const first = await h.ecr.send(new DescribeImagesCommand({ repositoryName: REPOSITORY, maxResults: 2 }));
    assert.deepEqual(
      first.imageDetails?.map((d) => d.imageTags?.[0]),
      ['gone-0', 'keep-1'],
    );

    await h.put(policy(rule(1, prefixes(['gone-'], pushedDays(1)))));
    assert.deepEqual(h.named(h.sim.runLifecyclePolicies().actions), ['gone-0 expire 1', 'gone-2 expire 1']);

    const rest = await h.ecr.send(
      new DescribeImagesCommand({ repositoryName: REPOSITORY, maxResults: 2, nextToken: first.nextToken }),
    );
    assert.deepEqual(
      rest.imageDetails?.map((d) => d.imageTags?.[0]),
      ['keep-3', 'keep-4'],
    );
    assert.equal(rest.nextToken, undefined);
  });

  it('carries a listing on when the very image its next page starts at is deleted', async (t) => {
    const h = await harnessFor(t);
    for (let i = 0; i < 4; i++) h.push(`i${i}`, { tags: [`i${i}`], daysAgo: 10 - i });
    const first = await h.ecr.send(new DescribeImagesCommand({ repositoryName: REPOSITORY, maxResults: 2 }));
    h.sim.deleteImage({ ...REPO, tag: 'i2' });
    h.push('i4', { tags: ['i4'], daysAgo: 0 });
    const rest = await h.ecr.send(
      new DescribeImagesCommand({ repositoryName: REPOSITORY, maxResults: 5, nextToken: first.nextToken }),
    );
    assert.deepEqual(
      rest.imageDetails?.map((d) => d.imageTags?.[0]),
      ['i3', 'i4'],
    );
  });
});

describe('simulated ECR lifecycle policies: image indexes', () => {
  /** A BuildKit push: an OCI index tagged v1 over two platform images and their two attestations. */
  function pushIndex(h: Harness, daysOld: number): { index: string; children: readonly string[] } {
    const view = h.sim.pushImage(REPO, {
      tags: ['v1'],
      pushedAt: daysAgo(daysOld),
      index: { platforms: [{ platform: 'linux/amd64' }, { platform: 'linux/arm64' }], attestations: true },
    });
    assert.equal(view.kind, 'index');
    assert.equal(view.children.length, 4);
    return { index: view.digest, children: view.children };
  }

  it("keeps an index's platform images and attestations while the index stands, and expires them after it", async (t) => {
    const h = await harnessFor(t);
    const { index, children } = pushIndex(h, 30);
    h.push('loose', { daysAgo: 30 });
    await h.put(policy(rule(1, prefixes(['v'], pushedDays(60))), rule(2, untagged(pushedDays(7)))));

    const first = h.sim.runLifecyclePolicies();
    assert.deepEqual(h.named(first.actions), ['loose expire 2']);
    assert.deepEqual(first.heldByManifestList.map((a) => a.digest).sort(), [...children].sort());
    const listed = await h.ecr.send(new DescribeImagesCommand({ repositoryName: REPOSITORY }));
    assert.equal(listed.imageDetails?.length, 5, 'the index and all four of its manifests stay');

    // Thirty-one days on the index itself expires; its manifests wait for the run after.
    h.clock.now = new Date(T0.getTime() + 31 * DAY_MS);
    const second = h.sim.runLifecyclePolicies();
    assert.deepEqual(
      second.actions.map((a) => [a.digest, a.action, a.rulePriority]),
      [[index, 'expire', 1]],
    );
    assert.equal(second.heldByManifestList.length, 4);

    h.clock.now = new Date(T0.getTime() + 32 * DAY_MS);
    const third = h.sim.runLifecyclePolicies();
    assert.deepEqual(third.actions.map((a) => a.digest).sort(), [...children].sort());
    assert.ok(third.actions.every((a) => a.action === 'expire' && a.rulePriority === 2));
    const left = await h.ecr.send(
      new DescribeImagesCommand({ repositoryName: REPOSITORY, filter: { imageStatus: 'ANY' } }),
    );
    assert.deepEqual(left.imageDetails, []);
  });

  it('lets a rule act on the platform images once their index is archived', async (t) => {
    const h = await harnessFor(t);
    const { index, children } = pushIndex(h, 120);
    await h.put(
      policy(rule(1, prefixes(['v'], pulledDays(90)), ARCHIVE), rule(2, untagged(pulledDays(90)), ARCHIVE)),
    );
    const first = h.sim.runLifecyclePolicies();
    assert.deepEqual(
      first.actions.map((a) => [a.digest, a.action]),
      [[index, 'transition']],
    );
    assert.equal(h.sim.image({ ...REPO, digest: index })?.imageStatus, 'ARCHIVED');

    const second = h.sim.runLifecyclePolicies();
    assert.deepEqual(second.actions.map((a) => a.digest).sort(), [...children].sort());
    assert.deepEqual(second.heldByManifestList, []);
  });

  it('previews what the run does, leaving out the images an index holds', async (t) => {
    const h = await harnessFor(t);
    pushIndex(h, 30);
    h.push('loose', { daysAgo: 30 });
    h.sim.setLifecyclePreviewPolls(0);
    await h.ecr.send(
      new StartLifecyclePolicyPreviewCommand({
        repositoryName: REPOSITORY,
        lifecyclePolicyText: policy(rule(1, untagged(pushedDays(7)))),
      }),
    );
    const preview = await h.ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: REPOSITORY }));
    assert.deepEqual(
      preview.previewResults?.map((r) => r.imageDigest),
      [h.digest('loose')],
    );
  });
});

describe('lifecycle evaluation of image indexes', () => {
  const at = (days: number, rest: Partial<LifecycleImage> & { digest: string }): LifecycleImage => ({
    tags: [],
    pushedAt: daysAgo(days),
    imageStatus: 'ACTIVE',
    ...rest,
  });
  const index = at(100, { digest: 'index', tags: ['v1'], imageStatus: 'ACTIVE' });
  const amd64 = at(100, { digest: 'amd64', manifestLists: ['index'] });
  const arm64 = at(100, { digest: 'arm64', manifestLists: ['index'] });
  const loose = at(100, { digest: 'loose' });
  const untaggedAfter30 = parseLifecyclePolicy(policy(rule(1, untagged(pushedDays(30)))));
  const summary = (images: LifecycleImage[], text = untaggedAfter30) => {
    const { decisions, heldByManifestList } = evaluateLifecyclePolicy(text, images, T0);
    return {
      acted: decisions.map((d) => `${d.digest} ${d.action} ${d.rulePriority}`),
      held: heldByManifestList.map((d) => d.digest),
    };
  };

  it("holds an index's platform images while the index is stored and not archived", () => {
    assert.deepEqual(summary([index, amd64, arm64, loose]), {
      acted: ['loose expire 1'],
      held: ['amd64', 'arm64'],
    });
  });

  it('lets them go once the index is gone or archived', () => {
    assert.deepEqual(summary([amd64, arm64]).acted, ['amd64 expire 1', 'arm64 expire 1']);
    const archived = { ...index, imageStatus: 'ARCHIVED' as const, lastArchivedAt: daysAgo(1) };
    assert.deepEqual(summary([archived, amd64]).acted, ['amd64 expire 1']);
  });

  it('holds them through the run that expires their index: they go at the next run', () => {
    const all = parseLifecyclePolicy(policy(rule(1, anyImage(pushedDays(30)))));
    assert.deepEqual(summary([index, amd64, arm64], all), {
      acted: ['index expire 1'],
      held: ['amd64', 'arm64'],
    });
  });

  it('keeps a held image claimed by its rule, so a lower-priority rule cannot take it instead', () => {
    const two = parseLifecyclePolicy(
      policy(rule(1, untagged(pushedDays(30))), rule(2, anyImage(pushedDays(60)), ARCHIVE)),
    );
    assert.deepEqual(summary([index, amd64], two), { acted: ['index transition 2'], held: ['amd64'] });
  });
});

describe('lifecycle tag patterns', () => {
  const cases: [pattern: string, tag: string, matches: boolean][] = [
    ['prod*', 'prod', true],
    ['prod*', 'prod1', true],
    ['prod*', 'production-team1', true],
    ['prod*', 'preprod', false],
    ['*prod*', 'repo-production', true],
    ['*prod*', 'prod-team', true],
    ['*prod', 'preprod', true],
    ['latest', 'latest', true],
    ['latest', 'latest-1', false],
    ['*test*1*2*3', 'my-test-1-2-3', true],
    ['*test*1*2*3', 'my-test-1-2-3-4', false],
    ['v*.*.*', 'v1.2.3', true],
    ['v*.*.*', 'v1.2', false],
    ['a*a*a*a*b', 'a'.repeat(300), false],
    ['*', 'anything', true],
    ['', 'x', false],
  ];
  for (const [pattern, tag, matches] of cases) {
    it(`${matches ? 'matches' : 'does not match'} ${JSON.stringify(tag)} with ${JSON.stringify(pattern)}`, () => {
      assert.equal(matchesTagPattern(pattern, tag), matches);
    });
  }
});
