import {
  artifactMediaTypeFor,
  generateManifest,
  MEDIA_TYPES,
  mediaTypeOf,
  sha256Digest,
  sizeOfManifest,
} from './manifest.ts';
import { LifecyclePolicyError, parseLifecyclePolicy } from './lifecycle/policy.ts';
import { LifecycleStates } from './lifecycle/state.ts';
import { REGISTRY_ID, REPOSITORY_NAME } from './params.ts';
import type {
  EcrScenario,
  ImageRef,
  ImageStatus,
  ImageView,
  RepositoryRef,
  SimImage,
  SimRegistry,
  SimRepository,
  SimScan,
} from './types.ts';

/** One stored image. */
export interface StoredImage {
  /**
   * Where the image stands in its repository's push order: strictly increasing along
   * `StoredRepository.images` and never reused, so a listing can resume after an image is removed.
   */
  readonly seq: number;
  readonly digest: string;
  readonly manifest: string;
  readonly mediaType: string;
  readonly artifactMediaType: string | undefined;
  readonly sizeBytes: number;
  pushedAt: Date;
  tags: string[];
  lastRecordedPullTime: Date | undefined;
  imageStatus: ImageStatus;
  lastArchivedAt: Date | undefined;
  lastActivatedAt: Date | undefined;
  scan: SimScan | undefined;
}

export interface StoredRepository {
  readonly name: string;
  readonly registryId: string;
  readonly region: string;
  readonly createdAt: Date;
  readonly imageTagMutability: 'MUTABLE' | 'IMMUTABLE';
  /**
   * Push order (ascending `seq`). Images can be removed (lifecycle expiry, deleteImage), so listings
   * resume by `seq`, never by index: see {@link imageIndexFrom}.
   */
  readonly images: StoredImage[];
  readonly byDigest: Map<string, StoredImage>;
  readonly byTag: Map<string, StoredImage>;
  /** How many images were ever pushed here: seeds generated manifests so each is unique. */
  pushes: number;
}

export interface StoredRegistry {
  readonly accountId: string;
  readonly region: string;
  readonly repositories: Map<string, StoredRepository>;
  /** Creation order, for DescribeRepositories listings. */
  readonly order: StoredRepository[];
}

export const DEFAULT_CALLER_ACCOUNT = '123456789012';

const ONE_MINUTE_MS = 60_000;

function registryKey(accountId: string, region: string): string {
  return `${accountId}/${region}`;
}

