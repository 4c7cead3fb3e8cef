import { imageNotFound, invalidParameter, scanNotFound } from '../errors.ts';
import { decodePageToken, encodePageToken } from '../page-token.ts';
import {
  type Body,
  checkImageIdentifier,
  checkMaxResults,
  DEFAULT_PAGE_SIZE,
  optionalInteger,
  optionalString,
  readImageIdentifier,
} from '../params.ts';
import { scanAt, scanCompletedAt } from '../scan-state.ts';
import { findImage } from '../store.ts';
import { type OperationContext, openRepository } from './context.ts';
import { enhancedFinding, legacyFinding, totalFindings } from './findings.ts';
import { hasFindings, scanStatusOf, scanTimes, severityCounts } from './scan-view.ts';

/**
 * Inspector-backed findings come at most 100 to a page whatever maxResults asks for (a service
 * behaviour users have reported: aws/aws-sdk#370), so clients must follow nextToken.
 */
const ENHANCED_PAGE_LIMIT = 100;

/**
 * DescribeImageScanFindings for one image, as its scan reads on the simulator's clock. Legacy basic scans
 * answer `findings` (always with `findingSeverityCounts`); AWS-native basic and enhanced scans answer
 * `enhancedFindings`, with counts unless the scenario leaves them out. Findings appear only once a scan
 * has results (COMPLETE or ACTIVE). An image with no scan, an index above all (never scanned), answers
 * ScanNotFoundException: users asking by an index's tag report "ScanNotFoundException: Image scan does
 * not exist" and are told to ask by the platform image's digest (ECR Public's describe-image-scan-findings
 * page says the same of multi-architecture images).
 */
export function describeImageScanFindings(body: Body, ctx: OperationContext): unknown {
  if (body.imageId === undefined || body.imageId === null) {
    throw invalidParameter('imageId', 'Member must not be null');
  }
  const id = readImageIdentifier(body.imageId, 'imageId');
  const maxResults = optionalInteger(body, 'maxResults');
  const nextToken = optionalString(body, 'nextToken');
  checkImageIdentifier(id, 'imageId');
  checkMaxResults(maxResults);
  const repository = openRepository(body, ctx, 'DescribeImageScanFindings');

  const image = findImage(repository, { digest: id.imageDigest, tag: id.imageTag });
  if (!image) throw imageNotFound(id, repository.name, repository.registryId);
  const scan = scanAt(image, repository.registry.scanning, ctx.clock());
  if (!scan) throw scanNotFound(id, repository.name, repository.registryId);

  const imageId: Record<string, string> = { imageDigest: image.digest };
  if (id.imageTag !== undefined) imageId.imageTag = id.imageTag;
  const response: Record<string, unknown> = {
    registryId: repository.registryId,
    repositoryName: repository.name,
    imageId,
    imageScanStatus: scanStatusOf(scan),
  };
  if (!hasFindings(scan)) return response;

  const legacy = scan.kind === 'legacy-basic';
  const scope = `findings:${repository.registryId}/${repository.region}/${repository.name}@${image.digest}`;
  const start = decodePageToken(nextToken, scope);
  const requested = maxResults ?? DEFAULT_PAGE_SIZE;
  const pageSize = legacy ? requested : Math.min(requested, ENHANCED_PAGE_LIMIT);
  const end = Math.min(start + pageSize, totalFindings(scan));
  const observedAt = scanCompletedAt(image, scan);
  const page: Record<string, unknown>[] = [];
  for (let i = start; i < end; i++) {
    page.push(
      legacy ? legacyFinding(image, scan, i) : enhancedFinding(repository, image, scan, i, observedAt),
    );
  }

  const times = scanTimes(image, scan);
  const findings: Record<string, unknown> = {
    imageScanCompletedAt: times.completedAt,
    vulnerabilitySourceUpdatedAt: times.sourceUpdatedAt,
  };
  if (legacy || scan.includeCounts !== false) findings.findingSeverityCounts = severityCounts(scan);
  findings[legacy ? 'findings' : 'enhancedFindings'] = page;
  response.imageScanFindings = findings;
  if (end < totalFindings(scan)) response.nextToken = encodePageToken(scope, end);
  return response;
}
