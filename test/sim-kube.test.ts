import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import type { V1Lease, V1Pod } from '@kubernetes/client-node';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import {
  buildPod,
  imageIdFor,
  type KubeSimulator,
  type KubeSimulatorOptions,
  type PodJson,
  startKubeSimulator,
} from '../sim/kube/index.ts';

// ---- helpers ---------------------------------------------------------------------------------

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v7';

function pod(namespace: string, name: string, extra: Partial<Parameters<typeof buildPod>[0]> = {}): PodJson {
  return buildPod({
    namespace,
    name,
    containers: [{ name: 'app', image: IMAGE }],
    nodeName: 'node-1',
    ...extra,
  });
}

async function withSim<T>(options: KubeSimulatorOptions, fn: (sim: KubeSimulator) => Promise<T>): Promise<T> {
  const sim = await startKubeSimulator(options);
  try {
    return await fn(sim);
  } finally {
    await sim.close();
  }
}

/** A raw HTTPS request to the simulator, trusting its CA; resolves with status, headers and body. */
function raw(
  sim: KubeSimulator,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${sim.url}${path}`, { method, headers, ca: sim.caPem }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Status {
  kind: string;
  status: string;
  reason: string;
  code: number;
  message: string;
  metadata: { continue?: string };
  details?: { name?: string; kind?: string; group?: string; causes?: unknown[] };
}

/** The Status body of a failed client-node call. */
async function failure(call: Promise<unknown>): Promise<Status & { httpCode: number }> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof ApiException, `expected an ApiException, got ${String(err)}`);
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return { ...(body as Status), httpCode: err.code };
  }
  assert.fail('the call succeeded');
}

interface WatchEvent {
  type: string;
  object: {
    kind?: string;
    code?: number;
    reason?: string;
    metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
  };
}

/** Collects the events of one client-node Watch; `next()` waits for the next one, `ended` for the end. */
class Events {
  readonly seen: WatchEvent[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];
  private endResolve!: (err: unknown) => void;
  readonly ended: Promise<unknown> = new Promise((resolve) => {
    this.endResolve = resolve;
  });
  controller: AbortController | undefined;

  static async open(
    sim: KubeSimulator,
    path: string,
    query: Record<string, string | number | boolean | undefined>,
  ): Promise<Events> {
    const events = new Events();
    const watch = new Watch(sim.kubeConfig());
    events.controller = await watch.watch(
      path,
      query,
      (type, object) => events.push({ type, object }),
      (err) => events.endResolve(err),
    );
    return events;
  }

  private push(event: WatchEvent): void {
    this.seen.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (this.seen.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `count` events have arrived in total. */
  async atLeast(count: number): Promise<WatchEvent[]> {
    if (this.seen.length < count) await new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return this.seen;
  }

  /** Waits for `n` more events after those seen so far. */
  async more(n: number): Promise<WatchEvent[]> {
    const from = this.seen.length;
    await this.atLeast(from + n);
    return this.seen.slice(from, from + n);
  }

  stop(): void {
    this.controller?.abort();
  }
}

function summary(events: readonly WatchEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`.trim());
}

// ---- lists -----------------------------------------------------------------------------------

describe('list pagination', () => {
  let sim: KubeSimulator;
  let core: CoreV1Api;
  before(async () => {
    sim = await startKubeSimulator();
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    for (let i = 0; i < 25; i++)
      sim.upsertPod(pod(i % 2 ? 'team-a' : 'team-b', `web-${String(i).padStart(2, '0')}`));
  });
  after(() => sim.close());

  it('pages a consistent snapshot even while pods change between pages', async () => {
    const snapshot = sim
      .pods()
      .map((p) => `${p.metadata.namespace}/${p.metadata.name}@${p.metadata.resourceVersion}`);
    const first = await core.listPodForAllNamespaces({ limit: 10 });
    assert.equal(first.items.length, 10);
    assert.equal(first.metadata?.remainingItemCount, 15);
    const listRv = first.metadata?.resourceVersion;

    // Churn after the first page: none of it may show up in later pages.
    sim.deletePod('team-b', 'web-20');
    sim.upsertPod(pod('team-a', 'web-99'));
    sim.patchPodStatus('team-a', 'web-21', { phase: 'Failed' });

    const second = await core.listPodForAllNamespaces({ limit: 10, _continue: first.metadata?._continue });
    assert.equal(second.metadata?.remainingItemCount, 5);
    const third = await core.listPodForAllNamespaces({ limit: 10, _continue: second.metadata?._continue });
    assert.equal(third.metadata?._continue, undefined);
    assert.equal(third.metadata?.remainingItemCount, undefined);
    for (const page of [second, third]) assert.equal(page.metadata?.resourceVersion, listRv);

    const listed = [...first.items, ...second.items, ...third.items].map(
      (p) => `${p.metadata?.namespace}/${p.metadata?.name}@${p.metadata?.resourceVersion}`,
    );
    assert.deepEqual(listed, snapshot);
  });

  it('answers a filtered page without remainingItemCount, as the API server cannot count matches', async () => {
    const page = await core.listNamespacedPod({ namespace: 'team-a', limit: 3, labelSelector: 'missing!=x' });
    assert.equal(page.items.length, 3);
    assert.ok(page.metadata?._continue);
    assert.equal(page.metadata?.remainingItemCount, undefined);
  });

  it('expires a continue token after compaction with 410 Expired and an inconsistent token', async () => {
    const first = await core.listNamespacedPod({ namespace: 'team-b', limit: 4 });
    sim.upsertPod(pod('team-b', 'web-50'));
    sim.compact();
    const status = await failure(
      core.listNamespacedPod({ namespace: 'team-b', limit: 4, _continue: first.metadata?._continue }),
    );
    assert.equal(status.httpCode, 410);
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'Expired');
    assert.match(status.message, /continue parameter is too old/);
    assert.ok(status.metadata.continue, 'the 410 carries a token to continue inconsistently');

    // The inconsistent token continues after the last key from the newest state, so web-50 appears.
    const rest = await core.listNamespacedPod({
      namespace: 'team-b',
      limit: 100,
      _continue: status.metadata.continue,
    });
    const lastOfFirst = first.items.at(-1)?.metadata?.name ?? '';
    const expected = sim
      .pods('team-b')
      .map((p) => p.metadata.name!)
      .filter((name) => name > lastOfFirst);
    assert.deepEqual(
      rest.items.map((p) => p.metadata?.name),
      expected,
    );
    assert.ok(expected.includes('web-50'));
  });
});

