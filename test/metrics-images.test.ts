import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SEVERITIES } from '../src/config/types.ts';
import type { ImageFacts } from '../src/ecr/types.ts';
import { IMAGE_METRICS, type MetricDefinition } from '../src/metrics/definitions.ts';
import type {
  ImageSeriesRow,
  ImageSeriesSource,
  UnresolvedRow,
  ViolationRow,
} from '../src/inventory/views.ts';
import { ImageMetricsRenderer } from '../src/metrics/images.ts';
import { WardenMetrics } from '../src/metrics/registry.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_C = `sha256:${'c'.repeat(64)}`;
const DIGEST_D = `sha256:${'d'.repeat(64)}`;

/** An inventory as the renderer sees it: rows edited in place, a version bumped on every edit. */
class FakeSource implements ImageSeriesSource {
  rows: ImageSeriesRow[] = [];
  unresolvedRows: UnresolvedRow[] = [];
  violationRows: ViolationRow[] = [];
  #version = 0;
  version(): number {
    return this.#version;
  }
  changed(): void {
    this.#version++;
  }
  images(): Iterable<ImageSeriesRow> {
    // Fresh row objects on every pass, as the inventory yields them.
    return this.rows.map((r) => ({ ...r }));
  }
  unresolved(): Iterable<UnresolvedRow> {
    return this.unresolvedRows;
  }
  violations(): Iterable<ViolationRow> {
    return this.violationRows;
  }
}

function facts(repository: string, digest: string, over: Partial<ImageFacts> = {}): ImageFacts {
  return {
    registryId: ACCOUNT,
    region: REGION,
    repository,
    digest,
    tags: [],
    imageStatus: 'ACTIVE',
    pushedAt: new Date(1_700_000_000_000),
    lastRecordedPullTime: new Date(1_700_086_400_500),
    sizeBytes: 52_428_800,
    manifestMediaType: null,
    scan: { status: 'COMPLETE', description: null, findings: { CRITICAL: 2, LOW: 1 }, completedAt: null },
    scanError: null,
    lastArchivedAt: null,
    lastActivatedAt: null,
    index: null,
    tagImmutable: null,
    ...over,
  };
}

function row(tag: string, f: ImageFacts, over: Partial<ImageSeriesRow> = {}): ImageSeriesRow {
  return {
    registryId: f.registryId,
    region: f.region,
    repository: f.repository,
    tag,
    facts: f,
    containers: 1,
    driftedContainers: 0,
    stale: false,
    lifecycle: null,
    ...over,
  };
}

/** The exposition's chunks as the text a scrape receives. */
const text = (chunks: readonly Buffer[]) => Buffer.concat(chunks).toString();

const head = (d: MetricDefinition) => `# HELP ${d.name} ${d.help}\n# TYPE ${d.name} ${d.type}\n`;
const tagged = (repository: string, tag: string, digest: string) =>
  `{registry_id="${ACCOUNT}",region="${REGION}",repository="${repository}",tag="${tag}",digest="${digest}"}`;
const digestLabels = (repository: string, digest: string) =>
  `registry_id="${ACCOUNT}",region="${REGION}",repository="${repository}",digest="${digest}"`;

/** The expected exposition: each family's header, then its lines as given. */
function exposition(lines: Partial<Record<keyof typeof IMAGE_METRICS, string[]>>): string {
  let text = '';
  for (const [key, d] of Object.entries(IMAGE_METRICS)) {
    text += head(d);
    for (const line of lines[key as keyof typeof IMAGE_METRICS] ?? []) text += `${line}\n`;
  }
  return text;
}

const m = IMAGE_METRICS;

function findingsLines(repository: string, digest: string, counts: Record<string, number>): string[] {
  return SEVERITIES.map(
    (sev) =>
      `${m.scanFindings.name}{${digestLabels(repository, digest)},severity="${sev}"} ${counts[sev] ?? 0}`,
  );
}

