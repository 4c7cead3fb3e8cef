import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Controller } from '../src/commands/serve.ts';
import { Inventory } from '../src/inventory/inventory.ts';
import { PodWatcher } from '../src/kube/pod-watcher.ts';
import { runningDigestOf, StringPool, type TrackedPod, trimPod } from '../src/kube/trim.ts';
import { silentLogger } from '../src/log.ts';
import type { PodJson, PodPhase } from '../sim/kube/index.ts';
import { config, ecrFixture } from './helpers/ecr.ts';
import {
  ecrImage,
  ecrRef,
  eventually,
  inventoryRows,
  pod,
  scrape,
  startWarden,
  startWorld,
  truth,
  value,
  type World,
} from './helpers/world.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const SECRET = 'hunter2-do-not-keep';

/** A pod as the API server returns it, with the bulk a real one carries and the inventory must not keep. */
function heavyPod(namespace: string, name: string): PodJson {
  const p = pod(
    namespace,
    name,
    { api: ecrRef('api', 'v7') },
    {
      init: { migrate: ecrRef('api', 'v7') },
      ephemeral: { debug: 'busybox:1.36' },
      running: { api: DIGEST, migrate: DIGEST },
    },
  );
  p.metadata.labels = { app: 'api', 'pod-template-hash': '7d9f' };
  p.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': '{"a":1}'.repeat(50) };
  p.metadata.managedFields = [
    {
      manager: 'kubectl',
      operation: 'Update',
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': {} },
    },
  ];
  const api = p.spec!.containers[0]!;
  api.env = [{ name: 'DB_PASSWORD', value: SECRET }];
  api.args = ['--token', SECRET];
  api.resources = { limits: { memory: '512Mi' } };
  p.spec!.volumes = [{ name: 'config', configMap: { name: 'api-config' } }];
  return p;
}

describe('trimPod', () => {
  it('keeps the names, images and running digests of every container kind, and nothing else', () => {
    const trimmed = trimPod(heavyPod('shop', 'api-0'), new StringPool());
    assert.deepEqual(trimmed, {
      namespace: 'shop',
      name: 'api-0',
      uid: trimmed!.uid,
      finished: false,
      containers: [
        { name: 'migrate', kind: 'init', image: ecrRef('api', 'v7'), runningDigest: DIGEST },
        { name: 'api', kind: 'regular', image: ecrRef('api', 'v7'), runningDigest: DIGEST },
        // The builder gives the busybox container a digest derived from its reference.
        {
          name: 'debug',
          kind: 'ephemeral',
          image: 'busybox:1.36',
          runningDigest: trimmed!.containers[2]!.runningDigest,
        },
      ],
    } satisfies TrackedPod);
    assert.match(trimmed!.containers[2]!.runningDigest!, /^sha256:[0-9a-f]{64}$/);
    assert.match(trimmed!.uid, /^[0-9a-f-]{36}$/, 'the uid Events name the pod by');
    const kept = JSON.stringify(trimmed);
    for (const gone of [SECRET, 'managedFields', 'last-applied', 'pod-template-hash', 'api-config', '512Mi'])
      assert.ok(!kept.includes(gone), `${gone} survived trimming`);
  });

  it('shares one copy of each repeated string across pods', () => {
    const pool = new StringPool();
    for (let i = 0; i < 50; i++) trimPod(heavyPod('shop', `api-${i}`), pool);
    // Namespace, three container names, two images, two digests: pod names are not interned.
    assert.equal(pool.size, 8);
  });

  it('ignores objects that are not pods it can name', () => {
    const pool = new StringPool();
    assert.equal(trimPod({ metadata: { name: 'x' } }, pool), null);
    assert.equal(trimPod(null, pool), null);
    assert.deepEqual(trimPod({ metadata: { name: 'x', namespace: 'y' } }, pool), {
      namespace: 'y',
      name: 'x',
      uid: '',
      finished: false,
      containers: [],
    });
  });

  const phases: [PodPhase | undefined, boolean][] = [
    ['Pending', false],
    ['Running', false],
    // The node stopped reporting: its containers may still run.
    ['Unknown', false],
    ['Succeeded', true],
    ['Failed', true],
    [undefined, false],
  ];
  for (const [phase, finished] of phases) {
    it(`marks a pod in phase ${phase ?? '(none)'} as ${finished ? 'finished' : 'running or about to'}`, () => {
      const p = pod('shop', 'job-0', { job: ecrRef('api', 'v7') }, phase ? { phase } : { pending: true });
      if (!phase) delete p.status!.phase;
      assert.equal(trimPod(p, new StringPool())!.finished, finished);
    });
  }

  const cases: [string, unknown, string | null][] = [
    ['containerd', `123456789012.dkr.ecr.us-east-1.amazonaws.com/api@${DIGEST}`, DIGEST],
    ['dockershim', `docker-pullable://123456789012.dkr.ecr.us-east-1.amazonaws.com/api@${DIGEST}`, DIGEST],
    // An image config ID, not a manifest digest: it cannot be compared with ECR's digest.
    ['a bare config ID', DIGEST, null],
    ['not started yet', '', null],
    ['absent', undefined, null],
  ];
  for (const [what, imageID, expected] of cases) {
    it(`reads the running digest from an imageID: ${what}`, () => {
      assert.equal(runningDigestOf(imageID), expected);
    });
  }
});