describe('list resourceVersion semantics', () => {
  let sim: KubeSimulator;
  let core: CoreV1Api;
  let before3: string;
  before(async () => {
    sim = await startKubeSimulator({ freshnessWaitMs: 20 });
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    for (const name of ['a', 'b', 'c']) sim.upsertPod(pod('default', name));
    before3 = sim.resourceVersion();
    sim.deletePod('default', 'a');
    sim.upsertPod(pod('default', 'd'));
  });
  after(() => sim.close());

  const cases: Array<{
    name: string;
    query: () => Record<string, unknown>;
    names: string[];
    rv: () => string;
    cont?: boolean;
  }> = [
    {
      name: 'unset: the newest state',
      query: () => ({}),
      names: ['b', 'c', 'd'],
      rv: () => sim.resourceVersion(),
    },
    {
      name: '"0" with limit: any state, limit ignored (the watch cache)',
      query: () => ({ resourceVersion: '0', limit: 1 }),
      names: ['b', 'c', 'd'],
      rv: () => sim.resourceVersion(),
    },
    {
      name: 'an older resourceVersion with limit: exactly that snapshot',
      query: () => ({ resourceVersion: before3, limit: 2 }),
      names: ['a', 'b'],
      rv: () => before3,
      cont: true,
    },
    {
      name: 'resourceVersionMatch=Exact: that snapshot',
      query: () => ({ resourceVersion: before3, resourceVersionMatch: 'Exact' }),
      names: ['a', 'b', 'c'],
      rv: () => before3,
    },
    {
      name: 'an older resourceVersion without limit: not older than it (the newest)',
      query: () => ({ resourceVersion: before3 }),
      names: ['b', 'c', 'd'],
      rv: () => sim.resourceVersion(),
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const list = await core.listNamespacedPod({ namespace: 'default', ...c.query() });
      assert.deepEqual(
        list.items.map((p) => p.metadata?.name),
        c.names,
      );
      assert.equal(list.metadata?.resourceVersion, c.rv());
      assert.equal(Boolean(list.metadata?._continue), Boolean(c.cont));
    });
  }

  const errors: Array<{ name: string; query: () => Record<string, unknown>; code: number; reason: string }> =
    [
      {
        name: 'resourceVersionMatch without resourceVersion',
        query: () => ({ resourceVersionMatch: 'NotOlderThan' }),
        code: 422,
        reason: 'Invalid',
      },
      {
        name: 'Exact with resourceVersion "0"',
        query: () => ({ resourceVersion: '0', resourceVersionMatch: 'Exact' }),
        code: 422,
        reason: 'Invalid',
      },
      {
        name: 'a future resourceVersion that never arrives',
        query: () => ({ resourceVersion: String(Number(sim.resourceVersion()) + 100) }),
        code: 504,
        reason: 'Timeout',
      },
      {
        name: 'an unknown field selector',
        query: () => ({ fieldSelector: 'spec.image=x' }),
        code: 400,
        reason: 'BadRequest',
      },
      {
        name: 'a malformed label selector',
        query: () => ({ labelSelector: 'a in (b' }),
        code: 400,
        reason: 'BadRequest',
      },
    ];
  for (const c of errors) {
    it(`rejects ${c.name} with ${c.code} ${c.reason}`, async () => {
      const status = await failure(core.listNamespacedPod({ namespace: 'default', ...c.query() }));
      assert.equal(status.httpCode, c.code);
      assert.equal(status.code, c.code);
      assert.equal(status.reason, c.reason);
    });
  }

  it('answers an exact list from before the compaction with 410 Expired', async () => {
    sim.compact();
    const status = await failure(
      core.listNamespacedPod({
        namespace: 'default',
        resourceVersion: before3,
        resourceVersionMatch: 'Exact',
      }),
    );
    assert.equal(status.httpCode, 410);
    assert.equal(status.reason, 'Expired');
  });
});

