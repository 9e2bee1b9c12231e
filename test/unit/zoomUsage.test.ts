/**
 * Zoom's usage figures in words (pure): candidates ranked by recent use, Zoom's totals beside
 * zoomjwt's with a large disagreement flagged, the digest's ranked list inside Slack's limits, and
 * what the latest calls act on, with hostile names and URLs kept inert.
 */
import type { CandidateApp } from '../../src/capabilities/evidence/rules/app';
import { callerHints, targetsOf } from '../../src/capabilities/evidence/rules/callers';
import { renderDigest } from '../../src/capabilities/digest/views/digest';
import { type DigestModel } from '../../src/capabilities/digest/model';
import { candidateLines, compareWithZoom, rankCandidates } from '../../src/capabilities/evidence/rules/zoomUsage';
import { LIMITS, type SlackMessage } from '../../src/platform/slack/blocks';
import { callersText } from '../../src/capabilities/evidence/views/appDetail';
import { readAppUsage } from '../../src/platform/zoom/client';
import type { SampleEntry } from '../../src/capabilities/evidence/stores/usageKeys';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 11, 2, 9, 0, 0);

const cand = (appId: string, over: Partial<CandidateApp> = {}): CandidateApp => ({ appId, account: 'default', name: appId, seenAt: NOW, ...over });

describe('candidates by recent use', () => {
  const list = [
    cand('never', { usage: { totalCalls: 0, durationDays: 30 } }),
    cand('old', { usage: { lastUsed: NOW - 3 * DAY, totalCalls: 5000 } }),
    cand('figureless'),
    cand('recent', { usage: { lastUsed: NOW - 2 * HOUR, totalCalls: 1204, failedCalls: 31, activeUsers: 3, durationDays: 30 } }),
  ];

  it('used first, most recently used first; then the never used; then those without figures', () => {
    const r = rankCandidates(list);
    expect(r.used.map((c) => c.appId)).toEqual(['recent', 'old']);
    expect(r.unused.map((c) => c.appId)).toEqual(['never']);
    expect(r.unknown.map((c) => c.appId)).toEqual(['figureless']);
  });

  it('says the use in one line, the never used under their own title, and counts the rest', () => {
    const lines = candidateLines(list, NOW, '/zoomjwt', false, 10);
    expect(lines[1]).toBe('• *recent* `recent` — last used 2 h ago, 1,204 calls in 30 d (31 failed), 3 active users — `/zoomjwt track recent`');
    expect(lines.join('\n')).toContain('No use at all in Zoom’s figures (1): the easy ones');
    expect(candidateLines(list, NOW, '/zoomjwt', false, 3).at(-1)).toBe('…and 2 more');
  });

  it('keeps hostile names inert', () => {
    const [line] = candidateLines([cand('x', { name: '<!channel> <@U0BOSS> <https://e.example|hi>' })], NOW, '/zoomjwt', false, 5);
    expect(line).not.toMatch(/<[!@h]/);
    expect(line).toContain('&lt;!channel&gt;');
  });

  it('without any figures, lists as before: no titles', () => {
    expect(candidateLines([cand('a'), cand('b')], NOW, '/zoomjwt', false, 10)).toEqual(['• *a* `a` — `/zoomjwt track a`', '• *b* `b` — `/zoomjwt track b`']);
  });
});

