import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Controller } from '../src/commands/serve.ts';
import { Inventory } from '../src/inventory/inventory.ts';
import type { SimScan } from '../sim/ecr/index.ts';
import {
  ACCOUNT,
  DAY,
  ecrImage,
  ecrRef,
  eventually,
  get,
  HOST,
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
        .map(
          ([sev, n]) => `ecr_warden_image_scan_findings${digestOf('api', d.v7, `,severity="${sev}"`)} ${n}`,
        )
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

describe('finished pods', () => {
  let world: World;
  let warden: Controller;
  let d: Record<'v6' | 'v7', string>;
  before(async () => {
    world = await startWorld({
      repositories: [
        {
          name: 'api',
          images: [
            ecrImage(['v6'], { scan: scanned() }),
            ecrImage(['v7'], { scan: scanned({ CRITICAL: 3, HIGH: 1 }) }),
          ],
        },
      ],
    });
    d = { v6: world.digest('api', 'v6'), v7: world.digest('api', 'v7') };
    warden = await startWarden(world);
    await warden.whenInventorySynced();
  });
  after(async () => {
    await warden?.stop();
    await world?.close();
  });

  /** The per-image, violation and pod figures of /metrics, exactly. */
  const figures = async () => {
    const text = await scrape(warden);
    return [
      'ecr_warden_image_info',
      'ecr_warden_image_containers',
      'ecr_warden_image_drifted_containers',
      'ecr_warden_policy_violations',
      'ecr_warden_pods_tracked',
    ]
      .flatMap((family) => samples(text, family))
      .sort();
  };

  it('count nowhere, while a running pod with the same drifted image does; a pod that finishes stops counting', async () => {
    const v7 = ecrRef('api', 'v7');
    // Each still reports the digest v7 named before it moved: a drifted image with 3 CRITICAL findings.
    const drifted = { running: { job: d.v6 } };
    world.kube.upsertPod(world.pod('shop', 'job-done', { job: v7 }, { ...drifted, phase: 'Succeeded' }));
    world.kube.upsertPod(world.pod('shop', 'job-failed', { job: v7 }, { ...drifted, phase: 'Failed' }));
    world.kube.upsertPod(world.pod('shop', 'job-running', { job: v7 }, drifted));
    await eventually(async () =>
      assert.deepEqual(
        await figures(),
        [
          `ecr_warden_image_containers${image('api', 'v7', d.v7)} 1`,
          `ecr_warden_image_drifted_containers${image('api', 'v7', d.v7)} 1`,
          `ecr_warden_image_info${image('api', 'v7', d.v7)} 1`,
          'ecr_warden_policy_violations{namespace="shop",check="severity",action="deny"} 1',
          'ecr_warden_pods_tracked 1',
        ].sort(),
      ),
    );
    // report reads the same inventory: the finished pods are left out of it too.
    assert.deepEqual(inventoryRows(warden), [`shop/job-running regular job ${v7} ${d.v6}`]);

    // The running one completes (Running → Succeeded): nothing of the image is counted any more.
    world.kube.upsertPod(world.pod('shop', 'job-running', { job: v7 }, { ...drifted, phase: 'Succeeded' }));
    await eventually(async () => assert.deepEqual(await figures(), ['ecr_warden_pods_tracked 0']));
    assert.deepEqual(inventoryRows(warden), []);
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
    assert.ok(
      (value(await scrape(warden), 'ecr_warden_watch_restarts_total{reason="list_error"}') ?? 0) >= 1,
    );
  });
});

describe('pod status updates', () => {
  let world: World;
  let warden: Controller;
  before(async () => {
    world = await startWorld({
      repositories: [{ name: 'api', images: [ecrImage(['v7'], { scan: scanned() })] }],
    });
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
      assert.equal(
        value(await scrape(warden), `ecr_warden_image_containers${image('api', 'v7', digest)}`),
        1,
      );
    });
    await warden.inventory!.settled();
    const asked = world.ecr.requests().total;

    // The kubelet reports the container started: only the status changes, with the digest it runs.
    world.kube.upsertPod(world.pod('shop', 'api-0', { api: v7 }));
    await eventually(() =>
      assert.deepEqual(inventoryRows(warden), [`shop/api-0 regular api ${v7} ${digest}`]),
    );
    await warden.inventory!.settled();
    assert.equal(world.ecr.requests().total, asked, 'the image was looked up again');
    const text = await scrape(warden);
    assert.equal(value(text, `ecr_warden_image_info${image('api', 'v7', digest)}`), 1);
    assert.equal(value(text, `ecr_warden_image_drifted_containers${image('api', 'v7', digest)}`), 0);
  });
});

