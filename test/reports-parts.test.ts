import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { truncateUtf8 } from '../src/reports/text.ts';
import { eventName } from '../src/reports/events.ts';
import {
  buildReport,
  namespaceResults,
  OMITTED_ANNOTATION,
  type ReportLimits,
  reportDigest,
  severityOf,
} from '../src/reports/open-report.ts';
import { TokenBucket } from '../src/reports/token-bucket.ts';
import { drift, finding, podFindings, REGISTRY } from './helpers/findings.ts';

/** The pure parts of the result writers: Report building and its size bound, names, buckets. */

const at = () => 1_780_000_000;

describe('Report results', () => {
  const severities: Array<[string | null, string | undefined]> = [
    ['CRITICAL', 'critical'],
    ['HIGH', 'high'],
    ['MEDIUM', 'medium'],
    ['LOW', 'low'],
    ['INFORMATIONAL', 'info'],
    ['UNDEFINED', undefined],
    [null, undefined],
  ];
  for (const [ecr, crd] of severities) {
    it(`maps the finding severity ${ecr} to ${crd ?? 'none'} (the CRD's enum)`, () => {
      assert.equal(severityOf({ severity: ecr }), crd);
    });
  }

  it('maps deny to fail and warn to warn, whatever the policy mode', () => {
    const results = namespaceResults(
      [
        podFindings('shop', 'api-0', [
          finding({ action: 'deny' }),
          finding({ check: 'imageAge', action: 'warn' }),
        ]),
      ],
      at,
      1024,
    );
    assert.deepEqual(
      results.map((r) => [r.rule, r.result]),
      [
        ['severity', 'fail'],
        ['imageAge', 'warn'],
      ],
    );
  });

  it('keeps one result per (pod, container, check), a deny over a warn', () => {
    const results = namespaceResults(
      [
        podFindings('shop', 'api-0', [
          finding({ action: 'warn' }),
          finding({ action: 'deny' }),
          finding({ container: 'sidecar' }),
        ]),
      ],
      at,
      1024,
    );
    assert.deepEqual(
      results.map((r) => [r.properties.container, r.result]),
      [
        ['api', 'fail'],
        ['sidecar', 'fail'],
      ],
    );
  });

  it('orders results by importance: fail, then severity, then pod, container and rule', () => {
    const results = namespaceResults(
      [
        podFindings('shop', 'b', [drift(), finding({ severity: 'HIGH' })]),
        podFindings('shop', 'a', [finding({ check: 'imageExists', severity: null }), finding()]),
      ],
      at,
      1024,
    );
    assert.deepEqual(
      results.map((r) => `${r.result} ${r.severity ?? '-'} ${r.resources[0]?.name} ${r.rule}`),
      ['fail critical a severity', 'fail high b severity', 'fail - a imageExists', 'warn - b drift'],
    );
  });

  it('leaves the digest property out when ECR gave none, and cuts long messages', () => {
    const [result] = namespaceResults(
      [podFindings('shop', 'api-0', [finding({ digest: null, message: 'x'.repeat(3000) })])],
      at,
      512,
    );
    assert.deepEqual(result?.properties, { container: 'api', image: `${REGISTRY}/api:v7` });
    assert.equal(Buffer.byteLength(result?.message ?? ''), 512);
  });
});

