/**
 * The lifecycle forecast end to end (SPEC section 10): GetLifecyclePolicy through the real SDK, the
 * forecast in metrics, JSON and tables, lifecycleRisk at admission and in the inventory, keep-alive
 * against the ECR simulator's own policy run, and an unreadable policy shown as unknown, never safe.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderAssessments } from '../src/commands/check.ts';
import { assessmentToJson } from '../src/output/json.ts';
import type { SimRepository } from '../sim/ecr/index.ts';
import { ACCOUNT, DAY, ecrFixture, HOST, image, NOW, REGION, scanned } from './helpers/ecr.ts';
import { reviewOf, startWebhookFixture } from './helpers/reviews.ts';
import { ecrRef, samples, scrape, startWarden, startWorld } from './helpers/world.ts';

/** Archive any image 90 days after its last pull. */
const PULL_POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'archive images not pulled in 90 days',
      selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 },
      action: { type: 'transition', targetStorageClass: 'archive' },
    },
  ],
});

/** `app` with two images last pulled `pulledDaysAgo` days before `now`, under PULL_POLICY. */
function repository(pulledDaysAgo: number, now = NOW): SimRepository {
  const pulled = new Date(now - pulledDaysAgo * DAY);
  return {
    name: 'app',
    lifecyclePolicy: { text: PULL_POLICY, lastEvaluatedAt: new Date(now - 3_600_000) },
    images: [
      {
        tags: ['used'],
        pushedAt: new Date(now - 200 * DAY),
        lastRecordedPullTime: pulled,
        scan: scanned({}),
      },
      {
        tags: ['idle'],
        pushedAt: new Date(now - 200 * DAY),
        lastRecordedPullTime: pulled,
        scan: scanned({}),
      },
    ],
  };
}

describe('lifecycleRisk at admission', () => {
  for (const [pulledDaysAgo, warned] of [
    [80, true], // archive due in 10 days: within the default 14d
    [70, false], // due in 20 days: beyond it
  ] as const) {
    it(`${warned ? 'warns' : 'does not warn'} for an image the policy archives in ${90 - pulledDaysAgo} days`, async () => {
      // The webhook runs on the real clock, as in a cluster.
      const scenario = {
        registries: [
          { accountId: ACCOUNT, region: REGION, repositories: [repository(pulledDaysAgo, Date.now())] },
        ],
      };
      const f = await startWebhookFixture({ scenario, settings: { policy: { mode: 'enforce' } } });
      try {
        const { response } = await f.client.review('/validate', reviewOf('Pod', [image('app', 'used')]));
        assert.equal(response.allowed, true);
        if (warned) {
          assert.equal(response.warnings?.length, 1);
          assert.match(
            response.warnings![0]!,
            /^container "c0" image \S+\/app:used: lifecycle policy will archive it in (9|10)d \(rule 1: archive images not pulled in 90 days\)$/,
          );
        } else {
          assert.equal(response.warnings, undefined);
        }
      } finally {
        await f.close();
      }
    });
  }
});

