import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resolution } from '../src/ecr/types.ts';
import { InventoryViews } from '../src/inventory/views.ts';
import { PodStore } from '../src/inventory/pod-store.ts';
import { NamespaceScope } from '../src/inventory/scope.ts';
import type { TrackedPod } from '../src/kube/trim.ts';
import { config, ecrFixture, image, NOW } from './helpers/ecr.ts';

/**
 * The views judge each (namespace, image) once per store version, carrying a verdict over to the next
 * version while its facts are the same objects and it is under a minute old. Counted through a real
 * Assessor whose judge() is watched.
 */
describe('verdicts across store versions', () => {
  const pod = (name: string, images: string[]): TrackedPod => ({
    namespace: 'shop',
    name,
    uid: name,
    finished: false,
    containers: images.map((img, i) => ({ name: `c${i}`, kind: 'regular', image: img, runningDigest: null })),
  });

  it('judges only what changed after a pod change, and everything again once a minute has passed', async () => {
    const f = await ecrFixture({ registries: [] });
    try {
      const { assessor } = f.core;
      let judged = 0;
      const judge = assessor.judge.bind(assessor);
      assessor.judge = (...args: Parameters<typeof judge>) => {
        judged++;
        return judge(...args);
      };
      const store = new PodStore({
        scope: new NamespaceScope(config().namespaces),
        listener: { added: () => undefined, removed: () => undefined },
      });
      const views = new InventoryViews({ store, assessor, now: () => f.clock.now, staleAfter: 86_400_000 });
      const images = ['a', 'b', 'c', 'd'].map((name) => image(name, 'v1'));
      store.upsert(pod('p1', images));
      // No ECR answers: every image is judged unresolved, once each.
      views.violations();
      assert.equal(judged, 4);

      store.upsert(pod('p2', [images[0]!])); // a new version; no image's facts changed
      views.violations();
      assert.equal(judged, 4, 'carried over');

      const entry = store.image(images[1]!)!;
      entry.resolution = { status: 'unresolved', reason: 'not_found', message: 'gone' } satisfies Resolution;
      store.changed();
      views.violations();
      assert.equal(judged, 5, 'only the image whose resolution changed');

      f.clock.now = NOW + 61_000;
      store.changed();
      views.violations();
      assert.equal(judged, 9, 'every verdict judged again after a minute');
    } finally {
      await f.close();
    }
  });
});
