import { type ECRClient, ECRServiceException } from '@aws-sdk/client-ecr';
import { buildCore, type Core } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { Config } from '../../src/config/types.ts';
import { parseImageReference } from '../../src/images/reference.ts';
import type { ImageReference } from '../../src/images/types.ts';
import { silentLogger } from '../../src/log.ts';
import {
  type EcrScenario,
  type EcrSimulator,
  ecrClientFor,
  type ScanKind,
  type SeverityCounts,
  SIMULATOR_CREDENTIALS,
  type SimImage,
  type SimScan,
  startEcrSimulator,
} from '../../sim/ecr/index.ts';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
export const DAY = 86_400_000;

/** A fixed "now" so ages and staleness are exact. */
export const NOW = Date.parse('2026-11-20T12:00:00Z');

export function image(repository: string, tagOrDigest: string, host = HOST): string {
  return tagOrDigest.includes(':') && tagOrDigest.startsWith('sha256')
    ? `${host}/${repository}@${tagOrDigest}`
    : `${host}/${repository}:${tagOrDigest}`;
}

export function ref(text: string): ImageReference {
  const parsed = parseImageReference(text);
  if (!parsed.ok) throw new Error(`test reference ${text} does not parse: ${parsed.message}`);
  return parsed.ref;
}

export function config(overrides: Record<string, unknown> = {}): Config {
  return parseConfig(overrides);
}

export interface EcrFixture {
  sim: EcrSimulator;
  core: Core;
  clock: { now: number };
  close(): Promise<void>;
}

/** A simulator seeded with `scenario` and the real core (resolver, policy) wired to it. */
export async function ecrFixture(
  scenario: EcrScenario,
  overrides: Record<string, unknown> = {},
  options: { latencyMs?: number; requestTimeoutMs?: number } = {},
): Promise<EcrFixture> {
  const clock = { now: NOW };
  const sim = await startEcrSimulator({
    scenario,
    latencyMs: options.latencyMs ?? 0,
    // One clock for both sides: moving it ages cached answers and moves ECR's scans along alike.
    clock: () => new Date(clock.now),
  });
  const core = buildCore(config(overrides), {
    log: silentLogger,
    endpoint: sim.endpoint,
    credentials: SIMULATOR_CREDENTIALS,
    now: () => clock.now,
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  });
  return {
    sim,
    core,
    clock,
    async close() {
      core.clients.destroy();
      await sim.close();
    },
  };
}

/**
 * A finished scan with these findings: AWS-native basic (COMPLETE) unless `kind` says otherwise;
 * enhanced scans finish ACTIVE.
 */
export function scanned(findings: SeverityCounts, kind: ScanKind = 'native-basic'): SimScan {
  return { kind, status: kind === 'enhanced' ? 'ACTIVE' : 'COMPLETE', findings };
}

/** What images of the test registry share: pushed ten days ago, pulled yesterday. */
interface PushedOptions {
  tags: string[];
  pushedAt?: Date;
  lastRecordedPullTime?: Date;
}

/**
 * What `docker buildx build --push` (BuildKit 0.11+, docker/build-push-action) pushes for one platform:
 * an OCI image index holding the platform image and its provenance attestation manifest. The tag is on
 * the index; `scan` belongs to the platform image, as ECR scans only that.
 *
 *     buildkitImage({ tags: ['v7'], scan: scanned({ CRITICAL: 2 }) })
 */
export function buildkitImage(
  options: PushedOptions & { scan?: SimScan; platform?: string; vulnerabilities?: SeverityCounts },
): SimImage {
  return {
    tags: options.tags,
    pushedAt: options.pushedAt ?? new Date(NOW - 10 * DAY),
    lastRecordedPullTime: options.lastRecordedPullTime ?? new Date(NOW - DAY),
    index: {
      platforms: [
        {
          platform: options.platform ?? 'linux/amd64',
          ...(options.scan ? { scan: options.scan } : {}),
          ...(options.vulnerabilities ? { vulnerabilities: options.vulnerabilities } : {}),
        },
      ],
      attestations: true,
    },
  };
}

/**
 * A multi-arch image: one platform image per key of `platforms`, each with its scan (or none). An OCI
 * index with BuildKit attestations by default; `format: 'docker'` makes a Docker manifest list without.
 *
 *     multiArchImage({ tags: ['v3'], platforms: { 'linux/amd64': scanned({ HIGH: 3 }), 'linux/arm64': scanned({}) } })
 */
export function multiArchImage(
  options: PushedOptions & {
    platforms: Record<string, SimScan | undefined>;
    format?: 'oci' | 'docker';
    attestations?: boolean;
  },
): SimImage {
  const format = options.format ?? 'oci';
  return {
    tags: options.tags,
    pushedAt: options.pushedAt ?? new Date(NOW - 10 * DAY),
    lastRecordedPullTime: options.lastRecordedPullTime ?? new Date(NOW - DAY),
    index: {
      format,
      platforms: Object.entries(options.platforms).map(([platform, scan]) => ({
        platform,
        ...(scan ? { scan } : {}),
      })),
      attestations: options.attestations ?? format === 'oci',
    },
  };
}

/** A simulator of its own for one test, with a clock the test moves, closed when the test ends. */
export interface SimHarness {
  sim: EcrSimulator;
  /** The simulator's clock: assign `clock.now` to move time. */
  clock: { now: Date };
  /** A real SDK client for `region` (REGION by default), one attempt per call. */
  client(region?: string): ECRClient;
}

export async function simFor(
  t: { after(fn: () => Promise<void> | void): void },
  scenario: EcrScenario,
  now: Date = new Date(NOW),
): Promise<SimHarness> {
  const clock = { now };
  const sim = await startEcrSimulator({ scenario, clock: () => clock.now });
  const clients: ECRClient[] = [];
  t.after(async () => {
    for (const client of clients) client.destroy();
    await sim.close();
  });
  return {
    sim,
    clock,
    client(region = REGION) {
      const client = ecrClientFor(sim, region, { maxAttempts: 1 });
      clients.push(client);
      return client;
    },
  };
}

/** The SDK error a call rejected with (fails the test when it did not reject with one). */
export async function ecrFailure(promise: Promise<unknown>): Promise<ECRServiceException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ECRServiceException) return error;
    throw new Error(`expected an ECR service exception, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected the call to fail');
}