describe('the pod watch under faults', () => {
  const TAGS = ['t0', 't1', 't2', 't3'];
  let world: World;
  let warden: Controller;
  let serial = 0;

  /** Restarts so far by reason, as /metrics counts them. */
  const restarts = async (): Promise<Record<string, number>> => {
    const text = await scrape(warden);
    const counts: Record<string, number> = {};
    for (const reason of ['closed', 'error', 'gone', 'idle', 'list_error', 'apply_error'])
      counts[reason] = value(text, `ecr_warden_watch_restarts_total{reason="${reason}"}`) ?? 0;
    return counts;
  };
  const since = async (start: Record<string, number>) => {
    const now = await restarts();
    return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (start[k] ?? 0)]));
  };
  const counted = (changes: Partial<Record<string, number>>) => ({
    closed: 0,
    error: 0,
    gone: 0,
    idle: 0,
    list_error: 0,
    apply_error: 0,
    ...changes,
  });

  /**
   * A pod added, and once there are a dozen, the oldest deleted and another moved to a different image:
   * the kind of changes a watch must not miss.
   */
  const churn = () => {
    const n = serial++;
    const tag = (k: number) => ecrRef('app', TAGS[k % TAGS.length]!);
    world.kube.upsertPod(
      world.pod('shop', `p-${n}`, { app: tag(n) }, n % 3 === 0 ? { init: { setup: tag(n + 1) } } : {}),
    );
    const live = world.kube
      .pods('shop')
      .map((p) => p.metadata.name!)
      .sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));
    if (live.length <= 12) return;
    world.kube.deletePod('shop', live[0]!);
    const moved = live[1 + (n % (live.length - 2))]!;
    world.kube.upsertPod(world.pod('shop', moved, { app: tag(n + 2) }));
  };

  /** The inventory and /metrics match the simulator's pods exactly: none missing, none extra or doubled. */
  const converged = () =>
    eventually(async () => {
      const expected = truth(world.kube);
      assert.deepEqual(inventoryRows(warden), expected);
      const text = await scrape(warden);
      assert.equal(value(text, 'ecr_warden_pods_tracked'), world.kube.podCount());
      const perTag = new Map<string, number>();
      for (const row of expected) {
        const tag = /:(t\d) /.exec(row)![1]!;
        perTag.set(tag, (perTag.get(tag) ?? 0) + 1);
      }
      assert.deepEqual(
        samples(text, 'ecr_warden_image_containers'),
        [...perTag]
          .map(([tag, n]) => `ecr_warden_image_containers${image('app', tag, world.digest('app', tag))} ${n}`)
          .sort(),
      );
    });

  before(async () => {
    world = await startWorld({
      repositories: [{ name: 'app', images: TAGS.map((t) => ecrImage([t], { scan: scanned() })) }],
      // Bookmarks well inside the 1 s watchdog, so only a stalled stream trips it.
      kube: { bookmarkIntervalMs: 200 },
    });
    for (let i = 0; i < 14; i++) churn();
    // A list page gets 500 ms: far more than the simulator needs for a dozen pods.
    warden = await startWarden(world, { kubernetes: { watchIdleTimeout: '1s' } }, { listPageTimeoutMs: 500 });
    await warden.whenInventorySynced();
    await converged();
  });
  after(async () => {
    await warden?.stop();
    await world?.close();
  });

  it('resumes a dropped stream from where it was, without a relist', async () => {
    const start = await restarts();
    const lists = world.kube.requestCount('list', 'pods');
    const reopened = world.kube.nextWatch({ resource: 'pods' });
    world.kube.dropWatches({ resource: 'pods' });
    churn();
    const watch = await reopened;
    churn();
    await converged();
    assert.notEqual(watch.resourceVersion, '');
    assert.equal(world.kube.requestCount('list', 'pods'), lists);
    assert.deepEqual(await since(start), counted({ error: 1 }));
  });

  it('resumes after a clean end of the stream (its timeout)', async () => {
    const start = await restarts();
    const lists = world.kube.requestCount('list', 'pods');
    const reopened = world.kube.nextWatch({ resource: 'pods' });
    world.kube.endWatches({ resource: 'pods' });
    churn();
    await reopened;
    await converged();
    assert.equal(world.kube.requestCount('list', 'pods'), lists);
    assert.deepEqual(await since(start), counted({ closed: 1 }));
  });

  it('restarts a stream that stalls past watchIdleTimeout and catches up', async () => {
    const start = await restarts();
    const reopened = world.kube.nextWatch({ resource: 'pods' });
    world.kube.stallWatches({ resource: 'pods' });
    churn();
    churn();
    await reopened;
    churn();
    await converged();
    assert.deepEqual(await since(start), counted({ idle: 1 }));
  });

  it('relists on 410 Gone after a compaction', async () => {
    const start = await restarts();
    const lists = world.kube.requestCount('list', 'pods');
    churn();
    world.kube.compact();
    const reopened = world.kube.nextWatch({ resource: 'pods' });
    world.kube.expireWatches({ resource: 'pods' });
    churn();
    await reopened;
    churn();
    await converged();
    assert.equal(world.kube.requestCount('list', 'pods'), lists + 1);
    assert.deepEqual(await since(start), counted({ gone: 1 }));
  });

  it('relists after an API server restart lost the watch history, dropping pods deleted meanwhile', async () => {
    const start = await restarts();
    const restarted = world.kube.restart({ downtimeMs: 150, resetWatchCache: true });
    // While the server is down: deletions only a relist can reveal, and new pods.
    churn();
    churn();
    for (const p of world.kube.pods('shop').slice(0, 3)) world.kube.deletePod('shop', p.metadata.name!);
    await restarted;
    await converged();
    const counts = await since(start);
    assert.equal(counts.gone, 1);
    // Each refused reconnect while the server was down counts; how many depends on the backoff's jitter.
    assert.ok(counts.error! >= 1);
    assert.deepEqual({ ...counts, error: 0 }, counted({ gone: 1 }));
  });

  it('gives up on a list whose body stalls mid-stream, and lists again', async () => {
    const start = await restarts();
    const lists = world.kube.requestCount('list', 'pods');
    world.kube.stallListBodies(1);
    world.kube.expireWatches({ resource: 'pods' });
    // While the stalled list hangs: changes only a complete list can bring in.
    churn();
    churn();
    await converged();
    assert.equal(world.kube.requestCount('list', 'pods'), lists + 2, 'the stalled list and the next');
    assert.deepEqual(await since(start), counted({ gone: 1, list_error: 1 }));
  });

  it('relists when applying a watch event throws, so the event is not lost', async () => {
    const start = await restarts();
    const lists = world.kube.requestCount('list', 'pods');
    const inventory = warden.inventory!;
    let thrown = 0;
    // A bug in the sink, once: client-node's Watch would swallow it and the pod would never arrive.
    inventory.upsert = (p) => {
      if (p.name === 'poison' && thrown++ === 0) throw new Error('an inventory bug');
      Inventory.prototype.upsert.call(inventory, p);
    };
    try {
      world.kube.upsertPod(world.pod('shop', 'poison', { app: ecrRef('app', 't0') }));
      churn();
      await converged();
    } finally {
      delete (inventory as Partial<Inventory>).upsert;
    }
    assert.equal(thrown, 1);
    assert.ok(inventoryRows(warden).some((row) => row.startsWith('shop/poison ')));
    assert.equal(world.kube.requestCount('list', 'pods'), lists + 1);
    assert.deepEqual(await since(start), counted({ apply_error: 1 }));
  });

  it('backs off through a burst of 500s on the list, counting each failure', async () => {
    const start = await restarts();
    world.kube.failNext(5, { match: { verb: 'list', resource: 'pods' } });
    world.kube.expireWatches({ resource: 'pods' });
    await world.kube.nextRequest({ verb: 'list', resource: 'pods' });
    churn();
    await world.kube.nextRequest({ verb: 'list', resource: 'pods' });
    churn();
    await converged();
    assert.deepEqual(await since(start), counted({ gone: 1, list_error: 5 }));
  });
});

