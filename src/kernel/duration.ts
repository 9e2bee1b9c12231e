/**
 * Durations as operators write them: `90s`, `15m`, `24h`, `7d`, `500ms`, or `0`.
 * Returns milliseconds, or `undefined` when the text is not a duration.
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/i.exec(trimmed);
  if (!match) return undefined;
  const value = Number(match[1]) * (UNIT_MS[match[2]!.toLowerCase()] ?? NaN);
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

/** The inverse, for messages: 90_000 → "1m 30s", 7 days → "7d". Drops units below the largest two. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
    if (parts.length === 2) break;
  }
  return parts.length ? parts.join(' ') : `${ms}ms`;
}
