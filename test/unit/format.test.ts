import fc from 'fast-check';
import {
  escapeMrkdwn,
  formatCount,
  lastNDays,
  localDate,
  sparkline,
  timeAgo,
  timeUntil,
  trend,
  truncate,
  utcDay,
} from '../../src/kernel/format';

/** No lone surrogate halves (String.prototype.isWellFormed is newer than our lib target). */
function isWellFormed(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

const NOW = Date.UTC(2024, 2, 10, 12, 0, 0); // 2024-03-10T12:00:00Z
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('timeAgo', () => {
  it.each([
    [NOW, 'just now'],
    [NOW - 59 * SECOND, 'just now'],
    [NOW - MINUTE, '1 min ago'],
    [NOW - 5 * MINUTE - 30 * SECOND, '5 min ago'],
    [NOW - 59 * MINUTE, '59 min ago'],
    [NOW - HOUR, '1 h ago'],
    [NOW - 3 * HOUR - 59 * MINUTE, '3 h ago'],
    [NOW - DAY, '1 d ago'],
    [NOW - 2 * DAY - 23 * HOUR, '2 d ago'],
    [NOW - 400 * DAY, '400 d ago'],
  ])('%d → %s', (then, expected) => {
    expect(timeAgo(then, NOW)).toBe(expected);
  });

  it('says "never" when there is no timestamp', () => {
    expect(timeAgo(undefined, NOW)).toBe('never');
    expect(timeAgo(null, NOW)).toBe('never');
    expect(timeAgo(0, NOW)).toBe('never');
    expect(timeAgo(Number.NaN, NOW)).toBe('never');
  });

  it('treats a time in the future (clock skew) as "just now", never a negative age', () => {
    expect(timeAgo(NOW + 30 * SECOND, NOW)).toBe('just now');
    expect(timeAgo(NOW + 5 * HOUR, NOW)).toBe('just now');
  });
});

describe('timeUntil', () => {
  it.each([
    [NOW + 3 * HOUR, 'in 3 h'],
    [NOW + 3 * HOUR + 59 * MINUTE, 'in 3 h'],
    [NOW + 12 * MINUTE, 'in 12 min'],
    [NOW + 12 * MINUTE + 59 * SECOND, 'in 12 min'],
    [NOW + 30 * SECOND, 'in <1 min'],
    [NOW + 2 * DAY + HOUR, 'in 2 d'],
    [NOW, 'overdue'],
    [NOW - 1, 'overdue'],
    [NOW - 3 * DAY, 'overdue'],
  ])('%d → %s', (then, expected) => {
    expect(timeUntil(then, NOW)).toBe(expected);
  });

  it('shows a dash when there is no deadline', () => {
    expect(timeUntil(undefined, NOW)).toBe('–');
    expect(timeUntil(0, NOW)).toBe('–');
  });
});

describe('trend', () => {
  it.each([
    [125, 100, '↑ 25%'],
    [20, 100, '↓ 80%'],
    [0, 100, '↓ 100%'],
    [100, 100, '→ 0%'],
    [1000, 999, '→ 0%'],
    [5, 0, 'new'],
    [0, 0, '–'],
    [250_000, 1, '↑ 24,999,900%'],
    [Number.NaN, 1, '–'],
    [1, Number.POSITIVE_INFINITY, '–'],
    [-1, 5, '–'],
  ])('(%d, %d) → %s', (current, previous, expected) => {
    expect(trend(current, previous)).toBe(expected);
  });
});

describe('sparkline', () => {
  it('scales to the largest value, from ▁ to █', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6])).toBe('▁▃▄▅▆▇█');
    expect(sparkline([10, 5, 0])).toBe('█▅▁');
  });

  it('shows all zeros as a flat line', () => {
    expect(sparkline([0, 0, 0, 0])).toBe('▁▁▁▁');
  });

  it('keeps a single quiet day visible next to a busy one', () => {
    const line = sparkline([0, 0, 1, 0, 100_000]);
    expect(line).toBe('▁▁▂▁█');
  });

  it('draws a lone non-zero day at full height', () => {
    expect(sparkline([0, 0, 3, 0])).toBe('▁▁█▁');
  });

  it('treats negative and non-finite values as zero and handles an empty series', () => {
    expect(sparkline([-5, Number.NaN, Number.POSITIVE_INFINITY, 2])).toBe('▁▁▁█');
    expect(sparkline([])).toBe('');
  });

  it('has one character per value, zero exactly where the value is not positive (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1_000_000 }), { maxLength: 60 }), (values) => {
        const chars = [...sparkline(values)];
        expect(chars).toHaveLength(values.length);
        values.forEach((v, i) => expect(chars[i] === '▁').toBe(v === 0));
      }),
    );
  });
});

describe('formatCount', () => {
  it.each([
    [0, '0'],
    [7, '7'],
    [1234, '1,234'],
    [999_999, '999,999'],
    [999_999.6, '1M'],
    [1_000_000, '1M'],
    [1_250_000, '1.3M'],
    [12_345_678, '12.3M'],
    [999_960_000, '1B'],
    [3_400_000_000, '3.4B'],
    [7.2e12, '7.2T'],
    [5e18, '5,000,000T'],
    [-1234, '-1,234'],
    [-1_250_000, '-1.3M'],
    [12.7, '13'],
    [Number.NaN, '–'],
    [Number.POSITIVE_INFINITY, '–'],
  ])('%d → %s', (n, expected) => {
    expect(formatCount(n)).toBe(expected);
  });
});

