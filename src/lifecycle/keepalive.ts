import { BatchGetImageCommand, type BatchGetImageResponse } from '@aws-sdk/client-ecr';
import type { SendCall } from '../ecr/calls.ts';
import { ACCEPTED_MEDIA_TYPES } from '../ecr/indexes.ts';
import { type FailureReason, type ImageFacts, repositoryKey } from '../ecr/types.ts';
import type { Logger } from '../log.ts';
import { BoundedMap } from '../util/lru.ts';
import type { ForecastAnswer } from './forecast.ts';

/** keep-alive reads, counted by outcome (lifecycle_keepalive_pulls_total). */
export interface KeepAliveObserver {
  keepAlivePull(outcome: 'success' | FailureReason): void;
}

/** ECR takes at most 100 image IDs per BatchGetImage call. */
const MAX_IDS_PER_CALL = 100;
/** An image kept alive is read again a day later at the soonest (SPEC section 10). */
const ONCE_A_DAY_MS = 86_400_000;
/** Images remembered as kept alive; a cluster runs a few thousand distinct images. */
const MAX_REMEMBERED = 50_000;

/**
 * `lifecycle.keepAlive` (SPEC section 10): an image in use that a sinceImagePulled rule would archive
 * within `lifecycle.keepAliveWithin` has its manifest read once (BatchGetImage), which ECR records as a
 * pull, so an image that runs stays recorded as used and the rule's clock starts again. At most once a
 * day per image, nothing for images not in use, and only for the archive a pull-time rule would do:
 * an expire or transition by push time or count is not something a pull changes. Needs
 * ecr:BatchGetImage and a role that is not excluded from pull-time updates (docs/lifecycle.md).
 */
export class KeepAlive {
  readonly #send: SendCall;
  readonly #withinMs: number;
  readonly #now: () => number;
  readonly #observer: KeepAliveObserver;
  readonly #log: Logger;
  readonly #lastRead = new BoundedMap<string, number>(MAX_REMEMBERED);

  constructor(options: {
    send: SendCall;
    withinMs: number;
    now: () => number;
    observer: KeepAliveObserver;
    log: Logger;
  }) {
    this.#send = options.send;
    this.#withinMs = options.withinMs;
    this.#now = options.now;
    this.#observer = options.observer;
    this.#log = options.log.child({ component: 'keep-alive' });
  }

  /** Reads the manifests of the images in use that need it; resolves with how many were read. */
  async keepAlive(
    images: readonly { facts: ImageFacts; forecast: ForecastAnswer | undefined }[],
  ): Promise<number> {
    const now = this.#now();
    const due = new Map<string, ImageFacts[]>();
    for (const { facts, forecast } of images) {
      if (!forecast || 'unknown' in forecast) continue;
      if (forecast.countType !== 'sinceImagePulled' || forecast.action !== 'archive') continue;
      if (forecast.at.getTime() - now > this.#withinMs) continue;
      const key = imageKey(facts);
      const last = this.#lastRead.get(key);
      if (last !== undefined && now - last < ONCE_A_DAY_MS) continue;
      const repository = repositoryKey(facts, facts.repository);
      const list = due.get(repository);
      if (list) list.push(facts);
      else due.set(repository, [facts]);
    }
    let read = 0;
    for (const group of due.values()) {
      for (let i = 0; i < group.length; i += MAX_IDS_PER_CALL) {
        read += await this.#read(group.slice(i, i + MAX_IDS_PER_CALL), now);
      }
    }
    return read;
  }

  async #read(images: readonly ImageFacts[], now: number): Promise<number> {
    const first = images[0]!;
    const outcome = await this.#send<BatchGetImageResponse>('bulk', 'BatchGetImage', first, (client) =>
      client.send(
        new BatchGetImageCommand({
          registryId: first.registryId,
          repositoryName: first.repository,
          imageIds: images.map((i) => ({ imageDigest: i.digest })),
          acceptedMediaTypes: ACCEPTED_MEDIA_TYPES,
        }),
      ),
    );
    if (!outcome.ok) {
      for (let i = 0; i < images.length; i++) this.#observer.keepAlivePull(outcome.reason);
      this.#log.warn({ repository: first.repository, reason: outcome.reason }, 'keep-alive read failed');
      return 0;
    }
    const served = new Set((outcome.value.images ?? []).map((i) => i.imageId?.imageDigest));
    let read = 0;
    for (const image of images) {
      if (served.has(image.digest)) {
        read++;
        this.#lastRead.set(imageKey(image), now);
        this.#observer.keepAlivePull('success');
      } else {
        // Not served: archived meanwhile, or gone. The next refresh's facts say which.
        this.#observer.keepAlivePull('not_found');
      }
    }
    return read;
  }
}

function imageKey(facts: ImageFacts): string {
  return `${repositoryKey(facts, facts.repository)}@${facts.digest}`;
}