describe('namespaced watches', () => {
  let world: World;
  let warden: Controller;
  const inScope = (ns: string) => ns === 'a' || ns === 'b';
  const app = () => ecrRef('app', 't0');

  before(async () => {
    world = await startWorld({
      repositories: [{ name: 'app', images: [ecrImage(['t0'], { scan: scanned() })] }],
      // Some API servers answer a watch from a compacted resourceVersion with a plain HTTP 410.
      kube: { staleWatchResponse: 'http-410' },
    });
    for (const ns of ['a', 'b', 'c'])
      for (const i of [0, 1, 2]) world.kube.upsertPod(world.pod(ns, `${ns}-${i}`, { app: app() }));
    warden = await startWarden(world, { namespaces: { include: ['a', 'b'] } });
    await warden.whenInventorySynced();
  });
  after(async () => {
    await warden?.stop();
    await world?.close();
  });

  it('track only the included namespaces, one watch each', async () => {
    await world.kube.waitForWatches(2, { resource: 'pods' });
    assert.deepEqual(
      world.kube
        .openWatches({ resource: 'pods' })
        .map((w) => w.namespace)
        .sort(),
      ['a', 'b'],
    );
    assert.deepEqual(inventoryRows(warden), truth(world.kube, inScope));
    assert.equal(value(await scrape(warden), 'ecr_warden_pods_tracked'), 6);
  });

  it("relist one namespace after an HTTP 410 without touching the other's pods", async () => {
    const reopened = world.kube.nextWatch({ resource: 'pods', namespace: 'a' });
    world.kube.dropWatches({ resource: 'pods', namespace: 'a' });
    // While namespace a's watch is down, its history is compacted away: resuming gets a 410.
    world.kube.deletePod('a', 'a-0');
    world.kube.upsertPod(world.pod('a', 'a-3', { app: app() }));
    world.kube.deletePod('b', 'b-0');
    world.kube.upsertPod(world.pod('c', 'c-3', { app: app() }));
    world.kube.compact();
    await reopened;
    await eventually(async () => {
      assert.deepEqual(inventoryRows(warden), truth(world.kube, inScope));
      const text = await scrape(warden);
      assert.equal(value(text, 'ecr_warden_pods_tracked'), 5);
      assert.equal(value(text, 'ecr_warden_watch_restarts_total{reason="gone"}'), 1);
    });
    assert.equal(world.kube.requestCount('list', 'pods'), 3, 'one list per namespace, then a relist of a');
  });
});

