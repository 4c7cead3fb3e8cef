import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseImageReference } from '../src/images/reference.ts';
import {
  container,
  IMAGES,
  pod,
  REGISTRY,
  review,
  reviewOf,
  startWebhookFixture,
  TEMPLATE_KINDS,
  type WebhookFixture,
  workload,
} from './helpers/reviews.ts';

const ALL_KINDS = ['Pod', ...TEMPLATE_KINDS];

describe('/validate with the default checks in enforce mode', () => {
  let f: WebhookFixture;
  before(async () => {
    f = await startWebhookFixture({ settings: { webhook: { kinds: ALL_KINDS } } });
  });
  after(() => f.close());

  const cases = [
    { image: IMAGES.clean, allowed: true, message: undefined, warning: undefined },
    { image: IMAGES.dockerHub, allowed: true, message: undefined, warning: undefined },
    { image: IMAGES.critical, allowed: false, message: `3 CRITICAL findings (max 0)`, warning: undefined },
    { image: IMAGES.archived, allowed: false, message: 'image is archived', warning: undefined },
    {
      image: IMAGES.missing,
      allowed: false,
      message: 'tag v9 not found in repository api',
      warning: undefined,
    },
    {
      image: IMAGES.scanning,
      allowed: true,
      message: undefined,
      warning:
        'scan status IN_PROGRESS: The scan is in progress.; could not check severity: findings unknown: scan IN_PROGRESS (policy.onError: allow)',
    },
  ];
  for (const kind of ALL_KINDS) {
    for (const c of cases) {
      const verdict = c.allowed ? (c.warning ? 'warns about' : 'allows') : 'denies';
      test(`a ${kind} running ${c.image} ${verdict} it`, async () => {
        const sent = reviewOf(kind as 'Pod', [c.image]);
        const { status, response } = await f.client.review('/validate', sent);
        assert.equal(status, 200);
        assert.equal(response.uid, (sent.request as { uid: string }).uid);
        assert.equal(response.allowed, c.allowed);
        if (c.message) {
          assert.deepEqual(response.status, {
            status: 'Failure',
            code: 403,
            reason: 'Forbidden',
            message: `container "c0" image ${c.image}: ${c.message}`,
          });
        } else {
          assert.equal(response.status, undefined);
        }
        assert.deepEqual(
          response.warnings,
          c.warning ? [`container "c0" image ${c.image}: ${c.warning}`] : undefined,
        );
      });
    }
  }

  test('names every failing container of every list on its own line, and warns for the others', async () => {
    const sent = reviewOf('CronJob', {
      initContainers: [container('migrate', IMAGES.critical)],
      containers: [
        container('api', IMAGES.clean),
        container('web', IMAGES.scanning),
        container('old', IMAGES.archived),
      ],
    });
    const { response } = await f.client.review('/validate', sent);
    assert.equal(response.allowed, false);
    assert.equal(
      response.status?.message,
      [
        `container "migrate" image ${IMAGES.critical}: 3 CRITICAL findings (max 0)`,
        `container "old" image ${IMAGES.archived}: image is archived`,
      ].join('\n'),
    );
    assert.deepEqual(response.warnings, [
      `container "web" image ${IMAGES.scanning}: scan status IN_PROGRESS: The scan is in progress.; could not check severity: findings unknown: scan IN_PROGRESS (policy.onError: allow)`,
    ]);
  });

  test('judges a Pod UPDATE through the ephemeralcontainers subresource by the container it adds', async () => {
    const before = pod({ containers: [container('api', IMAGES.clean)] });
    const after = pod({
      containers: [container('api', IMAGES.clean)],
      ephemeralContainers: [container('debugger', IMAGES.critical)],
    });
    const { response } = await f.client.review(
      '/validate',
      review({ operation: 'UPDATE', subResource: 'ephemeralcontainers', object: after, oldObject: before }),
    );
    assert.equal(response.allowed, false);
    assert.equal(
      response.status?.message,
      `container "debugger" image ${IMAGES.critical}: 3 CRITICAL findings (max 0)`,
    );
  });

  test('allows an UPDATE that brings no new image without asking ECR, even for a denied image', async () => {
    const object = pod([IMAGES.critical, IMAGES.archived], 'running');
    const relabelled = { ...object, metadata: { ...(object.metadata as object), labels: { tier: 'gold' } } };
    f.sim.resetCounts();
    const { response } = await f.client.review(
      '/validate',
      review({ operation: 'UPDATE', object: relabelled, oldObject: object }),
    );
    assert.equal(response.allowed, true);
    assert.equal(f.sim.requests().total, 0);
  });

  test('judges only the images an UPDATE brings in', async () => {
    const before = workload('Deployment', [IMAGES.critical, IMAGES.clean]);
    const after = workload('Deployment', [IMAGES.critical, IMAGES.archived]);
    const { response } = await f.client.review(
      '/validate',
      review({ kind: 'Deployment', operation: 'UPDATE', object: after, oldObject: before }),
    );
    assert.equal(response.allowed, false);
    assert.equal(response.status?.message, `container "c1" image ${IMAGES.archived}: image is archived`);
  });

  for (const operation of ['DELETE', 'CONNECT'] as const) {
    test(`allows ${operation}`, async () => {
      const { response } = await f.client.review(
        '/validate',
        review({ operation, oldObject: pod([IMAGES.critical]) }),
      );
      assert.equal(response.allowed, true);
    });
  }

  test('allows writes to other subresources (status, binding) untouched', async () => {
    const { response } = await f.client.review(
      '/validate',
      review({
        operation: 'UPDATE',
        subResource: 'status',
        object: pod([IMAGES.critical]),
        oldObject: pod([IMAGES.clean]),
      }),
    );
    assert.equal(response.allowed, true);
  });

  test('a kind of the same name from another API group is not a workload it judges', async () => {
    const object = workload('Deployment', [IMAGES.critical]);
    const sent = review({ kind: { group: 'example.com', version: 'v1', kind: 'Deployment' }, object });
    const { response } = await f.client.review('/validate', sent);
    assert.equal(response.allowed, true);
  });

  test('assesses an image used by eight containers with one ECR request', async () => {
    f.core.resolver.clear();
    f.sim.resetCounts();
    const image = `${REGISTRY}/api:v8`;
    const { response } = await f.client.review(
      '/validate',
      reviewOf(
        'Pod',
        Array.from({ length: 8 }, () => image),
      ),
    );
    assert.equal(response.allowed, true);
    assert.equal(f.sim.requests().total, 1);
  });

  test('exempt namespaces are allowed without asking ECR', async () => {
    f.sim.resetCounts();
    const { response } = await f.client.review(
      '/validate',
      reviewOf('Pod', [IMAGES.critical], { namespace: 'kube-system' }),
    );
    assert.equal(response.allowed, true);
    assert.equal(f.sim.requests().total, 0);
  });

  test('a dry run gets the same answer and is counted like any review', async () => {
    const counted = f.observer.reviews.length;
    const { response } = await f.client.review(
      '/validate',
      reviewOf('Pod', [IMAGES.critical], { dryRun: true }),
    );
    assert.equal(response.allowed, false);
    assert.deepEqual(
      f.observer.reviews.slice(counted).map(({ webhook, kind, decision }) => ({ webhook, kind, decision })),
      [{ webhook: 'validate', kind: 'Pod', decision: 'denied' }],
    );
  });

  test('counts each review by webhook, kind and decision', async () => {
    const counted = f.observer.reviews.length;
    await f.client.review('/validate', reviewOf('Job', [IMAGES.clean]));
    await f.client.review('/validate', reviewOf('StatefulSet', [IMAGES.scanning]));
    await f.client.review('/validate', reviewOf('DaemonSet', [IMAGES.archived]));
    assert.deepEqual(
      f.observer.reviews.slice(counted).map(({ kind, decision }) => `${kind} ${decision}`),
      ['Job allowed', 'StatefulSet warned', 'DaemonSet denied'],
    );
    assert.ok(f.observer.reviews.every((r) => r.seconds >= 0));
  });
});

