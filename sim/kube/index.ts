/**
 * A simulated Kubernetes API server on loopback, faithful to the wire protocol that
 * @kubernetes/client-node and kubectl speak: pods, namespaces, leases, Events (core v1 and
 * events.k8s.io/v1) and CustomResourceDefinitions with their custom resources (the OpenReports
 * Reports among them), with list/watch semantics (pagination, resourceVersions, bookmarks,
 * 410 Expired), plus state operations, a write log and fault injection for tests, the demo and
 * benchmarks.
 */
export {
  type BuildPodOptions,
  buildPod,
  type ContainerInput,
  digestFor,
  imageIdFor,
  type PodPhase,
  repositoryOf,
} from './builders.ts';
export type { CrdJson, PrinterColumnJson } from './crd.ts';
export type { FailureCode, FailureOptions, RequestMatch } from './faults.ts';
export type { StaleWatchResponse } from './handler.ts';
export { SIM_CONTEXT } from './kubeconfig.ts';
export { OPENREPORTS_GROUP, OPENREPORTS_VERSION, openReportsCrds } from './openreports.ts';
export type { RequestInfo } from './request-info.ts';
export {
  type EventFilter,
  KubeSimulator,
  type KubeSimulatorEvents,
  type KubeSimulatorOptions,
  type RestartOptions,
  startKubeSimulator,
  type WatchMatch,
} from './simulator.ts';
export { StatusError } from './status.ts';
export type {
  ContainerJson,
  ContainerStatusJson,
  KubeObject,
  LeaseJson,
  NamespaceJson,
  ObjectMeta,
  PodJson,
  PodSpecJson,
  PodStatusJson,
  StatusJson,
} from './types.ts';
export type { WatchCloseReason, WatchInfo } from './watch.ts';
export type { WriteMatch, WriteRecord, WriteWindow } from './write-log.ts';
