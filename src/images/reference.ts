/**
 * Image references parsed the way the container runtime parses them.
 *
 * kubelet (`parsers.ParseImageName`) and containerd's CRI plugin (`ParseDockerRef`) both read a pod's
 * `image` with `ParseNormalizedNamed` from github.com/distribution/reference, then add the tag `latest`
 * when neither tag nor digest is given. This module follows that code step by step:
 *
 *  1. a bare 64-hex string is an image ID, never a repository name: rejected;
 *  2. `splitDockerDomain` decides whether the first `/`-separated element is a registry host
 *     (`localhost`, contains `.` or `:`, or has an uppercase letter) or Docker Hub's namespace, maps
 *     `index.docker.io` to `docker.io`, and prefixes `library/` to single-component Docker Hub names;
 *  3. the repository part (up to the first `:`) must be lowercase;
 *  4. the result must match the reference grammar (`regexp.go`), the path after the host is at most
 *     255 characters, and a digest must be one the runtime can verify (go-digest: sha256, sha384 or
 *     sha512 in lowercase hex of the exact length).
 *
 * The grammar is checked piece by piece with small anchored expressions instead of one large regular
 * expression: JavaScript's backtracking engine could take polynomial time on the combined pattern,
 * Go's RE2 cannot, and hostile input must stay cheap here too.
 */
import { isKnownRegion } from './regions.ts';
import type { EcrLocation, ImageReference, ParseResult } from './types.ts';

/**
 * Longest input considered at all. The grammar bounds the path (255) and the tag (128); a digest is at
 * most `sha512:` + 128 hex; a registry host that DNS can resolve is at most 253 characters plus a
 * `:port`. Together that is under 800 characters, so nothing longer than 1024 could ever be pulled,
 * and refusing it before any pattern runs keeps hostile input cheap.
 */
export const MAX_REFERENCE_LENGTH = 1024;

/** distribution/reference `RepositoryNameTotalLengthMax`: applies to the path, not to the host. */
export const MAX_PATH_LENGTH = 255;

const DEFAULT_DOMAIN = 'docker.io';
/** Docker Hub's legacy name, canonicalized to `docker.io`. */
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';

/** A 64-hex string alone is a (sha256) image ID, which ParseNormalizedNamed refuses as a name. */
const IMAGE_ID = /^[a-f0-9]{64}$/;

/**
 * `domainAndPort`: DNS-like labels (letters of either case, digits, inner dashes) or a bracketed IPv6
 * address without zone, then an optional port. `[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*` is the same language
 * as the Go source's `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
 */
