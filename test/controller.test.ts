import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Controller } from '../src/controller.ts';
import type { SimScan } from '../src/sim/ecr/index.ts';
import {
  ACCOUNT,
  DAY,
  ecrImage,
  ecrRef,
  eventually,
  get,
  inventoryRows,
  NOW,
  REGION,
  samples,
  scrape,
  startWarden,
  startWorld,
  truth,
  value,
  type World,
} from './helpers/world.ts';

const scanned = (findings: Record<string, number> = {}): SimScan => ({
  kind: 'native-basic',
  status: 'COMPLETE',
  findings,
});

/** Labels of a tag-level image series, as SPEC section 8 orders them. */
const image = (repository: string, tag: string, digest: string) =>
  `{registry_id="${ACCOUNT}",region="${REGION}",repository="${repository}",tag="${tag}",digest="${digest}"}`;
/** Labels of a digest-level series (no tag), plus any extra labels. */
const digestOf = (repository: string, digest: string, extra = '') =>
  `{registry_id="${ACCOUNT}",region="${REGION}",repository="${repository}",digest="${digest}"${extra}}`;

describe('the live inventory in /metrics', () => {
  let world: World;
  let warden: Controller;
  let d: Record<'v6' | 'v7' | 'v8' | 'old' | 'w1', string>;

  before(async () => {
    world = await startWorld({
      repositories: [
        {
          name: 'api',
          images: [
            ecrImage(['v6'], { scan: scanned() }),
            ecrImage(['v7'], { scan: scanned({ CRITICAL: 3, HIGH: 1 }) }),
            ecrImage(['v8'], { scan: scanned() }),
            ecrImage(['old'], { imageStatus: 'ARCHIVED', scan: scanned() }),
          ],
        },
        {
          name: 'worker',
          // Nobody has pulled it for 200 days: past the default staleAfter of 90 days.
          images: [ecrImage(['w1'], { lastRecordedPullTime: new Date(NOW - 200 * DAY), scan: scanned() })],
        },
      ],
    });
    d = {
      v6: world.digest('api', 'v6'),
      v7: world.digest('api', 'v7'),
      v8: world.digest('api', 'v8'),
      old: world.digest('api', 'old'),
      w1: world.digest('worker', 'w1'),
    };
    const v7 = ecrRef('api', 'v7');
    world.kube.bulkLoad([
      // One container of each kind on one image: all three are counted.
      world.pod('shop', 'api-0', { api: v7 }, { init: { migrate: v7 }, ephemeral: { debug: v7 } }),
      // Still runs the digest v7 named before it moved to its current one: drift.
      world.pod('shop', 'api-1', { api: v7 }, { running: { api: d.v6 } }),
      world.pod('shop', 'worker-0', { worker: ecrRef('worker', 'w1') }),
      world.pod('batch', 'report-0', { report: ecrRef('api', 'old') }),
      world.pod('shop', 'ghost-0', { app: ecrRef('api', 'missing') }),
      world.pod('shop', 'bad-0', { app: 'Not A Valid//Reference' }),
      world.pod('shop', 'proxy-0', { proxy: 'docker.io/envoyproxy/envoy:v1.31.0' }),
    ]);
    warden = await startWarden(world);
    await warden.whenInventorySynced();
    await warden.inventory!.settled();
  });

  after(async () => {
    await warden?.stop();
    await world?.close();
  });

  it('exports every resolved image once, whatever number of containers and pods use it', async () => {
    const text = await scrape(warden);
    assert.deepEqual(
      samples(text, 'ecr_warden_image_info'),
      [
        `ecr_warden_image_info${image('api', 'old', d.old)} 1`,
        `ecr_warden_image_info${image('api', 'v7', d.v7)} 1`,
        `ecr_warden_image_info${image('worker', 'w1', d.w1)} 1`,
      ].sort(),
    );
    assert.deepEqual(
      samples(text, 'ecr_warden_image_containers'),
      [
        `ecr_warden_image_containers${image('api', 'old', d.old)} 1`,
        `ecr_warden_image_containers${image('api', 'v7', d.v7)} 4`,
        `ecr_warden_image_containers${image('worker', 'w1', d.w1)} 1`,
      ].sort(),
    );
    assert.deepEqual(
      samples(text, 'ecr_warden_image_drifted_containers'),
      [
        `ecr_warden_image_drifted_containers${image('api', 'old', d.old)} 0`,
        `ecr_warden_image_drifted_containers${image('api', 'v7', d.v7)} 1`,
        `ecr_warden_image_drifted_containers${image('worker', 'w1', d.w1)} 0`,
      ].sort(),
    );
    assert.equal(value(text, 'ecr_warden_pods_tracked'), 7);
    // v7, w1, old, missing, the invalid reference and envoy: six distinct references.
    assert.equal(value(text, 'ecr_warden_images_tracked'), 6);
    assert.equal(value(text, 'ecr_warden_leader'), 1);
  });

  it('exports scan findings per severity, image status and staleness per digest', async () => {
    const text = await scrape(warden);
    assert.deepEqual(
      samples(text, 'ecr_warden_image_scan_findings').filter((l) => l.includes(d.v7)),
      [
        ['CRITICAL', 3],
        ['HIGH', 1],
        ['MEDIUM', 0],
        ['LOW', 0],
        ['INFORMATIONAL', 0],
        ['UNDEFINED', 0],
      ]
        .map(([sev, n]) => `ecr_warden_image_scan_findings${digestOf('api', d.v7, `,severity="${sev}"`)} ${n}`)
        .sort(),
    );
    assert.deepEqual(
      samples(text, 'ecr_warden_image_status'),
      [
        `ecr_warden_image_status${digestOf('api', d.old, ',status="ARCHIVED"')} 1`,
        `ecr_warden_image_status${digestOf('api', d.v7, ',status="ACTIVE"')} 1`,
        `ecr_warden_image_status${digestOf('worker', d.w1, ',status="ACTIVE"')} 1`,
      ].sort(),
    );
    assert.deepEqual(
      samples(text, 'ecr_warden_image_stale'),
      [
        `ecr_warden_image_stale${digestOf('api', d.old)} 0`,
        `ecr_warden_image_stale${digestOf('api', d.v7)} 0`,
        `ecr_warden_image_stale${digestOf('worker', d.w1)} 1`,
      ].sort(),
    );
    assert.equal(
      value(text, `ecr_warden_image_last_recorded_pull_timestamp_seconds${digestOf('worker', d.w1)}`),
      (NOW - 200 * DAY) / 1000,
    );
  });

  it('counts unresolved images by reason, with empty labels for a reference that does not parse', async () => {
    const text = await scrape(warden);
    assert.deepEqual(
      samples(text, 'ecr_warden_image_unresolved'),
      [
        `ecr_warden_image_unresolved{registry_id="${ACCOUNT}",region="${REGION}",repository="api",reason="not_found"} 1`,
        'ecr_warden_image_unresolved{registry_id="",region="",repository="",reason="invalid_reference"} 1',
      ].sort(),
    );
  });

  it('counts the containers failing each policy check by namespace', async () => {
    const text = await scrape(warden);
    assert.deepEqual(
      samples(text, 'ecr_warden_policy_violations'),
      [
        'ecr_warden_policy_violations{namespace="batch",check="archived",action="deny"} 1',
        // The missing tag and the reference that does not parse.
        'ecr_warden_policy_violations{namespace="shop",check="imageExists",action="deny"} 2',
        'ecr_warden_policy_violations{namespace="shop",check="severity",action="deny"} 4',
      ].sort(),
    );
  });

  it('follows pods as they change image and go away, dropping series with the last user', async () => {
    world.kube.upsertPod(world.pod('shop', 'api-1', { api: ecrRef('api', 'v8') }));
    world.kube.deletePod('shop', 'worker-0');
    await eventually(async () => {
      const text = await scrape(warden);
      assert.deepEqual(
        samples(text, 'ecr_warden_image_containers'),
        [
          `ecr_warden_image_containers${image('api', 'old', d.old)} 1`,
          `ecr_warden_image_containers${image('api', 'v7', d.v7)} 3`,
          `ecr_warden_image_containers${image('api', 'v8', d.v8)} 1`,
        ].sort(),
      );
      assert.equal(value(text, `ecr_warden_image_drifted_containers${image('api', 'v7', d.v7)}`), 0);
      assert.equal(value(text, `ecr_warden_image_drifted_containers${image('api', 'v8', d.v8)}`), 0);
      assert.equal(
        value(text, 'ecr_warden_policy_violations{namespace="shop",check="severity",action="deny"}'),
        3,
      );
      // Every series of the worker image went with its only pod, the digest-level ones included.
      assert.ok(!text.includes('repository="worker"'), 'worker series left behind');
      assert.equal(value(text, 'ecr_warden_pods_tracked'), 6);
      assert.equal(value(text, 'ecr_warden_images_tracked'), 6);
    });

    for (const name of ['api-0', 'api-1', 'ghost-0', 'bad-0', 'proxy-0']) world.kube.deletePod('shop', name);
    world.kube.deletePod('batch', 'report-0');
    await eventually(async () => {
      const text = await scrape(warden);
      for (const family of [
        'ecr_warden_image_info',
        'ecr_warden_image_containers',
        'ecr_warden_image_drifted_containers',
        'ecr_warden_image_scan_status',
        'ecr_warden_image_scan_findings',
        'ecr_warden_image_status',
        'ecr_warden_image_stale',
        'ecr_warden_image_unresolved',
        'ecr_warden_policy_violations',
      ])
        assert.deepEqual(samples(text, family), [], `${family} still has series`);
      assert.equal(value(text, 'ecr_warden_pods_tracked'), 0);
      assert.equal(value(text, 'ecr_warden_images_tracked'), 0);
      // The families themselves stay declared, so dashboards see zero series rather than no metric.
      assert.match(text, /^# TYPE ecr_warden_image_info gauge$/m);
    });
    assert.deepEqual(inventoryRows(warden), truth(world.kube));
  });
});

describe('/readyz', () => {
  let world: World;
  let warden: Controller | undefined;
  before(async () => {
    world = await startWorld({ repositories: [{ name: 'api', images: [ecrImage(['v7'])] }] });
    world.kube.upsertPod(world.pod('shop', 'api-0', { api: ecrRef('api', 'v7') }));
  });
  after(async () => {
    await warden?.stop();
    await world?.close();
  });

  it('answers 503 until the first pod list is in, then 200', async () => {
    // The pod list fails until the faults are cleared: the controller cannot have its first list.
    world.kube.failNext(1_000_000, { match: { verb: 'list', resource: 'pods' } });
    warden = await startWarden(world);
    await world.kube.nextRequest({ verb: 'list', resource: 'pods' });
    assert.deepEqual(await get(warden, '/readyz'), {
      status: 503,
      body: 'not ready: first pod list not in yet\n',
    });
    assert.deepEqual(await get(warden, '/healthz'), { status: 200, body: 'ok\n' });
    assert.equal(value(await scrape(warden), 'ecr_warden_pods_tracked'), 0);

    world.kube.clearFaults();
    await warden.whenInventorySynced();
    assert.deepEqual(await get(warden, '/readyz'), { status: 200, body: 'ok\n' });
    assert.equal(value(await scrape(warden), 'ecr_warden_pods_tracked'), 1);
    assert.ok((value(await scrape(warden), 'ecr_warden_watch_restarts_total{reason="list_error"}') ?? 0) >= 1);
  });
});

describe('pod status updates', () => {
  let world: World;
  let warden: Controller;
  before(async () => {
    world = await startWorld({ repositories: [{ name: 'api', images: [ecrImage(['v7'], { scan: scanned() })] }] });
    // No caching: any lookup the inventory makes reaches the ECR simulator and shows in its counts.
    warden = await startWarden(world, { ecr: { tagTTL: '0s', detailTTL: '0s', negativeTTL: '0s' } });
    await warden.whenInventorySynced();
  });
  after(async () => {
    await warden?.stop();
    await world?.close();
  });

  it('keep the image and its series when a pod starts running, without asking ECR again', async () => {
    const v7 = ecrRef('api', 'v7');
    const digest = world.digest('api', 'v7');
    world.kube.upsertPod(world.pod('shop', 'api-0', { api: v7 }, { pending: true }));
    await eventually(async () => {
      assert.deepEqual(inventoryRows(warden), [`shop/api-0 regular api ${v7} null`]);
      assert.equal(value(await scrape(warden), `ecr_warden_image_containers${image('api', 'v7', digest)}`), 1);
    });
    await warden.inventory!.settled();
    const asked = world.ecr.requests().total;

    // The kubelet reports the container started: only the status changes, with the digest it runs.
    world.kube.upsertPod(world.pod('shop', 'api-0', { api: v7 }));
    await eventually(() => assert.deepEqual(inventoryRows(warden), [`shop/api-0 regular api ${v7} ${digest}`]));
    await warden.inventory!.settled();
    assert.equal(world.ecr.requests().total, asked, 'the image was looked up again');
    const text = await scrape(warden);
    assert.equal(value(text, `ecr_warden_image_info${image('api', 'v7', digest)}`), 1);
    assert.equal(value(text, `ecr_warden_image_drifted_containers${image('api', 'v7', digest)}`), 0);
  });
});
