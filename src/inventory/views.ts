import type { Assessor, ImageAssessment } from '../policy/assessor.ts';
import { SEVERITIES } from '../config/types.ts';
import type { ImageFacts, Resolution } from '../ecr/types.ts';
import type { TrackedContainer } from '../kube/trim.ts';
import type { Forecast } from '../lifecycle/forecast.ts';
import type { FindingsSource, NamespaceTally, PodFinding, PodFindings } from '../reports/types.ts';
import type { ImageEntry, PodStore } from './pod-store.ts';
import { compareStrings } from '../util/compare.ts';

/** How long a verdict whose facts have not changed is carried from one store version to the next. */
const REJUDGE_MS = 60_000;

/** A verdict and the facts it was judged from. */
interface Judged {
  assessment: ImageAssessment;
  resolution: Resolution | null;
  lifecycle: ImageEntry['lifecycle'];
  at: number;
}

/** One distinct image in use (ECR, resolved), as the per-image metrics show it. */
export interface ImageSeriesRow {
  registryId: string;
  region: string;
  repository: string;
  /** '' for a digest-only reference. */
  tag: string;
  /** Treated as immutable: a changed ECR answer arrives as a new object. */
  facts: ImageFacts;
  containers: number;
  driftedContainers: number;
  stale: boolean;
  /** The first action the repository's lifecycle policy will take on it; null for none or unknown. */
  lifecycle: Forecast | null;
}

export interface UnresolvedRow {
  registryId: string;
  region: string;
  repository: string;
  reason: string;
  images: number;
}

export interface ViolationRow {
  namespace: string;
  check: string;
  action: string;
  containers: number;
}

/** What the per-image metrics read. `version` changes whenever anything below does. */
export interface ImageSeriesSource {
  version(): number;
  images(): Iterable<ImageSeriesRow>;
  unresolved(): Iterable<UnresolvedRow>;
  violations(): Iterable<ViolationRow>;
}

/** One container of a tracked pod as `report` shows it (SPEC section 7's report element). */
export interface ContainerRow {
  namespace: string;
  pod: string;
  container: TrackedContainer;
  assessment: ImageAssessment;
  runningDigest: string | null;
  drift: boolean;
  stale: boolean;
}

/**
 * What the inventory shows: per-image series rows, unresolved and violation counts for the metrics,
 * one row per container for `report`, and each running pod's findings for Events and Reports. Derived
 * from the store on demand and kept per store version, so a scrape or a writer's pass over an
 * unchanged inventory costs nothing.
 */
export class InventoryViews implements ImageSeriesSource, FindingsSource {
  readonly #store: PodStore;
  readonly #assessor: Assessor;
  readonly #now: () => number;
  readonly #staleAfter: number;
  #judged: { version: number; byKey: Map<string, Judged> } = { version: -1, byKey: new Map() };
  /** The verdicts of the version before: carried over where their facts are the same objects. */
  #previous = new Map<string, Judged>();
  #violations: { version: number; rows: ViolationRow[] } | null = null;
  #findings: { version: number; pods: PodFindings[]; tallies: Map<string, NamespaceTally> } | null = null;

  constructor(options: { store: PodStore; assessor: Assessor; now: () => number; staleAfter: number }) {
    this.#store = options.store;
    this.#assessor = options.assessor;
    this.#now = options.now;
    this.#staleAfter = options.staleAfter;
  }

  version(): number {
    return this.#store.version();
  }