describe('excluded namespaces', () => {
  it('are left out by the apiserver, through a field selector on the one cluster-wide watch', async () => {
    const world = await startWorld({
      repositories: [{ name: 'app', images: [ecrImage(['t0'], { scan: scanned() })] }],
    });
    let warden: Controller | undefined;
    try {
      for (const ns of ['a', 'noisy', 'batch'])
        for (const i of [0, 1])
          world.kube.upsertPod(world.pod(ns, `${ns}-${i}`, { app: ecrRef('app', 't0') }));
      warden = await startWarden(world, { namespaces: { exclude: ['noisy', 'batch'] } });
      await warden.whenInventorySynced();
      await world.kube.waitForWatches(1, { resource: 'pods' });
      const [watch] = world.kube.openWatches({ resource: 'pods' });
      assert.equal(watch?.namespace, undefined, 'one cluster-wide watch');
      assert.equal(watch?.fieldSelector, 'metadata.namespace!=noisy,metadata.namespace!=batch');
      assert.deepEqual(
        inventoryRows(warden),
        truth(world.kube, (ns) => ns === 'a'),
      );
      assert.equal(value(await scrape(warden), 'ecr_warden_pods_tracked'), 2);
    } finally {
      await warden?.stop();
      await world.close();
    }
  });
});

