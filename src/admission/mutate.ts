import type { AssessOptions, Assessor, ImageAssessment } from '../policy/assessor.ts';
import type { Config } from '../config/types.ts';
import { describeReason } from '../ecr/reasons.ts';
import { withDigest } from '../images/reference.ts';
import { type ContainerImage, containersOf } from './containers.ts';
import { lookupBudgetMs } from './lookup-budget.ts';
import { allow, failure } from './reply.ts';
import type { AdmissionHandler, AdmissionRequest } from './types.ts';
import { workloadKindOf } from './workloads.ts';

export interface MutateOptions {
  webhook: Pick<Config['webhook'], 'deadline' | 'pinDigests'>;
  assessor: Assessor;
}

/** One RFC 6902 operation; the webhook only ever replaces an image string. */
export interface JsonPatchReplace {
  op: 'replace';
  path: string;
  value: string;
}

/**
 * /mutate: with `webhook.pinDigests`, rewrites each Pod container's ECR tag reference to
 * `repo:tag@sha256:…` (the digest the tag points to now), so every node runs the image that was
 * judged at admission even if the tag moves. Never denies: an image it cannot resolve by the deadline
 * is left as it is, with a warning. Workload templates are left alone: their pods are pinned when
 * they are created, and pinning a template would freeze its tags for good.
 */
export function createMutateHandler(options: MutateOptions): AdmissionHandler {
  const { webhook, assessor } = options;

  return async (request, context) => {
    const { uid } = request;
    if (!webhook.pinDigests || !mutatesRequest(request)) return allow(uid);
    const candidates = containersToPin(request);
    if (!Array.isArray(candidates)) return failure(uid, 400, candidates.malformed);
    if (candidates.length === 0) return allow(uid);

    const assess: AssessOptions = {
      namespace: request.namespace || null,
      deadlineMs: lookupBudgetMs(webhook.deadline, context.receivedAt),
      // Pinning needs the digest even when no enabled check needs ECR facts.
      alwaysResolve: true,
    };
    const images = [...new Set(candidates.map((c) => c.image))];
    const assessed = await Promise.all(images.map((image) => assessor.assess(image, assess)));
    const byImage = new Map(images.map((image, i) => [image, assessed[i]!]));
    const patch: JsonPatchReplace[] = [];
    const warnings: string[] = [];
    for (const container of candidates) {
      const outcome = pinOf(container, byImage.get(container.image)!);
      if (outcome === null) continue;
      if ('warning' in outcome) warnings.push(outcome.warning);
      else patch.push(outcome);
    }
    return allow(uid, {
      ...(patch.length
        ? { patch: Buffer.from(JSON.stringify(patch)).toString('base64'), patchType: 'JSONPatch' as const }
        : {}),
      ...(warnings.length ? { warnings } : {}),
    });
  };
}

/**
 * The Pod's containers that may be pinned, read from the request's objects (taken here,
 * synchronously, so that only these few strings outlive this call). A running container whose image
 * string changes is restarted by the kubelet: on UPDATE only containers the update itself adds or
 * re-images are pinned, never one that merely was not pinned before.
 */
function containersToPin(request: AdmissionRequest): ContainerImage[] | { malformed: string } {
  const { object, oldObject } = request.objects.take();
  const current = containersOf(object, 'Pod', 'request.object');
  if (!current.ok) return { malformed: current.message };
  const candidates = current.containers.filter((c) => c.image !== '');
  if (request.operation !== 'UPDATE') return candidates;
  const previous = containersOf(oldObject, 'Pod', 'request.oldObject');
  if (!previous.ok) return { malformed: previous.message };
  const before = new Map(previous.containers.map((c) => [`${c.list}/${c.name}`, c.image]));
  return candidates.filter((c) => before.get(`${c.list}/${c.name}`) !== c.image);
}

function mutatesRequest(request: AdmissionRequest): boolean {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return false;
  if (workloadKindOf(request.kind) !== 'Pod') return false;
  return request.subResource === '' || request.subResource === 'ephemeralcontainers';
}

/**
 * The patch for one container, a warning when its ECR image could not be resolved, or null when
 * there is nothing to do: not an ECR tag reference (other registries, digests already given,
 * references that do not parse, which /validate reports) or exempt from the policy.
 */
function pinOf(
  container: ContainerImage,
  assessment: ImageAssessment,
): JsonPatchReplace | { warning: string } | null {
  const { parsed, resolution } = assessment;
  if (!parsed.ok || !parsed.ref.ecr || parsed.ref.digest !== null || resolution === null) return null;
  if (resolution.status !== 'resolved') {
    const why = `${describeReason(resolution.reason)} (${resolution.message})`;
    return {
      warning: `container ${JSON.stringify(container.name)} image ${container.image}: not pinned to a digest: ${why}`,
    };
  }
  return {
    op: 'replace',
    path: `/spec/${container.list}/${container.index}/image`,
    value: withDigest(parsed.ref, resolution.facts.digest),
  };
}
