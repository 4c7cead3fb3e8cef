/**
 * Lifecycle forecast benchmark (the lifecycle issue): 2,000 images in use in 200 repositories, each
 * repository with a lifecycle policy of 3–5 rules, a third of them with count rules over repositories
 * of 500 images, 50 ms ECR latency. The real resolver and forecast through the real SDK against the
 * ECR simulator; the simulator's own run of every policy is the second opinion.
 *
 *   node bench/lifecycle.ts
 */
import { buildCore } from '../src/app.ts';
import { parseConfig } from '../src/config/index.ts';
import type { ImageFacts } from '../src/ecr/types.ts';
import { nextRun } from '../src/lifecycle/forecast.ts';
import { silentLogger } from '../src/log.ts';
import {
  type SimImage,
  SIMULATOR_CREDENTIALS,
  type SimRepository,
  startEcrSimulator,
} from '../sim/ecr/index.ts';
import { formatCount, formatMs, printTable, type Row, type Table } from './table.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const REPOSITORIES = 200;
const IN_USE_PER_REPOSITORY = 10;
const COUNTED_REPOSITORY_SIZE = 500;
const LATENCY_MS = 50;
const CPU_TARGET_MS = 50;
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A small deterministic generator, so every run measures the same fleet. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const rule = (priority: number, selection: Record<string, unknown>, action: Record<string, unknown>) => ({
  rulePriority: priority,
  selection,
  action,
});
const archive = { type: 'transition', targetStorageClass: 'archive' };
const expire = { type: 'expire' };

