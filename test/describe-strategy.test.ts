/**
 * describe.ts's strategy for finding images by ID with DescribeImages, which fails a whole call when
 * one ID is missing: tables of repositories and asks against a fake `send` that answers as ECR does,
 * counting the calls each strategy step makes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DescribeImagesResponse, ImageDetail, ImageIdentifier } from '@aws-sdk/client-ecr';
import type { CallOutcome } from '../src/ecr/calls.ts';
import { type DescribeRequest, describeIds, MAX_LISTING_PAGES, SMALL_BATCH } from '../src/ecr/describe.ts';

/** A repository of `size` images tagged t0…t{size-1}, answering DescribeImages as ECR does. */
function repository(size: number, fail?: CallOutcome<never>) {
  const images: ImageDetail[] = Array.from({ length: size }, (_, i) => ({
    imageDigest: `sha256:${i.toString(16).padStart(64, '0')}`,
    imageTags: [`t${i}`],
  }));
  const byTag = new Map(images.map((d) => [d.imageTags![0]!, d]));
  const calls = { byIds: 0, listingPages: 0 };
  const send = async (request: DescribeRequest): Promise<CallOutcome<DescribeImagesResponse>> => {
    if (fail) return fail;
    if ('imageIds' in request) {
      calls.byIds++;
      const found = request.imageIds.map((id) => byTag.get(id.imageTag!));
      // One missing ID fails the whole call (ImageNotFoundException).
      if (found.some((d) => !d)) {
        return {
          ok: false,
          reason: 'not_found',
          name: 'ImageNotFoundException',
          message: 'missing',
          dns: false,
        };
      }
      return { ok: true, value: { imageDetails: found as ImageDetail[] } };
    }
    calls.listingPages++;
    const start = request.nextToken ? Number(request.nextToken) : 0;
    const page = images.slice(start, start + 1000);
    const next = start + 1000 < images.length ? String(start + 1000) : undefined;
    return { ok: true, value: { imageDetails: page, ...(next ? { nextToken: next } : {}) } };
  };
  return { send, calls };
}

const tags = (...names: string[]): ImageIdentifier[] => names.map((imageTag) => ({ imageTag }));
const present = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `t${from + i}`);
const missing = (n: number) => Array.from({ length: n }, (_, i) => `gone-${i}`);

describe('finding images by ID with DescribeImages', () => {
  const cases: {
    name: string;
    size: number;
    ask: string[];
    calls: { byIds: number; listingPages: number };
  }[] = [
    { name: 'all present: one call', size: 300, ask: present(100), calls: { byIds: 1, listingPages: 0 } },
    {
      name: 'one missing among 100: bisection, 1 + 2·log2(100) calls at most, no listing',
      size: 300,
      ask: [...present(99), 'gone-0'],
      calls: { byIds: 13, listingPages: 0 },
    },
    {
      name: `one missing in a small batch (${SMALL_BATCH}): bisection only`,
      size: 300,
      ask: [...present(SMALL_BATCH - 1), 'gone-0'],
      calls: { byIds: 9, listingPages: 0 },
    },
    {
      name: 'most missing: three calls, then the repository listed (one page)',
      size: 300,
      ask: [...present(10), ...missing(90)],
      calls: { byIds: 3, listingPages: 1 },
    },
    {
      name: 'a large repository is listed to its end when most of a batch is missing',
      size: 12_000,
      ask: [...present(2, 11_000), ...missing(98)],
      calls: { byIds: 3, listingPages: 12 },
    },
    {
      name: `past ${MAX_LISTING_PAGES} pages, listing stops and the rest is bisected: two calls per ID at most`,
      size: 25_000,
      ask: [...present(2, 24_000), ...missing(98)],
      calls: { byIds: 200, listingPages: MAX_LISTING_PAGES },
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const repo = repository(c.size);
      const answers = await describeIds(tags(...c.ask), repo.send);
      assert.deepEqual(
        answers.map((a) => (a.ok ? a.detail.imageTags![0] : a.reason)),
        c.ask.map((t) => (t.startsWith('gone') ? 'not_found' : t)),
      );
      assert.deepEqual(repo.calls, c.calls);
    });
  }

  it('answers every ID with a failure the call had (throttled, access denied), without splitting', async () => {
    const repo = repository(10, {
      ok: false,
      reason: 'throttled',
      name: 'ThrottlingException',
      message: 'Rate exceeded',
      dns: false,
    });
    const answers = await describeIds(tags(...present(5)), repo.send);
    assert.deepEqual(
      answers.map((a) => !a.ok && a.reason),
      ['throttled', 'throttled', 'throttled', 'throttled', 'throttled'],
    );
  });

  it('never costs one call per image, whatever is missing', async () => {
    for (let gone = 0; gone <= 100; gone += 5) {
      const repo = repository(500);
      await describeIds(tags(...present(100 - gone), ...missing(gone)), repo.send);
      const total = repo.calls.byIds + repo.calls.listingPages;
      assert.ok(total <= 40, `${gone} missing of 100 took ${total} calls`);
    }
  });
});
