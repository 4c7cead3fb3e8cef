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
/** A span is three numbers: the buffer a family's lines of one image are in, their start, their length. */
const SPAN = 3;
/** Slices past this many in one exposition, and the text is copied into one buffer again. */
const MAX_RUNS = 1_024;
/** Buffers holding more than this times the text in use (the rest replaced lines) are copied down too. */
const MAX_HELD_PER_USED = 1.25;

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
  /** The forecast the lifecycle line was written from: a lifecycle refresh replaces it, facts unchanged. */
  lifecycle: ImageSeriesRow['lifecycle'];
  /** Several tags may name one digest: only the first row naming it carries the digest-level series. */
  digestSeries: boolean;
  digestKey: string;
  /** Its row in the span table of the exposition it was last written to. */
  slot: number;
}

/**
 * Renders the per-image families as Prometheus text. prom-client's own renderer takes ~160 ms for the
 * ~60,000 series of 5,000 images (measured), too slow for a scrape that must not stall the event
 * loop, so these series are written here directly from the inventory's aggregates and kept until the
 * inventory changes. A change rewrites only the changed images' lines, into a buffer of their own; the
 * exposition is then the slices of the buffers where each run of images' lines sits, sent as they are,
 * so a change costs its own lines and a few slices rather than a copy of the whole text. At most
 * `maxSeries` images get series; the rest are counted.
 */
export class ImageMetricsRenderer {
  readonly #source: ImageSeriesSource;
  readonly #maxSeries: number;
  readonly #maxRuns: number;
  #cachedVersion = -1;
  /** The exposition's text: slices of `#buffers` and the headers, in order. */
  #chunks: Buffer[] = [];
  /** Where the images' lines are written. */
  #buffers: Buffer[] = [];
  /** Per image of the exposition, in row order, a span per family: buffer, start, length. */
  #spans = new Int32Array(0);
  #records = new Map<ImageFacts, ImageText>();
  #dropped = 0;

  /** `maxRuns` (tests): slices past this many and the text is copied into one buffer (MAX_RUNS). */
  constructor(source: ImageSeriesSource, maxSeries: number, options: { maxRuns?: number } = {}) {
    this.#source = source;
    this.#maxSeries = maxSeries;
    this.#maxRuns = options.maxRuns ?? MAX_RUNS;
  }

  /** Images left out by the bound at the last render. */
  get dropped(): number {
    this.#refresh();
    return this.#dropped;
  }

  /**
   * The exposition text of the per-image families, as the chunks to send in order; shared, and the
   * same array while the inventory is unchanged. Never modified once returned.
   */
  render(): readonly Buffer[] {
    this.#refresh();
    return this.#chunks;
  }

  #refresh(): void {
    const version = this.#source.version();
    if (version === this.#cachedVersion) return;
    this.#cachedVersion = version;
    this.#build();
  }

