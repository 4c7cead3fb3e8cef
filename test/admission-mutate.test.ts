import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ACCOUNT,
  applyJsonPatch,
  container,
  decodePatch,
  IMAGES,
  pod,
  REGION,
  REGISTRY,
  review,
  reviewOf,
  startWebhookFixture,
  type WebhookFixture,
} from './helpers/reviews.ts';

type PodObject = {
  spec: Record<
    'initContainers' | 'containers' | 'ephemeralContainers',
    Array<{ name: string; image: string }>
  >;
};

function imagesOf(object: PodObject): Record<string, string> {
  const all = [
    ...(object.spec.initContainers ?? []),
    ...object.spec.containers,
    ...(object.spec.ephemeralContainers ?? []),
  ];
  return Object.fromEntries(all.map((c) => [c.name, c.image]));
}

describe('/mutate with webhook.pinDigests', () => {
  let f: WebhookFixture;
  const digestOf = (repository: string, tag: string): string => {
    const view = f.sim.image({ registryId: ACCOUNT, region: REGION, repository, tag });
    assert.ok(view, `${repository}:${tag} is in the scenario`);
    return view.digest;
  };
  before(async () => {
    f = await startWebhookFixture({ settings: { webhook: { pinDigests: true } } });
  });
  after(() => f.close());

  test('the JSONPatch, applied to the pod, pins every resolved ECR tag in every container list', async () => {
    const pinned = `${REGISTRY}/api:v8@${digestOf('api', 'v8')}`;
    const object = pod({
      initContainers: [container('migrate', IMAGES.critical)],
      containers: [
        container('api', IMAGES.clean),
        container('proxy', IMAGES.dockerHub),
        container('already', pinned),
        container('ghost', IMAGES.missing),
      ],
      ephemeralContainers: [container('debugger', IMAGES.scanning)],
    }) as PodObject;
    const { status, response } = await f.client.review('/mutate', review({ object }));
    assert.equal(status, 200);
    assert.equal(response.allowed, true, 'mutate never denies, even an image the policy denies');
    assert.equal(response.patchType, 'JSONPatch');
    const patched = applyJsonPatch(object, decodePatch(response.patch!));
    assert.deepEqual(imagesOf(patched), {
      migrate: `${REGISTRY}/api:v7@${digestOf('api', 'v7')}`,
      api: pinned,
      proxy: IMAGES.dockerHub,
      already: pinned,
      ghost: IMAGES.missing,
      debugger: `${REGISTRY}/web:v1@${digestOf('web', 'v1')}`,
    });
    assert.deepEqual(response.warnings, [
      `container "ghost" image ${IMAGES.missing}: not pinned to a digest: image not found in ECR (tag v9 not found in repository api)`,
    ]);
  });

  test('a reference without a tag is pinned as the runtime reads it, :latest', async () => {
    f.sim.pushImage(
      { registryId: ACCOUNT, region: REGION, repository: 'api' },
      { tags: ['latest'], pushedAt: new Date() },
    );
    const object = pod([`${REGISTRY}/api`]) as PodObject;
    const { response } = await f.client.review('/mutate', review({ object }));
    const patched = applyJsonPatch(object, decodePatch(response.patch!));
    assert.equal(imagesOf(patched).c0, `${REGISTRY}/api:latest@${digestOf('api', 'latest')}`);
  });

  test('on UPDATE pins only the containers the update adds or re-images, never a running one', async () => {
    const before = pod({ containers: [container('api', IMAGES.critical)] }) as PodObject;
    const after = pod({
      containers: [container('api', IMAGES.critical)],
      ephemeralContainers: [container('debugger', IMAGES.clean)],
    }) as PodObject;
    const { response } = await f.client.review(
      '/mutate',
      review({ operation: 'UPDATE', subResource: 'ephemeralcontainers', object: after, oldObject: before }),
    );
    assert.deepEqual(decodePatch(response.patch!), [
      {
        op: 'replace',
        path: '/spec/ephemeralContainers/0/image',
        value: `${REGISTRY}/api:v8@${digestOf('api', 'v8')}`,
      },
    ]);
  });

  test('leaves workload templates alone: their pods are pinned when they are created', async () => {
    f.sim.resetCounts();
    const { response } = await f.client.review('/mutate', reviewOf('Deployment', [IMAGES.clean]));
    assert.deepEqual(response, { uid: response.uid, allowed: true });
    assert.equal(f.sim.requests().total, 0);
  });

  test('leaves exempt namespaces alone, silently', async () => {
    const { response } = await f.client.review(
      '/mutate',
      reviewOf('Pod', [IMAGES.clean], { namespace: 'kube-system' }),
    );
    assert.deepEqual(response, { uid: response.uid, allowed: true });
  });

  test('counts a review with a patch as allowed and one with warnings as warned', async () => {
    const counted = f.observer.reviews.length;
    await f.client.review('/mutate', reviewOf('Pod', [IMAGES.clean]));
    await f.client.review('/mutate', reviewOf('Pod', [IMAGES.missing]));
    assert.deepEqual(
      f.observer.reviews.slice(counted).map(({ webhook, decision }) => `${webhook} ${decision}`),
      ['mutate allowed', 'mutate warned'],
    );
  });
});

describe('/mutate without webhook.pinDigests', () => {
  test('allows with no patch and without asking ECR', async () => {
    const f = await startWebhookFixture();
    try {
      const { response } = await f.client.review('/mutate', reviewOf('Pod', [IMAGES.clean, IMAGES.critical]));
      assert.deepEqual(response, { uid: response.uid, allowed: true });
      assert.equal(f.sim.requests().total, 0);
    } finally {
      await f.close();
    }
  });
});

describe('/mutate when ECR is slow', () => {
  test('answers by the deadline, leaving the image as it is with a warning', async () => {
    const f = await startWebhookFixture({
      latencyMs: 5_000,
      settings: { webhook: { pinDigests: true, deadline: '1s' } },
    });
    try {
      const { response } = await f.client.review('/mutate', reviewOf('Pod', [IMAGES.clean]));
      assert.equal(response.allowed, true);
      assert.equal(response.patch, undefined);
      assert.equal(response.warnings?.length, 1);
      assert.match(
        response.warnings![0]!,
        /^container "c0" image \S+\/api:v8: not pinned to a digest: ECR did not answer in time \(no answer from ECR within \d+ms\)$/,
      );
    } finally {
      await f.close();
    }
  });
});