describe('an ECR outage', () => {
  let world: World;
  let warden: Controller;
  let d7: string;
  const unresolved = (repository: string, reason: string) =>
    `ecr_warden_image_unresolved{registry_id="${ACCOUNT}",region="${REGION}",repository="${repository}",reason="${reason}"}`;

  before(async () => {
    world = await startWorld({
      repositories: [
        { name: 'api', images: [ecrImage(['v7'], { scan: scanned() })] },
        { name: 'web', images: [ecrImage(['v1'], { scan: scanned() })] },
      ],
    });
    d7 = world.digest('api', 'v7');
    world.kube.upsertPod(world.pod('shop', 'api-0', { api: ecrRef('api', 'v7') }));
    world.kube.upsertPod(world.pod('shop', 'api-1', { api: ecrRef('api', 'v7') }));
    warden = await startWarden(
      world,
      // Nothing cached, no stale answers and no SDK retries: each refresh asks ECR exactly once per image.
      { ecr: { tagTTL: '0s', detailTTL: '0s', negativeTTL: '0s', staleIfError: '0s', maxAttempts: 1 } },
      { ecrRequestTimeoutMs: 200 },
    );
    await warden.whenInventorySynced();
    await warden.inventory!.settled();
    assert.equal(value(await scrape(warden), `ecr_warden_image_info${image('api', 'v7', d7)}`), 1);
  });
  after(async () => {
    await warden?.stop();
    await world?.close();
  });

  /** After a refresh during the fault: unresolved with `reason`; after one once it is gone: resolved again. */
  const outage = async (reason: string, start: () => void, end: () => void) => {
    start();
    await warden.inventory!.refresh();
    let text = await scrape(warden);
    assert.deepEqual(samples(text, 'ecr_warden_image_unresolved'), [`${unresolved('api', reason)} 1`]);
    assert.deepEqual(samples(text, 'ecr_warden_image_info'), []);
    assert.deepEqual(samples(text, 'ecr_warden_image_containers'), []);
    // The policy could not check the image; with policy.onError allow that is a warning per container.
    assert.deepEqual(samples(text, 'ecr_warden_policy_violations'), [
      'ecr_warden_policy_violations{namespace="shop",check="imageExists",action="warn"} 2',
    ]);

    end();
    await warden.inventory!.refresh();
    text = await scrape(warden);
    assert.deepEqual(samples(text, 'ecr_warden_image_unresolved'), []);
    assert.deepEqual(samples(text, 'ecr_warden_image_containers'), [
      `ecr_warden_image_containers${image('api', 'v7', d7)} 2`,
    ]);
    assert.deepEqual(samples(text, 'ecr_warden_policy_violations'), []);
  };

  it('marks images unresolved with reason "error" while ECR fails, and recovers', () =>
    outage(
      'error',
      () => world.ecr.failNext(1000),
      () => world.ecr.clearFaults(),
    ));

  it('marks images unresolved with reason "throttled" while ECR throttles, and recovers', () =>
    outage(
      'throttled',
      () => world.ecr.throttleNext(1000),
      () => world.ecr.clearFaults(),
    ));

  it('marks images unresolved with reason "timeout" while ECR does not answer, and recovers', () =>
    outage(
      'timeout',
      () => world.ecr.hangNext(1000),
      () => world.ecr.clearFaults(),
    ));

  it('marks images unresolved with reason "access_denied" while access is denied, and recovers', () => {
    const registry = { registryId: ACCOUNT, region: REGION };
    return outage(
      'access_denied',
      () => world.ecr.setAccessDenied(registry, true),
      () => world.ecr.setAccessDenied(registry, false),
    );
  });

  it('resolves an image first seen during the outage once ECR is back', async () => {
    world.ecr.failNext(1000);
    world.kube.upsertPod(world.pod('shop', 'web-0', { web: ecrRef('web', 'v1') }));
    await eventually(async () => {
      await warden.inventory!.settled();
      assert.equal(value(await scrape(warden), `${unresolved('web', 'error')}`), 1);
    });
    world.ecr.clearFaults();
    await warden.inventory!.refresh();
    const text = await scrape(warden);
    assert.deepEqual(samples(text, 'ecr_warden_image_unresolved'), []);
    assert.equal(value(text, `ecr_warden_image_info${image('web', 'v1', world.digest('web', 'v1'))}`), 1);
    world.kube.deletePod('shop', 'web-0');
  });
});

