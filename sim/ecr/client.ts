import { ECRClient, type ECRClientConfig } from '@aws-sdk/client-ecr';

/**
 * Static dummy credentials: the simulator reads the region from the signature but does not verify it,
 * and nothing here may ever reach real AWS credentials.
 */
export const SIMULATOR_CREDENTIALS = {
  accessKeyId: 'AKIAECRSIMULATOR0001',
  secretAccessKey: 'ecr-simulator-secret-access-key',
} as const;

/**
 * A real ECRClient aimed at a simulator: its endpoint, the given signing region, dummy credentials.
 * `overrides` reach the SDK unchanged (maxAttempts, retryStrategy, requestHandler, ...).
 */
export function ecrClientFor(
  sim: { endpoint: string },
  region: string,
  overrides: ECRClientConfig = {},
): ECRClient {
  return new ECRClient({
    region,
    endpoint: sim.endpoint,
    credentials: SIMULATOR_CREDENTIALS,
    ...overrides,
  });
}
