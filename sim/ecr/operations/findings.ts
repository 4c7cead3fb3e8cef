import { seededHex } from '../seeded.ts';
import type { StoredImage, StoredRepository } from '../store.ts';
import type { SimScan } from '../types.ts';
import { epochSeconds } from './context.ts';

/**
 * Individual findings, generated on demand from a scan's per-severity counts so a scenario only has to
 * say "3 CRITICAL, 10 HIGH". Finding `i` is always the same finding for the same image, which keeps
 * pages consistent; only the requested page is ever built.
 */

/** Most severe first, the order ECR's console lists them in; unknown severities follow, by name. */
const SEVERITY_ORDER = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED', 'UNTRIAGED'];

/** Representative CVSS v3 base scores per severity band. */
const SCORES: Record<string, number> = { CRITICAL: 9.8, HIGH: 7.5, MEDIUM: 5.3, LOW: 3.1 };

const PACKAGES = [
  'openssl',
  'glibc',
  'zlib',
  'curl',
  'libxml2',
  'expat',
  'ncurses',
  'busybox',
  'sqlite',
  'krb5',
];

/** Severities in listing order, each with how many findings it has. */
function bands(scan: SimScan): { severity: string; count: number }[] {
  const entries = Object.entries(scan.findings ?? {}).filter(([, count]) => (count ?? 0) > 0);
  const rank = (severity: string): number => {
    const i = SEVERITY_ORDER.indexOf(severity);
    return i === -1 ? SEVERITY_ORDER.length : i;
  };
  entries.sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
  return entries.map(([severity, count]) => ({ severity, count: count ?? 0 }));
}

export function totalFindings(scan: SimScan): number {
  return bands(scan).reduce((sum, band) => sum + band.count, 0);
}

function severityAt(scan: SimScan, index: number): string {
  let remaining = index;
  for (const band of bands(scan)) {
    if (remaining < band.count) return band.severity;
    remaining -= band.count;
  }
  return 'UNDEFINED';
}

interface FindingFacts {
  name: string;
  severity: string;
  pkg: string;
  version: string;
  fixedIn: string;
  score: number;
  vector: string;
  hash: string;
}

function factsFor(image: StoredImage, scan: SimScan, index: number): FindingFacts {
  const hash = seededHex(`${image.digest}#${index}`);
  const year = 2019 + (Number.parseInt(hash.slice(0, 2), 16) % 7);
  const severity = severityAt(scan, index);
  const pkg = PACKAGES[Number.parseInt(hash.slice(2, 4), 16) % PACKAGES.length] as string;
  const minor = Number.parseInt(hash.slice(4, 6), 16) % 20;
  return {
    // CVE numbers are unique per image because the index is part of them.
    name: `CVE-${year}-${10000 + index}`,
    severity,
    pkg,
    version: `1.${minor}.0-1`,
    fixedIn: `1.${minor}.1-1`,
    score: SCORES[severity] ?? 0,
    vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    hash,
  };
}

/** A basic (Clair) finding: `imageScanFindings.findings[]`. */
export function legacyFinding(image: StoredImage, scan: SimScan, index: number): Record<string, unknown> {
  const f = factsFor(image, scan, index);
  return {
    name: f.name,
    description: `A flaw was found in ${f.pkg} before ${f.fixedIn}.`,
    uri: `https://security-tracker.debian.org/tracker/${f.name}`,
    severity: f.severity,
    attributes: [
      { key: 'package_version', value: f.version },
      { key: 'package_name', value: f.pkg },
      { key: 'CVSS3_VECTOR', value: f.vector },
      { key: 'CVSS3_SCORE', value: String(f.score) },
    ],
  };
}

/** An Inspector-style finding: `imageScanFindings.enhancedFindings[]`. */
export function enhancedFinding(
  repository: StoredRepository,
  image: StoredImage,
  scan: SimScan,
  index: number,
  observedAt: Date,
): Record<string, unknown> {
  const f = factsFor(image, scan, index);
  const seen = epochSeconds(observedAt);
  // A platform image of an index reports its own architecture; a plain image is taken as amd64.
  const architecture = image.platform?.split('/')[1] ?? 'amd64';
  return {
    awsAccountId: repository.registryId,
    description: `A flaw was found in ${f.pkg} before ${f.fixedIn}.`,
    findingArn: `arn:aws:inspector2:${repository.region}:${repository.registryId}:finding/${f.hash.slice(0, 32)}`,
    firstObservedAt: seen,
    lastObservedAt: seen,
    updatedAt: seen,
    packageVulnerabilityDetails: {
      cvss: [{ baseScore: f.score, scoringVector: f.vector, source: 'NVD', version: '3.1' }],
      referenceUrls: [`https://nvd.nist.gov/vuln/detail/${f.name}`],
      relatedVulnerabilities: [],
      source: 'NVD',
      sourceUrl: `https://nvd.nist.gov/vuln/detail/${f.name}`,
      vendorSeverity: f.severity,
      vulnerabilityId: f.name,
      vulnerablePackages: [
        {
          arch: architecture === 'arm64' ? 'AARCH64' : 'X86_64',
          epoch: 0,
          name: f.pkg,
          packageManager: 'OS',
          version: f.version,
          fixedInVersion: f.fixedIn,
          sourceLayerHash: `sha256:${f.hash}`,
        },
      ],
    },
    remediation: { recommendation: { text: 'None Provided' } },
    resources: [
      {
        details: {
          awsEcrContainerImage: {
            architecture,
            imageHash: image.digest,
            imageTags: [...image.tags],
            platform: 'DEBIAN_12',
            pushedAt: epochSeconds(image.pushedAt),
            registry: repository.registryId,
            repositoryName: repository.name,
          },
        },
        id: `arn:aws:ecr:${repository.region}:${repository.registryId}:repository/${repository.name}/${image.digest}`,
        type: 'AWS_ECR_CONTAINER_IMAGE',
      },
    ],
    score: f.score,
    scoreDetails: {
      cvss: { adjustments: [], score: f.score, scoreSource: 'NVD', scoringVector: f.vector, version: '3.1' },
    },
    severity: f.severity,
    status: 'ACTIVE',
    title: `${f.name} - ${f.pkg}`,
    type: 'PACKAGE_VULNERABILITY',
    fixAvailable: 'YES',
    exploitAvailable: 'NO',
  };
}