describe('/validate with several checks failing for one container', () => {
  let f: WebhookFixture;
  before(async () => {
    f = await startWebhookFixture({
      settings: {
        policy: {
          checks: {
            severity: { action: 'deny', max: { CRITICAL: 0, HIGH: 0 } },
            imageAge: { action: 'warn', maxAge: '1d' },
          },
        },
      },
    });
  });
  after(() => f.close());

  test('joins the failed checks with "; " in check order, each with its numbers', async () => {
    const { response } = await f.client.review('/validate', reviewOf('Pod', [IMAGES.critical]));
    assert.equal(
      response.status?.message,
      `container "c0" image ${IMAGES.critical}: 3 CRITICAL findings (max 0), 1 HIGH finding (max 0); pushed 10d ago (max 1d)`,
    );
  });
});

describe('/validate and the policy mode', () => {
  test('warn mode turns denials into warnings', async () => {
    const f = await startWebhookFixture({ settings: { policy: { mode: 'warn' } } });
    try {
      const { status, response } = await f.client.review('/validate', reviewOf('Pod', [IMAGES.critical]));
      assert.equal(status, 200);
      assert.equal(response.allowed, true);
      assert.deepEqual(response.warnings, [
        `container "c0" image ${IMAGES.critical}: 3 CRITICAL findings (max 0)`,
      ]);
      assert.deepEqual(
        f.observer.reviews.map((r) => r.decision),
        ['warned'],
      );
    } finally {
      await f.close();
    }
  });

  test('audit mode allows without warnings and records what it let through in the audit log', async () => {
    const f = await startWebhookFixture({ settings: { policy: { mode: 'audit' } } });
    try {
      const { response } = await f.client.review(
        '/validate',
        reviewOf('Pod', [IMAGES.critical, IMAGES.scanning]),
      );
      assert.equal(response.allowed, true);
      assert.equal(response.warnings, undefined);
      assert.deepEqual(response.auditAnnotations, {
        'policy-violations': [
          `container "c0" image ${IMAGES.critical}: 3 CRITICAL findings (max 0)`,
          `container "c1" image ${IMAGES.scanning}: scan status IN_PROGRESS: The scan is in progress.; could not check severity: findings unknown: scan IN_PROGRESS (policy.onError: allow)`,
        ].join('\n'),
      });
    } finally {
      await f.close();
    }
  });

  test('exempt images skip every check', async () => {
    const f = await startWebhookFixture({ settings: { policy: { exemptImages: [`${REGISTRY}/api:*`] } } });
    try {
      const { response } = await f.client.review('/validate', reviewOf('Pod', [IMAGES.critical]));
      assert.equal(response.allowed, true);
      assert.equal(f.sim.requests().total, 0);
    } finally {
      await f.close();
    }
  });

  test('kinds not listed in webhook.kinds are allowed untouched', async () => {
    const f = await startWebhookFixture();
    try {
      for (const kind of TEMPLATE_KINDS) {
        const { response } = await f.client.review('/validate', reviewOf(kind, [IMAGES.critical]));
        assert.equal(response.allowed, true, kind);
      }
      assert.equal(f.sim.requests().total, 0);
      assert.deepEqual(new Set(f.observer.reviews.map((r) => r.decision)), new Set(['allowed']));
    } finally {
      await f.close();
    }
  });
});

