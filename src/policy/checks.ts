import type { CheckName, ChecksConfig, Severity } from '../config/types.ts';
import { CHECK_NAMES, SEVERITIES } from '../config/types.ts';
import { describeReason } from '../ecr/reasons.ts';
import { type ImageFacts, isFinishedScan, type Resolution } from '../ecr/types.ts';
import type { ForecastAnswer } from '../lifecycle/forecast.ts';
import type { ParseResult } from '../images/types.ts';

/** What a check looks at: the reference as parsed and, for ECR images, what the resolver said. */
export interface CheckSubject {
  parsed: ParseResult;
  /** null when ECR was not asked (a non-ECR image, or no check needs ECR facts). */
  resolution: Resolution | null;
  /** The lifecycle forecast; undefined when not asked for (lifecycle.enabled off, or not needed). */
  lifecycle?: ForecastAnswer | undefined;
}

/**
 * A check's answer: it passed; it failed, with a message giving the numbers; or the fact it needs is
 * not known (ECR did not answer), which policy.onError decides.
 */
export type CheckOutcome =
  { result: 'pass' } | { result: 'fail'; message: string } | { result: 'unknown'; message: string };

export interface Check<K extends CheckName = CheckName> {
  name: K;
  /**
   * What the check needs from ECR with these settings: nothing, the image's facts, or the facts and
   * whether its tag is immutable (so a webhook whose ECR checks are all off never waits on ECR).
   */
  needs(settings: ChecksConfig[K]): 'nothing' | 'facts' | 'tagMutability' | 'lifecycle';
  run(subject: CheckSubject, settings: ChecksConfig[K], now: number): CheckOutcome;
}

const nothing = () => 'nothing' as const;
const facts = () => 'facts' as const;

const DAY_MS = 86_400_000;
const PASS: CheckOutcome = { result: 'pass' };
const fail = (message: string): CheckOutcome => ({ result: 'fail', message });

/** Facts of a resolved ECR image, or the outcome to return when there are none to judge. */
function factsOf(subject: CheckSubject): ImageFacts | CheckOutcome {
  if (!subject.parsed.ok || !subject.parsed.ref.ecr) return PASS; // not an ECR image: nothing to judge here
  const r = subject.resolution;
  if (!r) return PASS;
  if (r.status === 'resolved') return r.facts;
  // A missing image is the imageExists check's business; for the others it is simply nothing to judge.
  // Nor is an image a pull-through cache has not fetched yet: it has no facts until its first pull,
  // and judging it unknown would, under onError: deny, keep it from ever being pulled.
  if (r.reason === 'not_found' || r.reason === 'repository_not_found' || r.reason === 'not_cached')
    return PASS;
  return { result: 'unknown', message: `${describeReason(r.reason)}${r.message ? ` (${r.message})` : ''}` };
}

function isOutcome(x: ImageFacts | CheckOutcome): x is CheckOutcome {
  return 'result' in x;
}

/** Whole days for ages over a day, else hours: ages are judged against limits given in days. */
export function formatAge(ms: number): string {
  if (ms >= DAY_MS) return `${Math.floor(ms / DAY_MS)}d`;
  return `${Math.floor(ms / 3_600_000)}h`;
}

/** Images from anywhere but a private ECR registry (Docker Hub, public.ecr.aws, ghcr.io, …). */
const nonEcr: Check<'nonEcr'> = {
  name: 'nonEcr',
  needs: nothing,
  run({ parsed }) {
    if (!parsed.ok || parsed.ref.ecr) return PASS;
    return fail(`not an Amazon ECR image (registry ${parsed.ref.registry})`);
  },
};

