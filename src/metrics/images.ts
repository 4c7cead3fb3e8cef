import { SEVERITIES } from '../config/types.ts';
import { type ImageFacts, isFinishedScan } from '../ecr/types.ts';
import type { ImageSeriesRow, ImageSeriesSource } from '../inventory/views.ts';
import { IMAGE_METRICS, type MetricDefinition } from './definitions.ts';

export type { ImageSeriesSource } from '../inventory/views.ts';

const m = IMAGE_METRICS;

/** The per-image families in exposition order: three per tag, then nine per digest. */
const PER_IMAGE: readonly MetricDefinition[] = [
  m.info,
  m.containers,
  m.driftedContainers,
  m.scanStatus,
  m.scanFindings,
  m.pushed,
  m.lastPull,
  m.size,
  m.platforms,
  m.stale,
  m.status,
  m.lifecycleAction,
];
const FAMILIES = PER_IMAGE.length;
/** A span is two numbers: where a family's lines of one image start, and how many bytes they take. */
const SPAN = 2;

/** Label values come from ECR and pod specs: escape exactly what the text format requires. */
function esc(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
    : value;
}

function header(d: MetricDefinition): string {
  return `# HELP ${d.name} ${d.help}\n# TYPE ${d.name} ${d.type}\n`;
}

const HEADERS = PER_IMAGE.map((d) => Buffer.from(header(d)));

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'NaN';
}

function baseLabels(row: ImageSeriesRow): string {
  return `registry_id="${esc(row.registryId)}",region="${esc(row.region)}",repository="${esc(row.repository)}"`;
}

/** One image's lines as last written, with everything they were written from. */
interface ImageText {
  facts: ImageFacts;
  registryId: string;
  region: string;
  repository: string;
  tag: string;
  containers: number;
  driftedContainers: number;
  stale: boolean;
  /** Several tags may name one digest: only the first row naming it carries the digest-level series. */
  digestSeries: boolean;
  digestKey: string;
  /** Its row in the span table of the exposition it was last written to. */
  slot: number;
}

/**
 * Renders the per-image families as Prometheus text. prom-client's own renderer takes ~160 ms for the
 * ~60,000 series of 5,000 images (measured), too slow for a scrape that must not stall the event
 * loop, so these series are written here directly from the inventory's aggregates, kept as one Buffer
 * until the inventory changes, and rebuilt incrementally: an image whose row is unchanged has its
 * lines copied from the previous Buffer, so a change costs a copy of the text plus the changed
 * images' lines, not all ~75,000 lines. At most `maxSeries` images get series; the rest are counted.
 */
export class ImageMetricsRenderer {
  readonly #source: ImageSeriesSource;
  readonly #maxSeries: number;
  #cachedVersion = -1;
  #exposition: Buffer = Buffer.alloc(0);
  /** Per image of the exposition, in row order: a span per family, into `#exposition`. */
  #spans = new Int32Array(0);
  #records = new Map<ImageFacts, ImageText>();
  #dropped = 0;

  constructor(source: ImageSeriesSource, maxSeries: number) {
    this.#source = source;
    this.#maxSeries = maxSeries;
  }

  /** Images left out by the bound at the last render. */
  get dropped(): number {
    this.#refresh();
    return this.#dropped;
  }

  /** The exposition text of the per-image families; shared, never modified once returned. */
  render(): Buffer {
    this.#refresh();
    return this.#exposition;
  }

  #refresh(): void {
    const version = this.#source.version();
    if (version === this.#cachedVersion) return;
    this.#cachedVersion = version;
    this.#build();
  }

  #build(): void {
    const previous = this.#exposition;
    const previousSpans = this.#spans;
    const records = new Map<ImageFacts, ImageText>();
    const order: ImageText[] = [];
    /** Lines per family of the images written afresh, by their index in `order`. */
    const fresh = new Map<number, string[]>();
    const seenDigests = new Set<string>();
    let dropped = 0;
    for (const row of this.#source.images()) {
      if (order.length >= this.#maxSeries) {
        dropped++;
        continue;
      }
      const cached = this.#records.get(row.facts);
      const sameLabels =
        cached !== undefined &&
        cached.tag === row.tag &&
        cached.registryId === row.registryId &&
        cached.region === row.region &&
        cached.repository === row.repository;
      const digestKey = sameLabels ? cached.digestKey : `${baseLabels(row)}|${row.facts.digest}`;
      const digestSeries = !seenDigests.has(digestKey);
      if (digestSeries) seenDigests.add(digestKey);
      let record: ImageText;
      if (
        sameLabels &&
        cached.containers === row.containers &&
        cached.driftedContainers === row.driftedContainers &&
        cached.digestSeries === digestSeries &&
        (!digestSeries || cached.stale === row.stale)
      ) {
        record = cached;
      } else {
        record = {
          facts: row.facts,
          registryId: row.registryId,
          region: row.region,
          repository: row.repository,
          tag: row.tag,
          containers: row.containers,
          driftedContainers: row.driftedContainers,
          stale: row.stale,
          digestSeries,
          digestKey,
          slot: -1,
        };
        fresh.set(order.length, writeImage(row, digestSeries));
      }
      // Rows sharing one facts object share a record only when their text is identical too.
      if (!records.has(row.facts)) records.set(row.facts, record);
      order.push(record);
    }

