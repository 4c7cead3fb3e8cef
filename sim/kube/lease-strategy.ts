import {
  fieldInvalid,
  isPlainObject,
  keepSystemMetadata,
  type Strategy,
  validateMetadata,
} from './strategy.ts';
import type { KubeObject, LeaseJson, StatusCause } from './types.ts';
import { decodeFailure, decodeMicroTime } from './wire.ts';

/**
 * Lease rules from pkg/registry/coordination/lease/strategy.go: PUT may create, but an update of
 * an existing lease must name the resourceVersion it read (no unconditional updates), which is
 * what makes leader election safe.
 */

const cannotHandle = decodeFailure('Lease', 'v1');

/** The real decoder rejects a MicroTime with any other precision than six digits (see wire.ts). */
function checkMicroTime(field: string, value: unknown): void {
  decodeMicroTime(value, `LeaseSpec.spec.${field}`, cannotHandle);
}

function checkInteger(field: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw cannotHandle(
      `json: cannot unmarshal ${typeof value} into Go struct field LeaseSpec.spec.${field} of type int32`,
    );
  }
}

function leaseOf(obj: KubeObject): LeaseJson {
  return obj as LeaseJson;
}

function validateSpec(lease: LeaseJson): StatusCause[] {
  const errors: StatusCause[] = [];
  const spec = lease.spec ?? {};
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0) {
    errors.push(
      fieldInvalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'),
    );
  }
  if (spec.leaseTransitions !== undefined && spec.leaseTransitions < 0) {
    errors.push(
      fieldInvalid('spec.leaseTransitions', spec.leaseTransitions, 'must be greater than or equal to 0'),
    );
  }
  return errors;
}

export const leaseStrategy: Strategy = {
  allowCreateOnUpdate: true,
  allowUnconditionalUpdate: false,
  returnDeletedObject: false,
  subresources: [],

  decode(obj) {
    const spec = leaseOf(obj).spec;
    if (spec === undefined) return;
    if (!isPlainObject(spec)) {
      throw cannotHandle(
        `json: cannot unmarshal ${typeof spec} into Go struct field Lease.spec of type v1.LeaseSpec`,
      );
    }
    checkMicroTime('acquireTime', spec.acquireTime);
    checkMicroTime('renewTime', spec.renewTime);
    checkInteger('leaseDurationSeconds', spec.leaseDurationSeconds);
    checkInteger('leaseTransitions', spec.leaseTransitions);
    if (
      spec.holderIdentity !== undefined &&
      spec.holderIdentity !== null &&
      typeof spec.holderIdentity !== 'string'
    ) {
      throw cannotHandle(
        `json: cannot unmarshal ${typeof spec.holderIdentity} into Go struct field LeaseSpec.spec.holderIdentity of type string`,
      );
    }
  },

  applyDefaults(obj) {
    leaseOf(obj).spec ??= {};
  },

  prepareForCreate() {},

  validate(obj) {
    return [...validateMetadata(obj, false), ...validateSpec(leaseOf(obj))];
  },

  prepareForUpdate(next) {
    return next;
  },

  validateUpdate(next, prev) {
    return [
      ...keepSystemMetadata(next, prev),
      ...validateMetadata(next, false),
      ...validateSpec(leaseOf(next)),
    ];
  },
};

export const leaseFields: Readonly<Record<string, (obj: KubeObject) => string>> = {
  'metadata.name': (o) => o.metadata.name ?? '',
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
};
