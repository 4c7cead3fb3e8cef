/**
 * Lifecycle policy text: its grammar, and the checks ECR makes before it accepts a policy
 * (PutLifecyclePolicy, StartLifecyclePolicyPreview). Pure: text in, a parsed policy or a
 * {@link LifecyclePolicyError} out.
 *
 * Sources (Amazon ECR User Guide):
 * - "Lifecycle policy properties" (lifecycle_policy_parameters.html): every field, which are required
 *   when, and which values go together.
 * - "Automate the cleanup of images by using lifecycle policies", section "Lifecycle policy evaluation
 *   rules" (LifecyclePolicies.html): the per-storage-class restrictions, the wildcard limit.
 * - "Examples of lifecycle policies" (lifecycle_policy_examples.html): `sinceImagePulled` only with
 *   `transition`, `sinceImageTransitioned` only with `expire` and `storageClass: archive`, and the
 *   90-day minimum in archive ("Archiving an image", archive-image.html, says the same).
 *
 * ECR validates the text against a JSON schema first and reports schema failures in that validator's
 * words; three semantic messages are known from service responses quoted in users' reports
 * ({@link KNOWN_MESSAGES}). Every other message follows their style and is marked as ours.
 */

export type TagStatus = 'tagged' | 'untagged' | 'any';
export type CountType =
  'imageCountMoreThan' | 'sinceImagePushed' | 'sinceImagePulled' | 'sinceImageTransitioned';
export type StorageClass = 'standard' | 'archive';
export type ActionType = 'expire' | 'transition';

export interface LifecycleSelection {
  readonly tagStatus: TagStatus;
  /** Present only with `tagStatus: tagged` (and then exactly one of the two lists is). */
  readonly tagPrefixList?: readonly string[];
  readonly tagPatternList?: readonly string[];
  /** `standard` when the policy leaves it out, as the properties page says. */
  readonly storageClass: StorageClass;
  readonly countType: CountType;
  /** Days; only for the three time-based count types. */
  readonly countUnit?: 'days';
  readonly countNumber: number;
}

export interface LifecycleRule {
  readonly rulePriority: number;
  readonly description?: string;
  readonly selection: LifecycleSelection;
  /** `targetStorageClass` is always `archive` for a transition: the only value ECR supports. */
  readonly action: { readonly type: ActionType };
}

export interface LifecyclePolicy {
  /** Sorted by rulePriority, lowest (applied first) first. */
  readonly rules: readonly LifecycleRule[];
  /**
   * The policy text as GetLifecyclePolicy gives it back: compact JSON with the rules sorted by
   * rulePriority (ECR reorders them, as the Terraform and Pulumi docs for aws_ecr_lifecycle_policy
   * note), every field as the caller wrote it.
   */
  readonly text: string;
}

/** A policy ECR would refuse; `detail` is what follows "Lifecycle policy validation failure: ". */
export class LifecyclePolicyError extends Error {
  readonly detail: string;
  constructor(detail: string) {
    super(`Lifecycle policy validation failure: ${detail}`);
    this.name = 'LifecyclePolicyError';
    this.detail = detail;
  }
}

/**
 * Messages quoted from ECR's own answers in users' reports (terraform-aws-ecr issues 158 and 132,
 * and build notes that paste the service's error), used word for word.
 */
export const KNOWN_MESSAGES = {
  /** Any shape error inside a rule's `selection` or `action` (a `null`, a stray or missing field). */
  schemaMismatch: 'instance failed to match exactly one schema (matched 0 out of 2)',
  taggedNeedsList: 'Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.',
  anyNotLast: 'Rule for tagStatus=ANY must have the lowest priority per storage class',
  secondUntagged: 'Only one rule can select Untagged images per storage class',
} as const;

