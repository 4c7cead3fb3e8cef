import type { PatchSchema } from './patch.ts';
import { badRequest } from './status.ts';
import {
  canonical,
  dnsLabelErrors,
  fieldDuplicate,
  fieldForbidden,
  fieldRequired,
  isPlainObject,
  keepSystemMetadata,
  type Strategy,
  validateMetadata,
} from './strategy.ts';
import type { ContainerJson, KubeObject, PodJson, StatusCause } from './types.ts';

/**
 * Pod rules from pkg/registry/core/pod/strategy.go and pkg/apis/core/validation: defaults, a
 * status the client cannot set at creation, a spec that is immutable except for images and a few
 * scheduling fields, and the status and ephemeralcontainers subresources that each change only
 * their own part. No kubelet runs here, so nothing moves a pod past Pending unless a test does.
 */

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** Fields an ephemeral container may not have (they only make sense for containers the pod was created with). */
const EPHEMERAL_FORBIDDEN = [
  'ports',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
  'resources',
];

/** The list of updatable fields the real validation names in its error. */
const UPDATABLE_FIELDS =
  '`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** Default tolerations added by the DefaultTolerationSeconds admission plugin (300 s each). */
const DEFAULT_TOLERATION_SECONDS = 300;

function podOf(obj: KubeObject): PodJson {
  return obj as PodJson;
}

function containersOf(pod: PodJson): Array<{ list: string; index: number; container: ContainerJson }> {
  const out: Array<{ list: string; index: number; container: ContainerJson }> = [];
  for (const list of CONTAINER_LISTS) {
    const containers = pod.spec?.[list];
    if (Array.isArray(containers))
      containers.forEach((container, index) => {
        out.push({ list, index, container });
      });
  }
  return out;
}

/** `IfNotPresent` for a pinned tag, `Always` for `:latest` or no tag, as SetDefaults_Container does. */
function defaultPullPolicy(image: string | undefined): string {
  if (!image) return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon >= 0 ? lastSegment.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(container: ContainerJson): void {
  container.imagePullPolicy ??= defaultPullPolicy(container.image);
  container.terminationMessagePath ??= '/dev/termination-log';
  container.terminationMessagePolicy ??= 'File';
  container.resources ??= {};
  if (Array.isArray(container.ports)) {
    for (const port of container.ports) if (isPlainObject(port)) port.protocol ??= 'TCP';
  }
}

/** Go's zero value: absent, or an empty struct or list (`resources: {}` is what defaulting writes). */
function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isPlainObject(value) && Object.values(value).every(isEmpty);
}

function hasResources(container: ContainerJson): boolean {
  const resources = container.resources;
  if (!isPlainObject(resources)) return false;
  return (
    Object.keys((resources.requests as object) ?? {}).length +
      Object.keys((resources.limits as object) ?? {}).length >
    0
  );
}

