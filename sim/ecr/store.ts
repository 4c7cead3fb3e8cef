import { LifecyclePolicyError, parseLifecyclePolicy } from './lifecycle/policy.ts';
import { LifecycleStates } from './lifecycle/state.ts';
import { type ManifestNode, materialize } from './materialize.ts';
import { REGISTRY_ID, REPOSITORY_NAME } from './params.ts';
import { ruleFor, type StoredRule, storedRule, upstreamName } from './pull-through.ts';
import { scanAt, scanOnPush } from './scan-state.ts';
import { ImageTagAlreadyExistsError, StoreError } from './store-error.ts';
import { mutabilityProblem, tagIsImmutable } from './tag-mutability.ts';
import type {
  EcrScenario,
  ImageKind,
  ImageRef,
  ImageStatus,
  ImageView,
  RepositoryRef,
  SeverityCounts,
  SimImage,
  SimPullThroughCacheRule,
  SimRegistry,
  SimRepository,
  SimScan,
  SimScanning,
  TagMutability,
  TagMutabilityExclusionFilter,
} from './types.ts';

export { ImageTagAlreadyExistsError, StoreError };

/** One stored manifest: a single image, an index, or an attestation manifest. */
export interface StoredImage {
  /**
   * Where the image stands in push order: strictly increasing along `StoredRepository.images` and
   * never reused, so a listing can resume after an image is removed.
   */
  readonly seq: number;
  readonly digest: string;
  readonly manifest: string;
  readonly mediaType: string;
  readonly artifactMediaType: string | undefined;
  readonly kind: ImageKind;
  readonly platform: string | undefined;
  readonly children: readonly string[];
  readonly sizeBytes: number;
  pushedAt: Date;
  tags: string[];
  lastRecordedPullTime: Date | undefined;
  imageStatus: ImageStatus;
  lastArchivedAt: Date | undefined;
  lastActivatedAt: Date | undefined;
  /** As declared or started; what it reads at a given time is scanAt()'s answer. */
  scan: SimScan | undefined;
  /** What a scanner finds here (for scans started later: StartImageScan). */
  vulnerabilities: SeverityCounts | undefined;
  unscannable: 'UNSUPPORTED_IMAGE' | 'FAILED' | undefined;
}

export interface StoredRepository {
  readonly name: string;
  readonly registryId: string;
  readonly region: string;
  readonly registry: StoredRegistry;
  readonly createdAt: Date;
  readonly imageTagMutability: TagMutability;
  readonly imageTagMutabilityExclusionFilters: readonly TagMutabilityExclusionFilter[];
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

/** What an upstream registry holds for one repository: each push as materialized, newest last. */
type UpstreamRepository = ManifestNode[][];

export interface StoredRegistry {
  readonly accountId: string;
  readonly region: string;
  readonly repositories: Map<string, StoredRepository>;
  /** Creation order, for DescribeRepositories listings. */
  readonly order: StoredRepository[];
  scanning: SimScanning | undefined;
  /** Pull through cache rules in creation order, and what each rule's upstream holds (by rule prefix). */
  readonly rules: StoredRule[];
  readonly upstream: Map<string, Map<string, UpstreamRepository>>;
}

export const DEFAULT_CALLER_ACCOUNT = '123456789012';

function registryKey(accountId: string, region: string): string {
  return `${accountId}/${region}`;
}

function denialKey(target: { registryId: string; region: string; repository?: string | undefined }): string {
  return target.repository === undefined
    ? registryKey(target.registryId, target.region)
    : `${registryKey(target.registryId, target.region)}/${target.repository}`;
}

/**
 * Every registry, repository and image the endpoint serves, indexed so each lookup is a map access:
 * registries by account and region, repositories by name, images by digest and by tag.
 * A tag belongs to at most one image per repository; pushing or moving it takes it off the previous image,
 * unless the repository holds that tag immutable.
 */
export class EcrStore {
  readonly callerAccount: string;
  /** Each repository's lifecycle policy, its last run and its last preview. */
  readonly lifecycle = new LifecycleStates();
  readonly #registries = new Map<string, StoredRegistry>();
  /** Registries (`account/region`) and repositories (`account/region/name`) the caller may not read. */
  readonly #denied = new Set<string>();
  readonly #clock: () => Date;
  /** Hands out StoredImage.seq: one push can store several manifests (an index and its platforms). */
  #imageSeq = 0;