/** Messages in the same style for the documented restrictions whose wording is not on record. */
export const OUR_MESSAGES = {
  unmappable: 'Could not map policyString into LifecyclePolicy.',
  duplicatePriority: 'rulePriority must be unique across rules',
  bothLists: 'Only one of tagPrefixList or tagPatternList may be specified when tagStatus=TAGGED.',
  listWithoutTagged: 'tagPrefixList and tagPatternList may only be specified when tagStatus=TAGGED.',
  tooManyWildcards: 'A tag pattern may contain at most 4 wildcards (*).',
  duplicateTagList:
    'Rules selecting the same storage class must have a unique set of tag prefixes or patterns.',
  archiveNeedsTransitioned: 'storageClass=ARCHIVE can only be used with countType=SINCE_IMAGE_TRANSITIONED.',
  transitionedNeedsArchive: 'countType=SINCE_IMAGE_TRANSITIONED requires storageClass=ARCHIVE.',
  pulledNeedsTransition: 'countType=SINCE_IMAGE_PULLED can only be used with action type TRANSITION.',
  transitionedNeedsExpire: 'countType=SINCE_IMAGE_TRANSITIONED can only be used with action type EXPIRE.',
  archiveMinimum:
    'countNumber must be at least 90 for countType=SINCE_IMAGE_TRANSITIONED: archived images have a minimum storage duration of 90 days.',
} as const;

/** "There is a maximum limit of four wildcards (*) per string." */
export const MAX_WILDCARDS = 4;
/** "You cannot configure lifecycle policies that delete images that have been in archive for less than 90 days." */
export const ARCHIVE_MINIMUM_DAYS = 90;
/**
 * countNumber and rulePriority are integers (the model's LifecyclePolicyRulePriority is one); numbers
 * past a 32-bit int are taken not to map, as ECR's error for unmappable text suggests.
 */
const MAX_INT = 2_147_483_647;

const TAG_STATUSES: readonly TagStatus[] = ['tagged', 'untagged', 'any'];
const COUNT_TYPES: readonly CountType[] = [
  'imageCountMoreThan',
  'sinceImagePushed',
  'sinceImagePulled',
  'sinceImageTransitioned',
];
const TIME_COUNT_TYPES: ReadonlySet<CountType> = new Set([
  'sinceImagePushed',
  'sinceImagePulled',
  'sinceImageTransitioned',
]);
const STORAGE_CLASSES: readonly StorageClass[] = ['standard', 'archive'];
const ACTION_TYPES: readonly ActionType[] = ['expire', 'transition'];

const POLICY_KEYS = new Set(['rules']);
const RULE_KEYS = new Set(['rulePriority', 'description', 'selection', 'action']);
const SELECTION_KEYS = new Set([
  'tagStatus',
  'tagPatternList',
  'tagPrefixList',
  'storageClass',
  'countType',
  'countUnit',
  'countNumber',
]);
const ACTION_KEYS = new Set(['type', 'targetStorageClass']);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The JSON type names the schema validator uses in its messages. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMismatch(value: unknown, allowed: string): LifecyclePolicyError {
  return new LifecyclePolicyError(
    `instance type (${jsonType(value)}) does not match any allowed primitive type (allowed: ["${allowed}"])`,
  );
}

function checkKeys(object: Json, allowed: ReadonlySet<string>, required: readonly string[]): void {
  const missing = required.filter((key) => !(key in object)).sort();
  if (missing.length > 0) {
    throw new LifecyclePolicyError(
      `object has missing required properties (${JSON.stringify(missing).replaceAll(',', ', ')})`,
    );
  }
  const extra = Object.keys(object)
    .filter((key) => !allowed.has(key))
    .sort();
  if (extra.length > 0) {
    throw new LifecyclePolicyError(
      `object instance has properties which are not allowed by the schema: ${JSON.stringify(extra)}`,
    );
  }
}

function isIntIn(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= MAX_INT;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string');
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): value is T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value);
}

/**
 * A selection's shape. ECR's schema describes a selection (and an action) as one of two shapes (count
 * by number, count by time), so any shape error in it is reported as matching neither: a `countUnit`
 * with imageCountMoreThan ("an error will occur if you specify a count unit when countType is any other
 * value"), a missing one with a time count, a `null` (terraform-aws-ecr#132), an empty list.
 */
