/**
 * The known word a mistyped one most likely meant, or undefined when none is near.
 * Case differences alone always match (`loglevel` → `logLevel`); otherwise the optimal string
 * alignment distance (edits, with a swap of two neighbours as one edit, so `chekcs` → `checks`)
 * must be small relative to the word, or every short key would "suggest" every other.
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const lowered = input.toLowerCase();
  const caseOnly = candidates.find((candidate) => candidate.toLowerCase() === lowered);
  if (caseOnly !== undefined) return caseOnly;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const allowed = allowedEdits(candidate.length);
    // The length difference bounds the distance from below: skip without the quadratic work,
    // which also keeps a hostile megabyte-long key cheap.
    if (Math.abs(candidate.length - input.length) > allowed) continue;
    const distance = editDistance(lowered, candidate.toLowerCase());
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

// One edit for words up to five letters, two beyond: `tagTL` → `tagTTL`, `namspaces` → `namespaces`.
function allowedEdits(length: number): number {
  return length <= 5 ? 1 : 2;
}

/** Optimal string alignment distance (Damerau–Levenshtein without repeated edits of a substring). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = value;
    }
  }
  return at(a.length, b.length);
}
