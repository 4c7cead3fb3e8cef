import {
  DescribeImagesCommand,
  type DescribeImagesResponse,
  GetLifecyclePolicyCommand,
  type GetLifecyclePolicyResponse,
} from '@aws-sdk/client-ecr';
import type { SendCall } from '../ecr/calls.ts';
import { type FailureReason, type Lane, repositoryKey } from '../ecr/types.ts';
import { BoundedMap } from '../util/lru.ts';
import type { LifecycleImage, RepositoryPolicy } from './forecast.ts';
import { parseLifecyclePolicy } from './rules.ts';

/** One repository of one registry. */
export interface RepositoryLocation {
  registryId: string;
  region: string;
  repository: string;
}

type Failure = { ok: false; reason: FailureReason; message: string };
/** A repository's policy, ready to evaluate; `policy: null` when the repository has none. */
export type PolicyAnswer = { ok: true; policy: RepositoryPolicy | null } | Failure;

/** DescribeImages listings return at most 1000 images a page. */
const LISTING_PAGE_SIZE = 1000;
/** A repository of more than 100,000 images is not listed: its count rules are then unknown. */
const MAX_LISTING_PAGES = 100;
/** Repositories whose policy (and listing) is kept at once. */
const MAX_REPOSITORIES = 10_000;

interface Entry {
  answer: PolicyAnswer;
  until: number;
}

/**
 * Each repository's lifecycle policy, read with GetLifecyclePolicy (SPEC section 10) and kept for
 * lifecycle.refreshInterval; LifecyclePolicyNotFoundException is an answer (no policy). Only where
 * the policy has a count rule (imageCountMoreThan) is the repository listed, every tag and image
 * status, 1000 images a page: a time rule needs only the image in use. A policy or a listing that
 * cannot be read (access denied, throttled) leaves the repository's forecast unknown, and is asked
 * again after negativeTTL; a policy this version cannot read is unknown too, never half-read.
 */
export class LifecyclePolicies {
  readonly #send: SendCall;
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #failureTtlMs: number;
  readonly #entries = new BoundedMap<string, Entry>(MAX_REPOSITORIES);
  readonly #inflight = new Map<string, Promise<PolicyAnswer>>();

  constructor(options: { send: SendCall; now: () => number; ttlMs: number; failureTtlMs: number }) {
    this.#send = options.send;
    this.#now = options.now;
    this.#ttlMs = options.ttlMs;
    this.#failureTtlMs = options.failureTtlMs;
  }

  /** The repository's policy and, for count rules, its images; from cache while fresh. */
  policyOf(lane: Lane, location: RepositoryLocation): Promise<PolicyAnswer> {
    const key = repositoryKey(location, location.repository);
    const cached = this.#cached(key);
    if (cached) return Promise.resolve(cached);
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#read(lane, location).then((answer) => {
        this.#entries.set(key, {
          answer,
          until: this.#now() + (answer.ok ? this.#ttlMs : this.#failureTtlMs),
        });
        return answer;
      });
      this.#inflight.set(key, pending);
      void pending.finally(() => this.#inflight.delete(key));
    }
    return pending;
  }

  /** The answer policyOf would give from the cache, at once; undefined when none is fresh. */
  cached(location: RepositoryLocation): PolicyAnswer | undefined {
    return this.#cached(repositoryKey(location, location.repository));
  }

  #cached(key: string): PolicyAnswer | undefined {
    const entry = this.#entries.get(key);
    return entry && this.#now() < entry.until ? entry.answer : undefined;
  }

  /** Forgets every policy: the next ask reads them again (the refresh does this each interval). */
  expire(): void {
    this.#entries.clear();
  }

  async #read(lane: Lane, location: RepositoryLocation): Promise<PolicyAnswer> {
    const outcome = await this.#send<GetLifecyclePolicyResponse>(
      lane,
      'GetLifecyclePolicy',
      location,
      (client) =>
        client.send(
          new GetLifecyclePolicyCommand({
            registryId: location.registryId,
            repositoryName: location.repository,
          }),
        ),
    );
    if (!outcome.ok) {
      if (outcome.name === 'LifecyclePolicyNotFoundException') return { ok: true, policy: null };
      return { ok: false, reason: outcome.reason, message: outcome.message };
    }
    const parsed = parseLifecyclePolicy(outcome.value.lifecyclePolicyText ?? '');
    if (!parsed.ok)
      return {
        ok: false,
        reason: 'error',
        message: `lifecycle policy of ${location.repository}: ${parsed.message}`,
      };
    const lastEvaluatedAt = outcome.value.lastEvaluatedAt ?? null;
    if (!parsed.rules.some((rule) => rule.countType === 'imageCountMoreThan')) {
      return { ok: true, policy: { rules: parsed.rules, repository: null, lastEvaluatedAt } };
    }
    const listed = await this.#list(lane, location);
    if (!listed.ok) return listed;
    return { ok: true, policy: { rules: parsed.rules, repository: listed.images, lastEvaluatedAt } };
  }

  async #list(
    lane: Lane,
    location: RepositoryLocation,
  ): Promise<{ ok: true; images: LifecycleImage[] } | Failure> {
    const images: LifecycleImage[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_LISTING_PAGES; page++) {
      const token = nextToken;
      const outcome = await this.#send<DescribeImagesResponse>(lane, 'DescribeImages', location, (client) =>
        client.send(
          new DescribeImagesCommand({
            registryId: location.registryId,
            repositoryName: location.repository,
            maxResults: LISTING_PAGE_SIZE,
            filter: { tagStatus: 'ANY', imageStatus: 'ANY' },
            ...(token ? { nextToken: token } : {}),
          }),
        ),
      );
      if (!outcome.ok) return { ok: false, reason: outcome.reason, message: outcome.message };
      for (const detail of outcome.value.imageDetails ?? []) {
        if (!detail.imageDigest) continue;
        images.push({
          digest: detail.imageDigest,
          tags: detail.imageTags ?? [],
          pushedAt: detail.imagePushedAt ?? null,
          lastRecordedPullTime: detail.lastRecordedPullTime ?? null,
          lastActivatedAt: detail.lastActivatedAt ?? null,
          lastArchivedAt: detail.lastArchivedAt ?? null,
          imageStatus: (detail.imageStatus as LifecycleImage['imageStatus'] | undefined) ?? 'ACTIVE',
        });
      }
      nextToken = outcome.value.nextToken;
      if (!nextToken) return { ok: true, images };
    }
    return {
      ok: false,
      reason: 'error',
      message: `repository ${location.repository} holds more than ${MAX_LISTING_PAGES * LISTING_PAGE_SIZE} images; its count rules are not forecast`,
    };
  }
}