  /**
   * The policy's verdict on an image in a namespace, judged once per store version. A pod change
   * makes a new version but leaves most images' facts as they were: a verdict of the version before
   * is carried over when its resolution and forecast are the very same objects and it was judged
   * less than REJUDGE_MS ago (checks that read the clock, ages and lifecycle windows, move by at most
   * that), so a change costs the judging of what changed, not of every image in use.
   */
  #judge(entry: ImageEntry | undefined, image: string, namespace: string): ImageAssessment {
    const version = this.#store.version();
    if (this.#judged.version !== version) {
      this.#previous = this.#judged.byKey;
      this.#judged = { version, byKey: new Map() };
    }
    const key = `${namespace}\u0000${image}`;
    const judged = this.#judged.byKey.get(key);
    if (judged) return judged.assessment;
    const resolution = entry?.resolution ?? null;
    const lifecycle = entry?.lifecycle;
    const now = this.#now();
    const before = this.#previous.get(key);
    if (
      before &&
      before.resolution === resolution &&
      before.lifecycle === lifecycle &&
      now - before.at < REJUDGE_MS
    ) {
      this.#judged.byKey.set(key, before);
      return before.assessment;
    }
    const parsed = entry?.parsed ?? this.#assessor.parse(image);
    const assessment = this.#assessor.judge(image, parsed, resolution, namespace, lifecycle);
    this.#judged.byKey.set(key, { assessment, resolution, lifecycle, at: now });
    return assessment;
  }

  #isStale(resolution: Resolution | null): boolean {
    if (resolution?.status !== 'resolved') return false;
    const pulled = resolution.facts.lastRecordedPullTime;
    return pulled !== null && this.#now() - pulled.getTime() > this.#staleAfter;
  }

  /**
   * One row per distinct (registry, region, repository, tag, digest): references written differently
   * (`api` and `api:latest`, an upper-case host, `:443`) name the same image and share one series,
   * their containers summed — two rows with equal labels would be one series Prometheus keeps once.
   */
  images(): Iterable<ImageSeriesRow> {
    const rows = new Map<string, ImageSeriesRow>();
    for (const entry of this.#store.images()) {
      const r = entry.resolution;
      if (r?.status !== 'resolved' || !entry.parsed.ok) continue;
      let drifted = 0;
      for (const [digest, count] of entry.running)
        if (digest !== null && digest !== r.facts.digest) drifted += count;
      const tag = entry.parsed.ref.tag ?? '';
      const key = `${r.facts.registryId}|${r.facts.region}|${r.facts.repository}|${tag}|${r.facts.digest}`;
      const same = rows.get(key);
      if (same) {
        same.containers += entry.containers;
        same.driftedContainers += drifted;
        continue;
      }
      const lifecycle = entry.lifecycle && !('unknown' in entry.lifecycle) ? entry.lifecycle : null;
      rows.set(key, {
        registryId: r.facts.registryId,
        region: r.facts.region,
        repository: r.facts.repository,
        tag,
        facts: r.facts,
        containers: entry.containers,
        driftedContainers: drifted,
        stale: this.#isStale(r),
        lifecycle,
      });
    }
    return rows.values();
  }

  *unresolved(): Iterable<UnresolvedRow> {
    const counts = new Map<string, UnresolvedRow>();
    for (const entry of this.#store.images()) {
      let row: Omit<UnresolvedRow, 'images'> | null = null;
      if (!entry.parsed.ok) row = { registryId: '', region: '', repository: '', reason: 'invalid_reference' };
      else if (entry.resolution?.status === 'unresolved' && entry.parsed.ref.ecr) {
        const { registryId, region, repository } = entry.parsed.ref.ecr;
        row = { registryId, region, repository, reason: entry.resolution.reason };
      }
      if (!row) continue;
      const key = `${row.registryId}|${row.region}|${row.repository}|${row.reason}`;
      const existing = counts.get(key);
      if (existing) existing.images++;
      else counts.set(key, { ...row, images: 1 });
    }
    yield* counts.values();
  }

  violations(): Iterable<ViolationRow> {
    const version = this.#store.version();
    if (this.#violations?.version === version) return this.#violations.rows;
    const counts = new Map<string, ViolationRow>();
    for (const entry of this.#store.images()) {
      for (const [namespace, containers] of entry.namespaces) {
        if (containers <= 0) continue;
        const { evaluation } = this.#judge(entry, entry.image, namespace);
        for (const v of evaluation.violations) {
          const key = `${namespace}|${v.check}|${v.action}`;
          const row = counts.get(key);
          if (row) row.containers += containers;
          else counts.set(key, { namespace, check: v.check, action: v.action, containers });
        }
      }
    }
    const rows = [...counts.values()];
    this.#violations = { version, rows };
    return rows;
  }

  /** Every container of every tracked pod, with its verdict, drift and staleness (for `report`). */
  containers(namespace?: string | null): ContainerRow[] {
    const rows: ContainerRow[] = [];
    const pods = [...this.#store.pods()]
      .filter((p) => !namespace || p.namespace === namespace)
      .sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name));
    for (const pod of pods) {
      for (const c of pod.containers) {
        const entry = this.#store.image(c.image);
        const assessment = this.#judge(entry, c.image, pod.namespace);
        const resolution = entry?.resolution ?? null;
        const digest = resolution?.status === 'resolved' ? resolution.facts.digest : null;
        rows.push({
          namespace: pod.namespace,
          pod: pod.name,
          container: c,
          assessment,
          runningDigest: c.runningDigest,
          drift: isDrift(digest, c.runningDigest),
          stale: this.#isStale(resolution),
        });
      }
    }
    return rows;
  }

  // ── FindingsSource: what Events and Reports show ─────────────────────────────────────────

  podFindings(): Iterable<PodFindings> {
    return this.#findingsNow().pods;
  }

  namespaceTallies(): ReadonlyMap<string, NamespaceTally> {
    return this.#findingsNow().tallies;
  }

  /**
   * Each running pod's findings (SPEC section 11): every check a container fails, warn or deny, as an
   * ImagePolicyViolation (ImageLifecycleRisk for lifecycleRisk), and a container running another digest
   * than its tag's as ImageDrift. A check that could not run (ECR did not answer) is not a finding: it
   * counts as an error in the namespace's tally, so an outage does not flood pods with Events.
   */
  #findingsNow(): { pods: PodFindings[]; tallies: Map<string, NamespaceTally> } {
    const version = this.#store.version();
    if (this.#findings?.version === version) return this.#findings;
    const pods: PodFindings[] = [];
    const tallies = new Map<string, NamespaceTally>();
    for (const pod of this.#store.pods()) {
      let tally = tallies.get(pod.namespace);
      if (!tally) {
        tally = { pass: 0, error: 0, skip: 0 };
        tallies.set(pod.namespace, tally);
      }
      const findings: PodFinding[] = [];
      for (const c of pod.containers) {
        const entry = this.#store.image(c.image);
        const assessment = this.#judge(entry, c.image, pod.namespace);
        const { evaluation } = assessment;
        if (evaluation.exempt || assessment.status === 'skipped') {
          tally.skip++;
          continue;
        }
        const facts = entry?.resolution?.status === 'resolved' ? entry.resolution.facts : null;
        const before = findings.length;
        let unknown = false;
        for (const v of evaluation.violations) {
          if (v.outcome === 'unknown') {
            unknown = true;
            continue;
          }
          findings.push({
            reason: v.check === 'lifecycleRisk' ? 'ImageLifecycleRisk' : 'ImagePolicyViolation',
            container: c.name,
            image: c.image,
            digest: facts?.digest ?? null,
            check: v.check,
            action: v.action,
            severity: v.check === 'severity' ? highestSeverity(facts) : null,
            message: `container "${c.name}" image ${c.image}: ${v.message}`,
          });
        }
        if (facts && isDrift(facts.digest, c.runningDigest)) {
          findings.push({
            reason: 'ImageDrift',
            container: c.name,
            image: c.image,
            digest: facts.digest,
            check: 'drift',
            action: 'warn',
            severity: null,
            message: `container "${c.name}" image ${c.image}: runs ${c.runningDigest}, while the tag now points to ${facts.digest}`,
          });
        }
        if (findings.length === before) {
          if (unknown) tally.error++;
          else tally.pass++;
        }
      }
      if (findings.length) pods.push({ namespace: pod.namespace, name: pod.name, uid: pod.uid, findings });
    }
    this.#findings = { version, pods, tallies };
    return this.#findings;
  }
}

function isDrift(digest: string | null, running: string | null): boolean {
  return digest !== null && running !== null && running !== digest;
}

/** The most severe severity an image's finished scan found, for a Report result's severity. */
function highestSeverity(facts: ImageFacts | null): string | null {
  if (!facts?.scan) return null;
  return SEVERITIES.find((s) => (facts.scan!.findings[s] ?? 0) > 0) ?? null;
}