function denialKey(target: { registryId: string; region: string; repository?: string | undefined }): string {
  return target.repository === undefined
    ? registryKey(target.registryId, target.region)
    : `${registryKey(target.registryId, target.region)}/${target.repository}`;
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/**
 * Every registry, repository and image the endpoint serves, indexed so each lookup is a map access:
 * registries by account and region, repositories by name, images by digest and by tag.
 * A tag belongs to at most one image per repository; pushing or moving it takes it off the previous image.
 */
export class EcrStore {
  readonly callerAccount: string;
  /** Each repository's lifecycle policy, its last run and its last preview. */
  readonly lifecycle = new LifecycleStates();
  readonly #registries = new Map<string, StoredRegistry>();
  /** Registries (`account/region`) and repositories (`account/region/name`) the caller may not read. */
  readonly #denied = new Set<string>();
  readonly #clock: () => Date;

  constructor(scenario: EcrScenario, clock: () => Date) {
    this.callerAccount = scenario.callerAccount ?? DEFAULT_CALLER_ACCOUNT;
    this.#clock = clock;
    for (const registry of scenario.registries) this.addRegistry(registry);
  }

  addRegistry(registry: SimRegistry): void {
    this.#ensureRegistry(registry.accountId, registry.region);
    if (registry.accessDenied) {
      this.setAccessDenied({ registryId: registry.accountId, region: registry.region }, true);
    }
    for (const repository of registry.repositories) {
      this.addRepository(
        { registryId: registry.accountId, region: registry.region, repository: repository.name },
        repository,
      );
    }
  }

  /** Creates the repository (and its registry) if needed, then pushes the given images in order. */
  addRepository(ref: RepositoryRef, spec?: Partial<SimRepository>): StoredRepository {
    const registry = this.#ensureRegistry(ref.registryId, ref.region);
    let repository = registry.repositories.get(ref.repository);
    if (!repository) {
      if (!REPOSITORY_NAME.test(ref.repository)) {
        throw new StoreError(`repository name ${JSON.stringify(ref.repository)} is not one ECR accepts`);
      }
      repository = {
        name: ref.repository,
        registryId: ref.registryId,
        region: ref.region,
        createdAt: spec?.createdAt ?? this.#clock(),
        imageTagMutability: spec?.imageTagMutability ?? 'MUTABLE',
        images: [],
        byDigest: new Map(),
        byTag: new Map(),
        pushes: 0,
      };
      registry.repositories.set(ref.repository, repository);
      registry.order.push(repository);
    }
    if (spec?.accessDenied) this.setAccessDenied(ref, true);
    for (const image of spec?.images ?? []) this.#push(repository, image);
    if (spec?.lifecyclePolicy) {
      this.setLifecyclePolicy(ref, spec.lifecyclePolicy.text, spec.lifecyclePolicy.lastEvaluatedAt);
    }
    return repository;
  }

  registry(accountId: string, region: string): StoredRegistry | undefined {
    return this.#registries.get(registryKey(accountId, region));
  }

  repository(ref: RepositoryRef): StoredRepository | undefined {
    return this.registry(ref.registryId, ref.region)?.repositories.get(ref.repository);
  }

  /**
   * Pushes an image as `docker push` would: a digest already stored gains the tags (and an archived
   * image becomes active again, as a re-push restores it); every tag moves off the image that held it.
   */
  pushImage(ref: RepositoryRef, image: SimImage): ImageView {
    const repository = this.addRepository(ref);
    return this.#view(repository, this.#push(repository, image));
  }

  moveTag(ref: RepositoryRef, tag: string, digest: string): ImageView {
    const repository = this.#requireRepository(ref);
    const image = repository.byDigest.get(digest);
    if (!image) throw new StoreError(`no image ${digest} in ${describeRef(ref)}`);
    this.#assignTag(repository, image, tag);
    return this.#view(repository, image);
  }

  /** Removes a tag; the image it pointed at stays, untagged if it was its only tag. */
  untag(ref: RepositoryRef, tag: string): void {
    const repository = this.#requireRepository(ref);
    const image = repository.byTag.get(tag);
    if (!image) throw new StoreError(`no tag ${tag} in ${describeRef(ref)}`);
    repository.byTag.delete(tag);
    image.tags = image.tags.filter((t) => t !== tag);
  }

  /**
   * Deletes an image as BatchDeleteImage or a lifecycle expiry would: its tags go with it. Pages of a
   * listing already under way carry on from the next image (their tokens hold a `seq`, not an index).
   */
  removeImage(ref: ImageRef): void {
    const { repository, image } = this.#requireImage(ref);
    removeStoredImage(repository, image);
  }

  setScan(ref: ImageRef, scan: SimScan | undefined): void {
    this.#requireImage(ref).image.scan = scan ? { ...scan } : undefined;
  }

  setImageStatus(ref: ImageRef, status: ImageStatus): void {
    const { image } = this.#requireImage(ref);
    if (status === image.imageStatus) return;
    image.imageStatus = status;
    if (status === 'ARCHIVED') image.lastArchivedAt = this.#clock();
    else image.lastActivatedAt = this.#clock();
  }

  setPullTime(ref: ImageRef, at: Date | undefined): void {
    this.#requireImage(ref).image.lastRecordedPullTime = at;
  }

  /**
   * Sets a repository's lifecycle policy as PutLifecyclePolicy would, validated the same way; a
   * `lastEvaluatedAt` says when it last ran (absent: never). Throws StoreError for a policy ECR refuses.
   */
  setLifecyclePolicy(ref: RepositoryRef, text: string, lastEvaluatedAt?: Date): void {
    const repository = this.#requireRepository(ref);
    try {
      this.lifecycle.setPolicy(repository, parseLifecyclePolicy(text), lastEvaluatedAt);
    } catch (error) {
      if (error instanceof LifecyclePolicyError) {
        throw new StoreError(
          `lifecycle policy for ${describeRef(ref)} is not one ECR accepts: ${error.message}`,
        );
      }
      throw error;
    }
  }

  /** Denies (or allows again) every call on a registry, or on one repository, whether or not it exists. */
  setAccessDenied(
    target: { registryId: string; region: string; repository?: string },
    denied: boolean,
  ): void {
    if (denied) this.#denied.add(denialKey(target));
    else this.#denied.delete(denialKey(target));
  }

  /** Whether calls on this repository (or, without one, this registry) are denied. */
  isDenied(registryId: string, region: string, repository?: string): boolean {
    return (
      this.#denied.has(registryKey(registryId, region)) ||
      (repository !== undefined && this.#denied.has(denialKey({ registryId, region, repository })))
    );
  }

  image(ref: ImageRef): ImageView | undefined {
    const repository = this.repository(ref);
    if (!repository) return undefined;
    const image = findImage(repository, ref);
    return image ? this.#view(repository, image) : undefined;
  }

  #ensureRegistry(accountId: string, region: string): StoredRegistry {
    const key = registryKey(accountId, region);
    let registry = this.#registries.get(key);
    if (!registry) {
      if (!REGISTRY_ID.test(accountId)) {
        throw new StoreError(`registry ID ${JSON.stringify(accountId)} is not 12 digits`);
      }
      registry = { accountId, region, repositories: new Map(), order: [] };
      this.#registries.set(key, registry);
    }
    return registry;
  }

  #requireRepository(ref: RepositoryRef): StoredRepository {
    const repository = this.repository(ref);
    if (!repository) throw new StoreError(`no repository ${describeRef(ref)}`);
    return repository;
  }

  #requireImage(ref: ImageRef): { repository: StoredRepository; image: StoredImage } {
    const repository = this.#requireRepository(ref);
    const image = findImage(repository, ref);
    if (!image) {
      throw new StoreError(
        `no image ${ref.digest ?? ref.tag ?? '(no tag or digest)'} in ${describeRef(ref)}`,
      );
    }
    return { repository, image };
  }

  #push(repository: StoredRepository, spec: SimImage): StoredImage {
    repository.pushes += 1;
    const requestedType =
      spec.mediaType ?? (spec.manifest ? mediaTypeOf(spec.manifest) : MEDIA_TYPES.dockerV2);
    const manifest =
      spec.manifest ??
      generateManifest(
        `${repository.registryId}/${repository.region}/${repository.name}#${repository.pushes}`,
        requestedType,
        spec.sizeBytes,
      );
    const digest = sha256Digest(manifest);
    let image = repository.byDigest.get(digest);
    if (image) {
      if (image.imageStatus !== 'ACTIVE') {
        image.imageStatus = 'ACTIVE';
        image.lastActivatedAt = this.#clock();
      }
    } else {
      image = {
        seq: repository.pushes,
        digest,
        manifest,
        mediaType: requestedType,
        artifactMediaType: spec.artifactMediaType ?? artifactMediaTypeFor(requestedType),
        sizeBytes: spec.sizeBytes ?? sizeOfManifest(manifest),
        pushedAt: spec.pushedAt,
        tags: [],
        lastRecordedPullTime: spec.lastRecordedPullTime,
        imageStatus: spec.imageStatus ?? 'ACTIVE',
        lastArchivedAt: spec.lastArchivedAt ?? (spec.imageStatus === 'ARCHIVED' ? spec.pushedAt : undefined),
        lastActivatedAt: spec.lastActivatedAt,
        scan: spec.scan ? { ...spec.scan } : undefined,
      };
      repository.images.push(image);
      repository.byDigest.set(digest, image);
    }
    for (const tag of spec.tags ?? []) this.#assignTag(repository, image, tag);
    return image;
  }

  #assignTag(repository: StoredRepository, image: StoredImage, tag: string): void {
    const previous = repository.byTag.get(tag);
    if (previous === image) return;
    if (previous) previous.tags = previous.tags.filter((t) => t !== tag);
    repository.byTag.set(tag, image);
    image.tags.push(tag);
  }

  #view(repository: StoredRepository, image: StoredImage): ImageView {
    return {
      registryId: repository.registryId,
      region: repository.region,
      repository: repository.name,
      digest: image.digest,
      tags: [...image.tags],
      mediaType: image.mediaType,
      sizeBytes: image.sizeBytes,
      pushedAt: image.pushedAt,
      lastRecordedPullTime: image.lastRecordedPullTime,
      imageStatus: image.imageStatus,
      lastArchivedAt: image.lastArchivedAt,
      lastActivatedAt: image.lastActivatedAt,
      scan: image.scan ? { ...image.scan } : undefined,
      manifest: image.manifest,
    };
  }
}

