/**
 * ECR lifecycle policy rules, read from GetLifecyclePolicy's `lifecyclePolicyText` (ECR User Guide,
 * "Lifecycle policy properties in Amazon ECR" and the policy template of "Examples of lifecycle
 * policies"). ECR validated the policy when it was put, so this reads what a valid policy holds and
 * refuses, with a message, anything it cannot read exactly: a forecast from a half-read policy would
 * be a wrong answer, and an unknown one is only unknown.
 */

export type TagStatus = 'tagged' | 'untagged' | 'any';
export type CountType =
  'imageCountMoreThan' | 'sinceImagePushed' | 'sinceImagePulled' | 'sinceImageTransitioned';
export type StorageClass = 'standard' | 'archive';
export type LifecycleAction = 'expire' | 'transition';

export interface LifecycleRule {
  rulePriority: number;
  description: string | null;
  tagStatus: TagStatus;
  /** Every prefix must begin some tag of the image (empty unless tagged by prefixes). */
  tagPrefixList: string[];
  /** Every pattern must match some tag of the image, `*` matching any run of characters. */
  tagPatternList: string[];
  /** Which images the rule looks at: `standard` (not archived, the default) or `archive`. */
  storageClass: StorageClass;
  countType: CountType;
  countNumber: number;
  action: LifecycleAction;
}

export type ParsedPolicy = { ok: true; rules: LifecycleRule[] } | { ok: false; message: string };

const TAG_STATUSES: readonly string[] = ['tagged', 'untagged', 'any'];
const COUNT_TYPES: readonly string[] = [
  'imageCountMoreThan',
  'sinceImagePushed',
  'sinceImagePulled',
  'sinceImageTransitioned',
];

/** Rules, sorted by rulePriority (lowest first: applied first), or why the text cannot be read. */
export function parseLifecyclePolicy(text: string): ParsedPolicy {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'the lifecycle policy is not JSON' };
  }
  const rules = (json as { rules?: unknown })?.rules;
  if (!Array.isArray(rules)) return { ok: false, message: 'the lifecycle policy has no rules list' };
  const parsed: LifecycleRule[] = [];
  for (const [index, raw] of rules.entries()) {
    const rule = readRule(raw);
    if (typeof rule === 'string') return { ok: false, message: `rule ${index + 1}: ${rule}` };
    parsed.push(rule);
  }
  parsed.sort((a, b) => a.rulePriority - b.rulePriority);
  return { ok: true, rules: parsed };
}

function readRule(raw: unknown): LifecycleRule | string {
  if (typeof raw !== 'object' || raw === null) return 'not an object';
  const r = raw as Record<string, unknown>;
  const selection = r.selection as Record<string, unknown> | undefined;
  const action = r.action as Record<string, unknown> | undefined;
  if (!Number.isInteger(r.rulePriority)) return 'rulePriority is not an integer';
  if (!selection || typeof selection !== 'object') return 'no selection';
  if (!action || typeof action !== 'object') return 'no action';
  const tagStatus = selection.tagStatus;
  if (typeof tagStatus !== 'string' || !TAG_STATUSES.includes(tagStatus))
    return `unknown tagStatus ${String(tagStatus)}`;
  const countType = selection.countType;
  if (typeof countType !== 'string' || !COUNT_TYPES.includes(countType))
    return `unknown countType ${String(countType)}`;
  if (!Number.isInteger(selection.countNumber) || (selection.countNumber as number) < 1)
    return 'countNumber is not a positive integer';
  // Time rules count days, the only countUnit ECR accepts.
  if (
    countType !== 'imageCountMoreThan' &&
    selection.countUnit !== undefined &&
    selection.countUnit !== 'days'
  ) {
    return `unknown countUnit ${String(selection.countUnit)}`;
  }
  const list = (value: unknown): string[] | null =>
    value === undefined
      ? []
      : Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? value
        : null;
  const tagPrefixList = list(selection.tagPrefixList);
  const tagPatternList = list(selection.tagPatternList);
  if (!tagPrefixList || !tagPatternList) return 'a tag list is not a list of strings';
  const storageClass = selection.storageClass ?? 'standard';
  if (storageClass !== 'standard' && storageClass !== 'archive')
    return `unknown storageClass ${String(storageClass)}`;
  const type = action.type;
  if (type !== 'expire' && type !== 'transition') return `unknown action ${String(type)}`;
  return {
    rulePriority: r.rulePriority as number,
    description: typeof r.description === 'string' && r.description !== '' ? r.description : null,
    tagStatus: tagStatus as TagStatus,
    tagPrefixList,
    tagPatternList,
    storageClass,
    countType: countType as CountType,
    countNumber: selection.countNumber as number,
    action: type,
  };
}

/** `prod*` as a whole-tag matcher: `*` is any run of characters, everything else itself. */
function patternMatches(pattern: string, tag: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(tag);
}

/**
 * Whether a rule's tag selection takes an image with these tags ("Lifecycle policy properties":
 * tagged rules need every listed prefix or pattern to match some tag of the image; untagged takes
 * images with no tag; any takes all).
 */
export function tagsMatch(rule: LifecycleRule, tags: readonly string[]): boolean {
  switch (rule.tagStatus) {
    case 'any':
      return true;
    case 'untagged':
      return tags.length === 0;
    case 'tagged':
      if (tags.length === 0) return false;
      return (
        rule.tagPrefixList.every((prefix) => tags.some((tag) => tag.startsWith(prefix))) &&
        rule.tagPatternList.every((pattern) => tags.some((tag) => patternMatches(pattern, tag)))
      );
  }
}

/** "archive in 9d (rule 2)"'s "rule 2": the rule's description, else a summary of what it selects. */
export function describeRule(rule: LifecycleRule): string {
  if (rule.description) return rule.description;
  const which =
    rule.tagStatus === 'tagged'
      ? `images tagged ${[...rule.tagPrefixList.map((p) => `${p}*`), ...rule.tagPatternList].join(' and ')}`
      : `${rule.tagStatus} images`;
  const storage = rule.storageClass === 'archive' ? 'archived ' : '';
  const when =
    rule.countType === 'imageCountMoreThan'
      ? `beyond the ${rule.countNumber} most recently pushed`
      : `${rule.countNumber} days ${
          rule.countType === 'sinceImagePushed'
            ? 'after push'
            : rule.countType === 'sinceImagePulled'
              ? 'after the last pull'
              : 'after archiving'
        }`;
  return `${rule.action === 'expire' ? 'expire' : 'archive'} ${storage}${which} ${when}`;
}
