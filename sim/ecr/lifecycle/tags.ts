import type { LifecycleSelection } from './policy.ts';

/**
 * Whether a rule's tag selection takes in an image with these tags ("Lifecycle policy evaluation
 * rules", LifecyclePolicies.html):
 * - `any`: every image; `untagged`: images without a tag;
 * - `tagged` with `tagPatternList` or `tagPrefixList`: "An image is successfully matched if all of the
 *   tags in the tagPatternList or tagPrefixList value are matched against any of the image's tags":
 *   every listed pattern (prefix) must match at least one tag, not necessarily the same one
 *   (examples page, "Filtering on multiple tags in a single rule").
 */
export function selectsTags(selection: LifecycleSelection, tags: readonly string[]): boolean {
  switch (selection.tagStatus) {
    case 'any':
      return true;
    case 'untagged':
      return tags.length === 0;
    case 'tagged': {
      if (tags.length === 0) return false;
      if (selection.tagPatternList) {
        return selection.tagPatternList.every((pattern) =>
          tags.some((tag) => matchesTagPattern(pattern, tag)),
        );
      }
      const prefixes = selection.tagPrefixList ?? [];
      return prefixes.length > 0 && prefixes.every((prefix) => tags.some((tag) => tag.startsWith(prefix)));
    }
  }
}

/**
 * A tag pattern against a whole tag: `*` stands for any run of characters (none included), everything
 * else for itself. "prod*" matches prod, prod1 and production-team1; "*prod*" matches repo-production
 * and prod-team; a pattern without `*` matches only the tag it spells.
 *
 * Walks the two strings once, backtracking only to the last `*` seen, so a pattern cannot make it
 * slow whatever its wildcards (a regular expression of four `.*` can take quartic time on a miss).
 */
export function matchesTagPattern(pattern: string, tag: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < tag.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p;
      p += 1;
      resume = t;
    } else if (p < pattern.length && pattern[p] === tag[t]) {
      p += 1;
      t += 1;
    } else if (star !== -1) {
      p = star + 1;
      resume += 1;
      t = resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p += 1;
  return p === pattern.length;
}
