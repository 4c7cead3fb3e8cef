import type { AssessOptions, Assessor, ImageAssessment } from '../policy/assessor.ts';
import type { Config, WorkloadKind } from '../config/types.ts';
import { type ContainerImage, containersOf } from './containers.ts';
import { lookupBudgetMs } from './lookup-budget.ts';
import { allow, deny, failure } from './reply.ts';
import type { AdmissionHandler, AdmissionRequest, AdmissionResponse } from './types.ts';
import { workloadKindOf } from './workloads.ts';

export interface ValidateOptions {
  webhook: Pick<Config['webhook'], 'deadline' | 'kinds'>;
  policy: Pick<Config['policy'], 'exemptNamespaces'>;
  assessor: Assessor;
}

/** Audit-log annotation holding what audit mode let through (the apiserver prefixes the webhook's name). */
export const AUDIT_ANNOTATION = 'policy-violations';

/** The subresource whose object is a Pod gaining containers: `kubectl debug` adds ephemeral containers. */
const EPHEMERAL_CONTAINERS = 'ephemeralcontainers';

/**
 * /validate: one decision per review. Each container whose image the policy faults gets one line
 * naming it, its image and every failed check (`container "api" image …: 3 CRITICAL findings (max 0)`);
 * deny lines refuse the review with 403, warn lines become warnings, and in audit mode they are
 * recorded as an audit annotation. Each distinct image is assessed once per review. A dry run is
 * judged like any request: the webhook has no side effects (its lookups only fill the cache).
 */
export function createValidateHandler(options: ValidateOptions): AdmissionHandler {
  const { webhook, policy, assessor } = options;
  const kinds = new Set<WorkloadKind>(webhook.kinds);

  return async (request, context) => {
    const { uid } = request;
    const kind = workloadKindOf(request.kind);
    if (!kind || !kinds.has(kind) || !judgesOperation(request, kind)) return allow(uid);
    // Exempt namespaces skip every check; deciding here also skips reading the object.
    if (policy.exemptNamespaces.includes(request.namespace)) return allow(uid);

    const judged = containersToJudge(request, kind);
    if (!Array.isArray(judged)) return failure(uid, 400, judged.malformed);
    if (judged.length === 0) return allow(uid);

    const assess: AssessOptions = {
      namespace: request.namespace || null,
      deadlineMs: lookupBudgetMs(webhook.deadline, context.receivedAt),
    };
    const images = [...new Set(judged.map((c) => c.image))];
    const assessed = await Promise.all(images.map((image) => assessor.assess(image, assess)));
    return decide(uid, judged, new Map(images.map((image, i) => [image, assessed[i]!])));
  };
}

/**
 * The containers whose images the review must judge, read from the request's objects (taken here,
 * synchronously, so that only these few strings outlive this call). An image the object already ran
 * was judged when it came in: an UPDATE that brings no new image (scaling, labels, a status write) has
 * nothing to judge and is allowed without asking ECR.
 */
function containersToJudge(
  request: AdmissionRequest,
  kind: WorkloadKind,
): ContainerImage[] | { malformed: string } {
  const { object, oldObject } = request.objects.take();
  const current = containersOf(object, kind, 'request.object');
  if (!current.ok) return { malformed: current.message };
  const judged = current.containers.filter((c) => c.image !== '');
  if (request.operation !== 'UPDATE') return judged;
  const previous = containersOf(oldObject, kind, 'request.oldObject');
  if (!previous.ok) return { malformed: previous.message };
  const before = new Set(previous.containers.map((c) => c.image));
  return judged.filter((c) => !before.has(c.image));
}

function judgesOperation(request: AdmissionRequest, kind: WorkloadKind): boolean {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return false;
  if (request.subResource === '') return true;
  return kind === 'Pod' && request.subResource === EPHEMERAL_CONTAINERS;
}

function decide(
  uid: string,
  containers: readonly ContainerImage[],
  assessments: ReadonlyMap<string, ImageAssessment>,
): AdmissionResponse {
  const denials: string[] = [];
  const warnings: string[] = [];
  const audited: string[] = [];
  for (const container of containers) {
    const { evaluation } = assessments.get(container.image)!;
    if (evaluation.violations.length === 0) continue;
    const line = containerMessage(
      container,
      evaluation.violations.map((v) => v.message),
    );
    if (evaluation.verdict === 'deny') denials.push(line);
    else if (evaluation.verdict === 'warn') warnings.push(line);
    else audited.push(line);
  }
  if (denials.length) return deny(uid, denials.join('\n'), warnings);
  return allow(uid, {
    ...(warnings.length ? { warnings } : {}),
    ...(audited.length ? { auditAnnotations: { [AUDIT_ANNOTATION]: audited.join('\n') } } : {}),
  });
}

/** SPEC section 6: `container "api" image <ref>: <check>; <check>`. */
export function containerMessage(
  container: Pick<ContainerImage, 'name' | 'image'>,
  problems: readonly string[],
): string {
  return `container ${JSON.stringify(container.name)} image ${container.image}: ${problems.join('; ')}`;
}