/** The image a digest and/or tag names; with both, they must agree. */
export function findImage(
  repository: StoredRepository,
  id: { digest?: string | undefined; tag?: string | undefined },
): StoredImage | undefined {
  if (id.digest !== undefined) {
    const image = repository.byDigest.get(id.digest);
    if (image && id.tag !== undefined && repository.byTag.get(id.tag) !== image) return undefined;
    return image;
  }
  return id.tag !== undefined ? repository.byTag.get(id.tag) : undefined;
}

/** Takes an image and every tag that points at it out of its repository. */
export function removeStoredImage(repository: StoredRepository, image: StoredImage): void {
  const index = imageIndexFrom(repository, image.seq);
  if (repository.images[index] !== image) return;
  repository.images.splice(index, 1);
  repository.byDigest.delete(image.digest);
  for (const tag of image.tags) {
    if (repository.byTag.get(tag) === image) repository.byTag.delete(tag);
  }
}

/** The index of the first image whose `seq` is `seq` or later (binary search: `images` is sorted by seq). */
export function imageIndexFrom(repository: StoredRepository, seq: number): number {
  const images = repository.images;
  let low = 0;
  let high = images.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((images[mid] as StoredImage).seq < seq) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** When a scan finished, if the scenario does not say: a minute after the push, as scan-on-push would. */
export function scanCompletedAt(image: StoredImage, scan: SimScan): Date {
  return scan.completedAt ?? new Date(image.pushedAt.getTime() + ONE_MINUTE_MS);
}

function describeRef(ref: RepositoryRef): string {
  return `${ref.registryId}/${ref.region}/${ref.repository}`;
}
