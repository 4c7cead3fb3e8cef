/**
 * ECR's WILDCARD filters (tag mutability exclusions, scanning repository filters): `*` stands for any
 * run of characters, empty included, and the pattern must match the whole value. The user guide's
 * examples (`dev-*`, `*-rc`, `latest`) and the CDK's "tags starting with 'dev-'" read it that way.
 */
export function wildcardMatches(pattern: string, value: string): boolean {
  const parts = pattern.split('*');
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (parts.length === 1) return value === pattern;
  if (!value.startsWith(first) || value.length < first.length + last.length) return false;
  if (!value.endsWith(last)) return false;
  // Greedy left to right for the middle parts, inside the span the two ends leave free.
  let at = first.length;
  const end = value.length - last.length;
  for (const part of parts.slice(1, -1)) {
    const found = value.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}