/** 3–5 rules; every third repository's policy counts images. */
function policyFor(index: number, next: () => number): string {
  const rules = [
    rule(
      1,
      {
        tagStatus: 'tagged',
        tagPatternList: ['release-*'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 365,
      },
      expire,
    ),
    rule(
      2,
      {
        tagStatus: 'tagged',
        tagPrefixList: ['dev'],
        countType: 'sinceImagePulled',
        countUnit: 'days',
        countNumber: 30 + Math.floor(next() * 60),
      },
      archive,
    ),
    rule(
      3,
      { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 },
      expire,
    ),
  ];
  if (index % 3 === 0) {
    rules.push(
      rule(
        4,
        {
          tagStatus: 'tagged',
          tagPrefixList: ['build'],
          countType: 'imageCountMoreThan',
          countNumber: 200 + Math.floor(next() * 200),
        },
        expire,
      ),
    );
  }
  if (index % 2 === 0) {
    rules.push(
      rule(
        10,
        {
          tagStatus: 'any',
          storageClass: 'archive',
          countType: 'sinceImageTransitioned',
          countUnit: 'days',
          countNumber: 180,
        },
        expire,
      ),
    );
  }
  return JSON.stringify({ rules });
}

function repositories(now: number): { repositories: SimRepository[]; counted: number[] } {
  const next = random(20_261_202);
  const repos: SimRepository[] = [];
  const counted: number[] = [];
  for (let r = 0; r < REPOSITORIES; r++) {
    const size = r % 3 === 0 ? COUNTED_REPOSITORY_SIZE : IN_USE_PER_REPOSITORY;
    if (r % 3 === 0) counted.push(size);
    const images: SimImage[] = Array.from({ length: size }, (_, i) => {
      const prefix = ['release', 'dev', 'build'][i % 3]!;
      return {
        tags: [`${prefix}-${i}`],
        pushedAt: new Date(now - Math.floor(next() * 400) * DAY - i * 60_000),
        lastRecordedPullTime: new Date(now - Math.floor(next() * 120) * DAY),
      };
    });
    repos.push({
      name: `team-${String(r).padStart(3, '0')}/service`,
      images,
      lifecyclePolicy: { text: policyFor(r, next), lastEvaluatedAt: new Date(now - 5 * HOUR) },
    });
  }
  return { repositories: repos, counted };
}

export async function runLifecycleBench(): Promise<Table> {
  const clock = { now: Date.now() };
  const { repositories: repos, counted } = repositories(clock.now);
  const sim = await startEcrSimulator({
    scenario: {
      callerAccount: ACCOUNT,
      registries: [{ accountId: ACCOUNT, region: REGION, repositories: repos }],
    },
    latencyMs: LATENCY_MS,
    clock: () => new Date(clock.now),
  });
  const config = parseConfig({ logLevel: 'warn' });
  const core = buildCore(config, {
    log: silentLogger,
    endpoint: sim.endpoint,
    credentials: SIMULATOR_CREDENTIALS,
    now: () => clock.now,
  });
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    // The images in use: the first ten of every repository, resolved as the inventory resolves them.
    const refs = repos.flatMap((repo) =>
      Array.from({ length: IN_USE_PER_REPOSITORY }, (_, i) => {
        const tag = repo.images[i]!.tags![0]!;
        return `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repo.name}:${tag}`;
      }),
    );
    const resolved = await Promise.all(
      refs.map((image) => core.assessor.assess(image, { alwaysResolve: true })),
    );
    const facts = resolved.flatMap((a) => (a.resolution?.status === 'resolved' ? [a.resolution.facts] : []));
    if (facts.length !== refs.length)
      throw new Error(`only ${facts.length} of ${refs.length} images resolved`);

    const forecaster = core.forecaster!;
    forecaster.expire();
    sim.resetCounts();
    const started = performance.now();
    const forecasts = await forecaster.forecastMany(facts, 'bulk');
    const refreshMs = performance.now() - started;
    const counts = sim.requests();
    const policies = counts.byOperation.GetLifecyclePolicy ?? 0;
    rows.push({
      figure: 'GetLifecyclePolicy calls per refresh',
      measured: formatCount(policies),
      target: `= ${formatCount(REPOSITORIES)} (repositories in use)`,
      ok: policies === REPOSITORIES,
    });
    const pages = counts.byOperation.DescribeImages ?? 0;
    const minimumPages = counted.reduce((sum, size) => sum + Math.ceil(size / 1000), 0);
    rows.push({
      figure: 'DescribeImages pages for count rules',
      measured: formatCount(pages),
      target: `= ${formatCount(minimumPages)} (Σ ceil(images / 1000) over ${counted.length} repositories)`,
      ok: pages === minimumPages,
    });
    rows.push({
      figure: 'refresh wall time (calls included)',
      measured: formatMs(refreshMs),
      target: 'report',
    });

    // CPU of the forecast alone: the policies and listings at hand, every image judged.
    const cpuRuns: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = process.cpuUsage();
      await forecaster.forecastMany(facts, 'bulk');
      const used = process.cpuUsage(before);
      cpuRuns.push((used.user + used.system) / 1000);
    }
    const cpuMs = Math.min(...cpuRuns);
    rows.push({
      figure: `forecast CPU time, all ${formatCount(facts.length)} images, after the calls`,
      measured: `${formatMs(cpuMs)} (best of 5; worst ${formatMs(Math.max(...cpuRuns))})`,
      target: `≤ ${CPU_TARGET_MS} ms`,
      ok: cpuMs <= CPU_TARGET_MS,
    });

    // The second opinion: the simulator runs every policy at ECR's next run; every image it acts on
    // must have been forecast due by then, by the same rule, and none forecast safe may be touched.
    const runAt = nextRun(new Date(clock.now - 5 * HOUR), clock.now);
    clock.now = runAt.getTime();
    const run = sim.planLifecyclePolicies();
    const acted = new Map(run.actions.map((a) => [`${a.repository}@${a.digest}`, a]));
    let disagreements = 0;
    let actedInUse = 0;
    const examples: string[] = [];
    facts.forEach((f: ImageFacts, i) => {
      const forecast = forecasts[i]!;
      const act = acted.get(`${f.repository}@${f.digest}`);
      const due = forecast && !('unknown' in forecast) ? forecast : null;
      let wrong = false;
      if (act) {
        actedInUse++;
        wrong =
          !due ||
          due.rulePriority !== act.rulePriority ||
          due.action !== (act.action === 'expire' ? 'expire' : 'archive') ||
          due.at.getTime() > runAt.getTime();
      } else if (forecast && 'unknown' in forecast) {
        wrong = true;
      } else if (due && due.at.getTime() < runAt.getTime() - DAY) {
        wrong = true;
      }
      if (wrong) {
        disagreements++;
        if (examples.length < 3)
          examples.push(
            `${f.repository}:${f.tags.join(',')} forecast ${JSON.stringify(forecast)} run ${JSON.stringify(act ?? null)}`,
          );
      }
    });
    rows.push({
      figure: 'forecast disagreements with the simulator’s run',
      measured: `${formatCount(disagreements)} of ${formatCount(facts.length)} (${formatCount(actedInUse)} acted on)`,
      target: '0',
      ok: disagreements === 0,
    });
    notes.push(...examples);
    notes.push(
      `${REPOSITORIES} repositories, ${IN_USE_PER_REPOSITORY} images in use each; every third has a count rule over ${COUNTED_REPOSITORY_SIZE} images; ${LATENCY_MS} ms ECR latency`,
    );
  } finally {
    core.clients.destroy();
    await sim.close();
  }
  return {
    title: 'Lifecycle forecast (2,000 images in use, 200 repositories, 50 ms ECR latency)',
    rows,
    notes,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) printTable(await runLifecycleBench());