const DOMAIN =
  /^(?:[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*(?:\.[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

/** `pathComponent`: lowercase alphanumerics joined by one `.`, one or two `_`, or any run of `-`. */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** `tag`: a word character then up to 127 word characters, dots or dashes (ASCII `\w`, as in RE2). */
const TAG = /^\w[\w.-]{0,127}$/;

/** `digestPat`: what the reference grammar accepts before go-digest validates the algorithm and hex. */
const DIGEST_SYNTAX = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/** go-digest `DigestRegexp`: decides between "unsupported algorithm" and "invalid format". */
const GO_DIGEST_SYNTAX = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * Algorithms go-digest registers, with the exact length of their lowercase hex encoding
 * (32, 48 and 64 bytes). The runtimes link crypto/sha256 and crypto/sha512, which make all three
 * available.
 */
const DIGEST_HEX_LENGTH: ReadonlyMap<string, number> = new Map([
  ['sha256', 64],
  ['sha384', 96],
  ['sha512', 128],
]);
const LOWER_HEX = /^[a-f0-9]+$/;

const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const WHITESPACE_OR_CONTROL = /[\s\p{Cc}]/u;

/** Where an ECR private registry lives, read from its host. */
export type EcrRegistryHost = Omit<EcrLocation, 'repository'>;

/**
 * AWS region names: a partition prefix (`us`, `cn`, `eusc`, ...), one or more words (`gov`, `isoe`,
 * `west`, ...) and a number.
 */
const REGION = '[a-z]{2,}(?:-[a-z]+)+-[0-9]+';

/**
 * IPv4 registry endpoints, `<account>.dkr.ecr[-fips].<region>.<partition domain>`, for every partition
 * the kubelet ECR credential provider and amazon-ecr-credential-helper recognise: commercial
 * (`amazonaws.com`), China (`amazonaws.com.cn`), European Sovereign Cloud (`amazonaws.eu`) and the
 * isolated regions.
 */
const ECR_IPV4_HOST = new RegExp(
  `^([0-9]{12})\\.dkr\\.ecr(-fips)?\\.(${REGION})\\.` +
    '(?:amazonaws\\.com(?:\\.cn)?|amazonaws\\.eu|sc2s\\.sgov\\.gov|c2s\\.ic\\.gov|cloud\\.adc-e\\.uk|csp\\.hci\\.ic\\.gov)$',
);

/**
 * Dual-stack (IPv4 and IPv6) registry endpoints, `<account>.dkr-ecr[-fips].<region>.on.aws`, and the
 * China partition's `on.amazonwebservices.com.cn`. The dashed `dkr-ecr` label only exists on these
 * domains, so it is not accepted with the IPv4 domains (nor `dkr.ecr` with these).
 */
const ECR_DUAL_STACK_HOST = new RegExp(
  `^([0-9]{12})\\.dkr-ecr(-fips)?\\.(${REGION})\\.on\\.(?:aws|amazonwebservices\\.com\\.cn)$`,
);

/** Longest DNS name; anything longer is not a host ECR could answer on. */
const MAX_DNS_NAME_LENGTH = 253;

/** The only port ECR's registry endpoints serve (HTTPS); writing it is the same as leaving it out. */
const ECR_PORT = '443';

/**
 * Parse an image reference as kubelet and containerd do. Never throws: anything that is not a
 * reference the runtime would accept, including non-strings, gives `{ ok: false }` with a message.
 *
 * Where the runtime accepts a first element that is not a grammatical host (`foo_bar.com/app`: it has
 * a dot, so it is taken as a registry, but `_` is not allowed in a host), the reference is still valid
 * and the runtime contacts that first element as the registry; `registry` is set the same way.
 */
export function parseImageReference(input: string): ParseResult {
  if (typeof input !== 'string') return invalid('an image reference must be a string');
  if (input.length === 0) return invalid('an image reference must not be empty');
  if (input.length > MAX_REFERENCE_LENGTH) {
    return invalid(
      `reference is ${input.length} characters long; no pullable reference is longer than ${MAX_REFERENCE_LENGTH}`,
    );
  }
  if (WHITESPACE_OR_CONTROL.test(input)) {
    return invalid(`invalid reference format: ${quote(input)} contains whitespace or a control character`);
  }
  if (URL_SCHEME.test(input)) {
    return invalid(
      `invalid reference format: ${quote(input)} is a URL; a reference has no scheme (drop "…://")`,
    );
  }
  if (IMAGE_ID.test(input)) {
    return invalid(
      `invalid repository name (${input}), cannot specify 64-byte hexadecimal strings: this is an image ID, not a reference`,
    );
  }

  const { domain, remainder } = splitDockerDomain(input);
  const uppercase = uppercaseProblem(remainder);
  if (uppercase) return invalid(uppercase);

  const full = `${domain}/${remainder}`;
  const parts = matchReference(full);
  if (typeof parts === 'string') {
    const lower = full.toLowerCase();
    if (lower !== full && typeof matchReference(lower) !== 'string') {
      return invalid('invalid reference format: repository name must be lowercase');
    }
    return invalid(`invalid reference format: ${parts}`);
  }
  if (parts.path.length > MAX_PATH_LENGTH) {
    return invalid(
      `invalid reference format: repository name must not be more than ${MAX_PATH_LENGTH} characters (it has ${parts.path.length})`,
    );
  }
  if (parts.digest !== null) {
    const digestProblem = checkDigest(parts.digest);
    if (digestProblem) return invalid(digestProblem);
  }

  // Where the grammar found no host, the runtime's resolver still contacts the first element.
  let registry = parts.domain;
  let path = parts.path;
  if (registry === '') {
    const slash = path.indexOf('/');
    registry = path.slice(0, slash);
    path = path.slice(slash + 1);
  }
  const tag = parts.tag ?? (parts.digest === null ? DEFAULT_TAG : null);
  const fields = { registry, path, tag, digest: parts.digest };
  const ecr = ecrLocation(registry, path);
  // An ECR host naming a region no AWS partition has cannot be pulled from; taken as given it would
  // cost an ECR client, DNS lookups and metric series per made-up region (SPEC section 4).
  if (ecr && !isKnownRegion(ecr.region)) {
    return invalid(`${quote(registry)} names ${quote(ecr.region)}, which is not an AWS region`);
  }
  const ref: ImageReference = { original: input, ...fields, normalized: formatReference(fields), ecr };
  return { ok: true, ref };
}

/** The fields a reference string is made of. */
export type ReferenceParts = Pick<ImageReference, 'registry' | 'path' | 'tag' | 'digest'>;

/** `registry/path[:tag][@digest]`: the normalized form of a parsed reference. */
export function formatReference(ref: ReferenceParts): string {
  const parts = [ref.registry, '/', ref.path];
  if (ref.tag !== null) parts.push(':', ref.tag);
  if (ref.digest !== null) parts.push('@', ref.digest);
  // Joined: one flat string, kept with the parsed reference (concatenation would keep a rope).
  return parts.join('');
}

/** `registry/path`: the repository a reference names, without tag or digest. */
export function formatName(ref: Pick<ImageReference, 'registry' | 'path'>): string {
  return `${ref.registry}/${ref.path}`;
}

/**
 * The reference pinned to `digest`, keeping its tag for readers: `registry/path:tag@sha256:…`.
 * The runtime pulls by the digest and ignores the tag once both are given. Throws a RangeError when
 * `digest` is not one the runtime accepts: callers pass digests ECR returned, so a bad one is a bug.
 */
export function withDigest(ref: ReferenceParts, digest: string): string {
  const problem = checkDigest(digest);
  if (problem) throw new RangeError(`cannot pin ${formatReference(ref)}: ${problem}`);
  return formatReference({ registry: ref.registry, path: ref.path, tag: ref.tag, digest });
}

/** Whether `digest` is `algorithm:hex` as the runtime accepts it (sha256/sha384/sha512, lowercase hex). */
export function isValidDigest(digest: string): boolean {
  return typeof digest === 'string' && digest.length <= MAX_REFERENCE_LENGTH && checkDigest(digest) === null;
}

/** Whether `tag` is a tag the reference grammar accepts. */
export function isValidTag(tag: string): boolean {
  return typeof tag === 'string' && TAG.test(tag);
}

/**
 * The ECR private registry a registry host names, or null. Case-insensitive, as DNS is. A port is
 * accepted only when it is 443: ECR serves its registries on HTTPS's port alone, so `:443` names the
 * same registry while any other port names an endpoint that does not exist (the pull cannot succeed
 * and the image cannot be one ECR holds). `public.ecr.aws`, look-alikes with extra labels, accounts
 * of other than 12 digits and every other host are not ECR private registries.
 */
export function parseEcrHost(registry: string): EcrRegistryHost | null {
  const longestEcrRegistry = MAX_DNS_NAME_LENGTH + 1 + ECR_PORT.length;
  if (typeof registry !== 'string' || registry.length > longestEcrRegistry) return null;
  let host = registry.toLowerCase();
  const colon = host.lastIndexOf(':');
  if (colon !== -1) {
    if (host.slice(colon + 1) !== ECR_PORT) return null;
    host = host.slice(0, colon);
  }
  if (host.length > MAX_DNS_NAME_LENGTH) return null;
  const ipv4 = ECR_IPV4_HOST.exec(host);
  const match = ipv4 ?? ECR_DUAL_STACK_HOST.exec(host);
  if (!match) return null;
  return {
    registryId: match[1]!,
    region: match[3]!,
    host,
    fips: match[2] !== undefined,
    dualStack: ipv4 === null,
  };
}

/** Whether `host` (optionally with `:443`) is an Amazon ECR private registry. */
export function isEcrHost(host: string): boolean {
  return parseEcrHost(host) !== null;
}

function ecrLocation(registry: string, path: string): EcrLocation | null {
  const host = parseEcrHost(registry);
  return host ? { ...host, repository: path } : null;
}

/** distribution/reference `splitDockerDomain`, applied to the whole input as ParseNormalizedNamed does. */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_REPO_PREFIX + name };
  const maybeDomain = name.slice(0, slash);
  const maybeRemainder = name.slice(slash + 1);
  let domain: string;
  let remainder: string;
  if (maybeDomain === 'localhost') {
    domain = maybeDomain;
    remainder = maybeRemainder;
  } else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) {
    domain = DEFAULT_DOMAIN;
    remainder = maybeRemainder;
  } else if (
    maybeDomain.includes('.') ||
    maybeDomain.includes(':') ||
    maybeDomain.toLowerCase() !== maybeDomain
  ) {
    // A dot or a colon (`example.com`, `host:5000`, `[::1]:5000`) or an uppercase letter (namespaces
    // are lowercase) makes the first element a registry host.
    domain = maybeDomain;
    remainder = maybeRemainder;
  } else {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/** ParseNormalizedNamed's lowercase rule: everything before the first `:` after the host. */
function uppercaseProblem(remainder: string): string | null {
  const colon = remainder.indexOf(':');
  const remote = colon === -1 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() === remote) return null;
  const at = remote.indexOf('@');
  const name = at === -1 ? remote : remote.slice(0, at);
  if (name.toLowerCase() !== name) {
    return `invalid reference format: repository name (${name}) must be lowercase`;
  }
  return `invalid reference format: digest algorithm (${remote.slice(at + 1)}) must be lowercase`;
}

interface GrammarParts {
  /** The host as the grammar captures it; empty when the first element is not a grammatical host. */
  domain: string;
  path: string;
  tag: string | null;
  digest: string | null;
}

/**
 * `ReferenceRegexp` then `anchoredNameRegexp`, piece by piece. A digest is everything after the one `@`
 * (no other part may hold `@`); a tag is everything after a `:` in the last path element (a `:` before
 * the last `/` can only be a port). Returns the parts, or what is wrong as a string.
 */
function matchReference(full: string): GrammarParts | string {
  let name = full;
  let digest: string | null = null;
  const at = full.indexOf('@');
  if (at !== -1) {
    digest = full.slice(at + 1);
    name = full.slice(0, at);
    if (!DIGEST_SYNTAX.test(digest)) return `digest ${quote(digest)} is not algorithm:hex`;
  }
  let tag: string | null = null;
  const tagColon = name.indexOf(':', name.lastIndexOf('/') + 1);
  if (tagColon !== -1) {
    tag = name.slice(tagColon + 1);
    name = name.slice(0, tagColon);
    if (!TAG.test(tag)) {
      return `tag ${quote(tag)} must be 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`;
    }
  }

  const slash = name.indexOf('/');
  if (slash !== -1) {
    const host = name.slice(0, slash);
    const path = name.slice(slash + 1);
    if (DOMAIN.test(host) && pathProblem(path) === null) return { domain: host, path, tag, digest };
  }
  const wholeProblem = pathProblem(name);
  if (wholeProblem === null) return { domain: '', path: name, tag, digest };

  // Neither reading works: report the part the runtime would have read as the host, if that is wrong.
  if (slash !== -1) {
    const host = name.slice(0, slash);
    const looksLikeHost = /[.:[A-Z]/.test(host) || host === 'localhost';
    if (looksLikeHost && !DOMAIN.test(host)) return `registry host ${quote(host)} is not a valid host[:port]`;
    return pathProblem(name.slice(slash + 1)) ?? wholeProblem;
  }
  return wholeProblem;
}

/** What is wrong with a `/`-separated repository path, or null. */
function pathProblem(path: string): string | null {
  for (const component of path.split('/')) {
    if (component === '') {
      return 'repository path has an empty component (a leading, doubled or trailing "/")';
    }
    if (!PATH_COMPONENT.test(component)) {
      return `path component ${quote(component)} must be lowercase letters and digits joined by ".", "_", "__" or dashes`;
    }
  }
  return null;
}

/** go-digest `Digest.Validate`, with the runtime's registered algorithms. */
function checkDigest(digest: string): string | null {
  const colon = digest.indexOf(':');
  if (colon <= 0 || colon === digest.length - 1) return `invalid checksum digest format ${quote(digest)}`;
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  const length = DIGEST_HEX_LENGTH.get(algorithm);
  if (length === undefined) {
    if (!GO_DIGEST_SYNTAX.test(digest)) return `invalid checksum digest format ${quote(digest)}`;
    return `unsupported digest algorithm ${quote(algorithm)} (sha256, sha384 or sha512)`;
  }
  if (encoded.length !== length || !LOWER_HEX.test(encoded)) {
    return `invalid checksum digest format: ${algorithm} needs exactly ${length} lowercase hex characters`;
  }
  return null;
}

function invalid(message: string): ParseResult {
  return { ok: false, reason: 'invalid_reference', message };
}

/** Quoted for a message; the input is already bounded by MAX_REFERENCE_LENGTH. */
function quote(text: string): string {
  return JSON.stringify(text);
}