describe('ecr.maxImageSeries', () => {
  let world: World;
  let warden: Controller;
  before(async () => {
    world = await startWorld({
      repositories: [{ name: 'app', images: ['a', 'b', 'c'].map((t) => ecrImage([t], { scan: scanned() })) }],
    });
    for (const t of ['a', 'b', 'c'])
      world.kube.upsertPod(world.pod('shop', `pod-${t}`, { app: ecrRef('app', t) }));
    warden = await startWarden(world, { ecr: { maxImageSeries: 2 } });
    await warden.whenInventorySynced();
    await warden.inventory!.settled();
  });
  after(async () => {
    await warden?.stop();
    await world?.close();
  });

  it('gives at most that many images series and counts the rest as dropped', async () => {
    const text = await scrape(warden);
    assert.equal(samples(text, 'ecr_warden_image_info').length, 2);
    assert.equal(samples(text, 'ecr_warden_image_containers').length, 2);
    assert.equal(samples(text, 'ecr_warden_image_status').length, 2);
    assert.equal(value(text, 'ecr_warden_image_series_dropped'), 1);
    assert.equal(value(text, 'ecr_warden_images_tracked'), 3);
  });

  it('stops dropping once the images in use fit the bound again', async () => {
    world.kube.deletePod('shop', 'pod-a');
    await eventually(async () => {
      const text = await scrape(warden);
      assert.deepEqual(samples(text, 'ecr_warden_image_info'), [
        `ecr_warden_image_info${image('app', 'b', world.digest('app', 'b'))} 1`,
        `ecr_warden_image_info${image('app', 'c', world.digest('app', 'c'))} 1`,
      ]);
      assert.equal(value(text, 'ecr_warden_image_series_dropped'), 0);
    });
  });
});

describe('staleness over time', () => {
  let world: World;
  let warden: Controller;
  const clock = { now: NOW };
  before(async () => {
    world = await startWorld({
      // Last pulled an hour short of the default staleAfter of 90 days.
      repositories: [
        {
          name: 'api',
          images: [ecrImage(['v7'], { lastRecordedPullTime: new Date(NOW - 90 * DAY + 3_600_000) })],
        },
      ],
    });
    world.kube.upsertPod(world.pod('shop', 'api-0', { api: ecrRef('api', 'v7') }));
    warden = await startWarden(world, {}, { now: () => clock.now });
    await warden.whenInventorySynced();
    await warden.inventory!.settled();
  });
  after(async () => {
    await warden?.stop();
    await world?.close();
  });

  it('marks an image stale once its pull time ages past staleAfter, with nothing else changing', async () => {
    const stale = `ecr_warden_image_stale${digestOf('api', world.digest('api', 'v7'))}`;
    assert.equal(value(await scrape(warden), stale), 0);
    clock.now += 2 * 3_600_000;
    // The periodic refresh (every ecr.refreshInterval) re-judges what depends on time.
    await warden.inventory!.refresh();
    assert.equal(value(await scrape(warden), stale), 1);
  });
});

describe('references written differently', () => {
  it('share one series per image, their containers summed', async () => {
    const world = await startWorld({
      repositories: [{ name: 'api', images: [ecrImage(['latest'], { scan: scanned() })] }],
    });
    const warden = await startWarden(world);
    try {
      const latest = world.digest('api', 'latest');
      world.kube.bulkLoad([
        world.pod('shop', 'a-0', { app: `${HOST}/api` }),
        world.pod('shop', 'b-0', { app: `${HOST}/api:latest` }),
        world.pod('shop', 'c-0', { app: `${HOST.toUpperCase()}/api:latest` }),
      ]);
      const text = await eventually(async () => {
        const t = await scrape(warden);
        assert.equal(samples(t, 'ecr_warden_image_containers').length, 1, t);
        return t;
      });
      assert.deepEqual(samples(text, 'ecr_warden_image_containers'), [
        `ecr_warden_image_containers${image('api', 'latest', latest)} 3`,
      ]);
      assert.equal(value(text, 'ecr_warden_images_tracked'), 3);
    } finally {
      await warden.stop();
      await world.close();
    }
  });
});
