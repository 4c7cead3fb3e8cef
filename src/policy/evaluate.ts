import type { CheckName, Config } from '../config/types.ts';
import { compileImageGlobs, type ImageGlob, matchesAnyImageGlob } from '../images/glob.ts';
import { type Check, CHECKS, type CheckSubject } from './checks.ts';

export type PolicyConfig = Config['policy'];
export type Verdict = 'allow' | 'warn' | 'deny';

export interface Violation {
  check: CheckName;
  /** The action this violation carries before the mode is applied. */
  action: 'warn' | 'deny';
  message: string;
  /** The check failed (`fail`), or could not tell for want of a fact and policy.onError decided (`unknown`). */
  outcome: 'fail' | 'unknown';
}

export interface Evaluation {
  /** After policy.mode: audit never denies or warns; warn turns deny into warn; enforce keeps both. */
  verdict: Verdict;
  /** What the verdict would be under enforce: what `report --fail-on deny` and audit dashboards need. */
  enforcedVerdict: Verdict;
  exempt: boolean;
  violations: Violation[];
}

export interface PolicyContext {
  namespace?: string | null;
  now: number;
}

/** Whether any enabled check needs ECR facts; if none does, callers need not ask ECR at all. */
export function needsEcrFacts(policy: PolicyConfig): boolean {
  return CHECKS.some(
    (check) => policy.checks[check.name].action !== 'off' && needsOf(policy, check) !== 'nothing',
  );
}

/** Whether an enabled check needs the lifecycle forecast. */
export function needsLifecycle(policy: PolicyConfig): boolean {
  return CHECKS.some(
    (check) => policy.checks[check.name].action !== 'off' && needsOf(policy, check) === 'lifecycle',
  );
}

/** Whether an enabled check needs to know if a tag is immutable (DescribeRepositories). */
export function needsTagMutability(policy: PolicyConfig): boolean {
  return CHECKS.some(
    (check) => policy.checks[check.name].action !== 'off' && needsOf(policy, check) === 'tagMutability',
  );
}

function needsOf(policy: PolicyConfig, check: Check): ReturnType<Check['needs']> {
  return check.needs(policy.checks[check.name] as never);
}

/** Compiled exemptImages per (frozen) policy object: compiled once, not on every evaluation. */
const compiledGlobs = new WeakMap<PolicyConfig, ImageGlob[]>();

function exemptGlobs(policy: PolicyConfig): ImageGlob[] {
  let globs = compiledGlobs.get(policy);
  if (!globs) {
    globs = compileImageGlobs(policy.exemptImages);
    compiledGlobs.set(policy, globs);
  }
  return globs;
}

/** Exempt images and namespaces skip every check. */
export function isExempt(policy: PolicyConfig, subject: CheckSubject, namespace?: string | null): boolean {
  if (namespace && policy.exemptNamespaces.includes(namespace)) return true;
  return (
    subject.parsed.ok &&
    policy.exemptImages.length > 0 &&
    matchesAnyImageGlob(exemptGlobs(policy), subject.parsed.ref)
  );
}

/**
 * The policy: every enabled check, in order, on one image. Pure: the same subject, config and clock
 * always give the same evaluation. A check that cannot tell (ECR did not answer) follows
 * policy.onError: `deny` denies (capped at the check's own action), `allow` lets the image through
 * with a warning that says the check could not run.
 */
export function evaluate(policy: PolicyConfig, subject: CheckSubject, context: PolicyContext): Evaluation {
  if (isExempt(policy, subject, context.namespace)) {
    return { verdict: 'allow', enforcedVerdict: 'allow', exempt: true, violations: [] };
  }
  const violations: Violation[] = [];
  // Checks that could not run for the same cause (ECR throttled, say) share one message, not one each.
  const unknown = new Map<string, { checks: CheckName[]; action: 'warn' | 'deny' }>();
  for (const check of CHECKS) {
    const settings = policy.checks[check.name];
    if (settings.action === 'off') continue;
    const outcome = check.run(subject, settings as never, context.now);
    if (outcome.result === 'pass') continue;
    if (outcome.result === 'fail') {
      violations.push({
        check: check.name,
        action: settings.action,
        message: outcome.message,
        outcome: 'fail',
      });
      continue;
    }
    const entry = unknown.get(outcome.message) ?? { checks: [], action: 'warn' };
    entry.checks.push(check.name);
    if (policy.onError === 'deny' && settings.action === 'deny') entry.action = 'deny';
    unknown.set(outcome.message, entry);
  }
  for (const [cause, { checks, action }] of unknown) {
    violations.push({
      check: checks[0]!,
      action,
      message: `could not check ${checks.join(', ')}: ${cause} (policy.onError: ${policy.onError})`,
      outcome: 'unknown',
    });
  }
  const enforcedVerdict: Verdict = violations.some((v) => v.action === 'deny')
    ? 'deny'
    : violations.length
      ? 'warn'
      : 'allow';
  return { verdict: applyMode(policy.mode, enforcedVerdict), enforcedVerdict, exempt: false, violations };
}

export function applyMode(mode: PolicyConfig['mode'], verdict: Verdict): Verdict {
  if (mode === 'audit') return 'allow';
  if (mode === 'warn' && verdict === 'deny') return 'warn';
  return verdict;
}
