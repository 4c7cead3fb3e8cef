import { partition } from '@aws-sdk/core/client';

/**
 * Whether `region` is one the AWS SDK knows, from the partitions data it ships (the same data its
 * endpoint resolution uses). `partition()` answers every string, falling back to a regex and then to
 * the commercial partition; only a region listed in a partition carries a description, so that is
 * the test. A made-up region in a pod spec (`us-fake-9`) must not get an ECR client, a DNS lookup or
 * a metric series of its own (SPEC section 4). A region launched after this SDK version reads as
 * unknown until the SDK is upgraded: the price of not trusting the pattern alone.
 */
export function isKnownRegion(region: string): boolean {
  if (!/^[a-z]{2,}(?:-[a-z]+)+-[0-9]+$/.test(region)) return false;
  return (partition(region) as { description?: string }).description !== undefined;
}
