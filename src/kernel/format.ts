/**
 * Small text helpers for Slack views and the digest. Pure: every "now" is passed in (epoch ms),
 * nothing reads the clock, and nothing here throws on odd numbers except where noted.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

function isTimestamp(ms: number | null | undefined): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms !== 0;
}

/**
 * "just now", "5 min ago", "3 h ago", "2 d ago"; "never" when there is no timestamp
 * (undefined, null, 0 or not finite). A time slightly in the future (clock skew between the
 * worker and Zoom) reads as "just now" rather than a negative age.
 */
export function timeAgo(thenMs: number | null | undefined, nowMs: number): string {
  if (!isTimestamp(thenMs)) return 'never';
  const ageMs = nowMs - thenMs;
  if (ageMs < MINUTE_MS) return 'just now';
  if (ageMs < HOUR_MS) return `${Math.floor(ageMs / MINUTE_MS)} min ago`;
  if (ageMs < DAY_MS) return `${Math.floor(ageMs / HOUR_MS)} h ago`;
  return `${Math.floor(ageMs / DAY_MS)} d ago`;
}

/**
 * "in 12 min", "in 3 h", "in 2 d", "in <1 min"; "overdue" once the time has come.
 * "–" when there is no timestamp. Rounds down, so a deadline is never shown later than it is.
 */
export function timeUntil(thenMs: number | null | undefined, nowMs: number): string {
  if (!isTimestamp(thenMs)) return '–';
  const leftMs = thenMs - nowMs;
  if (leftMs <= 0) return 'overdue';
  if (leftMs < MINUTE_MS) return 'in <1 min';
  if (leftMs < HOUR_MS) return `in ${Math.floor(leftMs / MINUTE_MS)} min`;
  if (leftMs < DAY_MS) return `in ${Math.floor(leftMs / HOUR_MS)} h`;
  return `in ${Math.floor(leftMs / DAY_MS)} d`;
}

/**
 * Change against the previous period: "↑ 25%", "↓ 80%", "→ 0%"; "new" when there was nothing
 * before; "–" when there is nothing either way (or the inputs are not counts).
 */
export function trend(current: number, previous: number): string {
  if (!Number.isFinite(current) || !Number.isFinite(previous) || current < 0 || previous < 0) {
    return '–';
  }
  if (previous === 0) return current > 0 ? 'new' : '–';
  const pct = Math.round(((current - previous) / previous) * 100);
  if (pct > 0) return `↑ ${formatInteger(pct)}%`;
  if (pct < 0) return `↓ ${formatInteger(-pct)}%`;
  return '→ 0%';
}

const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * One character per value, scaled to the largest: zeros (and negative or non-finite values)
 * are ▁, any positive value is at least ▂ so a single quiet day still shows, the largest is █.
 */
export function sparkline(values: readonly number[]): string {
  let max = 0;
  for (const v of values) if (Number.isFinite(v) && v > max) max = v;
  let out = '';
  for (const v of values) {
    if (!(max > 0) || !Number.isFinite(v) || v <= 0) {
      out += BARS[0];
      continue;
    }
    // Positive values use bars 1..7; the ratio is in (0, 1].
    out += BARS[1 + Math.round((v / max) * 6)] ?? BARS[7];
  }
  return out;
}

function formatInteger(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

const LARGE_UNITS = [
  [1e12, 'T'],
  [1e9, 'B'],
  [1e6, 'M'],
] as const;

/**
 * Counts for people: below a million with thousands separators (1234 → "1,234"), above it with
 * one decimal and a unit (1_250_000 → "1.3M", 2_000_000 → "2M", 3.4e9 → "3.4B"). "–" for NaN
 * and infinities.
 */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  if (Math.round(abs) < 1e6) return sign + formatInteger(abs);
  // Pick the unit after rounding so 999,960,000 reads "1B", not "1000M".
  for (let i = LARGE_UNITS.length - 1; i >= 0; i--) {
    const [size, unit] = LARGE_UNITS[i]!;
    const scaled = Math.round((abs / size) * 10) / 10;
    const isLargest = i === 0;
    if (scaled < 1000 || isLargest) {
      const text = Number.isInteger(scaled)
        ? scaled.toLocaleString('en-US')
        : scaled.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
      return `${sign}${text}${unit}`;
    }
  }
  return sign + formatInteger(abs);
}