describe("Zoom's totals beside zoomjwt's", () => {
  it('agree within the tolerance, are flagged beyond it, either way round', () => {
    expect(compareWithZoom({ totalCalls: 110, durationDays: 30 }, 100)).toMatchObject({ disagrees: false });
    expect(compareWithZoom({ totalCalls: 5, durationDays: 30 }, 0)).toMatchObject({ disagrees: false });
    expect(compareWithZoom({ totalCalls: 5000, durationDays: 30 }, 10).flag).toMatch(/^Zoom counts 5,000 calls in 30 d, zoomjwt 10: calls may be missing/);
    expect(compareWithZoom({ totalCalls: 10 }, 5000).flag).toMatch(/^zoomjwt counts 5,000 calls in 30 d, Zoom 10: Zoom's figures may lag/);
    expect(compareWithZoom({ lastUsed: NOW }, 100)).toEqual({ text: 'Zoom: no totals', disagrees: false });
  });
});

describe('the usage fields as Zoom sends them', () => {
  it('reads ISO times, epoch times and digit strings; leaves the rest out; none when metrics are off', () => {
    expect(readAppUsage({ enable_metrics: true, last_used: '2026-11-30T10:00:00Z', total_calls: '12', failed_calls: 2, duration: 30, works_with: ['ZOOM_MEETING'] })).toEqual({
      lastUsed: Date.parse('2026-11-30T10:00:00Z'), totalCalls: 12, failedCalls: 2, durationDays: 30, worksWith: ['ZOOM_MEETING'],
    });
    expect(readAppUsage({ last_used: 1_764_496_800, total_calls: 1.5 })).toEqual({ lastUsed: 1_764_496_800_000 });
    expect(readAppUsage({ enable_metrics: false, last_used: '2026-11-30T10:00:00Z', total_calls: 3 })).toBeUndefined();
    expect(readAppUsage({ app_id: 'x', app_name: 'older API' })).toBeUndefined();
    expect(readAppUsage({ last_used: 'soon', total_calls: -1, active_users: 4 })).toBeUndefined();
  });
});

describe('the digest', () => {
  function model(candidateList: CandidateApp[]): DigestModel {
    return {
      apps: [], accounts: ['default'], health: [], pending: [], operatorSteps: [], failedExecutions: [], requestsKnown: true, changes: [],
      candidates: candidateList.length, candidateList, soakPeriodMs: 7 * DAY, pollEveryMs: 15 * 60_000, mode: 'dry-run',
    };
  }
  const within = (msg: SlackMessage) => {
    const blocks = msg.blocks ?? [];
    expect(blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
    for (const b of blocks) expect(((b as { text?: { text: string } }).text?.text ?? '').length).toBeLessThanOrEqual(LIMITS.sectionText);
  };

  it('lists the candidates by recent use, hostile and long names inside the limits', () => {
    const list = Array.from({ length: 300 }, (_, i) =>
      cand(`app${i}`, { name: `<!channel> ${'N'.repeat(300)} ${i}`, usage: i % 2 ? { lastUsed: NOW - i * HOUR, totalCalls: i } : { totalCalls: 0 } }),
    );
    const msg = renderDigest(model(list), NOW, 'UTC');
    within(msg);
    const text = JSON.stringify(msg.blocks);
    expect(text).toContain('Not tracked yet, by recent use (300)');
    expect(text).toContain('`app1` — last used 1 h ago');
    expect(text).not.toContain('<!channel>');
  });

  it('says nothing more when Zoom sends no figures (the headline counts them)', () => {
    expect(JSON.stringify(renderDigest(model([cand('a')]), NOW, 'UTC').blocks)).not.toContain('by recent use');
  });
});

describe('who is probably calling', () => {
  const entry = (url: string, over: Partial<SampleEntry> = {}): SampleEntry => ({ time: NOW, method: 'GET', key: 'GET /x', url, status: 200, traceId: 't', ...over });

  it('finds the users, meetings and rooms URLs act on, SCIM filters included', () => {
    expect(targetsOf('https://api.zoom.us/v2/users/svc%40example.com/meetings?page_size=30')).toEqual([{ kind: 'user', id: 'svc@example.com' }]);
    expect(targetsOf('https://api.zoom.us/v2/meetings/85746065432/registrants')).toEqual([{ kind: 'meeting', id: '85746065432' }]);
    expect(targetsOf('https://api.zoom.us/v2/scim2/Users?filter=userName%20eq%20%22ann%40example.com%22')).toEqual([{ kind: 'user', id: 'ann@example.com' }]);
    expect(targetsOf('https://api.zoom.us/v2/users/me')).toEqual([{ kind: 'user', id: 'me' }]);
    expect(targetsOf('https://api.zoom.us/v2/rooms/locations')).toEqual([]);
  });

  it('drops ids that could break out of a code span, and odd input', () => {
    expect(targetsOf('https://api.zoom.us/v2/users/a`b/meetings')).toEqual([]);
    expect(targetsOf('https://api.zoom.us/v2/users/%E0%A4%A')).toEqual([{ kind: 'user', id: '%E0%A4%A' }]);
    expect(targetsOf('x'.repeat(5000))).toEqual([]);
    expect(targetsOf(undefined as unknown as string)).toEqual([]);
  });

  it('shows ids from URLs inert: a user id that is a mention or a link pings nobody', () => {
    const text = callersText(callerHints([
      entry('https://api.zoom.us/v2/users/%3C%21channel%3E/meetings', { status: 500, traceId: '<@U0BOSS>' }),
      entry('https://api.zoom.us/v2/users/<https://e.example|x>/meetings'),
    ]));
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&lt;@U0BOSS&gt;');
    expect(text).not.toMatch(/<[!@h]/);
  });

  it('counts targets over the sample and keeps the latest failed calls with a trace id', () => {
    const sample = [
      ...Array.from({ length: 8 }, (_, i) => entry('https://api.zoom.us/v2/users/svc@x.com/meetings', { time: NOW - i * 1000, status: i === 2 ? 500 : 201, traceId: `tr${i}` })),
      entry('https://api.zoom.us/v2/meetings/123', { status: 404, traceId: '' }),
    ];
    const h = callerHints(sample);
    expect(h.sampled).toBe(9);
    expect(h.targets[0]).toEqual({ kind: 'user', id: 'svc@x.com', count: 8 });
    expect(h.failed).toEqual([{ time: NOW - 2000, status: 500, key: 'GET /x', traceId: 'tr2' }]);
  });
});
