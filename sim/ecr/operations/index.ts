import type { SimulatedOperation } from '../types.ts';
import { batchGetImage } from './batch-get-image.ts';
import type { OperationHandler } from './context.ts';
import { describeImageScanFindings } from './describe-image-scan-findings.ts';
import { describePullThroughCacheRules } from './describe-pull-through-cache-rules.ts';
import { describeImages } from './describe-images.ts';
import { describeRepositories } from './describe-repositories.ts';
import { deleteLifecyclePolicy, getLifecyclePolicy, putLifecyclePolicy } from './lifecycle-policy.ts';
import { getLifecyclePolicyPreview, startLifecyclePolicyPreview } from './lifecycle-policy-preview.ts';
import { startImageScan } from './start-image-scan.ts';

export type { OperationContext, OperationHandler } from './context.ts';

export const OPERATIONS: Readonly<Record<SimulatedOperation, OperationHandler>> = {
  DescribeImages: describeImages,
  BatchGetImage: batchGetImage,
  DescribeImageScanFindings: describeImageScanFindings,
  DescribeRepositories: describeRepositories,
  PutLifecyclePolicy: putLifecyclePolicy,
  GetLifecyclePolicy: getLifecyclePolicy,
  DeleteLifecyclePolicy: deleteLifecyclePolicy,
  StartLifecyclePolicyPreview: startLifecyclePolicyPreview,
  GetLifecyclePolicyPreview: getLifecyclePolicyPreview,
  StartImageScan: startImageScan,
  DescribePullThroughCacheRules: describePullThroughCacheRules,
};

export function isSimulatedOperation(name: string): name is SimulatedOperation {
  return Object.hasOwn(OPERATIONS, name);
}