describe('/validate answers by webhook.deadline when ECR is slow', () => {
  const ECR_DELAY_MS = 5_000;
  const DEADLINE_MS = 2_000;
  /** Scheduling slack on a loaded machine; well under the ECR delay, so waiting for ECR would fail. */
  const SLACK_MS = 2_000;
  const couldNotCheck = (onError: string) =>
    new RegExp(
      `^container "c0" image ${escapeRegExp(IMAGES.critical)}: could not check imageExists, archived, scanComplete, severity, lifecycleRisk: ` +
        `ECR did not answer in time \\(no answer from ECR within \\d+ms\\) \\(policy\\.onError: ${onError}\\)$`,
    );

  test('onError allow: allowed, with a warning that says the checks could not run', async () => {
    const f = await startWebhookFixture({
      latencyMs: ECR_DELAY_MS,
      settings: { policy: { onError: 'allow' } },
    });
    try {
      const started = performance.now();
      const { status, response } = await f.client.review('/validate', reviewOf('Pod', [IMAGES.critical]));
      assert.ok(performance.now() - started < DEADLINE_MS + SLACK_MS, 'answered without waiting for ECR');
      assert.equal(status, 200);
      assert.equal(response.allowed, true);
      assert.equal(response.warnings?.length, 1);
      assert.match(response.warnings![0]!, couldNotCheck('allow'));

      // The lookup went on after the answer: once ECR has answered, the apiserver's retry is judged
      // from the cache, without another ECR request.
      const ref = parseImageReference(IMAGES.critical);
      assert.ok(ref.ok);
      const sent = f.sim.requests().total;
      await f.core.resolver.resolveOne(ref.ref);
      const retry = await f.client.review('/validate', reviewOf('Pod', [IMAGES.critical]));
      assert.equal(retry.response.allowed, false);
      assert.equal(
        retry.response.status?.message,
        `container "c0" image ${IMAGES.critical}: 3 CRITICAL findings (max 0)`,
      );
      assert.equal(f.sim.requests().total, sent);
    } finally {
      await f.close();
    }
  });

  test('onError deny: denied, saying the checks could not run', async () => {
    const f = await startWebhookFixture({
      latencyMs: ECR_DELAY_MS,
      settings: { policy: { onError: 'deny' } },
    });
    try {
      const started = performance.now();
      const { status, response } = await f.client.review('/validate', reviewOf('Pod', [IMAGES.critical]));
      assert.ok(performance.now() - started < DEADLINE_MS + SLACK_MS, 'answered without waiting for ECR');
      assert.equal(status, 200);
      assert.equal(response.allowed, false);
      assert.equal(response.status?.code, 403);
      assert.match(response.status?.message ?? '', couldNotCheck('deny'));
      // The warn-only check (scanComplete) is named in the same line; nothing else is a warning.
      assert.equal(response.warnings, undefined);
    } finally {
      await f.close();
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
