import {
  imageArchived,
  imageNotFound,
  invalidParameter,
  scanQuotaExceeded,
  unsupportedImageType,
  validationError,
} from '../errors.ts';
import { IN_TOTO_MEDIA_TYPE } from '../manifest.ts';
import { type Body, checkImageIdentifier, readImageIdentifier } from '../params.ts';
import { DEFAULT_SCAN_DURATION_MS, newScan, scanAt, scanStartedAt } from '../scan-state.ts';
import { findImage } from '../store.ts';
import type { ScanKind } from '../types.ts';
import { type OperationContext, openRepository } from './context.ts';
import { scanStatusOf } from './scan-view.ts';

const DAY_MS = 86_400_000;

/**
 * StartImageScan: a manual basic scan of one image ("Starts a basic image vulnerability scan", service
 * model). In ECR's order of checks: the image must exist (ImageNotFoundException), not be archived
 * (ImageArchivedException: archived images cannot be scanned), be something a scanner reads (an index
 * or an attestation manifest: UnsupportedImageTypeException), and not have been scanned in the last
 * 24 hours, scan on push included (LimitExceededException). The scan then runs for the registry's scan
 * duration and ends as the image allows; the answer carries its status at the start.
 */
export function startImageScan(body: Body, ctx: OperationContext): unknown {
  if (body.imageId === undefined || body.imageId === null) {
    throw invalidParameter('imageId', 'Member must not be null');
  }
  const id = readImageIdentifier(body.imageId, 'imageId');
  checkImageIdentifier(id, 'imageId');
  const repository = openRepository(body, ctx, 'StartImageScan');
  const image = findImage(repository, { digest: id.imageDigest, tag: id.imageTag });
  if (!image) throw imageNotFound(id, repository.name, repository.registryId);
  if (image.imageStatus !== 'ACTIVE') throw imageArchived(id, repository.name, repository.registryId);
  if (image.kind === 'index') throw unsupportedImageType(image.mediaType);
  if (image.kind === 'attestation') throw unsupportedImageType(IN_TOTO_MEDIA_TYPE);

  const scanning = repository.registry.scanning;
  if (scanning?.kind === 'enhanced' || image.scan?.kind === 'enhanced') {
    // Enhanced scanning is continuous and has no manual scans; the exact error is not documented.
    throw validationError('Manual image scans are only supported with basic scanning');
  }
  const now = ctx.clock();
  if (image.scan && now.getTime() - scanStartedAt(image, image.scan).getTime() < DAY_MS) {
    throw scanQuotaExceeded();
  }
  const kind: ScanKind = scanning?.kind ?? image.scan?.kind ?? 'native-basic';
  const previous = scanAt(image, scanning, now);
  ctx.store.startScan(
    image,
    newScan(
      kind,
      {
        // A rescan finds what is there: what the scenario says the image holds, else what the last
        // finished scan found.
        vulnerabilities:
          image.vulnerabilities ?? (previous?.status === 'COMPLETE' ? previous.findings : undefined),
        unscannable: image.unscannable,
      },
      {
        startedAt: now,
        durationMs: scanning?.scanDurationMs ?? DEFAULT_SCAN_DURATION_MS,
        pendingMs: scanning?.scanPendingMs ?? 0,
      },
    ),
  );
  const started = scanAt(image, scanning, now);
  const imageId: Record<string, string> = { imageDigest: image.digest };
  if (id.imageTag !== undefined) imageId.imageTag = id.imageTag;
  return {
    registryId: repository.registryId,
    repositoryName: repository.name,
    imageId,
    imageScanStatus: started ? scanStatusOf(started) : undefined,
  };
}