describe('the inventory on a live cluster', () => {
  let world: World;
  let warden: Controller;
  before(async () => {
    world = await startWorld({ repositories: [{ name: 'api', images: [ecrImage(['v7'])] }] });
    world.kube.upsertPod(heavyPod('shop', 'api-0'));
    world.kube.upsertPod(heavyPod('kube-system', 'coredns-0'));
    world.kube.upsertPod(heavyPod('scratch', 'tmp-0'));
    warden = await startWarden(world, { namespaces: { exclude: ['kube-system'] } });
    await warden.whenInventorySynced();
    await warden.inventory!.settled();
  });
  after(async () => {
    await warden?.stop();
    await world?.close();
  });

  it('keeps only the trimmed containers of pods in scope', async () => {
    assert.ok(world.kube.pod('shop', 'api-0')?.metadata.managedFields, 'the simulator serves managedFields');
    const inScope = (ns: string) => ns !== 'kube-system';
    assert.deepEqual(inventoryRows(warden), truth(world.kube, inScope));
    for (const row of warden.inventory!.containers()) {
      assert.deepEqual(Object.keys(row.container).sort(), ['image', 'kind', 'name', 'runningDigest']);
    }
    assert.equal(value(await scrape(warden), 'ecr_warden_pods_tracked'), 2);
  });

  it('does not count a status-only update as a change', async () => {
    const version = warden.inventory!.version();
    world.kube.patchPodStatus('shop', 'api-0', { message: 'the kubelet reported again' });
    world.kube.upsertPod(pod('shop', 'marker', { app: ecrRef('api', 'v7') }));
    // The marker pod arrives after the status update on the same watch: once it is in, so is the update.
    await eventually(() => assert.ok(inventoryRows(warden).some((r) => r.startsWith('shop/marker '))));
    assert.equal(warden.inventory!.version(), version + 1);
  });
});

describe('a relist', () => {
  it('replaces the pods of its own namespace only', async () => {
    const f = await ecrFixture({ registries: [] });
    try {
      const inventory = new Inventory({
        config: config({ namespaces: { include: ['a', 'b'] } }),
        resolver: f.core.resolver,
        assessor: f.core.assessor,
      });
      const pool = new StringPool();
      const trimmed = (ns: string, name: string) =>
        trimPod(pod(ns, name, { app: 'docker.io/library/nginx:1.27' }), pool)!;
      inventory.replaceAll([trimmed('a', 'a-0'), trimmed('a', 'a-1')], 'a');
      inventory.replaceAll([trimmed('b', 'b-0')], 'b');
      inventory.upsert(trimmed('c', 'c-0'));
      assert.equal(inventory.podCount, 3, 'namespace c is out of scope');

      inventory.replaceAll([trimmed('a', 'a-1'), trimmed('a', 'a-2')], 'a');
      assert.deepEqual(
        inventory.containers().map((r) => `${r.namespace}/${r.pod}`),
        ['a/a-1', 'a/a-2', 'b/b-0'],
      );
      // One image, four containers: counted once per container, never twice for a pod listed again.
      assert.equal(inventory.imageCount, 1);
      inventory.replaceAll([], null);
      assert.equal(inventory.podCount, 0);
      assert.equal(inventory.imageCount, 0);
    } finally {
      await f.close();
    }
  });
});

describe('a stopped pod watch', () => {
  it('delivers nothing it receives after stop(), not even the list it was waiting for', async () => {
    const world = await startWorld({ repositories: [] });
    try {
      world.kube.upsertPod(pod('shop', 'api-0', { app: 'nginx' }));
      world.kube.addLatency(200, { verb: 'list', resource: 'pods' });
      const delivered: string[] = [];
      const watcher = new PodWatcher({
        kubeConfig: world.kube.kubeConfig(),
        namespaces: [],
        idleTimeoutMs: 60_000,
        log: silentLogger,
        sink: {
          replaceAll: (pods) => delivered.push(`list of ${pods.length}`),
          upsert: (p) => delivered.push(`upsert ${p.name}`),
          remove: (_ns, name) => delivered.push(`remove ${name}`),
        },
      });
      const listing = world.kube.nextRequest({ verb: 'list', resource: 'pods' });
      watcher.start();
      await listing;
      await watcher.stop();
      assert.deepEqual(delivered, []);
      assert.equal(world.kube.requestCount('watch', 'pods'), 0, 'a stopped watcher opened a watch');
    } finally {
      await world.close();
    }
  });
});

describe('unresolved images', () => {
  it('are asked again on one retry chain per image, however many refreshes failed', async () => {
    const settings = { ecr: { negativeTTL: '0s', refreshInterval: '1h' } };
    const f = await ecrFixture({ registries: [] }, settings);
    const inventory = new Inventory({
      config: config(settings),
      resolver: f.core.resolver,
      assessor: f.core.assessor,
      minRetryMs: 300,
    });
    try {
      inventory.startRefresh();
      const pool = new StringPool();
      inventory.upsert(trimPod(pod('a', 'a-0', { app: ecrRef('gone', 'v1') }), pool)!);
      // Five refreshes in a row, each failing: each would start its own retry without the guard.
      for (let i = 0; i < 5; i++) await inventory.refresh();
      f.sim.resetCounts();
      await f.sim.waitForCall();
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(f.sim.requests().byOperation.DescribeImages, 1);
    } finally {
      inventory.stopRefresh();
      await f.close();
    }
  });
});