  constructor(scenario: EcrScenario, clock: () => Date) {
    this.callerAccount = scenario.callerAccount ?? DEFAULT_CALLER_ACCOUNT;
    this.#clock = clock;
    for (const registry of scenario.registries) this.addRegistry(registry);
  }

  now(): Date {
    return this.#clock();
  }

  addRegistry(registry: SimRegistry): void {
    const stored = this.#ensureRegistry(registry.accountId, registry.region);
    if (registry.scanning) stored.scanning = { ...registry.scanning };
    if (registry.accessDenied) {
      this.setAccessDenied({ registryId: registry.accountId, region: registry.region }, true);
    }
    for (const rule of registry.pullThroughCacheRules ?? []) this.#addRule(stored, rule);
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
      const mutability = spec?.imageTagMutability ?? 'MUTABLE';
      const problem = mutabilityProblem(mutability, spec?.imageTagMutabilityExclusionFilters);
      if (problem) throw new StoreError(`repository ${ref.repository}: ${problem}`);
      repository = {
        name: ref.repository,
        registryId: ref.registryId,
        region: ref.region,
        registry,
        createdAt: spec?.createdAt ?? this.#clock(),
        imageTagMutability: mutability,
        imageTagMutabilityExclusionFilters: (spec?.imageTagMutabilityExclusionFilters ?? []).map((f) => ({
          ...f,
        })),
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
   * An index is pushed with its platform images (and attestations) first, as `docker buildx` does.
   * Throws ImageTagAlreadyExistsError, pushing nothing, when a tag is immutable and held elsewhere.
   */
  pushImage(ref: RepositoryRef, image: SimImage): ImageView {
    const repository = this.addRepository(ref);
    return this.#view(repository, this.#push(repository, image));
  }

  moveTag(ref: RepositoryRef, tag: string, digest: string): ImageView {
    const repository = this.#requireRepository(ref);
    const image = repository.byDigest.get(digest);
    if (!image) throw new StoreError(`no image ${digest} in ${describeRef(ref)}`);
    this.#checkTags(repository, [tag], digest);
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
    const { image } = this.#requireImage(ref);
    if (scan && image.kind === 'index') {
      throw new StoreError('ECR never scans an image index: set the scan of one of its platform images');
    }
    image.scan = scan ? { ...scan } : undefined;
  }

  /** Starts a scan of a stored image now (StartImageScan's effect); the caller has checked the rules. */
  startScan(image: StoredImage, scan: SimScan): void {
    image.scan = { ...scan };
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

  /** Replaces a registry's scanning configuration; scans already started keep going as they were. */
  setScanning(registryId: string, region: string, scanning: SimScanning | undefined): void {
    this.#ensureRegistry(registryId, region).scanning = scanning ? { ...scanning } : undefined;
  }

  addPullThroughCacheRule(registryId: string, region: string, rule: SimPullThroughCacheRule): void {
    this.#addRule(this.#ensureRegistry(registryId, region), rule);
  }

  /** Whether a tag of a repository is immutable under its mutability setting and exclusion filters. */
  tagIsImmutable(ref: RepositoryRef, tag: string): boolean {
    const repository = this.#requireRepository(ref);
    return tagIsImmutable(repository.imageTagMutability, repository.imageTagMutabilityExclusionFilters, tag);
  }

  /**
   * A pull by tag through the registry API (what a node's `docker pull` / containerd fetch does).
   * Under a pull through cache rule, a repository or tag not cached yet is fetched from the upstream
   * registry: ECR "creates a repository and caches that image" on the first pull (user guide, "Sync an
   * upstream registry with an Amazon ECR private registry"); the cached image is pushed now, pulled now,
   * and scanned by the registry's scanning like any push. A tag already cached is simply pulled.
   * Undefined when nothing can be served (no rule covers the name, or the upstream has no such tag).
   */
  pullByTag(ref: RepositoryRef, tag: string): StoredImage | undefined {
    const now = this.#clock();
    let image = this.repository(ref)?.byTag.get(tag);
    if (!image) image = this.#importUpstream(ref, tag, now);
    if (!image || image.imageStatus !== 'ACTIVE') return undefined;
    image.lastRecordedPullTime = now;
    return image;
  }

  /** The upstream image a cache repository's tag would be fetched from, if a rule covers it. */
  upstreamHas(ref: RepositoryRef, tag: string): boolean {
    return this.#upstreamPush(ref, tag) !== undefined;
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
      registry = {
        accountId,
        region,
        repositories: new Map(),
        order: [],
        scanning: undefined,
        rules: [],
        upstream: new Map(),
      };
      this.#registries.set(key, registry);
    }
    return registry;
  }

  #addRule(registry: StoredRegistry, rule: SimPullThroughCacheRule): void {
    const stored = storedRule(rule, this.#clock());
    if (typeof stored === 'string') throw new StoreError(`pull through cache rule: ${stored}`);
    if (registry.rules.some((r) => r.ecrRepositoryPrefix === stored.ecrRepositoryPrefix)) {
      throw new StoreError(`a pull through cache rule for ${stored.ecrRepositoryPrefix} already exists`);
    }
    registry.rules.push(stored);
    const upstream = new Map<string, UpstreamRepository>();
    for (const [name, images] of Object.entries(rule.upstream ?? {})) {
      // Seeded by the upstream location, so a cached image has the digest it has upstream.
      upstream.set(
        name,
        images.map((image, i) => materialize(image, `${stored.upstreamRegistryUrl}/${name}#${i}`)),
      );
    }
    registry.upstream.set(stored.ecrRepositoryPrefix, upstream);
  }

  #upstreamPush(ref: RepositoryRef, tag: string): ManifestNode[] | undefined {
    const registry = this.registry(ref.registryId, ref.region);
    if (!registry) return undefined;
    const rule = ruleFor(registry.rules, ref.repository);
    if (!rule) return undefined;
    const pushes = registry.upstream.get(rule.ecrRepositoryPrefix)?.get(upstreamName(rule, ref.repository));
    for (let i = (pushes?.length ?? 0) - 1; i >= 0; i--) {
      const nodes = (pushes as UpstreamRepository)[i] as ManifestNode[];
      if ((nodes.at(-1) as ManifestNode).tags.includes(tag)) return nodes;
    }
    return undefined;
  }

  #importUpstream(ref: RepositoryRef, tag: string, now: Date): StoredImage | undefined {
    const nodes = this.#upstreamPush(ref, tag);
    if (!nodes) return undefined;
    const repository = this.addRepository(ref);
    const cached = nodes.map((node) => ({
      ...node,
      tags: node === nodes.at(-1) ? [tag] : [],
      pushedAt: now,
      lastRecordedPullTime: node.kind === 'attestation' ? undefined : now,
      lastArchivedAt: undefined,
      lastActivatedAt: undefined,
      imageStatus: 'ACTIVE' as const,
      scan: node.scan ? { ...node.scan, startedAt: now } : undefined,
    }));
    return this.#storeNodes(repository, cached);
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
    const seed = `${repository.registryId}/${repository.region}/${repository.name}#${repository.pushes}`;
    return this.#storeNodes(repository, materialize(spec, seed));
  }