    // Where each image's lines come from: its place in the previous exposition, or (start -1) the
    // fresh lines, written straight into the new one.
    const from = new Int32Array(order.length * FAMILIES * SPAN);
    let total = 0;
    for (let i = 0; i < order.length; i++) {
      const lines = fresh.get(i);
      const base = i * FAMILIES * SPAN;
      if (lines) {
        for (let f = 0; f < FAMILIES; f++) {
          from[base + f * SPAN] = -1;
          from[base + f * SPAN + 1] = Buffer.byteLength(lines[f]!);
        }
      } else {
        const at = order[i]!.slot * FAMILIES * SPAN;
        from.set(previousSpans.subarray(at, at + FAMILIES * SPAN), base);
      }
      for (let f = 0; f < FAMILIES; f++) total += from[base + f * SPAN + 1]!;
    }
    for (const h of HEADERS) total += h.length;
    const { text: tailText, dropped: unresolvedDropped } = this.#tail();
    dropped += unresolvedDropped;
    const tail = Buffer.from(tailText);
    total += tail.length;

    const out = Buffer.allocUnsafe(total);
    const spans = new Int32Array(order.length * FAMILIES * SPAN);
    let at = 0;
    for (let f = 0; f < FAMILIES; f++) {
      at += HEADERS[f]!.copy(out, at);
      // Consecutive unchanged images sit side by side in the previous exposition: one copy per run.
      let runStart = 0;
      let runLength = 0;
      for (let i = 0; i < order.length; i++) {
        const k = (i * FAMILIES + f) * SPAN;
        const start = from[k]!;
        const length = from[k + 1]!;
        spans[k] = at + runLength;
        spans[k + 1] = length;
        if (length === 0) continue;
        if (start >= 0 && start === runStart + runLength) {
          runLength += length;
          continue;
        }
        at += previous.copy(out, at, runStart, runStart + runLength);
        runLength = 0;
        if (start >= 0) {
          runStart = start;
          runLength = length;
        } else {
          at += out.write(fresh.get(i)![f]!, at);
        }
      }
      at += previous.copy(out, at, runStart, runStart + runLength);
    }
    tail.copy(out, at);

    for (let i = 0; i < order.length; i++) order[i]!.slot = i;
    this.#exposition = out;
    this.#spans = spans;
    this.#records = records;
    this.#dropped = dropped;
  }

  /**
   * The families not kept per image, rewritten on every change. Unresolved images are counted per
   * repository and reason, and repository names come from pod specs: the same bound as the per-image
   * series applies, and the images past it count as dropped.
   */
  #tail(): { text: string; dropped: number } {
    let text = header(m.unresolved);
    let series = 0;
    let dropped = 0;
    for (const u of this.#source.unresolved()) {
      if (series >= this.#maxSeries) {
        dropped += u.images;
        continue;
      }
      series++;
      text += `${m.unresolved.name}{registry_id="${esc(u.registryId)}",region="${esc(u.region)}",repository="${esc(u.repository)}",reason="${esc(u.reason)}"} ${u.images}\n`;
    }
    text += header(m.policyViolations);
    for (const v of this.#source.violations()) {
      text += `${m.policyViolations.name}{namespace="${esc(v.namespace)}",check="${esc(v.check)}",action="${esc(v.action)}"} ${v.containers}\n`;
    }
    return { text, dropped };
  }
}

/** One image's lines, per family in PER_IMAGE order; the digest-level ones only if it carries them. */
function writeImage(row: ImageSeriesRow, digestSeries: boolean): string[] {
  const f = row.facts;
  const base = baseLabels(row);
  const withTag = `{${base},tag="${esc(row.tag)}",digest="${esc(f.digest)}"}`;
  const lines: string[] = [
    `${m.info.name}${withTag} 1\n`,
    `${m.containers.name}${withTag} ${row.containers}\n`,
    `${m.driftedContainers.name}${withTag} ${row.driftedContainers}\n`,
  ];
  if (digestSeries) {
    const d = `${base},digest="${esc(f.digest)}"`;
    // Findings only from a finished scan: an unfinished one's empty list is "not known yet", and a
    // zero series would tell dashboards and alerts "no findings".
    let findings = '';
    if (f.scan && isFinishedScan(f.scan)) {
      for (const sev of SEVERITIES)
        findings += `${m.scanFindings.name}{${d},severity="${sev}"} ${f.scan.findings[sev] ?? 0}\n`;
    }
    const platforms = f.index?.platforms;
    lines.push(
      f.scan ? `${m.scanStatus.name}{${d},status="${esc(f.scan.status)}"} 1\n` : '',
      findings,
      f.pushedAt ? `${m.pushed.name}{${d}} ${num(f.pushedAt.getTime() / 1000)}\n` : '',
      f.lastRecordedPullTime
        ? `${m.lastPull.name}{${d}} ${num(f.lastRecordedPullTime.getTime() / 1000)}\n`
        : '',
      f.sizeBytes !== null ? `${m.size.name}{${d}} ${num(f.sizeBytes)}\n` : '',
      platforms ? `${m.platforms.name}{${d}} ${platforms.length}\n` : '',
      `${m.stale.name}{${d}} ${row.stale ? 1 : 0}\n`,
      `${m.status.name}{${d},status="${esc(f.imageStatus)}"} 1\n`,
      row.lifecycle
        ? `${m.lifecycleAction.name}{${d},action="${row.lifecycle.action}",rule_priority="${row.lifecycle.rulePriority}"} ${num(row.lifecycle.at.getTime() / 1000)}\n`
        : '',
    );
  } else {
    for (let i = lines.length; i < FAMILIES; i++) lines.push('');
  }
  return lines;
}
