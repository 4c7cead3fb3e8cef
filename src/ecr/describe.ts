import type { DescribeImagesResponse, ImageDetail, ImageIdentifier } from '@aws-sdk/client-ecr';
import type { CallOutcome } from './calls.ts';
import type { FailureReason } from './types.ts';

/** What DescribeImages said about one image ID: its detail, or why there is none. */
export type IdAnswer =
  { ok: true; detail: ImageDetail } | { ok: false; reason: FailureReason; message: string; dns?: boolean };

/** One DescribeImages call: by image IDs, or a page of the repository's listing. */
export type DescribeRequest = { imageIds: ImageIdentifier[] } | { listing: true; nextToken?: string };
export type DescribeSend = (request: DescribeRequest) => Promise<CallOutcome<DescribeImagesResponse>>;

/**
 * Batches of at most this many IDs are bisected when a call fails on a missing ID: finding one
 * missing ID among 16 costs at most 1 + 2·4 calls.
 */
export const SMALL_BATCH = 16;
/** A listing reads at most this many pages (1000 images each) before falling back to bisection. */
export const MAX_LISTING_PAGES = 20;

/**
 * How the resolver finds images by ID with DescribeImages (SPEC section 4), which fails a whole call
 * with ImageNotFoundException when one ID of it is missing, and never by one call per image:
 *
 * 1. Ask for the batch (up to 100 IDs). Success answers every ID.
 * 2. On ImageNotFoundException, ask for both halves. A half that succeeds is answered.
 * 3. While batches are small (≤ 16 IDs), or only one half fails, keep bisecting the failing halves:
 *    one missing ID among 100 costs 1 + 2·log2(100) ≈ 15 calls.
 * 4. When both halves of a larger batch fail, several IDs are missing and bisecting would approach one
 *    call per image: list the repository instead (1000 images a page, every tag and image status) and
 *    answer the IDs from it, reading at most 20 pages, so a repository of a hundred thousand images
 *    costs no more than twenty calls. IDs the pages read did not answer are bisected as in step 3:
 *    at most two calls per ID on top of the pages, the bound for a repository too large to list.
 *
 * Any other failure (throttled, access denied, …) answers every ID of that call with it. Pure apart
 * from `send`, so it is tested with tables of fake answers.
 */
export async function describeIds(ids: readonly ImageIdentifier[], send: DescribeSend): Promise<IdAnswer[]> {
  const answers: (IdAnswer | undefined)[] = new Array(ids.length);
  const all = ids.map((_, i) => i);

  /** One call for these IDs: answers them all, or says that one of several is missing. */
  const call = async (indices: readonly number[]): Promise<'answered' | 'missing'> => {
    const outcome = await send({ imageIds: indices.map((i) => ids[i]!) });
    if (outcome.ok) {
      answerFrom(indices, outcome.value.imageDetails ?? []);
      return 'answered';
    }
    if (outcome.reason === 'not_found' && indices.length > 1) return 'missing';
    const answer: IdAnswer =
      outcome.reason === 'not_found'
        ? notFound(ids[indices[0]!]!)
        : { ok: false, reason: outcome.reason, message: outcome.message, dns: outcome.dns };
    for (const i of indices) answers[i] = answer;
    return 'answered';
  };

  const answerFrom = (indices: readonly number[], details: readonly ImageDetail[]) => {
    const found = index(details);
    for (const i of indices) answers[i] = lookup(found, ids[i]!) ?? notFound(ids[i]!);
  };

  /** Finds the missing IDs among `indices`, known to contain at least one when `missing` is set. */
  const bisect = async (indices: readonly number[], missing: boolean, mayList: boolean): Promise<void> => {
    if (!missing && (await call(indices)) === 'answered') return;
    if (indices.length === 1) {
      answers[indices[0]!] = notFound(ids[indices[0]!]!);
      return;
    }
    const half = Math.ceil(indices.length / 2);
    const halves = [indices.slice(0, half), indices.slice(half)];
    const results = await Promise.all(halves.map(call));
    const failing = halves.filter((_, h) => results[h] === 'missing');
    if (failing.length === 2 && indices.length > SMALL_BATCH && mayList) {
      const left = await list(indices);
      if (left.length) await bisect(left, false, false);
      return;
    }
    await Promise.all(failing.map((h) => bisect(h, true, mayList)));
  };

  /** Lists the repository (capped) and answers what it finds; returns the indices still open. */
  const list = async (indices: readonly number[]): Promise<number[]> => {
    const details: ImageDetail[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_LISTING_PAGES; page++) {
      const outcome = await send({ listing: true, ...(nextToken ? { nextToken } : {}) });
      if (!outcome.ok) {
        const answer: IdAnswer = {
          ok: false,
          reason: outcome.reason,
          message: outcome.message,
          dns: outcome.dns,
        };
        for (const i of indices) answers[i] = answer;
        return [];
      }
      details.push(...(outcome.value.imageDetails ?? []));
      nextToken = outcome.value.nextToken;
      if (!nextToken) {
        // The whole repository has been read: whatever it does not hold is missing.
        answerFrom(indices, details);
        return [];
      }
    }
    const found = index(details);
    const open: number[] = [];
    for (const i of indices) {
      const answer = lookup(found, ids[i]!);
      if (answer) answers[i] = answer;
      else open.push(i);
    }
    return open;
  };

  await bisect(all, false, true);
  return answers.map((a, i) => a ?? notFound(ids[i]!));
}

interface DetailIndex {
  byDigest: Map<string, ImageDetail>;
  byTag: Map<string, ImageDetail>;
}

function index(details: readonly ImageDetail[]): DetailIndex {
  const byDigest = new Map<string, ImageDetail>();
  const byTag = new Map<string, ImageDetail>();
  for (const detail of details) {
    if (!detail.imageDigest) continue;
    byDigest.set(detail.imageDigest, detail);
    for (const tag of detail.imageTags ?? []) byTag.set(tag, detail);
  }
  return { byDigest, byTag };
}

/** The detail an ID names: by digest (and then its tag too, if given), else by tag. */
function lookup(found: DetailIndex, id: ImageIdentifier): IdAnswer | undefined {
  let detail: ImageDetail | undefined;
  if (id.imageDigest) {
    detail = found.byDigest.get(id.imageDigest);
    if (detail && id.imageTag && !(detail.imageTags ?? []).includes(id.imageTag)) detail = undefined;
  } else if (id.imageTag) {
    detail = found.byTag.get(id.imageTag);
  }
  return detail ? { ok: true, detail } : undefined;
}

export function notFound(id: ImageIdentifier): IdAnswer {
  const what = id.imageDigest ? `digest ${id.imageDigest}` : `tag ${id.imageTag}`;
  return { ok: false, reason: 'not_found', message: `${what} not found` };
}