  #build(): void {
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
      // Joined, not concatenated: join makes one flat string, where a template literal leaves a rope
      // of its parts that the record would keep for as long as the image has series. None of the
      // parts can hold a '|' (an account ID, a region, an ECR repository name, a digest).
      const digestKey = sameLabels
        ? cached.digestKey
        : [row.registryId, row.region, row.repository, row.facts.digest].join('|');
      const digestSeries = !seenDigests.has(digestKey);
      if (digestSeries) seenDigests.add(digestKey);
      let record: ImageText;
      if (
        sameLabels &&
        cached.containers === row.containers &&
        cached.driftedContainers === row.driftedContainers &&
        cached.digestSeries === digestSeries &&
        (!digestSeries || (cached.stale === row.stale && cached.lifecycle === row.lifecycle))
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
          lifecycle: row.lifecycle,
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

    // Where each image's lines are: its spans in the buffers of the previous build, or, for an image
    // written afresh, in one new buffer holding this build's fresh lines family by family, so that
    // consecutive fresh images sit side by side in it as consecutive unchanged ones do in the old.
    const freshIndex = this.#buffers.length;
    const spans = new Int32Array(order.length * FAMILIES * SPAN);
    let freshBytes = 0;
    for (const lines of fresh.values()) for (const line of lines) freshBytes += Buffer.byteLength(line);
    const freshBuffer = Buffer.allocUnsafe(freshBytes);
    let written = 0;
    for (let f = 0; f < FAMILIES; f++) {
      for (let i = 0; i < order.length; i++) {
        const k = (i * FAMILIES + f) * SPAN;
        const lines = fresh.get(i);
        if (lines) {
          const length = freshBuffer.write(lines[f]!, written);
          spans[k] = freshIndex;
          spans[k + 1] = written;
          spans[k + 2] = length;
          written += length;
        } else {
          const from = (order[i]!.slot * FAMILIES + f) * SPAN;
          spans[k] = this.#spans[from]!;
          spans[k + 1] = this.#spans[from + 1]!;
          spans[k + 2] = this.#spans[from + 2]!;
        }
      }
    }
    const buffers = [...this.#buffers, freshBuffer];
    const { text: tailText, dropped: unresolvedDropped } = this.#tail();
    dropped += unresolvedDropped;

    for (let i = 0; i < order.length; i++) order[i]!.slot = i;
    this.#records = records;
    this.#dropped = dropped;
    this.#spans = spans;
    this.#buffers = buffers;
    this.#chunks = this.#segments(Buffer.from(tailText));
  }

  /**
   * The exposition as the slices of the buffers the spans point into, one per run of images whose
   * lines sit side by side, each family after its header. When the runs grow many (changes scattered
   * over the images) or the buffers hold much text no image uses any more, the text is first copied
   * into one buffer, family by family: a change costs its own lines and a few slices, and now and then
   * one copy of the whole text, where copying the whole text every time took ~45 ms at 5,000 images.
   */
  #segments(tail: Buffer): Buffer[] {
    this.#dropUnused();
    let runs = this.#runs();
    let used = 0;
    for (let k = 2; k < this.#spans.length; k += SPAN) used += this.#spans[k]!;
    const held = this.#buffers.reduce((n, b) => n + b.length, 0);
    if (runs.length > this.#maxRuns || held > used * MAX_HELD_PER_USED) {
      this.#compact(used);
      runs = this.#runs();
    }
    runs.push(tail);
    return runs;
  }

  /** Headers and slices in exposition order. */
  #runs(): Buffer[] {
    const out: Buffer[] = [];
    const spans = this.#spans;
    const images = spans.length / (FAMILIES * SPAN);
    for (let f = 0; f < FAMILIES; f++) {
      out.push(HEADERS[f]!);
      let buffer = -1;
      let start = 0;
      let end = 0;
      for (let i = 0; i < images; i++) {
        const k = (i * FAMILIES + f) * SPAN;
        const length = spans[k + 2]!;
        if (length === 0) continue;
        if (spans[k] === buffer && spans[k + 1] === end) {
          end += length;
          continue;
        }
        if (end > start) out.push(this.#buffers[buffer]!.subarray(start, end));
        buffer = spans[k]!;
        start = spans[k + 1]!;
        end = start + length;
      }
      if (end > start) out.push(this.#buffers[buffer]!.subarray(start, end));
    }
    return out;
  }

  /** Copies every image's lines into one buffer, family by family, and points the spans there. */
  #compact(used: number): void {
    const out = Buffer.allocUnsafe(used);
    const spans = this.#spans;
    let at = 0;
    for (let f = 0; f < FAMILIES; f++) {
      for (let k = f * SPAN; k < spans.length; k += FAMILIES * SPAN) {
        const length = spans[k + 2]!;
        const start = spans[k + 1]!;
        this.#buffers[spans[k]!]!.copy(out, at, start, start + length);
        spans[k] = 0;
        spans[k + 1] = at;
        at += length;
      }
    }
    this.#buffers = [out];
  }

  /** Forgets the buffers no span points into any more, renumbering the spans. */
  #dropUnused(): void {
    const renumbered = new Int32Array(this.#buffers.length).fill(-1);
    const kept: Buffer[] = [];
    const spans = this.#spans;
    for (let k = 0; k < spans.length; k += SPAN) {
      const b = spans[k]!;
      if (renumbered[b] === -1) {
        renumbered[b] = kept.length;
        kept.push(this.#buffers[b]!);
      }
      spans[k] = renumbered[b]!;
    }
    this.#buffers = kept;
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
