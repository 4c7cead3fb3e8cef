/**
 * Wire shapes of the objects the simulator stores, as JSON on the wire (timestamps are strings,
 * not Dates). Only the fields the simulator reads are spelled out; everything else rides along
 * untouched, as the real API server keeps fields it does not interpret for the object's schema.
 */

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: unknown[];
  finalizers?: string[];
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ContainerJson {
  name: string;
  image?: string;
  [field: string]: unknown;
}

export interface ContainerStatusJson {
  name: string;
  image: string;
  imageID: string;
  ready: boolean;
  restartCount: number;
  started?: boolean;
  state?: Record<string, unknown>;
  lastState?: Record<string, unknown>;
  containerID?: string;
  [field: string]: unknown;
}

export interface PodSpecJson {
  containers: ContainerJson[];
  initContainers?: ContainerJson[];
  ephemeralContainers?: ContainerJson[];
  nodeName?: string;
  [field: string]: unknown;
}

export interface PodStatusJson {
  phase?: string;
  containerStatuses?: ContainerStatusJson[];
  initContainerStatuses?: ContainerStatusJson[];
  ephemeralContainerStatuses?: ContainerStatusJson[];
  [field: string]: unknown;
}

export interface PodJson extends KubeObject {
  spec: PodSpecJson;
  status?: PodStatusJson;
}

export interface NamespaceJson extends KubeObject {
  spec?: { finalizers?: string[] };
  status?: { phase?: string };
}

export interface LeaseJson extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
    [field: string]: unknown;
  };
}

/** The `reason` values of a metav1.Status the simulator can answer with. */
export type StatusReason =
  | 'BadRequest'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'Gone'
  | 'Expired'
  | 'TooManyRequests'
  | 'InternalError'
  /** StatusReasonUnknown: an error the API server has no reason for (written without a reason). */
  | ''
  | 'ServiceUnavailable'
  | 'Timeout';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusJson {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { continue?: string; resourceVersion?: string };
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}