describe('per-image metrics exposition', () => {
  it('writes the full text, and rewrites it exactly after every kind of change', () => {
    const source = new FakeSource();
    const fA = facts('api', DIGEST_A);
    // A second tag naming the same digest (its own facts object, as the resolver answers per reference).
    const fAlias = facts('api', DIGEST_A, { lastRecordedPullTime: new Date(1_000_000_000_000) });
    const fC = facts('worker', DIGEST_C, {
      scan: null,
      pushedAt: null,
      sizeBytes: null,
      imageStatus: 'ARCHIVED',
    });
    source.rows = [
      row('v1', fA, { containers: 2 }),
      row('latest', fAlias, { containers: 1, stale: true }),
      row('w1', fC, { containers: 3, driftedContainers: 1, stale: true }),
    ];
    source.unresolvedRows = [
      { registryId: ACCOUNT, region: REGION, repository: 'ghost', reason: 'not_found', images: 1 },
    ];
    source.violationRows = [{ namespace: 'shop', check: 'maxCritical', action: 'deny', containers: 2 }];
    const renderer = new ImageMetricsRenderer(source, 100);
    const a = digestLabels('api', DIGEST_A);
    const c = digestLabels('worker', DIGEST_C);
    const tail = {
      unresolved: [
        `${m.unresolved.name}{registry_id="${ACCOUNT}",region="${REGION}",repository="ghost",reason="not_found"} 1`,
      ],
      policyViolations: [`${m.policyViolations.name}{namespace="shop",check="maxCritical",action="deny"} 2`],
    };

    const first = renderer.render();
    assert.equal(
      text(first),
      exposition({
        info: [
          `${m.info.name}${tagged('api', 'v1', DIGEST_A)} 1`,
          `${m.info.name}${tagged('api', 'latest', DIGEST_A)} 1`,
          `${m.info.name}${tagged('worker', 'w1', DIGEST_C)} 1`,
        ],
        containers: [
          `${m.containers.name}${tagged('api', 'v1', DIGEST_A)} 2`,
          `${m.containers.name}${tagged('api', 'latest', DIGEST_A)} 1`,
          `${m.containers.name}${tagged('worker', 'w1', DIGEST_C)} 3`,
        ],
        driftedContainers: [
          `${m.driftedContainers.name}${tagged('api', 'v1', DIGEST_A)} 0`,
          `${m.driftedContainers.name}${tagged('api', 'latest', DIGEST_A)} 0`,
          `${m.driftedContainers.name}${tagged('worker', 'w1', DIGEST_C)} 1`,
        ],
        // The digest named by two tags has its digest-level series once, from the first row.
        scanStatus: [`${m.scanStatus.name}{${a},status="COMPLETE"} 1`],
        scanFindings: findingsLines('api', DIGEST_A, { CRITICAL: 2, LOW: 1 }),
        pushed: [`${m.pushed.name}{${a}} 1700000000`],
        lastPull: [`${m.lastPull.name}{${a}} 1700086400.5`, `${m.lastPull.name}{${c}} 1700086400.5`],
        size: [`${m.size.name}{${a}} 52428800`],
        stale: [`${m.stale.name}{${a}} 0`, `${m.stale.name}{${c}} 1`],
        status: [`${m.status.name}{${a},status="ACTIVE"} 1`, `${m.status.name}{${c},status="ARCHIVED"} 1`],
        ...tail,
      }),
    );
    assert.equal(renderer.render(), first, 'an unchanged inventory answers with the same chunks');

    // Containers and drift change; the alias row and the facts stay as they were.
    source.rows[0]!.containers = 3;
    source.rows[2]!.driftedContainers = 0;
    // New facts for C (a scan arrived, another size) and no longer stale.
    const fC2 = facts('worker', DIGEST_C, {
      scan: { status: 'COMPLETE', description: null, findings: { HIGH: 4 }, completedAt: null },
      sizeBytes: 1024,
      lastRecordedPullTime: null,
    });
    source.rows[2] = row('w1', fC2, { containers: 3 });
    source.violationRows = [];
    source.changed();
    assert.equal(
      text(renderer.render()),
      exposition({
        info: [
          `${m.info.name}${tagged('api', 'v1', DIGEST_A)} 1`,
          `${m.info.name}${tagged('api', 'latest', DIGEST_A)} 1`,
          `${m.info.name}${tagged('worker', 'w1', DIGEST_C)} 1`,
        ],
        containers: [
          `${m.containers.name}${tagged('api', 'v1', DIGEST_A)} 3`,
          `${m.containers.name}${tagged('api', 'latest', DIGEST_A)} 1`,
          `${m.containers.name}${tagged('worker', 'w1', DIGEST_C)} 3`,
        ],
        driftedContainers: [
          `${m.driftedContainers.name}${tagged('api', 'v1', DIGEST_A)} 0`,
          `${m.driftedContainers.name}${tagged('api', 'latest', DIGEST_A)} 0`,
          `${m.driftedContainers.name}${tagged('worker', 'w1', DIGEST_C)} 0`,
        ],
        scanStatus: [
          `${m.scanStatus.name}{${a},status="COMPLETE"} 1`,
          `${m.scanStatus.name}{${c},status="COMPLETE"} 1`,
        ],
        scanFindings: [
          ...findingsLines('api', DIGEST_A, { CRITICAL: 2, LOW: 1 }),
          ...findingsLines('worker', DIGEST_C, { HIGH: 4 }),
        ],
        pushed: [`${m.pushed.name}{${a}} 1700000000`, `${m.pushed.name}{${c}} 1700000000`],
        lastPull: [`${m.lastPull.name}{${a}} 1700086400.5`],
        size: [`${m.size.name}{${a}} 52428800`, `${m.size.name}{${c}} 1024`],
        stale: [`${m.stale.name}{${a}} 0`, `${m.stale.name}{${c}} 0`],
        status: [`${m.status.name}{${a},status="ACTIVE"} 1`, `${m.status.name}{${c},status="ACTIVE"} 1`],
        unresolved: tail.unresolved,
      }),
    );

    // The first row naming DIGEST_A goes: the alias now carries that digest's series, with its own
    // facts and staleness. A new image arrives after the others: an index of two platform images,
    // one of whose scans failed, so its findings are not known and have no series at all.
    source.rows.shift();
    const failedScan = { status: 'FAILED', description: 'x', findings: {}, completedAt: null };
    const fD = facts('api', DIGEST_D, {
      scan: failedScan,
      index: {
        platforms: [
          { platform: 'linux/amd64', digest: DIGEST_A, scan: failedScan, scanError: null },
          { platform: 'linux/arm64', digest: DIGEST_C, scan: failedScan, scanError: null },
        ],
        error: null,
      },
    });
    source.rows.push(
      row('v2', fD, {
        containers: 5,
        driftedContainers: 2,
        lifecycle: {
          action: 'archive',
          rulePriority: 2,
          countType: 'sinceImagePulled',
          at: new Date(1_800_000_000_000),
          rule: 'archive images not pulled in 90 days',
        },
      }),
    );
    source.unresolvedRows = [];
    source.changed();
    const d = digestLabels('api', DIGEST_D);
    assert.equal(
      text(renderer.render()),
      exposition({
        info: [
          `${m.info.name}${tagged('api', 'latest', DIGEST_A)} 1`,
          `${m.info.name}${tagged('worker', 'w1', DIGEST_C)} 1`,
          `${m.info.name}${tagged('api', 'v2', DIGEST_D)} 1`,
        ],
        containers: [
          `${m.containers.name}${tagged('api', 'latest', DIGEST_A)} 1`,
          `${m.containers.name}${tagged('worker', 'w1', DIGEST_C)} 3`,
          `${m.containers.name}${tagged('api', 'v2', DIGEST_D)} 5`,
        ],
        driftedContainers: [
          `${m.driftedContainers.name}${tagged('api', 'latest', DIGEST_A)} 0`,
          `${m.driftedContainers.name}${tagged('worker', 'w1', DIGEST_C)} 0`,
          `${m.driftedContainers.name}${tagged('api', 'v2', DIGEST_D)} 2`,
        ],
        scanStatus: [
          `${m.scanStatus.name}{${a},status="COMPLETE"} 1`,
          `${m.scanStatus.name}{${c},status="COMPLETE"} 1`,
          `${m.scanStatus.name}{${d},status="FAILED"} 1`,
        ],
        scanFindings: [
          ...findingsLines('api', DIGEST_A, { CRITICAL: 2, LOW: 1 }),
          ...findingsLines('worker', DIGEST_C, { HIGH: 4 }),
        ],
        pushed: [
          `${m.pushed.name}{${a}} 1700000000`,
          `${m.pushed.name}{${c}} 1700000000`,
          `${m.pushed.name}{${d}} 1700000000`,
        ],
        lastPull: [`${m.lastPull.name}{${a}} 1000000000`, `${m.lastPull.name}{${d}} 1700086400.5`],
        size: [`${m.size.name}{${a}} 52428800`, `${m.size.name}{${c}} 1024`, `${m.size.name}{${d}} 52428800`],
        platforms: [`${m.platforms.name}{${d}} 2`],
        stale: [`${m.stale.name}{${a}} 1`, `${m.stale.name}{${c}} 0`, `${m.stale.name}{${d}} 0`],
        status: [
          `${m.status.name}{${a},status="ACTIVE"} 1`,
          `${m.status.name}{${c},status="ACTIVE"} 1`,
          `${m.status.name}{${d},status="ACTIVE"} 1`,
        ],
        lifecycleAction: [`${m.lifecycleAction.name}{${d},action="archive",rule_priority="2"} 1800000000`],
      }),
    );
  });

  it('rewrites the lifecycle line when a lifecycle refresh replaces the forecast, the facts unchanged', () => {
    const source = new FakeSource();
    const f = facts('api', DIGEST_A);
    const forecast = (at: number) => ({
      action: 'expire' as const,
      rulePriority: 1,
      countType: 'sinceImagePushed' as const,
      at: new Date(at),
      rule: 'expire after 30 days',
    });
    source.rows = [row('v1', f, { lifecycle: forecast(1_800_000_000_000) })];
    const renderer = new ImageMetricsRenderer(source, 10);
    const line = (seconds: number) =>
      `${m.lifecycleAction.name}{${digestLabels('api', DIGEST_A)},action="expire",rule_priority="1"} ${seconds}\n`;
    assert.ok(text(renderer.render()).includes(line(1_800_000_000)));
    source.rows = [row('v1', f, { lifecycle: forecast(1_900_000_000_000) })];
    source.changed();
    const after = text(renderer.render());
    assert.ok(after.includes(line(1_900_000_000)), after);
    assert.ok(!after.includes(line(1_800_000_000)));
  });

  it('escapes label values as the text format requires', () => {
    const source = new FakeSource();
    source.rows = [row('a"b\\c\nd', facts('api', DIGEST_A))];
    const out = text(new ImageMetricsRenderer(source, 10).render());
    assert.ok(out.includes(`${m.info.name}${tagged('api', 'a\\"b\\\\c\\nd', DIGEST_A)} 1\n`));
  });

  it('keeps at most maxSeries images and counts the rest, as the bound moves with the inventory', async () => {
    const source = new FakeSource();
    source.rows = [
      row('v1', facts('api', DIGEST_A)),
      row('w1', facts('worker', DIGEST_C)),
      row('v2', facts('api', DIGEST_D)),
    ];
    const metrics = new WardenMetrics({ version: 'test', webhookDeadline: 2_000, defaultMetrics: false });
    metrics.attachImages(source, 2);
    let text = await metrics.render();
    assert.match(text, /^ecr_warden_image_series_dropped 1$/m);
    assert.deepEqual(
      text.split('\n').filter((l) => l.startsWith(`${m.info.name}{`)),
      [
        `${m.info.name}${tagged('api', 'v1', DIGEST_A)} 1`,
        `${m.info.name}${tagged('worker', 'w1', DIGEST_C)} 1`,
      ],
    );
    source.rows.splice(1, 1);
    source.changed();
    text = await metrics.render();
    assert.match(text, /^ecr_warden_image_series_dropped 0$/m);
    assert.deepEqual(
      text.split('\n').filter((l) => l.startsWith(`${m.info.name}{`)),
      [
        `${m.info.name}${tagged('api', 'v1', DIGEST_A)} 1`,
        `${m.info.name}${tagged('api', 'v2', DIGEST_D)} 1`,
      ],
    );
    // The chunks a scrape sends are the same bytes as the text.
    assert.equal(Buffer.concat(await metrics.exposition()).toString(), text);
  });

  it('bounds unresolved series by maxSeries too, counting the images left out', async () => {
    const source = new FakeSource();
    // Repository names come from pod specs: thousands of made-up ones must not make thousands of series.
    source.unresolvedRows = Array.from({ length: 5 }, (_, i) => ({
      registryId: ACCOUNT,
      region: REGION,
      repository: `made-up-${i}`,
      reason: 'repository_not_found',
      images: 2,
    }));
    const metrics = new WardenMetrics({ version: 'test', webhookDeadline: 2_000, defaultMetrics: false });
    metrics.attachImages(source, 3);
    const text = await metrics.render();
    assert.equal(text.split('\n').filter((l) => l.startsWith(`${m.unresolved.name}{`)).length, 3);
    assert.match(text, /^ecr_warden_image_series_dropped 4$/m);
  });

  it('after any sequence of changes, equals a render from scratch', () => {
    const digests = [DIGEST_A, DIGEST_C, DIGEST_D];
    const factsArb = fc.record({
      repository: fc.constantFrom('api', 'worker'),
      digest: fc.constantFrom(...digests),
      scanned: fc.boolean(),
      critical: fc.nat(3),
      pulled: fc.option(fc.integer({ min: 0, max: 2_000_000_000_000 })),
    });
    const rowArb = fc.record({
      tag: fc.constantFrom('', 'v1', 'v2'),
      facts: factsArb,
      containers: fc.integer({ min: 1, max: 4 }),
      drifted: fc.nat(2),
      stale: fc.boolean(),
    });
    type RowSpec = typeof rowArb extends fc.Arbitrary<infer T> ? T : never;
    const build = (s: RowSpec): ImageSeriesRow =>
      row(
        s.tag,
        facts(s.facts.repository, s.facts.digest, {
          scan: s.facts.scanned
            ? {
                status: 'COMPLETE',
                description: null,
                findings: { CRITICAL: s.facts.critical },
                completedAt: null,
              }
            : null,
          lastRecordedPullTime: s.facts.pulled === null ? null : new Date(s.facts.pulled),
        }),
        { containers: s.containers, driftedContainers: s.drifted, stale: s.stale },
      );
    const step = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), row: rowArb }),
      fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('containers' as const),
        at: fc.nat(),
        n: fc.integer({ min: 1, max: 9 }),
      }),
      fc.record({ kind: fc.constant('drift' as const), at: fc.nat(), n: fc.nat(3) }),
      fc.record({ kind: fc.constant('stale' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('facts' as const), at: fc.nat(), row: rowArb }),
      // The same facts object in two rows (the renderer must not share one cache record between them).
      fc.record({ kind: fc.constant('share' as const), at: fc.nat(), tag: fc.constantFrom('v1', 'v3') }),
    );
    // Slices copied down only past the default bound, and (maxRuns 3) after almost every change.
    for (const maxRuns of [undefined, 3]) {
      fc.assert(
        fc.property(
          fc.array(rowArb, { maxLength: 6 }),
          fc.array(step, { maxLength: 12 }),
          fc.nat(6),
          (initial, steps, max) => {
            const source = new FakeSource();
            source.rows = initial.map(build);
            const incremental = new ImageMetricsRenderer(source, max, { maxRuns });
            const check = () => {
              const scratch = new ImageMetricsRenderer(source, max);
              assert.equal(text(incremental.render()), text(scratch.render()));
              assert.equal(text(incremental.render()), reference(source, max));
              assert.equal(incremental.dropped, Math.max(0, source.rows.length - max));
            };
            check();
            for (const s of steps) {
              const n = source.rows.length;
              const target = n ? source.rows[('at' in s ? s.at : 0) % n]! : null;
              if (s.kind === 'add') source.rows.push(build(s.row));
              else if (!target) continue;
              else if (s.kind === 'remove') source.rows.splice(source.rows.indexOf(target), 1);
              else if (s.kind === 'containers') target.containers = s.n;
              else if (s.kind === 'drift') target.driftedContainers = s.n;
              else if (s.kind === 'stale') target.stale = !target.stale;
              else if (s.kind === 'facts') source.rows[source.rows.indexOf(target)] = build(s.row);
              else source.rows.push({ ...target, tag: s.tag });
              source.changed();
              check();
            }
          },
        ),
        { numRuns: 300 },
      );
    }
  });
});

