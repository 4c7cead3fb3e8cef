/**
 * A simulated Amazon ECR API endpoint for tests, `ecr-warden demo` and benchmarks: the real
 * `@aws-sdk/client-ecr` talks to it over loopback (AWS JSON 1.1), so everything above the wire runs as
 * it does against AWS.
 */
export { ecrClientFor, SIMULATOR_CREDENTIALS } from './client.ts';
export type { FaultMatch } from './faults.ts';
export { type GenerateScenarioOptions, generateScenario } from './generate.ts';
export {
  evaluateLifecyclePolicy,
  type LifecycleDecision,
  type LifecycleEvaluation,
  type LifecycleImage,
} from './lifecycle/evaluate.ts';
export {
  type LifecyclePolicy,
  LifecyclePolicyError,
  type LifecycleRule,
  parseLifecyclePolicy,
} from './lifecycle/policy.ts';
export type { LifecycleRun, LifecycleRunAction } from './lifecycle/run.ts';
export { MEDIA_TYPES } from './manifest.ts';
export {
  type CallOutcome,
  EcrSimulator,
  type EcrSimulatorOptions,
  type FailOptions,
  type RequestCounts,
  type SimCall,
  startEcrSimulator,
} from './simulator.ts';
export { DEFAULT_CALLER_ACCOUNT, ImageTagAlreadyExistsError, StoreError } from './store.ts';
export type {
  EcrScenario,
  ImageKind,
  ImageRef,
  ImageStatus,
  ImageView,
  RepositoryRef,
  ScanKind,
  ScanStatus,
  SeverityCounts,
  SimImage,
  SimLifecyclePolicy,
  SimIndex,
  SimPlatformImage,
  SimPullThroughCacheRule,
  SimRegistry,
  SimRepository,
  SimScan,
  SimScanning,
  SimulatedOperation,
  TagMutability,
  TagMutabilityExclusionFilter,
  UpstreamRegistry,
} from './types.ts';
export { SIMULATED_OPERATIONS } from './types.ts';
