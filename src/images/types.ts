/** Where an ECR image lives, extracted from its registry host. */
export interface EcrLocation {
  registryId: string; // 12-digit AWS account ID
  region: string; // e.g. us-east-1, cn-north-1, us-gov-west-1
  repository: string; // repository name, may contain slashes (pull-through cache prefixes too)
  host: string; // the registry host as written, lower-cased
  fips: boolean;
  dualStack: boolean;
}

/** An image reference parsed as the container runtime does (distribution/reference). */
export interface ImageReference {
  /** The input as given. */
  original: string;
  /** Registry host (with port) after Docker Hub defaults: `docker.io` for `nginx`. */
  registry: string;
  /** Path after the registry, with Docker Hub's `library/` added for single-component names. */
  path: string;
  /** Tag; `latest` when neither tag nor digest was given; null for a digest-only reference. */
  tag: string | null;
  /** `sha256:<64 hex>` (or another registered algorithm), or null. */
  digest: string | null;
  /** The familiar-normalized full reference: `docker.io/library/nginx:latest`. */
  normalized: string;
  /** Set when the registry is an Amazon ECR private registry. */
  ecr: EcrLocation | null;
}

export type ParseResult =
  { ok: true; ref: ImageReference } | { ok: false; reason: 'invalid_reference'; message: string };