/** The QoS class rule of pkg/apis/core/helper/qos, for cpu and memory. */
function qosClass(pod: PodJson): string {
  const containers = [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])];
  if (!containers.some(hasResources)) return 'BestEffort';
  const guaranteed = containers.every((c) => {
    const resources = (c.resources ?? {}) as {
      requests?: Record<string, unknown>;
      limits?: Record<string, unknown>;
    };
    const limits = resources.limits ?? {};
    const requests = resources.requests ?? {};
    return ['cpu', 'memory'].every(
      (r) => limits[r] !== undefined && (requests[r] === undefined || requests[r] === limits[r]),
    );
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function validateContainers(pod: PodJson): StatusCause[] {
  const errors: StatusCause[] = [];
  if (!Array.isArray(pod.spec?.containers) || pod.spec.containers.length === 0) {
    errors.push(fieldRequired('spec.containers'));
  }
  const seen = new Set<string>();
  for (const { list, index, container } of containersOf(pod)) {
    const path = `spec.${list}[${index}]`;
    if (!container.name) errors.push(fieldRequired(`${path}.name`));
    else {
      errors.push(...dnsLabelErrors(`${path}.name`, container.name));
      if (seen.has(container.name)) errors.push(fieldDuplicate(`${path}.name`, container.name));
      seen.add(container.name);
    }
    if (!container.image) errors.push(fieldRequired(`${path}.image`));
    if (list === 'ephemeralContainers') {
      for (const field of EPHEMERAL_FORBIDDEN) {
        if (!isEmpty(container[field])) {
          errors.push(fieldForbidden(`${path}.${field}`, 'cannot be set for an Ephemeral Container'));
        }
      }
    }
  }
  return errors;
}

/** The spec with every field a pod update may change replaced by the stored values. */
function mungedSpec(next: PodJson, prev: PodJson): unknown {
  const spec = structuredClone(next.spec) as Record<string, unknown>;
  for (const list of ['containers', 'initContainers'] as const) {
    const now = spec[list];
    const before = prev.spec[list];
    if (Array.isArray(now) && Array.isArray(before) && now.length === before.length) {
      now.forEach((c: ContainerJson, i) => {
        if (isPlainObject(c)) c.image = before[i]?.image;
      });
    }
  }
  for (const field of [
    'activeDeadlineSeconds',
    'tolerations',
    'terminationGracePeriodSeconds',
    'schedulingGates',
  ]) {
    if (prev.spec[field] === undefined) delete spec[field];
    else spec[field] = prev.spec[field];
  }
  return spec;
}

export const podStrategy: Strategy = {
  allowCreateOnUpdate: false,
  allowUnconditionalUpdate: true,
  returnDeletedObject: true,
  subresources: ['status', 'ephemeralcontainers'],

  decode(obj) {
    const pod = podOf(obj);
    if (pod.spec !== undefined && !isPlainObject(pod.spec)) {
      throw badRequest(
        `Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal ${typeof pod.spec} into Go struct field Pod.spec of type v1.PodSpec`,
      );
    }
    for (const list of CONTAINER_LISTS) {
      const containers = pod.spec?.[list];
      if (containers !== undefined && !Array.isArray(containers)) {
        throw badRequest(
          `Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal ${typeof containers} into Go struct field PodSpec.spec.${list} of type []v1.Container`,
        );
      }
    }
  },

  applyDefaults(obj) {
    const pod = podOf(obj);
    pod.spec ??= { containers: [] };
    const spec = pod.spec;
    spec.restartPolicy ??= 'Always';
    spec.terminationGracePeriodSeconds ??= 30;
    spec.dnsPolicy ??= 'ClusterFirst';
    spec.securityContext ??= {};
    spec.schedulerName ??= 'default-scheduler';
    spec.enableServiceLinks ??= true;
    spec.preemptionPolicy ??= 'PreemptLowerPriority';
    spec.priority ??= 0;
    // ServiceAccount admission names the default account in both the current and the deprecated field.
    spec.serviceAccountName ??= (spec.serviceAccount as string | undefined) ?? 'default';
    spec.serviceAccount ??= spec.serviceAccountName;
    for (const { container } of containersOf(pod)) if (isPlainObject(container)) defaultContainer(container);
  },

  prepareForCreate(obj) {
    const pod = podOf(obj);
    pod.spec.tolerations ??= [
      {
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: DEFAULT_TOLERATION_SECONDS,
      },
      {
        key: 'node.kubernetes.io/unreachable',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: DEFAULT_TOLERATION_SECONDS,
      },
    ];
    // A client does not choose a new pod's status; the kubelet reports it later.
    pod.status = { phase: 'Pending', qosClass: qosClass(pod) };
  },

  validate(obj) {
    return [...validateMetadata(obj, false), ...validateContainers(podOf(obj))];
  },

  prepareForUpdate(next, prev, subresource) {
    const pod = podOf(next);
    const old = podOf(prev);
    if (subresource === 'ephemeralcontainers') {
      const out = structuredClone(old);
      out.metadata.resourceVersion = pod.metadata.resourceVersion;
      out.spec.ephemeralContainers = pod.spec?.ephemeralContainers;
      if (out.spec.ephemeralContainers === undefined) delete out.spec.ephemeralContainers;
      return out;
    }
    if (subresource === 'status') {
      pod.spec = structuredClone(old.spec);
      pod.metadata.ownerReferences = structuredClone(old.metadata.ownerReferences);
      if (pod.metadata.ownerReferences === undefined) delete pod.metadata.ownerReferences;
      return pod;
    }
    pod.status = structuredClone(old.status);
    return pod;
  },

  validateUpdate(next, prev, subresource) {
    const pod = podOf(next);
    const old = podOf(prev);
    const errors = [...keepSystemMetadata(next, prev), ...validateMetadata(next, false)];
    if (subresource === 'status') return errors;
    errors.push(...validateContainers(pod));
    if (subresource === 'ephemeralcontainers') {
      const byName = new Map((pod.spec.ephemeralContainers ?? []).map((c) => [c.name, c]));
      for (const existing of old.spec.ephemeralContainers ?? []) {
        const now = byName.get(existing.name);
        if (!now) {
          errors.push(
            fieldForbidden(
              'spec.ephemeralContainers',
              `existing ephemeral containers "${existing.name}" may not be removed`,
            ),
          );
        } else if (canonical(now) !== canonical(existing)) {
          errors.push(
            fieldForbidden(
              'spec.ephemeralContainers',
              `existing ephemeral containers "${existing.name}" may not be changed`,
            ),
          );
        }
      }
      return errors;
    }
    if (canonical(mungedSpec(pod, old)) !== canonical(old.spec)) {
      errors.push(fieldForbidden('spec', `pod updates may not change fields other than ${UPDATABLE_FIELDS}`));
    }
    return errors;
  },
};

/** Strategic-merge-patch list semantics of the Pod type (patchMergeKey / patchStrategy tags). */
export const podPatchSchema: PatchSchema = (() => {
  const schema: Record<string, { mergeKey?: string; primitiveSet?: boolean }> = {
    'metadata.finalizers': { primitiveSet: true },
    'metadata.ownerReferences': { mergeKey: 'uid' },
    'spec.volumes': { mergeKey: 'name' },
    'spec.imagePullSecrets': { mergeKey: 'name' },
    'spec.hostAliases': { mergeKey: 'ip' },
    'spec.topologySpreadConstraints': { mergeKey: 'topologyKey' },
    'spec.schedulingGates': { mergeKey: 'name' },
    'spec.resourceClaims': { mergeKey: 'name' },
    'status.conditions': { mergeKey: 'type' },
    'status.podIPs': { mergeKey: 'ip' },
    'status.hostIPs': { mergeKey: 'ip' },
    'status.resourceClaimStatuses': { mergeKey: 'name' },
  };
  for (const list of CONTAINER_LISTS) {
    schema[`spec.${list}`] = { mergeKey: 'name' };
    schema[`spec.${list}[].ports`] = { mergeKey: 'containerPort' };
    schema[`spec.${list}[].env`] = { mergeKey: 'name' };
    schema[`spec.${list}[].volumeMounts`] = { mergeKey: 'mountPath' };
    schema[`spec.${list}[].volumeDevices`] = { mergeKey: 'devicePath' };
  }
  return schema;
})();

/** Fields a pod list or watch may be filtered on (pkg/registry/core/pod/strategy.go ToSelectableFields). */
export const podFields: Readonly<Record<string, (obj: KubeObject) => string>> = {
  'metadata.name': (o) => o.metadata.name ?? '',
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
  'spec.nodeName': (o) => String(podOf(o).spec?.nodeName ?? ''),
  'spec.restartPolicy': (o) => String(podOf(o).spec?.restartPolicy ?? ''),
  'spec.schedulerName': (o) => String(podOf(o).spec?.schedulerName ?? ''),
  'spec.serviceAccountName': (o) => String(podOf(o).spec?.serviceAccountName ?? ''),
  'spec.hostNetwork': (o) => String(podOf(o).spec?.hostNetwork === true),
  'status.phase': (o) => String(podOf(o).status?.phase ?? ''),
  'status.podIP': (o) => String(podOf(o).status?.podIP ?? ''),
  'status.nominatedNodeName': (o) => String(podOf(o).status?.nominatedNodeName ?? ''),
};