function readSelection(value: unknown): LifecycleSelection {
  const mismatch = (): LifecyclePolicyError => new LifecyclePolicyError(KNOWN_MESSAGES.schemaMismatch);
  if (!isObject(value)) throw mismatch();
  if (Object.keys(value).some((key) => !SELECTION_KEYS.has(key))) throw mismatch();
  const { tagStatus, tagPatternList, tagPrefixList, storageClass, countType, countUnit, countNumber } = value;
  if (!oneOf(tagStatus, TAG_STATUSES) || !oneOf(countType, COUNT_TYPES)) throw mismatch();
  // "Acceptable values are positive integers (0 is not an accepted value)."
  if (!isIntIn(countNumber, 1)) throw mismatch();
  if (TIME_COUNT_TYPES.has(countType) ? countUnit !== 'days' : countUnit !== undefined) throw mismatch();
  if (storageClass !== undefined && !oneOf(storageClass, STORAGE_CLASSES)) throw mismatch();
  if (tagPatternList !== undefined && !isStringList(tagPatternList)) throw mismatch();
  if (tagPrefixList !== undefined && !isStringList(tagPrefixList)) throw mismatch();
  const selection: {
    -readonly [K in keyof LifecycleSelection]: LifecycleSelection[K];
  } = { tagStatus, storageClass: storageClass ?? 'standard', countType, countNumber };
  if (tagPatternList !== undefined) selection.tagPatternList = tagPatternList;
  if (tagPrefixList !== undefined) selection.tagPrefixList = tagPrefixList;
  if (countUnit === 'days') selection.countUnit = 'days';
  return selection;
}

/** `targetStorageClass` is "required: yes, if type is transition" and only present then (API model). */
function readAction(value: unknown): { type: ActionType } {
  const mismatch = (): LifecyclePolicyError => new LifecyclePolicyError(KNOWN_MESSAGES.schemaMismatch);
  if (!isObject(value)) throw mismatch();
  if (Object.keys(value).some((key) => !ACTION_KEYS.has(key))) throw mismatch();
  const { type, targetStorageClass } = value;
  if (!oneOf(type, ACTION_TYPES)) throw mismatch();
  if (type === 'transition' ? targetStorageClass !== 'archive' : targetStorageClass !== undefined) {
    throw mismatch();
  }
  return { type };
}

function readRule(value: unknown): LifecycleRule {
  if (!isObject(value)) throw typeMismatch(value, 'object');
  checkKeys(value, RULE_KEYS, ['action', 'rulePriority', 'selection']);
  const { rulePriority, description } = value;
  if (typeof rulePriority !== 'number' || !Number.isInteger(rulePriority)) {
    throw typeMismatch(rulePriority, 'integer');
  }
  // The API model's LifecyclePolicyRulePriority: integer, min 1.
  if (rulePriority < 1) {
    throw new LifecyclePolicyError(
      `numeric instance is lower than the required minimum (minimum: 1, found: ${rulePriority})`,
    );
  }
  if (rulePriority > MAX_INT) throw new LifecyclePolicyError(OUR_MESSAGES.unmappable);
  if (description !== undefined && typeof description !== 'string') throw typeMismatch(description, 'string');
  const rule: { -readonly [K in keyof LifecycleRule]: LifecycleRule[K] } = {
    rulePriority,
    selection: readSelection(value.selection),
    action: readAction(value.action),
  };
  if (description !== undefined) rule.description = description;
  return rule;
}

function wildcards(pattern: string): number {
  let count = 0;
  for (const char of pattern) if (char === '*') count += 1;
  return count;
}

/** The checks of one rule on its own, from the properties page and the examples' "Important" notes. */
function checkRule(rule: LifecycleRule): void {
  const { selection, action } = rule;
  const hasPrefixes = selection.tagPrefixList !== undefined;
  const hasPatterns = selection.tagPatternList !== undefined;
  if (selection.tagStatus === 'tagged') {
    // "If you specify tagged, then you must also specify a tagPrefixList value or a tagPatternList value."
    if (!hasPrefixes && !hasPatterns) throw new LifecyclePolicyError(KNOWN_MESSAGES.taggedNeedsList);
    // "A lifecycle policy rule may specify either tagPatternList or tagPrefixList, but not both."
    if (hasPrefixes && hasPatterns) throw new LifecyclePolicyError(OUR_MESSAGES.bothLists);
  } else if (hasPrefixes || hasPatterns) {
    // "If you specify untagged, then you must omit both"; "may only [be] used if the tagStatus is tagged".
    throw new LifecyclePolicyError(OUR_MESSAGES.listWithoutTagged);
  }
  // "There is a maximum limit of four wildcards (*) per string."
  if (selection.tagPatternList?.some((pattern) => wildcards(pattern) > MAX_WILDCARDS)) {
    throw new LifecyclePolicyError(OUR_MESSAGES.tooManyWildcards);
  }
  // storageClass: "When using a countType of imageCountMoreThan, sinceImagePushed, or sinceImagePulled,
  // the only supported value is standard. When using ... sinceImageTransitioned, this is required, and
  // the only supported value is archive."
  if (selection.countType === 'sinceImageTransitioned') {
    if (selection.storageClass !== 'archive') {
      throw new LifecyclePolicyError(OUR_MESSAGES.transitionedNeedsArchive);
    }
    // "The sinceImageTransitioned count type must be used with the expire action and the archive
    // storage class. Images must be in archive storage for a minimum of 90 days before deletion."
    if (action.type !== 'expire') throw new LifecyclePolicyError(OUR_MESSAGES.transitionedNeedsExpire);
    if (selection.countNumber < ARCHIVE_MINIMUM_DAYS) {
      throw new LifecyclePolicyError(OUR_MESSAGES.archiveMinimum);
    }
  } else if (selection.storageClass !== 'standard') {
    throw new LifecyclePolicyError(OUR_MESSAGES.archiveNeedsTransitioned);
  }
  // "The sinceImagePulled count type must be used with the transition action. It cannot be used with
  // the expire action."
  if (selection.countType === 'sinceImagePulled' && action.type !== 'transition') {
    throw new LifecyclePolicyError(OUR_MESSAGES.pulledNeedsTransition);
  }
}