describe('Report size bound', () => {
  const many = (count: number) =>
    namespaceResults(
      Array.from({ length: count }, (_, i) => podFindings('shop', `pod-${i}`, [finding(), drift()])),
      at,
      1024,
    );

  const cases: Array<{ name: string; limits: ReportLimits; pods: number }> = [
    {
      name: 'the results cap',
      limits: { maxResults: 50, maxBytes: 768 * 1024, maxMessageBytes: 1024 },
      pods: 100,
    },
    {
      name: 'the byte cap',
      limits: { maxResults: 100_000, maxBytes: 64 * 1024, maxMessageBytes: 1024 },
      pods: 500,
    },
  ];
  for (const c of cases) {
    it(`stops at ${c.name}, still counting everything and saying how many are missing`, () => {
      const results = many(c.pods);
      const report = buildReport('shop', results, { pass: 7, error: 0, skip: 0 }, c.limits)!;
      assert.ok(report.results.length <= c.limits.maxResults);
      assert.ok(Buffer.byteLength(JSON.stringify(report)) <= c.limits.maxBytes);
      assert.deepEqual(report.summary, { pass: 7, fail: c.pods, warn: c.pods, error: 0, skip: 0 });
      const omitted = Number(report.metadata.annotations?.[OMITTED_ANNOTATION]);
      assert.equal(omitted, 2 * c.pods - report.results.length);
      assert.deepEqual(report.results, results.slice(0, report.results.length), 'the most important first');
    });
  }

  it('has no omission annotation when everything fits, and no Report when nothing is wrong', () => {
    const report = buildReport('shop', many(3), undefined);
    assert.equal(report?.metadata.annotations, undefined);
    assert.equal(report?.results.length, 6);
    assert.equal(buildReport('shop', [], { pass: 10, error: 2, skip: 0 }), null);
  });

  it('digests a Report the same whatever order the apiserver gives its keys in', () => {
    const report = buildReport('shop', many(2), undefined)! as unknown as Record<string, unknown>;
    const reordered = JSON.parse(
      JSON.stringify(report, (_key, value: unknown) =>
        value && typeof value === 'object' && !Array.isArray(value)
          ? Object.fromEntries(Object.entries(value).reverse())
          : value,
      ),
    ) as Record<string, unknown>;
    assert.equal(reportDigest(reordered), reportDigest(report));
    assert.notEqual(reportDigest({ ...report, summary: {} }), reportDigest(report));
  });
});

describe('Event names', () => {
  const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

  it('are the pod name and a hash of (uid, reason, message), stable and distinct', () => {
    const pod = podFindings('shop', 'api-0', []);
    assert.equal(eventName(pod, finding()), eventName(pod, finding()));
    assert.notEqual(eventName(pod, finding()), eventName(pod, finding({ container: 'other' })));
    assert.notEqual(eventName(pod, finding()), eventName({ ...pod, uid: 'other' }, finding()));
  });

  for (const name of ['a'.repeat(253), `${'a'.repeat(235)}-b`, `${'a'.repeat(235)}.b`, 'web-0']) {
    it(`stay DNS subdomains of at most 253 characters for a pod named ${name.slice(0, 12)}… (${name.length})`, () => {
      const event = eventName(podFindings('shop', name, []), finding());
      assert.ok(event.length <= 253, `${event.length}`);
      assert.match(event, DNS_SUBDOMAIN);
    });
  }
});

describe('text and token buckets', () => {
  const cuts: Array<[string, number, string]> = [
    ['short', 10, 'short'],
    ['abcdefghij', 6, 'abc…'],
    ['ééééé', 7, 'éé…'],
    ['😀😀😀', 9, '😀…'],
  ];
  for (const [text, bytes, expected] of cuts) {
    it(`cuts ${JSON.stringify(text)} to ${bytes} bytes as ${JSON.stringify(expected)}`, () => {
      assert.equal(truncateUtf8(text, bytes), expected);
      assert.ok(Buffer.byteLength(truncateUtf8(text, bytes)) <= bytes);
    });
  }

  it('lets a burst through, then the sustained rate, and says when the next token comes', () => {
    const bucket = new TokenBucket({ burst: 3, perSecond: 0.5 }, 0);
    assert.deepEqual(
      [0, 0, 0, 0].map(() => bucket.take(0)),
      [true, true, true, false],
    );
    assert.equal(bucket.nextAt(0), 2000);
    assert.equal(bucket.take(1999), false);
    assert.equal(bucket.take(2000), true);
    assert.equal(bucket.available(100_000), true);
    assert.deepEqual(
      [0, 0, 0, 0].map(() => bucket.take(100_000)),
      [true, true, true, false],
      'refills to the burst, not beyond',
    );
  });
});