  /** Stores the manifests of one push (children first, the tagged root last) and returns the root. */
  #storeNodes(repository: StoredRepository, nodes: readonly ManifestNode[]): StoredImage {
    const root = nodes.at(-1) as ManifestNode;
    this.#checkTags(repository, root.tags, root.digest);
    const pushed = new Set(nodes.map((node) => node.digest));
    for (const child of root.children) {
      // PutImage of an index whose manifests are not in the repository fails with
      // ReferencedImagesNotFoundException (service model): platform images go first.
      if (!pushed.has(child) && !repository.byDigest.has(child)) {
        throw new StoreError(
          `ReferencedImagesNotFoundException: the index references ${child}, which is not in ${repository.name}`,
        );
      }
    }
    let stored: StoredImage | undefined;
    for (const node of nodes) stored = this.#storeNode(repository, node);
    const image = stored as StoredImage;
    for (const tag of root.tags) this.#assignTag(repository, image, tag);
    return image;
  }

  #storeNode(repository: StoredRepository, node: ManifestNode): StoredImage {
    const existing = repository.byDigest.get(node.digest);
    if (existing) {
      if (existing.imageStatus !== 'ACTIVE') {
        existing.imageStatus = 'ACTIVE';
        existing.lastActivatedAt = this.#clock();
      }
      return existing;
    }
    const scanning = repository.registry.scanning;
    const scan = node.scan
      ? { ...node.scan }
      : scanning
        ? scanOnPush(scanning, repository.name, node, node.pushedAt)
        : undefined;
    this.#imageSeq += 1;
    const image: StoredImage = {
      seq: this.#imageSeq,
      digest: node.digest,
      manifest: node.manifest,
      mediaType: node.mediaType,
      artifactMediaType: node.artifactMediaType,
      kind: node.kind,
      platform: node.platform,
      children: node.children,
      // "If the image is a manifest list, this will be the max size of all manifests in the list"
      // (ImageDetail.imageSizeInBytes, service model).
      sizeBytes:
        node.sizeBytes ??
        Math.max(0, ...node.children.map((d) => repository.byDigest.get(d)?.sizeBytes ?? 0)),
      pushedAt: node.pushedAt,
      tags: [],
      lastRecordedPullTime: node.lastRecordedPullTime,
      imageStatus: node.imageStatus,
      lastArchivedAt: node.lastArchivedAt,
      lastActivatedAt: node.lastActivatedAt,
      scan,
      vulnerabilities: node.vulnerabilities,
      unscannable: node.unscannable,
    };
    repository.images.push(image);
    repository.byDigest.set(node.digest, image);
    return image;
  }

  /** ImageTagAlreadyExistsException for the first tag that is immutable and held by another image. */
  #checkTags(repository: StoredRepository, tags: readonly string[], digest: string): void {
    for (const tag of tags) {
      const holder = repository.byTag.get(tag);
      if (!holder || holder.digest === digest) continue;
      if (tagIsImmutable(repository.imageTagMutability, repository.imageTagMutabilityExclusionFilters, tag)) {
        throw new ImageTagAlreadyExistsError(tag, repository.name);
      }
    }
  }

  #assignTag(repository: StoredRepository, image: StoredImage, tag: string): void {
    const previous = repository.byTag.get(tag);
    if (previous === image) return;
    if (previous) previous.tags = previous.tags.filter((t) => t !== tag);
    repository.byTag.set(tag, image);
    image.tags.push(tag);
  }

  #view(repository: StoredRepository, image: StoredImage): ImageView {
    const scan = scanAt(image, repository.registry.scanning, this.#clock());
    return {
      registryId: repository.registryId,
      region: repository.region,
      repository: repository.name,
      digest: image.digest,
      tags: [...image.tags],
      kind: image.kind,
      platform: image.platform,
      children: [...image.children],
      mediaType: image.mediaType,
      sizeBytes: image.sizeBytes,
      pushedAt: image.pushedAt,
      lastRecordedPullTime: image.lastRecordedPullTime,
      imageStatus: image.imageStatus,
      lastArchivedAt: image.lastArchivedAt,
      lastActivatedAt: image.lastActivatedAt,
      scan: scan ? { ...scan } : undefined,
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

function describeRef(ref: RepositoryRef): string {
  return `${ref.registryId}/${ref.region}/${ref.repository}`;
}
