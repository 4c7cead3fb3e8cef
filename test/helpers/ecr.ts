import { buildCore, type Core } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { Config } from '../../src/config/types.ts';
import { parseImageReference } from '../../src/images/reference.ts';
import type { ImageReference } from '../../src/images/types.ts';
import { silentLogger } from '../../src/log.ts';
import {
  type EcrScenario,
  type EcrSimulator,
  SIMULATOR_CREDENTIALS,
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
  const sim = await startEcrSimulator({
    scenario,
    latencyMs: options.latencyMs ?? 0,
    clock: () => new Date(NOW),
  });
  const clock = { now: NOW };
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
