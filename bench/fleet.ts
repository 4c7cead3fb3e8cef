/**
 * The benchmarks' ECR fleet: a generated scenario, the image references that name each of its images,
 * and the fewest ECR calls that can resolve a set of them, worked out from the scenario itself so a
 * benchmark compares what the resolver did with what it could not have done with less.
 */
import {
  type EcrScenario,
  generateScenario,
  type ScanKind,
  type SimImage,
  type SimScan,
} from '../sim/ecr/index.ts';

/** ECR takes at most 100 image IDs per DescribeImages call. */
const IDS_PER_DESCRIBE = 100;
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
  /** DescribeImageScanFindings calls this image needs at the least: 0 when DescribeImages carries its scan. */
  scanFindingsCalls: number;
}

export interface Fleet {
  scenario: EcrScenario;
  /** Every image, by repository in generation order, then oldest first. */
  images: FleetImage[];
}

/** `repositories` × 10 images dealt round-robin over two regions, with all three scan engines. */
export function buildFleet(repositories: number, now = new Date()): Fleet {
  const scenario = generateScenario({
    regions: BENCH_REGIONS,
    repositories,
    imagesPerRepository: IMAGES_PER_REPOSITORY,
    now,
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
        scanKind: image.scan?.kind ?? null,
        scanFindingsCalls: scanFindingsCallsFor(image.scan),
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
 * Legacy (Clair) basic scans come inside DescribeImages; AWS-native basic and enhanced scans, and an
 * image without any scan (ScanNotFoundException), take DescribeImageScanFindings: one call when ECR
 * gives severity counts or there are no findings yet, else one per page of findings to count.
 */
function scanFindingsCallsFor(scan: SimScan | undefined): number {
  if (!scan) return 1;
  if (scan.kind === 'legacy-basic') return 0;
  if (!WITH_FINDINGS.has(scan.status) || scan.includeCounts !== false) return 1;
  const total = Object.values(scan.findings ?? {}).reduce<number>((sum, n) => sum + Math.max(0, n ?? 0), 0);
  return Math.max(1, Math.ceil(total / ENHANCED_FINDINGS_PER_PAGE));
}

export interface MinimumCalls {
  /** Σ over (account, region, repository) of ceil(images asked for / 100). */
  describeImages: number;
  /** Σ of each distinct digest's DescribeImageScanFindings pages. */
  scanFindings: number;
  /** How many distinct digests need DescribeImageScanFindings at all. */
  digestsNeedingScanFindings: number;
  total: number;
}

export function minimumCalls(images: readonly FleetImage[]): MinimumCalls {
  const perRepository = new Map<string, number>();
  let scanFindings = 0;
  let digestsNeedingScanFindings = 0;
  for (const image of images) {
    const key = `${image.registryId}/${image.region}/${image.repository}`;
    perRepository.set(key, (perRepository.get(key) ?? 0) + 1);
    scanFindings += image.scanFindingsCalls;
    if (image.scanFindingsCalls > 0) digestsNeedingScanFindings++;
  }
  let describeImages = 0;
  for (const count of perRepository.values()) describeImages += Math.ceil(count / IDS_PER_DESCRIBE);
  return {
    describeImages,
    scanFindings,
    digestsNeedingScanFindings,
    total: describeImages + scanFindings,
  };
}

/** The images of the first `repositories` repositories. */
export function imagesOfRepositories(fleet: Fleet, repositories: number): FleetImage[] {
  return fleet.images.filter((image) => image.repositoryIndex < repositories);
}