describe('selectors', () => {
  let sim: KubeSimulator;
  let core: CoreV1Api;
  before(async () => {
    sim = await startKubeSimulator();
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    sim.upsertPod(pod('shop', 'api-1', { labels: { app: 'api', tier: 'back' }, nodeName: 'node-1' }));
    sim.upsertPod(
      pod('shop', 'api-2', { labels: { app: 'api', tier: 'back' }, nodeName: 'node-2', phase: 'Failed' }),
    );
    sim.upsertPod(pod('shop', 'web-1', { labels: { app: 'web' }, nodeName: 'node-1' }));
    sim.upsertPod(pod('lab', 'job-1', { labels: { app: 'job', env: 'dev' }, nodeName: undefined }));
  });
  after(() => sim.close());

  const cases: Array<[string, { labelSelector?: string; fieldSelector?: string }, string[]]> = [
    ['label equality', { labelSelector: 'app=api' }, ['shop/api-1', 'shop/api-2']],
    [
      'label inequality includes pods without the label',
      { labelSelector: 'tier!=back' },
      ['lab/job-1', 'shop/web-1'],
    ],
    ['label set membership', { labelSelector: 'app in (web, job)' }, ['lab/job-1', 'shop/web-1']],
    ['label notin and existence', { labelSelector: 'app notin (web),!env' }, ['shop/api-1', 'shop/api-2']],
    ['spec.nodeName', { fieldSelector: 'spec.nodeName=node-1' }, ['shop/api-1', 'shop/web-1']],
    ['unscheduled pods (empty nodeName)', { fieldSelector: 'spec.nodeName=' }, ['lab/job-1']],
    [
      'status.phase inequality',
      { fieldSelector: 'status.phase!=Failed,metadata.namespace=shop' },
      ['shop/api-1', 'shop/web-1'],
    ],
    ['metadata.name', { fieldSelector: 'metadata.name==web-1' }, ['shop/web-1']],
    [
      'labels and fields together',
      { labelSelector: 'app=api', fieldSelector: 'status.phase=Running' },
      ['shop/api-1'],
    ],
  ];
  for (const [name, selectors, expected] of cases) {
    it(`filters by ${name}`, async () => {
      const list = await core.listPodForAllNamespaces(selectors);
      assert.deepEqual(
        list.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`),
        expected,
      );
    });
  }
});

// ---- watches ---------------------------------------------------------------------------------

describe('watch', () => {
  it('replays exactly the changes after the given resourceVersion, in order', async () => {
    await withSim({}, async (sim) => {
      sim.upsertPod(pod('default', 'before'));
      const from = sim.resourceVersion();
      sim.upsertPod(pod('default', 'one'));
      sim.patchPodStatus('default', 'one', { phase: 'Succeeded' });
      sim.deletePod('default', 'before');
      sim.upsertPod(pod('other', 'two'));
      // Every write takes the next revision; namespace "other" was created (one revision) before pod "two".
      const expectedRvs = [1, 2, 3, 5].map((step) => String(Number(from) + step));

      const events = await Events.open(sim, '/api/v1/pods', { resourceVersion: from });
      const replayed = await events.atLeast(4);
      assert.deepEqual(summary(replayed), ['ADDED one', 'MODIFIED one', 'DELETED before', 'ADDED two']);
      assert.deepEqual(
        replayed.map((e) => e.object.metadata?.resourceVersion),
        expectedRvs,
      );

      sim.deletePod('default', 'one');
      assert.deepEqual(summary(await events.more(1)), ['DELETED one']);
      events.stop();
    });
  });

  it('starts without a resourceVersion with synthetic ADDED events for what exists', async () => {
    await withSim({}, async (sim) => {
      sim.upsertPod(pod('default', 'a'));
      sim.upsertPod(pod('default', 'b'));
      const events = await Events.open(sim, '/api/v1/namespaces/default/pods', {});
      assert.deepEqual(summary(await events.atLeast(2)), ['ADDED a', 'ADDED b']);
      sim.upsertPod(pod('default', 'c'));
      assert.deepEqual(summary(await events.more(1)), ['ADDED c']);
      events.stop();
    });
  });

  it('turns a change that leaves the label selector into DELETED, and one that enters into ADDED', async () => {
    await withSim({}, async (sim) => {
      sim.upsertPod(pod('default', 'p', { labels: { app: 'api' } }));
      const events = await Events.open(sim, '/api/v1/namespaces/default/pods', {
        resourceVersion: sim.resourceVersion(),
        labelSelector: 'app=api',
      });
      const core = sim.kubeConfig().makeApiClient(CoreV1Api);
      await core.patchNamespacedPod(
        { namespace: 'default', name: 'p', body: { metadata: { labels: { app: 'web' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await core.patchNamespacedPod(
        { namespace: 'default', name: 'p', body: { metadata: { labels: { app: 'api' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      assert.deepEqual(summary(await events.atLeast(2)), ['DELETED p', 'ADDED p']);
      events.stop();
    });
  });

  it('sends bookmarks on demand only to watches that allow them', async () => {
    await withSim({}, async (sim) => {
      const withBookmarks = await Events.open(sim, '/api/v1/pods', {
        resourceVersion: sim.resourceVersion(),
        allowWatchBookmarks: true,
      });
      const without = await Events.open(sim, '/api/v1/pods', { resourceVersion: sim.resourceVersion() });
      await sim.waitForWatches(2);
      sim.upsertPod(pod('default', 'x'));
      assert.equal(sim.sendBookmarks(), 1);
      const [, bookmark] = await withBookmarks.atLeast(2);
      assert.equal(bookmark?.type, 'BOOKMARK');
      assert.equal(bookmark?.object.kind, 'Pod');
      assert.equal(bookmark?.object.metadata?.resourceVersion, sim.resourceVersion());
      sim.upsertPod(pod('default', 'y'));
      assert.deepEqual(summary(await without.atLeast(2)), ['ADDED x', 'ADDED y']);
      withBookmarks.stop();
      without.stop();
    });
  });

  it('sends periodic bookmarks at the configured interval', async () => {
    await withSim({ bookmarkIntervalMs: 10 }, async (sim) => {
      const events = await Events.open(sim, '/api/v1/pods', {
        resourceVersion: sim.resourceVersion(),
        allowWatchBookmarks: true,
      });
      const [first] = await events.atLeast(1);
      assert.equal(first?.type, 'BOOKMARK');
      events.stop();
    });
  });

  it('sends initial events, then an initial-events-end bookmark, when asked with sendInitialEvents', async () => {
    await withSim({}, async (sim) => {
      sim.upsertPod(pod('default', 'a'));
      const events = await Events.open(sim, '/api/v1/pods', {
        sendInitialEvents: true,
        resourceVersionMatch: 'NotOlderThan',
        allowWatchBookmarks: true,
      });
      const [added, end] = await events.atLeast(2);
      assert.equal(added?.type, 'ADDED');
      assert.equal(end?.type, 'BOOKMARK');
      assert.equal(end?.object.metadata?.annotations?.['k8s.io/initial-events-end'], 'true');
      events.stop();
    });
  });

  it('ends the stream cleanly when timeoutSeconds elapses', async () => {
    await withSim({}, async (sim) => {
      const closed = new Promise((resolve) => sim.once('watchClose', (_info, reason) => resolve(reason)));
      const events = await Events.open(sim, '/api/v1/pods', {
        resourceVersion: sim.resourceVersion(),
        timeoutSeconds: 1,
      });
      assert.equal(await events.ended, null, 'a clean end, not an error');
      assert.equal(await closed, 'timeout');
    });
  });

  describe('after compaction', () => {
    it('answers a watch from an old resourceVersion with an ERROR event carrying 410 Expired (HTTP 200)', async () => {
      await withSim({}, async (sim) => {
        const old = sim.resourceVersion();
        sim.upsertPod(pod('default', 'a'));
        sim.compact();
        const events = await Events.open(sim, '/api/v1/pods', { resourceVersion: old });
        const [error] = await events.atLeast(1);
        assert.equal(error?.type, 'ERROR');
        assert.equal(error?.object.kind, 'Status');
        assert.equal(error?.object.code, 410);
        assert.equal(error?.object.reason, 'Expired');
        assert.equal(await events.ended, null);
      });
    });

    it('answers with an HTTP 410 instead when configured to', async () => {
      await withSim({ staleWatchResponse: 'http-410' }, async (sim) => {
        const old = sim.resourceVersion();
        sim.upsertPod(pod('default', 'a'));
        sim.compact();
        const events = await Events.open(sim, '/api/v1/pods', { resourceVersion: old });
        const err = (await events.ended) as { statusCode?: number };
        assert.equal(err?.statusCode, 410);
      });
    });

    it('expires a running watch with an ERROR 410 event and ends it', async () => {
      await withSim({}, async (sim) => {
        const events = await Events.open(sim, '/api/v1/pods', { resourceVersion: sim.resourceVersion() });
        await sim.waitForWatches(1);
        assert.equal(sim.expireWatches(), 1);
        const [error] = await events.atLeast(1);
        assert.equal(error?.type, 'ERROR');
        assert.equal(error?.object.code, 410);
        assert.equal(await events.ended, null);
      });
    });

    it('keeps resourceVersions inside the history window resumable', async () => {
      await withSim({ historyLimit: 2 }, async (sim) => {
        sim.upsertPod(pod('default', 'a'));
        sim.upsertPod(pod('default', 'b'));
        const middle = sim.resourceVersion();
        sim.upsertPod(pod('default', 'c'));
        sim.upsertPod(pod('default', 'd'));
        const resumable = await Events.open(sim, '/api/v1/pods', { resourceVersion: middle });
        assert.deepEqual(summary(await resumable.atLeast(2)), ['ADDED c', 'ADDED d']);
        resumable.stop();
        const tooOld = await Events.open(sim, '/api/v1/pods', {
          resourceVersion: String(Number(middle) - 1),
        });
        const [error] = await tooOld.atLeast(1);
        assert.equal(error?.object.code, 410);
      });
    });
  });

  describe('network faults', () => {
    it('resets dropped streams: the client sees an error, not a clean end', async () => {
      await withSim({}, async (sim) => {
        const events = await Events.open(sim, '/api/v1/pods', { resourceVersion: sim.resourceVersion() });
        await sim.waitForWatches(1);
        assert.equal(sim.dropWatches(), 1);
        const err = await events.ended;
        assert.ok(err instanceof Error, `expected a connection error, got ${String(err)}`);
        assert.deepEqual(sim.openWatches(), []);
      });
    });

    it('holds everything back on a stalled stream while the connection stays open, until it resumes', async () => {
      await withSim({}, async (sim) => {
        const stalled = await Events.open(sim, '/api/v1/pods', {
          resourceVersion: sim.resourceVersion(),
          allowWatchBookmarks: true,
        });
        await sim.waitForWatches(1);
        assert.equal(sim.stallWatches(), 1);
        const probe = await Events.open(sim, '/api/v1/pods', { resourceVersion: sim.resourceVersion() });
        await sim.waitForWatches(2);
        sim.upsertPod(pod('default', 'during-stall'));
        assert.equal(sim.sendBookmarks(), 0, 'a stalled stream sends no bookmark');
        // Both streams are written to at the same instant; once the healthy one has the event,
        // the stalled one would have it too if anything had been sent.
        assert.deepEqual(summary(await probe.atLeast(1)), ['ADDED during-stall']);
        assert.deepEqual(stalled.seen, []);
        assert.equal(sim.openWatches().length, 2, 'the stalled connection is still open');

        sim.resumeWatches();
        assert.deepEqual(summary(await stalled.atLeast(1)), ['ADDED during-stall']);
        stalled.stop();
        probe.stop();
      });
    });

    it('holds back the end of a stalled stream too, until it resumes', async () => {
      await withSim({}, async (sim) => {
        const events = await Events.open(sim, '/api/v1/pods', { resourceVersion: sim.resourceVersion() });
        await sim.waitForWatches(1);
        sim.stallWatches();
        assert.equal(sim.expireWatches(), 1);
        assert.equal(sim.openWatches().length, 1, 'nothing, not even the end, has been sent');
        const closed = new Promise((resolve) => sim.once('watchClose', (_info, reason) => resolve(reason)));
        sim.resumeWatches();
        const [error] = await events.atLeast(1);
        assert.equal(error?.type, 'ERROR');
        assert.equal(error?.object.code, 410);
        assert.equal(await closed, 'error');
        assert.equal(await events.ended, null);
      });
    });

    it('restarts: streams are reset, state is kept, the rebuilt watch cache forgets older resourceVersions', async () => {
      await withSim({}, async (sim) => {
        sim.upsertPod(pod('default', 'kept'));
        const beforeRestart = sim.resourceVersion();
        const events = await Events.open(sim, '/api/v1/pods', { resourceVersion: beforeRestart });
        await sim.waitForWatches(1);
        sim.upsertPod(pod('default', 'later'));
        await events.atLeast(1);
        const restarting = sim.restart({ downtimeMs: 50 });
        await assert.rejects(raw(sim, 'GET', '/version'), { code: 'ECONNREFUSED' });
        await restarting;
        assert.ok((await events.ended) instanceof Error);

        const core = sim.kubeConfig().makeApiClient(CoreV1Api);
        const list = await core.listNamespacedPod({ namespace: 'default' });
        assert.deepEqual(
          list.items.map((p) => p.metadata?.name),
          ['kept', 'later'],
        );
        const resumed = await Events.open(sim, '/api/v1/pods', { resourceVersion: beforeRestart });
        const [error] = await resumed.atLeast(1);
        assert.equal(error?.type, 'ERROR');
        assert.equal(error?.object.code, 410);
      });
    });
  });
});

// ---- writes ----------------------------------------------------------------------------------

describe('writes', () => {
  let sim: KubeSimulator;
  let core: CoreV1Api;
  before(async () => {
    sim = await startKubeSimulator();
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
  });
  after(() => sim.close());

  it('creates a pod with server-set fields: uid, resourceVersion, creationTimestamp, a Pending status', async () => {
    const created = await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { generateName: 'job-' },
        spec: { containers: [{ name: 'app', image: IMAGE }] },
        status: { phase: 'Running' },
      },
    });
    assert.match(created.metadata?.name ?? '', /^job-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(created.metadata?.resourceVersion, sim.resourceVersion());
    assert.ok(created.metadata?.creationTimestamp instanceof Date);
    assert.equal(created.status?.phase, 'Pending', 'a client cannot set a new pod status');
    assert.equal(created.spec?.containers[0]?.imagePullPolicy, 'IfNotPresent');
  });

  it('answers a duplicate name with 409 AlreadyExists and a missing one with 404 NotFound', async () => {
    const body: V1Pod = { metadata: { name: 'dup' }, spec: { containers: [{ name: 'app', image: IMAGE }] } };
    await core.createNamespacedPod({ namespace: 'default', body });
    const exists = await failure(core.createNamespacedPod({ namespace: 'default', body }));
    assert.deepEqual(
      { code: exists.httpCode, reason: exists.reason, message: exists.message, details: exists.details },
      {
        code: 409,
        reason: 'AlreadyExists',
        message: 'pods "dup" already exists',
        details: { name: 'dup', kind: 'pods' },
      },
    );
    const missing = await failure(core.readNamespacedPod({ namespace: 'default', name: 'nope' }));
    assert.deepEqual(
      { code: missing.httpCode, status: missing.status, reason: missing.reason, message: missing.message },
      { code: 404, status: 'Failure', reason: 'NotFound', message: 'pods "nope" not found' },
    );
    const noNamespace = await failure(core.createNamespacedPod({ namespace: 'ghost', body }));
    assert.equal(noNamespace.message, 'namespaces "ghost" not found');
  });

  it('rejects an invalid pod with 422 Invalid naming the field', async () => {
    const status = await failure(
      core.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name: 'Bad_Name' }, spec: { containers: [] } },
      }),
    );
    assert.equal(status.httpCode, 422);
    assert.equal(status.reason, 'Invalid');
    assert.match(status.message, /metadata\.name: Invalid value: "Bad_Name"/);
    assert.match(status.message, /spec\.containers: Required value/);
  });

  it('updates with optimistic concurrency: a stale resourceVersion gets 409 Conflict', async () => {
    const created = await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'occ' }, spec: { containers: [{ name: 'app', image: IMAGE }] } },
    });
    const fresh = await core.replaceNamespacedPod({
      namespace: 'default',
      name: 'occ',
      body: {
        ...created,
        spec: { ...created.spec!, containers: [{ ...created.spec!.containers[0]!, image: `${IMAGE}-next` }] },
      },
    });
    assert.notEqual(fresh.metadata?.resourceVersion, created.metadata?.resourceVersion);
    const stale = await failure(
      core.replaceNamespacedPod({ namespace: 'default', name: 'occ', body: created }),
    );
    assert.equal(stale.httpCode, 409);
    assert.equal(stale.reason, 'Conflict');
    assert.equal(
      stale.message,
      'Operation cannot be fulfilled on pods "occ": the object has been modified; please apply your changes to the latest version and try again',
    );
    const forbidden = await failure(
      core.replaceNamespacedPod({
        namespace: 'default',
        name: 'occ',
        body: { ...fresh, spec: { ...fresh.spec!, nodeName: 'elsewhere' } },
      }),
    );
    assert.equal(forbidden.httpCode, 422);
    assert.match(forbidden.message, /pod updates may not change fields other than/);
  });

  it('applies merge, strategic-merge and JSON patches', async () => {
    sim.upsertPod(
      pod('default', 'patched', {
        labels: { app: 'api' },
        initContainers: [{ name: 'init', image: IMAGE }],
      }),
    );
    const merged = await core.patchNamespacedPod(
      { namespace: 'default', name: 'patched', body: { metadata: { labels: { tier: 'back', app: null } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.deepEqual(merged.metadata?.labels, { tier: 'back' });

    const strategic = await core.patchNamespacedPodStatus(
      {
        namespace: 'default',
        name: 'patched',
        body: { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Probe' }] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const conditions = strategic.status?.conditions ?? [];
    assert.equal(conditions.length, 5, 'conditions merge by type instead of being replaced');
    assert.equal(conditions.find((c) => c.type === 'Ready')?.reason, 'Probe');

    const jsonPatched = await core.patchNamespacedPod(
      {
        namespace: 'default',
        name: 'patched',
        body: [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    assert.deepEqual(jsonPatched.metadata?.annotations, { a: 'b' });

    const stale = await failure(
      core.patchNamespacedPod(
        { namespace: 'default', name: 'patched', body: { metadata: { resourceVersion: '1' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    assert.equal(stale.reason, 'Conflict', 'a resourceVersion in a patch is a precondition');
  });

  it('keeps status and spec apart: the main resource ignores status, pods/status ignores spec', async () => {
    const current = sim.upsertPod(pod('default', 'split'));
    const replaced = await core.replaceNamespacedPod({
      namespace: 'default',
      name: 'split',
      body: { ...(current as V1Pod), status: { phase: 'Failed' } },
    });
    assert.equal(replaced.status?.phase, 'Running');
    const statusOnly = await core.replaceNamespacedPodStatus({
      namespace: 'default',
      name: 'split',
      body: {
        ...replaced,
        spec: { containers: [{ name: 'other', image: 'x' }] },
        status: { ...replaced.status, phase: 'Failed' },
      },
    });
    assert.equal(statusOnly.status?.phase, 'Failed');
    assert.equal(statusOnly.spec?.containers[0]?.name, 'app');
  });

  it('does not write an update that changes nothing: no new resourceVersion, no event', async () => {
    const current = sim.upsertPod(pod('default', 'same'));
    const rv = sim.resourceVersion();
    const answer = await core.replaceNamespacedPod({
      namespace: 'default',
      name: 'same',
      body: current as V1Pod,
    });
    assert.equal(answer.metadata?.resourceVersion, current.metadata.resourceVersion);
    assert.equal(sim.upsertPod(current), current, 'the same holds for state operations');
    sim.patchPodStatus('default', 'same', { phase: current.status?.phase });
    assert.equal(sim.resourceVersion(), rv);
  });

  it('adds ephemeral containers through their subresource only, and never removes them', async () => {
    const current = sim.upsertPod(pod('default', 'debugged'));
    const debugger1 = { name: 'debugger', image: 'busybox:1.36', targetContainerName: 'app' };
    const added = await core.replaceNamespacedPodEphemeralcontainers({
      namespace: 'default',
      name: 'debugged',
      body: {
        ...(current as V1Pod),
        spec: { ...(current.spec as V1Pod['spec'])!, ephemeralContainers: [debugger1] },
      },
    });
    assert.deepEqual(
      added.spec?.ephemeralContainers?.map((c) => c.name),
      ['debugger'],
    );
    const removed = await failure(
      core.replaceNamespacedPodEphemeralcontainers({
        namespace: 'default',
        name: 'debugged',
        body: { ...added, spec: { ...added.spec!, ephemeralContainers: [] } },
      }),
    );
    assert.equal(removed.httpCode, 422);
    assert.match(removed.message, /existing ephemeral containers "debugger" may not be removed/);
    const patched = await core.patchNamespacedPodEphemeralcontainers(
      {
        namespace: 'default',
        name: 'debugged',
        body: { spec: { ephemeralContainers: [{ name: 'second', image: 'busybox:1.36' }] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    assert.deepEqual(
      patched.spec?.ephemeralContainers?.map((c) => c.name),
      ['debugger', 'second'],
    );
  });

  it('deletes a pod: the answer and the DELETED event carry the object at the deletion revision', async () => {
    sim.upsertPod(pod('default', 'doomed'));
    const events = await Events.open(sim, '/api/v1/namespaces/default/pods', {
      resourceVersion: sim.resourceVersion(),
      fieldSelector: 'metadata.name=doomed',
    });
    const deleted = (await core.deleteNamespacedPod({ namespace: 'default', name: 'doomed' })) as V1Pod;
    assert.equal(deleted.kind, 'Pod');
    const [event] = await events.atLeast(1);
    assert.equal(event?.type, 'DELETED');
    assert.equal(event?.object.metadata?.resourceVersion, sim.resourceVersion());
    assert.equal(deleted.metadata?.resourceVersion, sim.resourceVersion());
    events.stop();
    const gone = await failure(core.deleteNamespacedPod({ namespace: 'default', name: 'doomed' }));
    assert.equal(gone.httpCode, 404);
  });

  it('holds a pod with finalizers until the last one is removed', async () => {
    const base = pod('default', 'held');
    sim.upsertPod({ ...base, metadata: { ...base.metadata, finalizers: ['example.com/x'] } });
    const events = await Events.open(sim, '/api/v1/namespaces/default/pods', {
      resourceVersion: sim.resourceVersion(),
      fieldSelector: 'metadata.name=held',
    });
    const marked = (await core.deleteNamespacedPod({ namespace: 'default', name: 'held' })) as V1Pod;
    assert.ok(marked.metadata?.deletionTimestamp, 'the pod is only marked for deletion');
    assert.ok(sim.pod('default', 'held'));
    await core.patchNamespacedPod(
      { namespace: 'default', name: 'held', body: { metadata: { finalizers: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.deepEqual(summary(await events.atLeast(2)), ['MODIFIED held', 'DELETED held']);
    assert.equal(sim.pod('default', 'held'), undefined);
    events.stop();
  });

  it('runs every check but stores nothing under dryRun=All', async () => {
    const rv = sim.resourceVersion();
    const body: V1Pod = { metadata: { name: 'dry' }, spec: { containers: [{ name: 'app', image: IMAGE }] } };
    const answer = await core.createNamespacedPod({ namespace: 'default', body, dryRun: 'All' });
    assert.equal(answer.metadata?.name, 'dry');
    assert.equal(sim.pod('default', 'dry'), undefined);
    assert.equal(sim.resourceVersion(), rv);
    const invalidDry = await failure(
      core.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name: 'dry' }, spec: { containers: [] } },
        dryRun: 'All',
      }),
    );
    assert.equal(invalidDry.httpCode, 422);
  });

  it('deletes a collection by label selector and answers with the deleted pods', async () => {
    await core.createNamespace({ body: { metadata: { name: 'sweep' } } });
    for (const [name, app] of [
      ['s1', 'old'],
      ['s2', 'old'],
      ['s3', 'new'],
    ] as const) {
      sim.upsertPod(pod('sweep', name, { labels: { app } }));
    }
    // client-node types this answer as a Status and would drop the items, so read the wire.
    const response = await raw(sim, 'DELETE', '/api/v1/namespaces/sweep/pods?labelSelector=app%3Dold');
    const answer = JSON.parse(response.body) as {
      kind: string;
      items: Array<{ metadata: { name: string } }>;
    };
    assert.equal(response.status, 200);
    assert.equal(answer.kind, 'PodList');
    assert.deepEqual(
      answer.items.map((p) => p.metadata.name),
      ['s1', 's2'],
    );
    assert.deepEqual(
      sim.pods('sweep').map((p) => p.metadata.name),
      ['s3'],
    );
  });

  it('deletes a namespace with everything in it', async () => {
    await core.createNamespace({ body: { metadata: { name: 'temp' } } });
    sim.upsertPod(pod('temp', 'inside'));
    const ns = await core.deleteNamespace({ name: 'temp' });
    assert.equal((ns as { status?: { phase?: string } }).status?.phase, 'Terminating');
    assert.equal(sim.pod('temp', 'inside'), undefined);
    await failure(core.readNamespace({ name: 'temp' }));
  });
});

describe('leases', () => {
  let sim: KubeSimulator;
  let leases: CoordinationV1Api;
  before(async () => {
    sim = await startKubeSimulator();
    leases = sim.kubeConfig().makeApiClient(CoordinationV1Api);
  });
  after(() => sim.close());

  /** A MicroTime with the six fractional digits the API server's decoder requires. */
  const micro = (iso: string) => iso.replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;

  function lease(name: string, holder: string): V1Lease {
    return {
      metadata: { name },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 15,
        renewTime: micro('2026-01-01T00:00:00.000Z'),
      },
    };
  }

  it('creates once; a second create gets 409 AlreadyExists', async () => {
    const created = await leases.createNamespacedLease({
      namespace: 'kube-system',
      body: lease('lock', 'a'),
    });
    assert.equal(created.spec?.holderIdentity, 'a');
    const again = await failure(
      leases.createNamespacedLease({ namespace: 'kube-system', body: lease('lock', 'b') }),
    );
    assert.equal(again.httpCode, 409);
    assert.equal(again.reason, 'AlreadyExists');
    assert.equal(again.message, 'leases.coordination.k8s.io "lock" already exists');
    assert.deepEqual(again.details, { name: 'lock', group: 'coordination.k8s.io', kind: 'leases' });
  });

  it('updates with the read resourceVersion; a stale one gets 409 Conflict, none gets 422', async () => {
    const read = await leases.readNamespacedLease({ namespace: 'kube-system', name: 'lock' });
    const renewed = await leases.replaceNamespacedLease({
      namespace: 'kube-system',
      name: 'lock',
      body: {
        ...read,
        spec: { ...read.spec, holderIdentity: 'a', renewTime: micro('2026-01-01T00:00:05.000Z') },
      },
    });
    assert.ok(Number(renewed.metadata?.resourceVersion) > Number(read.metadata?.resourceVersion));

    const stale = await failure(
      leases.replaceNamespacedLease({
        namespace: 'kube-system',
        name: 'lock',
        body: { ...read, spec: { ...read.spec, holderIdentity: 'b' } },
      }),
    );
    assert.equal(stale.httpCode, 409);
    assert.equal(stale.reason, 'Conflict');
    assert.match(stale.message, /^Operation cannot be fulfilled on leases\.coordination\.k8s\.io "lock"/);

    const unconditional = await failure(
      leases.replaceNamespacedLease({
        namespace: 'kube-system',
        name: 'lock',
        body: { metadata: { name: 'lock' }, spec: { holderIdentity: 'b' } },
      }),
    );
    assert.equal(unconditional.httpCode, 422, 'leases do not allow unconditional updates');
  });

  it('creates on PUT when the lease does not exist', async () => {
    const made = await leases.replaceNamespacedLease({
      namespace: 'default',
      name: 'put-made',
      body: lease('put-made', 'z'),
    });
    assert.equal(made.spec?.holderIdentity, 'z');
    assert.ok(sim.lease('default', 'put-made'));
  });

  it('rejects a millisecond MicroTime with 400, as the real decoder does (Date.toISOString is not enough)', async () => {
    const status = await failure(
      leases.createNamespacedLease({
        namespace: 'default',
        body: {
          metadata: { name: 'ms' },
          spec: { holderIdentity: 'a', renewTime: new Date('2026-01-01T00:00:00.123Z') },
        },
      }),
    );
    assert.equal(status.httpCode, 400);
    assert.equal(status.reason, 'BadRequest');
    assert.match(status.message, /cannot parse "\.123Z" as "\.000000"/);
  });

  it('deletes with a Success Status rather than the object', async () => {
    const answer = (await leases.deleteNamespacedLease({ namespace: 'default', name: 'put-made' })) as {
      kind?: string;
      status?: string;
    };
    assert.equal(answer.kind, 'Status');
    assert.equal(answer.status, 'Success');
  });
});

// ---- faults and counters ---------------------------------------------------------------------

describe('injected failures', () => {
  const cases: Array<{ code: 429 | 500 | 503; reason: string; retryAfter?: number }> = [
    { code: 500, reason: 'InternalError' },
    { code: 503, reason: 'ServiceUnavailable', retryAfter: 1 },
    { code: 429, reason: 'TooManyRequests', retryAfter: 2 },
  ];
  for (const c of cases) {
    it(`fails a burst of matching requests with ${c.code} ${c.reason}, then recovers`, async () => {
      await withSim({}, async (sim) => {
        const core = sim.kubeConfig().makeApiClient(CoreV1Api);
        sim.failNext(2, {
          code: c.code,
          retryAfterSeconds: c.retryAfter,
          match: { verb: 'list', resource: 'pods' },
        });
        await core.readNamespace({ name: 'default' });
        for (let i = 0; i < 2; i++) {
          const status = await failure(core.listPodForAllNamespaces());
          assert.equal(status.httpCode, c.code);
          assert.equal(status.reason, c.reason);
        }
        await core.listPodForAllNamespaces();
        assert.equal(sim.requestCount('list', 'pods'), 3);
      });
    });
  }

  it('sets Retry-After on throttling answers', async () => {
    await withSim({}, async (sim) => {
      sim.failNext(1, { code: 429, retryAfterSeconds: 3 });
      const response = await raw(sim, 'GET', '/api/v1/pods');
      assert.equal(response.status, 429);
      assert.equal(response.headers['retry-after'], '3');
      assert.equal(JSON.parse(response.body).details.retryAfterSeconds, 3);
    });
  });

  it('fails watch opens too, before any stream starts', async () => {
    await withSim({}, async (sim) => {
      sim.failNext(1, { match: { verb: 'watch' } });
      const events = await Events.open(sim, '/api/v1/pods', {});
      const err = (await events.ended) as { statusCode?: number };
      assert.equal(err.statusCode, 500);
      assert.equal(sim.requestCount('watch', 'pods'), 1);
    });
  });

  it('adds latency to matching requests', async () => {
    await withSim({}, async (sim) => {
      sim.addLatency(30, { verb: 'get', resource: 'namespaces' });
      const core = sim.kubeConfig().makeApiClient(CoreV1Api);
      const started = process.hrtime.bigint();
      await core.readNamespace({ name: 'default' });
      assert.ok(process.hrtime.bigint() - started >= 25_000_000n);
    });
  });
});

describe('bulk load', () => {
  it('loads 10,000 pods that list back complete in pages of 500', async () => {
    await withSim({}, async (sim) => {
      const pods: PodJson[] = [];
      for (let i = 0; i < 10_000; i++) pods.push(pod(`ns-${i % 20}`, `pod-${i}`));
      sim.bulkLoad(pods);
      assert.equal(sim.podCount(), 10_000);
      const core = sim.kubeConfig().makeApiClient(CoreV1Api);
      const names = new Set<string>();
      let token: string | undefined;
      do {
        const page = await core.listPodForAllNamespaces({ limit: 500, _continue: token });
        for (const p of page.items) names.add(`${p.metadata?.namespace}/${p.metadata?.name}`);
        token = page.metadata?._continue;
      } while (token);
      assert.equal(names.size, 10_000);
      assert.equal(sim.requestCount('list', 'pods'), 20);
    });
  });
});

describe('kubeconfig and builders', () => {
  for (const tls of [true, false]) {
    it(`serves client-node over ${tls ? 'HTTPS with its own CA' : 'plain HTTP'}`, async () => {
      await withSim({ tls }, async (sim) => {
        assert.ok(sim.url.startsWith(tls ? 'https://' : 'http://'));
        const list = await sim.kubeConfig().makeApiClient(CoreV1Api).listNamespace();
        assert.deepEqual(
          list.items.map((ns) => ns.metadata?.name),
          ['default', 'kube-node-lease', 'kube-public', 'kube-system'],
        );
      });
    });
  }

  it('gives client-node a config whose current context targets the simulator and its namespace', async () => {
    await withSim({ defaultNamespace: 'team-a' }, async (sim) => {
      const kc = sim.kubeConfig();
      assert.equal(kc.getCurrentCluster()?.server, sim.url);
      assert.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, 'team-a');
      assert.match(sim.kubeconfigYaml(), /current-context: ecr-warden-sim/);
    });
  });

  it('builds a running pod whose statuses report the image digests of every container kind', () => {
    const built = buildPod({
      namespace: 'shop',
      name: 'api-0',
      nodeName: 'node-1',
      containers: [{ name: 'api', image: IMAGE }],
      initContainers: [{ name: 'migrate', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/migrate:v1' }],
      ephemeralContainers: [{ name: 'debug', image: 'busybox:1.36' }],
      imageIDs: { api: 'sha256:aaaa' },
    });
    assert.equal(built.status?.phase, 'Running');
    assert.equal(
      built.status?.containerStatuses?.[0]?.imageID,
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:aaaa',
    );
    assert.match(
      built.status?.initContainerStatuses?.[0]?.imageID ?? '',
      /^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/migrate@sha256:[0-9a-f]{64}$/,
    );
    assert.deepEqual(built.status?.initContainerStatuses?.[0]?.state, {
      terminated: built.status?.initContainerStatuses?.[0]?.state?.terminated,
    });
    assert.equal(built.status?.ephemeralContainerStatuses?.[0]?.imageID, imageIdFor('busybox:1.36'));
    assert.equal(built.status?.ephemeralContainerStatuses?.[0]?.ready, false);
  });

  it('builds an unscheduled pod as Pending with no image IDs yet', () => {
    const built = buildPod({ namespace: 'shop', name: 'new', containers: [{ name: 'api', image: IMAGE }] });
    assert.equal(built.status?.phase, 'Pending');
    assert.equal(built.status?.containerStatuses, undefined);
  });
});

describe('request counters', () => {
  it('counts requests by verb and resource, list pages and watch opens included', async () => {
    await withSim({}, async (sim) => {
      const core = sim.kubeConfig().makeApiClient(CoreV1Api);
      for (let i = 0; i < 3; i++) sim.upsertPod(pod('default', `p${i}`));
      const first = await core.listNamespacedPod({ namespace: 'default', limit: 2 });
      await core.listNamespacedPod({ namespace: 'default', limit: 2, _continue: first.metadata?._continue });
      const events = await Events.open(sim, '/api/v1/namespaces/default/pods', {
        resourceVersion: sim.resourceVersion(),
      });
      await sim.waitForWatches(1);
      await core.readNamespacedPodStatus({ namespace: 'default', name: 'p0' });
      events.stop();
      assert.deepEqual(sim.requestCounts(), { 'list pods': 2, 'watch pods': 1, 'get pods/status': 1 });
    });
  });
});