/** The UTC calendar day of an instant, 'YYYY-MM-DD'. Throws RangeError for a non-date. */
export function utcDay(ms: number): string {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a timestamp: ${String(ms)}`);
  return date.toISOString().slice(0, 10);
}

/** The last `n` UTC days ending with today, oldest first. Empty for n ≤ 0. */
export function lastNDays(nowMs: number, n: number): string[] {
  const count = Math.floor(n);
  if (!(count > 0)) return [];
  const today = Math.floor(nowMs / DAY_MS);
  const days: string[] = [];
  for (let i = count - 1; i >= 0; i--) days.push(utcDay((today - i) * DAY_MS));
  return days;
}

// Intl.DateTimeFormat is expensive to build (~tens of µs); the digest asks for the same few
// zones over and over, so keep one formatter per zone. Bounded by the number of configured zones.
const dayFormatters = new Map<string, Intl.DateTimeFormat>();

function dayFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = dayFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    if (dayFormatters.size >= 64) dayFormatters.clear();
    dayFormatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * The calendar day of an instant in an IANA time zone, 'YYYY-MM-DD' (the digest's "local date").
 * Throws RangeError for an unknown zone or a non-date.
 */
export function localDate(ms: number, timeZone: string): string {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a timestamp: ${String(ms)}`);
  let year = '';
  let month = '';
  let day = '';
  for (const part of dayFormatter(timeZone).formatToParts(date)) {
    if (part.type === 'year') year = part.value;
    else if (part.type === 'month') month = part.value;
    else if (part.type === 'day') day = part.value;
  }
  return `${year.padStart(4, '0')}-${month}-${day}`;
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Shortens text to at most `max` characters (UTF-16 code units), ending with "…" when cut. Cuts
 * only between graphemes, so an emoji — a surrogate pair, a ZWJ sequence such as 👩‍💻, a flag, a
 * skin tone, a keycap — or a letter with its accents is kept whole or dropped whole.
 */
export function truncate(text: string, max: number): string {
  const limit = Math.floor(max);
  if (!(limit > 0)) return '';
  if (text.length <= limit) return text;
  // The cut goes where the grapheme that holds the first dropped code unit starts; only that
  // boundary is looked up, not every grapheme before it (hot in status and digest renders).
  // Fast path: between two code units below U+0300 (no combining marks, ZWJ, emoji or regional
  // indicators) there is always a boundary, except inside CR LF.
  const before = text.charCodeAt(limit - 2);
  const after = text.charCodeAt(limit - 1);
  const end =
    limit >= 2 && before < 0x300 && after < 0x300 && !(before === 13 && after === 10)
      ? limit - 1
      : (graphemes.segment(text).containing(limit - 1)?.index ?? 0);
  return `${text.slice(0, end)}…`;
}

/**
 * Makes user-supplied text inert in Slack mrkdwn: Slack treats &, < and > as control characters
 * (links, mentions, entities), so they must be sent as entities.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

/**
 * An audit summary for mrkdwn: everything escaped (it may quote a reason, a note or an app name),
 * then the mentions of the people the entry itself names (its actor and the user ids in its
 * details) made readable again. A mention typed into the quoted text stays text.
 */
export function auditSummaryMrkdwn(entry: { summary: string; actor?: string; details?: Record<string, unknown> }): string {
  const ids = new Set<string>();
  if (entry.actor && SLACK_USER_ID.test(entry.actor)) ids.add(entry.actor);
  for (const v of Object.values(entry.details ?? {})) if (typeof v === 'string' && SLACK_USER_ID.test(v)) ids.add(v);
  return escapeMrkdwn(entry.summary).replace(/&lt;@([UW][A-Z0-9]{2,})&gt;/g, (whole, id: string) => (ids.has(id) ? `<@${id}>` : whole));
}
