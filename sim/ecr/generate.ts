import { seededInt as pick } from './seeded.ts';
import { DEFAULT_CALLER_ACCOUNT } from './store.ts';
import type {
  EcrScenario,
  ScanKind,
  SimImage,
  SimIndex,
  SimRegistry,
  SimRepository,
  SimScan,
} from './types.ts';

export interface GenerateScenarioOptions {
  /** Default ['us-east-1']. */
  regions?: readonly string[];
  /** 12-digit account IDs; the first is the caller account. Default [123456789012]. */
  accounts?: readonly string[];
  /** Repositories in total, dealt round-robin over every (account, region) registry. */
  repositories: number;
  imagesPerRepository: number;
  /** Push and pull times are laid out before this instant. Default: now. */
  now?: Date;
  /** Scan engines, rotated per repository. Default: all three. */
  scanKinds?: readonly ScanKind[];
  /** Archive every n-th image (counted across the whole scenario); 0 or absent archives none. */
  archivedEvery?: number;
  /**
   * The share (0–1) of images pushed as BuildKit does: an OCI index of one platform image, or of two
   * for a third of them, each with its provenance attestation. Their scans go to the platform images.
   * Default 0.
   */
  indexShare?: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const TEAMS = ['payments', 'platform', 'search', 'identity', 'data'];
const ALL_KINDS: readonly ScanKind[] = ['legacy-basic', 'native-basic', 'enhanced'];

function findingsFor(seed: string): Partial<Record<string, number>> {
  // Most images carry a few findings; criticals are rare, as in real fleets.
  return {
    CRITICAL: pick(`${seed}c`, 10) === 0 ? 1 + pick(`${seed}cc`, 3) : 0,
    HIGH: pick(`${seed}h`, 6),
    MEDIUM: pick(`${seed}m`, 15),
    LOW: pick(`${seed}l`, 25),
    INFORMATIONAL: pick(`${seed}i`, 5),
  };
}

function scanFor(
  kind: ScanKind,
  seed: string,
  newest: boolean,
  repositoryIndex: number,
  pushedAt: Date,
): SimScan {
  // The newest image of every fifth repository is still being scanned.
  if (newest && repositoryIndex % 5 === 4) {
    return { kind, status: kind === 'enhanced' ? 'PENDING' : 'IN_PROGRESS' };
  }
  const findings = findingsFor(seed);
  if (kind === 'enhanced') {
    if (pick(`${seed}u`, 4) === 0) findings.UNTRIAGED = 1 + pick(`${seed}uu`, 3);
    // Half the enhanced repositories leave severity counts out, so clients must count the findings.
    return { kind, status: 'ACTIVE', findings, includeCounts: repositoryIndex % 2 === 0 };
  }
  return { kind, status: 'COMPLETE', findings, completedAt: new Date(pushedAt.getTime() + 2 * 60_000) };
}

/** One or (a third of the time) two platform images with attestations; the arm64 one a little cleaner. */
function buildkitIndex(seed: string, scan: SimScan): SimIndex {
  const platforms: SimIndex['platforms'] = [{ platform: 'linux/amd64', scan }];
  if (pick(`${seed}arm`, 3) === 0) {
    platforms.push({ platform: 'linux/arm64', scan: { ...scan, findings: findingsFor(`${seed}arm64`) } });
  }
  return { platforms, attestations: true };
}

/**
 * A deterministic fleet for demos and benchmarks: repositories named like `payments/service-007`, each
 * with `imagesPerRepository` images pushed three days apart (tags v1.0, v1.1, … and `latest` on the
 * newest), recent images pulled recently and old ones long ago or never, and a mix of scan engines.
 */
export function generateScenario(options: GenerateScenarioOptions): EcrScenario {
  const regions = options.regions ?? ['us-east-1'];
  const accounts = options.accounts ?? [DEFAULT_CALLER_ACCOUNT];
  const kinds = options.scanKinds ?? ALL_KINDS;
  const now = (options.now ?? new Date()).getTime();
  const registries: SimRegistry[] = accounts.flatMap((accountId) =>
    regions.map((region) => ({ accountId, region, repositories: [] as SimRepository[] })),
  );
  let imageCounter = 0;
  for (let r = 0; r < options.repositories; r++) {
    const registry = registries[r % registries.length] as SimRegistry;
    const name = `${TEAMS[r % TEAMS.length]}/service-${String(r).padStart(3, '0')}`;
    const kind = kinds[r % kinds.length] as ScanKind;
    const images: SimImage[] = [];
    const count = options.imagesPerRepository;
    for (let i = 0; i < count; i++) {
      imageCounter += 1;
      const age = count - 1 - i;
      const pushedAt = new Date(now - age * 3 * DAY_MS - (r % 24) * HOUR_MS);
      const seed = `${registry.accountId}/${registry.region}/${name}#${i}`;
      const newest = age === 0;
      const scan = scanFor(kind, seed, newest, r, pushedAt);
      const tags = newest ? [`v1.${i}`, 'latest'] : [`v1.${i}`];
      const image: SimImage =
        pick(`${seed}index`, 1000) < (options.indexShare ?? 0) * 1000
          ? { tags, pushedAt, index: buildkitIndex(seed, scan) }
          : { tags, pushedAt, scan };
      // The three newest images were pulled within hours; older ones months ago, the oldest never.
      if (age < 3) image.lastRecordedPullTime = new Date(now - (age + 1) * HOUR_MS);
      else if (age < count - 1) image.lastRecordedPullTime = new Date(now - (90 + age) * DAY_MS);
      if (options.archivedEvery && imageCounter % options.archivedEvery === 0 && !newest) {
        image.imageStatus = 'ARCHIVED';
        image.lastArchivedAt = new Date(now - DAY_MS);
      }
      images.push(image);
    }
    registry.repositories.push({ name, createdAt: new Date(now - 400 * DAY_MS), images });
  }
  return { callerAccount: accounts[0], registries };
}
