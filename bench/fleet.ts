/**
 * The benchmarks' ECR fleet: a generated scenario, the image references that name each of its images,
 * and the fewest ECR calls that can resolve a set of them, worked out from the scenario itself so a
 * benchmark compares what the resolver did with what it could not have done with less.
 */
import { parseImageReference } from '../src/images/reference.ts';
import type { ImageReference } from '../src/images/types.ts';
import {
  type EcrScenario,
  generateScenario,
  type ScanKind,
  type SimImage,
  type SimScan,
} from '../sim/ecr/index.ts';

/** ECR takes at most 100 image IDs per DescribeImages call, and per BatchGetImage call. */
const IDS_PER_CALL = 100;
/**
 * AWS-native basic and enhanced findings come at most 100 to a page whatever maxResults says, so such a
 * scan without severity counts costs one DescribeImageScanFindings call per 100 findings.
 */
const ENHANCED_FINDINGS_PER_PAGE = 100;
/** Statuses under which a scan has findings to page through. */
const WITH_FINDINGS = new Set(['COMPLETE', 'ACTIVE']);

export const BENCH_REGIONS = ['us-east-1', 'eu-west-1'] as const;
const IMAGES_PER_REPOSITORY = 10;

export interface FleetImage {
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>` */
  ref: string;
  registryId: string;
  region: string;
  repository: string;
  tag: string;
  /** Index of the repository in the scenario (0-based, in generation order). */
  repositoryIndex: number;
  scanKind: ScanKind | null;
  /** Pushed as an image index: its scans are its platform images'. */
  index: boolean;
  /** Platform images of the index (attestations left out); 0 for a plain image. */
  platforms: number;
  /**
   * DescribeImageScanFindings calls this image needs at the least: 0 when DescribeImages carries its
   * scan; for an index, those of each platform image, which only that call describes.
   */
  scanFindingsCalls: number;
}

export interface Fleet {
  scenario: EcrScenario;
  /** Every image, by repository in generation order, then oldest first. */
  images: FleetImage[];
}

export interface FleetOptions {
  /** Push and pull times are laid out before this instant. Default: now. */
  now?: Date;
  /**
   * The share of images pushed as BuildKit does (generateScenario's `indexShare`): an OCI index of one
   * platform image, or two, each with its attestation. Default 0.
   */
  indexShare?: number;
}

/** `repositories` × 10 images dealt round-robin over two regions, with all three scan engines. */
export function buildFleet(repositories: number, options: FleetOptions = {}): Fleet {
  const scenario = generateScenario({
    regions: BENCH_REGIONS,
    repositories,
    imagesPerRepository: IMAGES_PER_REPOSITORY,
    now: options.now ?? new Date(),
    indexShare: options.indexShare ?? 0,
  });
  const byName = new Map<string, { registryId: string; region: string; images: SimImage[] }>();
  for (const registry of scenario.registries) {
    for (const repository of registry.repositories) {
      byName.set(repository.name, {
        registryId: registry.accountId,
        region: registry.region,
        images: repository.images,
      });
    }
  }
  // Repositories are dealt round-robin, so generation order is recovered from the number in the name.
  const names = [...byName.keys()].sort((a, b) => repositoryNumber(a) - repositoryNumber(b));
  const images: FleetImage[] = [];
  for (const name of names) {
    const repository = byName.get(name)!;
    for (const image of repository.images) {
      const tag = image.tags?.[0];
      if (!tag) throw new Error(`generated image in ${name} has no tag`);
      images.push({
        ref: `${repository.registryId}.dkr.ecr.${repository.region}.amazonaws.com/${name}:${tag}`,
        registryId: repository.registryId,
        region: repository.region,
        repository: name,
        tag,
        repositoryIndex: repositoryNumber(name),
        scanKind: (image.index ? image.index.platforms[0]?.scan?.kind : image.scan?.kind) ?? null,
        index: image.index !== undefined,
        platforms: image.index?.platforms.length ?? 0,
        scanFindingsCalls: image.index
          ? image.index.platforms.reduce((sum, p) => sum + scanFindingsPages(p.scan), 0)
          : image.scan?.kind === 'legacy-basic'
            ? 0
            : scanFindingsPages(image.scan),
      });
    }
  }
  return { scenario, images };
}

function repositoryNumber(name: string): number {
  const match = /-(\d+)$/.exec(name);
  if (!match) throw new Error(`unexpected generated repository name ${name}`);
  return Number(match[1]);
}

/**
 * DescribeImageScanFindings pages one digest's scan takes: one when ECR gives severity counts (legacy
 * scans always do), when there are no findings yet, or when there is no scan at all
 * (ScanNotFoundException); else one per page of findings to count. A plain image's legacy (Clair)
 * scan comes inside DescribeImages and needs none of them, but a platform image of an index is never
 * described on its own: its scan, whatever the engine, takes this call.
 */
function scanFindingsPages(scan: SimScan | undefined): number {
  if (!scan) return 1;
  if (scan.kind === 'legacy-basic') return 1;
  if (!WITH_FINDINGS.has(scan.status) || scan.includeCounts !== false) return 1;
  const total = Object.values(scan.findings ?? {}).reduce<number>((sum, n) => sum + Math.max(0, n ?? 0), 0);
  return Math.max(1, Math.ceil(total / ENHANCED_FINDINGS_PER_PAGE));
}

export interface MinimumCalls {
  /** Σ over (account, region, repository) of ceil(images asked for / 100). */
  describeImages: number;
  /** Σ over (account, region, repository) of ceil(index images asked for / 100): their manifests. */
  batchGetImage: number;
  /** Σ of each distinct digest's DescribeImageScanFindings pages. */
  scanFindings: number;
  /** How many distinct digests need DescribeImageScanFindings at all. */
  digestsNeedingScanFindings: number;
  /** The resolver's calls: DescribeImages, BatchGetImage and DescribeImageScanFindings. */
  total: number;
  /**
   * One GetLifecyclePolicy per repository in use: the inventory's lifecycle forecast (on by default)
   * reads each repository's policy once per lifecycle.refreshInterval. Not in `total`.
   */
  lifecyclePolicies: number;
}

/**
 * Every image is asked for by one tag and holds a digest of its own (the generator writes each
 * manifest from a seed unique to the image and platform), so digests need no de-duplication here.
 */
export function minimumCalls(images: readonly FleetImage[]): MinimumCalls {
  const perRepository = new Map<string, { images: number; indexes: number }>();
  let scanFindings = 0;
  let digestsNeedingScanFindings = 0;
  for (const image of images) {
    const key = `${image.registryId}/${image.region}/${image.repository}`;
    const counts = perRepository.get(key) ?? { images: 0, indexes: 0 };
    counts.images++;
    if (image.index) counts.indexes++;
    perRepository.set(key, counts);
    scanFindings += image.scanFindingsCalls;
    digestsNeedingScanFindings += image.index ? image.platforms : image.scanFindingsCalls > 0 ? 1 : 0;
  }
  let describeImages = 0;
  let batchGetImage = 0;
  for (const counts of perRepository.values()) {
    describeImages += Math.ceil(counts.images / IDS_PER_CALL);
    batchGetImage += Math.ceil(counts.indexes / IDS_PER_CALL);
  }
  return {
    describeImages,
    batchGetImage,
    scanFindings,
    digestsNeedingScanFindings,
    total: describeImages + batchGetImage + scanFindings,
    lifecyclePolicies: perRepository.size,
  };
}

/** The images of the first `repositories` repositories. */
export function imagesOfRepositories(fleet: Fleet, repositories: number): FleetImage[] {
  return fleet.images.filter((image) => image.repositoryIndex < repositories);
}

/** The image's reference as the resolver takes it. */
export function toReference(image: FleetImage): ImageReference {
  const parsed = parseImageReference(image.ref);
  if (!parsed.ok) throw new Error(`bench reference ${image.ref} does not parse: ${parsed.reason}`);
  return parsed.ref;
}