/** Only the listed registries: 12-digit account IDs (any region) or registry hosts. */
const allowedRegistries: Check<'allowedRegistries'> = {
  name: 'allowedRegistries',
  needs: nothing,
  run({ parsed }, settings) {
    if (!parsed.ok) return PASS;
    const { ref } = parsed;
    const host = ref.registry.toLowerCase();
    const allowed = settings.registries.some((entry) => {
      const e = entry.toLowerCase();
      return e === host || (ref.ecr !== null && e === ref.ecr.registryId);
    });
    if (allowed) return PASS;
    const where = ref.ecr ? `${ref.ecr.registryId} (${ref.ecr.region})` : ref.registry;
    return fail(`registry ${where} is not in allowedRegistries`);
  },
};

/**
 * Tags move; a digest names exactly one image. With acceptImmutableTags, a tag ECR refuses to move
 * (the repository's tag mutability, SPEC section 4) counts as pinned too.
 */
const digestRequired: Check<'digestRequired'> = {
  name: 'digestRequired',
  needs: (settings) => (settings.acceptImmutableTags ? 'tagMutability' : 'nothing'),
  run({ parsed, resolution }, settings) {
    if (!parsed.ok || parsed.ref.digest) return PASS;
    if (!settings.acceptImmutableTags || !parsed.ref.ecr) return fail('not pinned to a digest');
    const immutable = resolution?.status === 'resolved' ? resolution.facts.tagImmutable : null;
    if (immutable === true) return PASS;
    if (immutable === false) return fail('not pinned to a digest, and the tag is mutable');
    // Whether the tag can move is not known: the digest is still missing, which is the check's point.
    return fail('not pinned to a digest (tag mutability unknown)');
  },
};

/** The reference must name something that can be pulled: valid, and present in ECR. */
const imageExists: Check<'imageExists'> = {
  name: 'imageExists',
  needs: facts,
  run({ parsed, resolution }) {
    if (!parsed.ok) return fail(`invalid image reference: ${parsed.message}`);
    if (!parsed.ref.ecr || !resolution || resolution.status === 'resolved') return PASS;
    // Under a pull-through cache rule the first pull creates it (SPEC section 4): not a missing image.
    if (resolution.reason === 'not_cached') return PASS;
    if (resolution.reason === 'not_found' || resolution.reason === 'repository_not_found') {
      return fail(resolution.message);
    }
    return { result: 'unknown', message: `${describeReason(resolution.reason)} (${resolution.message})` };
  },
};

/** Archived images cannot be pulled until restored; ACTIVATING ones are being restored. */
const archived: Check<'archived'> = {
  name: 'archived',
  needs: facts,
  run(subject) {
    const facts = factsOf(subject);
    if (isOutcome(facts)) return facts;
    if (facts.imageStatus === 'ARCHIVED') return fail('image is archived');
    if (facts.imageStatus === 'ACTIVATING') return fail('image is being restored from archive (ACTIVATING)');
    return PASS;
  },
};

/**
 * Why an image's scan facts are not at hand: a call failed, or the image is an index whose platform
 * images were not read (ecr.followIndexes off, or reading the index failed).
 */
function scanUnknownCause(facts: ImageFacts): string {
  if (facts.index && facts.index.platforms === null && facts.index.error === null) {
    return 'the image is an index and ecr.followIndexes is off';
  }
  return describeReason(facts.scanError ?? 'error');
}

/** A finished scan: COMPLETE (basic) or ACTIVE (enhanced, continuous). */
const scanComplete: Check<'scanComplete'> = {
  name: 'scanComplete',
  needs: facts,
  run(subject) {
    const facts = factsOf(subject);
    if (isOutcome(facts)) return facts;
    if (!facts.scan) return { result: 'unknown', message: `scan status unknown: ${scanUnknownCause(facts)}` };
    if (isFinishedScan(facts.scan)) return PASS;
    if (facts.scan.status === 'NOT_SCANNED') return fail('image has not been scanned');
    const why = facts.scan.description ? `: ${facts.scan.description}` : '';
    return fail(`scan status ${facts.scan.status}${why}`);
  },
};