describe('utcDay and lastNDays', () => {
  it('gives the UTC calendar day whatever the process time zone', () => {
    expect(utcDay(Date.UTC(2024, 2, 10, 23, 59, 59, 999))).toBe('2024-03-10');
    expect(utcDay(Date.UTC(2024, 2, 11, 0, 0, 0))).toBe('2024-03-11');
    // The US DST switch (2024-03-10 02:00 local) does not matter for UTC days.
    expect(utcDay(Date.UTC(2024, 2, 10, 7, 30))).toBe('2024-03-10');
    expect(utcDay(0)).toBe('1970-01-01');
  });

  it('throws a RangeError for a value that is not a timestamp', () => {
    expect(() => utcDay(Number.NaN)).toThrow(RangeError);
  });

  it('lists the last n days ending today, oldest first, across month and leap-day boundaries', () => {
    expect(lastNDays(Date.UTC(2024, 2, 1, 8), 3)).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
    expect(lastNDays(Date.UTC(2025, 0, 1, 0, 0, 0), 2)).toEqual(['2024-12-31', '2025-01-01']);
    expect(lastNDays(NOW, 1)).toEqual(['2024-03-10']);
    expect(lastNDays(NOW, 0)).toEqual([]);
    expect(lastNDays(NOW, -3)).toEqual([]);
  });

  it('returns n distinct consecutive days (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: 1, max: 400 }),
        (now, n) => {
          const days = lastNDays(now, n);
          expect(days).toHaveLength(n);
          expect(days[n - 1]).toBe(utcDay(now));
          const starts = days.map((d) => Date.parse(`${d}T00:00:00Z`));
          for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBe(DAY);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('localDate', () => {
  it('gives the calendar day in the zone, which can differ from the UTC day', () => {
    const lateUtc = Date.UTC(2024, 2, 10, 23, 30); // 2024-03-10T23:30Z
    expect(localDate(lateUtc, 'UTC')).toBe('2024-03-10');
    expect(localDate(lateUtc, 'Europe/Berlin')).toBe('2024-03-11');
    expect(localDate(lateUtc, 'Asia/Tokyo')).toBe('2024-03-11');
    const earlyUtc = Date.UTC(2024, 2, 10, 3, 0);
    expect(localDate(earlyUtc, 'America/Los_Angeles')).toBe('2024-03-09');
  });

  it('follows the zone across a DST change', () => {
    // New York moves from UTC-5 to UTC-4 on 2024-03-10 at 07:00Z.
    expect(localDate(Date.UTC(2024, 2, 11, 3, 30), 'America/New_York')).toBe('2024-03-10');
    expect(localDate(Date.UTC(2024, 2, 11, 4, 30), 'America/New_York')).toBe('2024-03-11');
  });

  it('throws a RangeError for an unknown zone', () => {
    expect(() => localDate(NOW, 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});

describe('truncate', () => {
  it('leaves short text alone', () => {
    expect(truncate('hello', 5)).toBe('hello');
    expect(truncate('', 3)).toBe('');
  });

  it('cuts long text to the limit, ending with an ellipsis', () => {
    expect(truncate('hello world', 8)).toBe('hello w…');
    expect(truncate('hello world', 8)).toHaveLength(8);
    expect(truncate('hello', 1)).toBe('…');
    expect(truncate('hello', 0)).toBe('');
    expect(truncate('hello', -4)).toBe('');
  });

  it('never splits an emoji in half', () => {
    const result = truncate('ab😀cd', 4);
    expect(result).toBe('ab…');
    expect(isWellFormed(result)).toBe(true);
  });

  it('never cuts a ZWJ sequence, a flag, a skin tone or a keycap in half', () => {
    const graphemes = (t: string) => [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(t)].map((g) => g.segment);
    for (const emoji of ['👩‍💻', '👨‍👩‍👧‍👦', '🇫🇷', '👍🏽', '1️⃣', 'é']) {
      const text = `ab${emoji}cd`;
      for (let max = 1; max <= text.length; max++) {
        const kept = truncate(text, max).replace(/…$/, '');
        // What is kept is whole graphemes of the original: the emoji entirely or not at all.
        expect([emoji, max, graphemes(kept).every((g) => graphemes(text).includes(g))]).toEqual([emoji, max, true]);
      }
    }
    expect(truncate('ab👨‍👩‍👧‍👦cd', 14)).toBe('ab👨‍👩‍👧‍👦…');
    expect(truncate('ab👨‍👩‍👧‍👦cd', 13)).toBe('ab…');
  });

  it('is never longer than the limit (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 80 }),
        fc.integer({ min: 0, max: 100 }),
        (text, max) => {
          const result = truncate(text, max);
          expect(result.length).toBeLessThanOrEqual(max);
          expect(isWellFormed(result)).toBe(true);
          if (text.length <= max) expect(result).toBe(text);
        },
      ),
    );
  });
});

describe('escapeMrkdwn', () => {
  it('escapes the three characters Slack treats as control characters', () => {
    expect(escapeMrkdwn('a & b <c> d')).toBe('a &amp; b &lt;c&gt; d');
    expect(escapeMrkdwn('<!channel> <@U123>')).toBe('&lt;!channel&gt; &lt;@U123&gt;');
  });

  it('escapes & first, so existing entities are escaped once', () => {
    expect(escapeMrkdwn('&lt;')).toBe('&amp;lt;');
  });

  it('leaves other text, including mrkdwn formatting, untouched', () => {
    expect(escapeMrkdwn('*bold* _it_ `code`')).toBe('*bold* _it_ `code`');
  });
});