describe('the forecast in the inventory', () => {
  it('exports when the policy acts, and counts the images due within lifecycleRisk.within', async () => {
    const world = await startWorld({ repositories: [repository(80)] });
    const warden = await startWarden(world);
    try {
      world.kube.upsertPod(world.pod('shop', 'app-0', { app: ecrRef('app', 'used') }));
      await warden.whenInventorySynced();
      await warden.inventory!.settled();
      const text = await scrape(warden);
      const digest = world.digest('app', 'used');
      const at = (NOW - 80 * DAY + 90 * DAY) / 1000;
      assert.deepEqual(samples(text, 'ecr_warden_image_lifecycle_action_timestamp_seconds'), [
        `ecr_warden_image_lifecycle_action_timestamp_seconds{registry_id="${ACCOUNT}",region="${REGION}",repository="app",digest="${digest}",action="archive",rule_priority="1"} ${at}`,
      ]);
      assert.deepEqual(samples(text, 'ecr_warden_policy_violations'), [
        'ecr_warden_policy_violations{namespace="shop",check="lifecycleRisk",action="warn"} 1',
      ]);
      const [finding] = [...warden.inventory!.podFindings()];
      assert.equal(finding?.findings[0]?.reason, 'ImageLifecycleRisk');
    } finally {
      await warden.stop();
      await world.close();
    }
  });

  for (const fault of ['access denied', 'throttled'] as const) {
    it(`leaves a repository's forecast unknown when GetLifecyclePolicy is ${fault}, never safe`, async () => {
      const world = await startWorld({ repositories: [repository(80)] });
      if (fault === 'access denied') {
        world.ecr.failNext(1_000, {
          operation: 'GetLifecyclePolicy',
          status: 400,
          type: 'AccessDeniedException',
        });
      } else {
        world.ecr.throttleNext(1_000, { operation: 'GetLifecyclePolicy' });
      }
      const warden = await startWarden(world, { ecr: { maxAttempts: 1 } });
      try {
        world.kube.upsertPod(world.pod('shop', 'app-0', { app: ecrRef('app', 'used') }));
        await warden.whenInventorySynced();
        await warden.inventory!.settled();
        const text = await scrape(warden);
        assert.deepEqual(samples(text, 'ecr_warden_image_lifecycle_action_timestamp_seconds'), []);
        const reason = fault === 'access denied' ? 'access_denied' : 'throttled';
        assert.match(
          text,
          new RegExp(
            `ecr_warden_ecr_requests_total\\{operation="GetLifecyclePolicy",region="${REGION}",outcome="${reason}"\\} [1-9]`,
          ),
        );
        // The check could not tell: policy.onError decides, and says why.
        const [row] = warden.inventory!.containers();
        assert.deepEqual(row?.assessment.lifecycle, {
          unknown: `${fault === 'access denied' ? 'access to ECR denied' : 'ECR throttled the request'} reading the lifecycle policy`,
        });
        assert.deepEqual(samples(text, 'ecr_warden_policy_violations'), [
          'ecr_warden_policy_violations{namespace="shop",check="lifecycleRisk",action="warn"} 1',
        ]);
      } finally {
        await warden.stop();
        await world.close();
      }
    });
  }
});

describe('keep-alive', () => {
  for (const keepAlive of [true, false]) {
    it(`${keepAlive ? 'keeps an image in use recorded as used, while one not in use is archived' : 'reads no manifest when off'}`, async () => {
      const clock = { now: NOW };
      const world = await startWorld({ repositories: [repository(85)], clock });
      const warden = await startWarden(world, { lifecycle: { keepAlive } }, { now: () => clock.now });
      try {
        world.kube.upsertPod(world.pod('shop', 'app-0', { app: ecrRef('app', 'used') }));
        await warden.whenInventorySynced();
        await warden.inventory!.settled();
        world.ecr.resetCounts();
        await warden.inventory!.refreshLifecycle();
        const reads = world.ecr.calls().filter((c) => c.operation === 'BatchGetImage');
        assert.equal(reads.length, keepAlive ? 1 : 0);
        if (keepAlive) {
          assert.deepEqual((reads[0]!.body as { imageIds: unknown[] }).imageIds, [
            { imageDigest: world.digest('app', 'used') },
          ]);
          assert.match(
            await scrape(warden),
            /ecr_warden_lifecycle_keepalive_pulls_total\{outcome="success"\} 1/,
          );
          // Once a day at most: a second pass reads nothing.
          await warden.inventory!.refreshLifecycle();
          assert.equal(world.ecr.calls().filter((c) => c.operation === 'BatchGetImage').length, 1);
        }
        // Six days on, ECR runs the policy: 91 days since the idle image's last pull.
        clock.now = NOW + 6 * DAY;
        const run = world.ecr.runLifecyclePolicies({
          registryId: ACCOUNT,
          region: REGION,
          repository: 'app',
        });
        assert.deepEqual(
          run.actions.map((a) => a.tags.join(',')).sort(),
          keepAlive ? ['idle'] : ['idle', 'used'],
        );
      } finally {
        await warden.stop();
        await world.close();
      }
    });
  }
});

describe('check and report show the forecast', () => {
  it('as lifecycle in JSON and a LIFECYCLE column', async () => {
    const f = await ecrFixture({
      registries: [{ accountId: ACCOUNT, region: REGION, repositories: [repository(81)] }],
    });
    try {
      const assessment = await f.core.assessor.assess(`${HOST}/app:used`, {
        allFacts: true,
        alwaysResolve: true,
      });
      assert.deepEqual(assessmentToJson(assessment).lifecycle, {
        action: 'archive',
        rulePriority: 1,
        at: new Date(NOW + 9 * DAY).toISOString().replace('.000Z', 'Z'),
        rule: 'archive images not pulled in 90 days',
      });
      const table = renderAssessments([assessment], undefined, undefined, 'image', NOW);
      assert.match(table, /^IMAGE\s.*\sLIFECYCLE\s+VERDICT$/m);
      assert.match(table, /\sarchive in 9d \(rule 1\)\s+allow$/m);
    } finally {
      await f.close();
    }
  });
});