/** The text format written the plainest way, line by line: the oracle for the incremental renderer. */
function reference(source: ImageSeriesSource, maxSeries: number): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const per = new Map<MetricDefinition, string[]>(Object.values(m).map((d) => [d, []]));
  const add = (d: MetricDefinition, line: string) => per.get(d)!.push(line);
  const seen = new Set<string>();
  let kept = 0;
  for (const r of source.images()) {
    if (kept++ >= maxSeries) continue;
    const f = r.facts;
    const base = `registry_id="${esc(r.registryId)}",region="${esc(r.region)}",repository="${esc(r.repository)}"`;
    const withTag = `{${base},tag="${esc(r.tag)}",digest="${esc(f.digest)}"}`;
    add(m.info, `${m.info.name}${withTag} 1`);
    add(m.containers, `${m.containers.name}${withTag} ${r.containers}`);
    add(m.driftedContainers, `${m.driftedContainers.name}${withTag} ${r.driftedContainers}`);
    if (seen.has(`${base}|${f.digest}`)) continue;
    seen.add(`${base}|${f.digest}`);
    const d = `${base},digest="${esc(f.digest)}"`;
    if (f.scan) {
      add(m.scanStatus, `${m.scanStatus.name}{${d},status="${esc(f.scan.status)}"} 1`);
      for (const sev of SEVERITIES)
        add(m.scanFindings, `${m.scanFindings.name}{${d},severity="${sev}"} ${f.scan.findings[sev] ?? 0}`);
    }
    if (f.pushedAt) add(m.pushed, `${m.pushed.name}{${d}} ${f.pushedAt.getTime() / 1000}`);
    if (f.lastRecordedPullTime)
      add(m.lastPull, `${m.lastPull.name}{${d}} ${f.lastRecordedPullTime.getTime() / 1000}`);
    if (f.sizeBytes !== null) add(m.size, `${m.size.name}{${d}} ${f.sizeBytes}`);
    add(m.stale, `${m.stale.name}{${d}} ${r.stale ? 1 : 0}`);
    add(m.status, `${m.status.name}{${d},status="${esc(f.imageStatus)}"} 1`);
  }
  for (const u of source.unresolved())
    add(
      m.unresolved,
      `${m.unresolved.name}{registry_id="${esc(u.registryId)}",region="${esc(u.region)}",repository="${esc(u.repository)}",reason="${esc(u.reason)}"} ${u.images}`,
    );
  for (const v of source.violations())
    add(
      m.policyViolations,
      `${m.policyViolations.name}{namespace="${esc(v.namespace)}",check="${esc(v.check)}",action="${esc(v.action)}"} ${v.containers}`,
    );
  let text = '';
  for (const [d, lines] of per) text += head(d) + lines.map((l) => `${l}\n`).join('');
  return text;
}