/**
 * Findings per severity against the configured maximum, e.g. `3 CRITICAL findings (max 0)`. Findings
 * are known only from a finished scan: under IN_PROGRESS, FAILED, NOT_SCANNED and the rest, ECR's
 * empty list means "not known yet", never "none" (SPEC section 4, "Scan states"), so the result is
 * unknown and policy.onError decides.
 */
const severity: Check<'severity'> = {
  name: 'severity',
  needs: facts,
  run(subject, settings) {
    const facts = factsOf(subject);
    if (isOutcome(facts)) return facts;
    if (!facts.scan) return { result: 'unknown', message: `findings unknown: ${scanUnknownCause(facts)}` };
    if (!isFinishedScan(facts.scan))
      return { result: 'unknown', message: `findings unknown: scan ${facts.scan.status}` };
    const over: string[] = [];
    for (const sev of SEVERITIES) {
      const max = settings.max[sev as Severity];
      if (max === undefined) continue;
      const count = facts.scan.findings[sev] ?? 0;
      if (count > max) over.push(`${count} ${sev} finding${count === 1 ? '' : 's'} (max ${max})`);
    }
    return over.length ? fail(over.join(', ')) : PASS;
  },
};

/** A scan older than maxAge may miss vulnerabilities published since. */
const scanAge: Check<'scanAge'> = {
  name: 'scanAge',
  needs: facts,
  run(subject, settings, now) {
    const facts = factsOf(subject);
    if (isOutcome(facts)) return facts;
    const completedAt = facts.scan?.completedAt;
    if (!completedAt) return PASS; // no scan at all is scanComplete's business
    const age = now - completedAt.getTime();
    if (age <= settings.maxAge) return PASS;
    return fail(`last scan ${formatAge(age)} ago (max ${formatAge(settings.maxAge)})`);
  },
};

/** Images pushed long ago tend to carry old base layers. */
const imageAge: Check<'imageAge'> = {
  name: 'imageAge',
  needs: facts,
  run(subject, settings, now) {
    const facts = factsOf(subject);
    if (isOutcome(facts)) return facts;
    if (!facts.pushedAt) return PASS;
    const age = now - facts.pushedAt.getTime();
    if (age <= settings.maxAge) return PASS;
    return fail(`pushed ${formatAge(age)} ago (max ${formatAge(settings.maxAge)})`);
  },
};

/**
 * The repository's lifecycle policy will expire or archive the image within `within` (SPEC section
 * 10), e.g. `lifecycle policy will archive it in 9d (rule 2: expire images not pulled in 90 days)`.
 * A forecast that could not be made (the policy could not be read) is unknown, never "safe".
 */
const lifecycleRisk: Check<'lifecycleRisk'> = {
  name: 'lifecycleRisk',
  needs: () => 'lifecycle',
  run(subject, settings, now) {
    const facts = factsOf(subject);
    if (isOutcome(facts)) return facts;
    const forecast = subject.lifecycle;
    if (forecast === undefined || forecast === null) return PASS;
    if ('unknown' in forecast)
      return { result: 'unknown', message: `lifecycle forecast unknown: ${forecast.unknown}` };
    const left = forecast.at.getTime() - now;
    if (left > settings.within) return PASS;
    const when = left <= 0 ? 'at its next run (now due)' : `in ${formatAge(left)}`;
    return fail(
      `lifecycle policy will ${forecast.action} it ${when} (rule ${forecast.rulePriority}: ${forecast.rule})`,
    );
  },
};

const BY_NAME: { readonly [K in CheckName]: Check<K> } = {
  nonEcr,
  allowedRegistries,
  digestRequired,
  imageExists,
  archived,
  scanComplete,
  severity,
  scanAge,
  imageAge,
  lifecycleRisk,
};

/** The chain, in the order of CHECK_NAMES, which is the order messages are given. */
export const CHECKS: readonly Check[] = CHECK_NAMES.map((name) => BY_NAME[name] as Check);