/** One rule's tag list as a set, to compare rules by it. */
function tagListKey(selection: LifecycleSelection): string | undefined {
  const list = selection.tagPrefixList ?? selection.tagPatternList;
  if (list === undefined) return undefined;
  const kind = selection.tagPrefixList ? 'prefix' : 'pattern';
  return `${kind}:${JSON.stringify([...new Set(list)].sort())}`;
}

/**
 * The checks across rules. ECR applies the last three per storage class ("The set of all rules
 * selecting a specific storage class must contain a unique set of prefixes", "Only one rule selecting a
 * specific storage class is allowed to select untagged images", and `any` last "per storage class" in
 * its own message): the guide's own example pairs an `any` transition rule at priority 1 with an `any`
 * expiry of archived images at priority 2.
 */
function checkRules(rules: readonly LifecycleRule[]): void {
  const priorities = new Set<number>();
  for (const rule of rules) {
    // "When you add rules to a lifecycle policy, you must give them each a unique value for rulePriority."
    if (priorities.has(rule.rulePriority)) throw new LifecyclePolicyError(OUR_MESSAGES.duplicatePriority);
    priorities.add(rule.rulePriority);
  }
  for (const storageClass of STORAGE_CLASSES) {
    const inClass = rules.filter((rule) => rule.selection.storageClass === storageClass);
    const last = inClass.at(-1);
    // "A rule with a tagStatus value of any must have the highest value for rulePriority and be evaluated last."
    if (inClass.some((rule) => rule.selection.tagStatus === 'any' && rule !== last)) {
      throw new LifecyclePolicyError(KNOWN_MESSAGES.anyNotLast);
    }
    if (inClass.filter((rule) => rule.selection.tagStatus === 'untagged').length > 1) {
      throw new LifecyclePolicyError(KNOWN_MESSAGES.secondUntagged);
    }
    const lists = new Set<string>();
    for (const rule of inClass) {
      const key = tagListKey(rule.selection);
      if (key === undefined) continue;
      if (lists.has(key)) throw new LifecyclePolicyError(OUR_MESSAGES.duplicateTagList);
      lists.add(key);
    }
  }
}

/**
 * Parses and validates lifecycle policy text the way ECR does before accepting it: the JSON's shape
 * first, then each rule, then the rules together. Throws {@link LifecyclePolicyError}.
 */
export function parseLifecyclePolicy(text: string): LifecyclePolicy {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new LifecyclePolicyError(OUR_MESSAGES.unmappable);
  }
  if (!isObject(document)) throw new LifecyclePolicyError(OUR_MESSAGES.unmappable);
  checkKeys(document, POLICY_KEYS, ['rules']);
  const rawRules = document.rules;
  if (!Array.isArray(rawRules)) throw typeMismatch(rawRules, 'array');
  if (rawRules.length === 0) {
    throw new LifecyclePolicyError(
      'array is too short: must have at least 1 elements but instance has 0 elements',
    );
  }
  const parsed = rawRules.map((raw) => ({ raw: raw as unknown, rule: readRule(raw) }));
  parsed.sort((a, b) => a.rule.rulePriority - b.rule.rulePriority);
  const rules = parsed.map((entry) => entry.rule);
  for (const rule of rules) checkRule(rule);
  checkRules(rules);
  return { rules, text: JSON.stringify({ ...document, rules: parsed.map((entry) => entry.raw) }) };
}
