/**
 * Sizes in the configuration: a number of bytes, or a whole number with a binary suffix as
 * Kubernetes writes memory (`512Ki`, `64Mi`, `1Gi`). Decimal suffixes (`64M`) are refused rather
 * than guessed: 64M and 64Mi differ by five percent, and a limit is worth reading exactly.
 */
const UNITS: Readonly<Record<string, number>> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

export function parseSize(text: string): number {
  const match = /^([0-9]+)(Ki|Mi|Gi)?$/.exec(text);
  if (!match)
    throw new Error(
      `invalid size ${JSON.stringify(text)}: expected bytes or a whole number with Ki, Mi or Gi, such as 64Mi`,
    );
  const bytes = Number(match[1]) * UNITS[match[2] ?? '']!;
  if (!Number.isSafeInteger(bytes)) throw new Error(`invalid size ${JSON.stringify(text)}: too large`);
  return bytes;
}

/** 67108864 → "64Mi": the largest binary unit that divides the size exactly. */
export function formatSize(bytes: number): string {
  for (const unit of ['Gi', 'Mi', 'Ki'] as const) {
    if (bytes >= UNITS[unit]! && bytes % UNITS[unit]! === 0) return `${bytes / UNITS[unit]!}${unit}`;
  }
  return String(bytes);
}
