/**
 * The Home tab as a feature (issue 16): `app_home_opened` publishes the person's dashboard, the
 * page buttons page its app table, and a job keeps the dashboards of recent visitors fresh.
 *
 * Freshness: everyone who opened the tab in the last HOME_VISITOR_TTL_MS is a visitor. Each
 * visitor's last publish is kept with the status epoch read before its data (store/statusEpoch:
 * every write that changes apps, poll health or requests moves it). The refresh job, every
 * minute, republishes the visitors whose epoch is behind and whose last publish is at least
 * HOME_REPUBLISH_MIN_MS old, at most HOME_REFRESH_BATCH per run: `views.publish` is Tier 4 (100+
 * a minute), so a run stays well inside it and the rest follow a minute later; a 429 ends the run
 * there. Built from Redis only, never from Zoom.
 */
import type { App, BlockButtonAction } from '@slack/bolt';
import { weakenedSettings } from '../../kernel/settings';
import type { StoredRequest } from '../approvals';
import type { Feature } from '../../platform/feature';
import type { HomeServices as Services } from './services';
import { HOME_ACTION } from '../../platform/slack/ids';
import { notForYouHome, renderHome, type HomeAppRow, type HomeView } from './views/home';
import { readDashboardEpoch } from '../../platform/redis/statusEpoch';
import type { RequestStore } from '../approvals';
import type { UsageWindow } from '../evidence';
import { getPause } from '../../platform/zoom/stores/pause';
import { createHomeStore } from './stores/home';
import { slackErrorText } from '../../platform/slack/errors';

export const HOME_JOB = 'home-refresh';
const HOME_SCHEDULER_ID = 'home-refresh';
/** Visitors are kept this long after they last opened the tab. */
export const HOME_VISITOR_TTL_MS = 86_400_000;
/** A dashboard is republished at most this often per person. */
export const HOME_REPUBLISH_MIN_MS = 60_000;
/** Republishes per refresh run at most. */
export const HOME_REFRESH_BATCH = 50;
const REFRESH_EVERY_MS = 60_000;

const EMPTY_WINDOW: UsageWindow = {
  calls24h: 0, prev24h: 0, calls7d: 0, prev7d: 0, successes24h: 0, fails24h: 0, prevFails24h: 0, successes7d: 0, fails7d: 0,
};

export interface HomeFeature extends Feature {
  /** Publishes `userId`'s dashboard now (or the "not for you" view). */
  publish(userId: string): Promise<boolean>;
  /** One refresh run; resolves with how many dashboards were republished. */
  refresh(): Promise<number>;
}

export function createHomeFeature(s: Services, store: RequestStore): HomeFeature {
  const log = s.log.child({ feature: 'home' });
  const home = createHomeStore(s.redis, s.keys);
  const accountNames = s.config.zoom.accounts.map((a) => a.name);
  /** Card permalinks never change: asked of Slack once per card per process. */
  const links = new Map<string, string>();

  async function permalink(req: StoredRequest): Promise<string | undefined> {
    if (!req.channel || !req.ts) return undefined;
    const key = `${req.channel}/${req.ts}`;
    const hit = links.get(key);
    if (hit) return hit;
    try {
      const res = await s.slack.chat.getPermalink({ channel: req.channel, message_ts: req.ts });
      if (typeof res.permalink !== 'string') return undefined;
      if (links.size > 5_000) links.clear();
      links.set(key, res.permalink);
      return res.permalink;
    } catch (err) {
      log.warn({ err: { message: slackErrorText(err) } }, 'permalink lookup failed');
      return undefined;
    }
  }

  async function build(userId: string, now: number): Promise<HomeView> {
    const [tracked, candidates, health, pauses, open, page] = await Promise.all([
      s.apps.list(),
      s.apps.candidates(),
      s.health.getAll(accountNames),
      Promise.all(accountNames.map((a) => getPause(s.redis, s.keys, a, now))),
      store.listOpen(),
      home.page(userId),
    ]);
    const ids = tracked.map((a) => a.appId);
    const [windows, summaries] = await Promise.all([s.usage.windowMany(ids, now), s.usage.summaryMany(ids)]);
    const apps: HomeAppRow[] = tracked.map((app) => ({
      app,
      window: windows.get(app.appId) ?? EMPTY_WINDOW,
      summary: summaries.get(app.appId) ?? { ingested: 0, families: [] },
    }));
    const pending = open.filter((r) => r.status === 'pending' && r.expiresAt > now);
    const unsigned = pending.filter((r) => r.requester !== userId && !r.signatures.some((x) => x.userId === userId));
    // Only an approver is asked to sign (the same check as the Approve button).
    const approver = unsigned.length > 0 && (await s.access.check(userId, 'approver')).ok;
    const toSign = approver ? unsigned.sort((a, b) => a.expiresAt - b.expiresAt) : [];
    const mine = open.filter((r) => r.requester === userId).sort((a, b) => a.createdAt - b.createdAt);
    const withLinks = (reqs: StoredRequest[]) => Promise.all(reqs.slice(0, 10).map(async (req) => {
      const link = await permalink(req);
      return link ? { req, link } : { req };
    }));
    const [signLinks, mineLinks] = await Promise.all([withLinks(toSign), withLinks(mine)]);
    const accounts = health.map((h, i) => {
      const pause = pauses[i];
      return pause !== null && pause !== undefined && pause > (h.pausedUntil ?? 0) ? { ...h, pausedUntil: pause } : h;
    });
    return renderHome(
      {
        userId,
        actionsMode: s.config.actionsMode,
        warnings: weakenedSettings(s.config).map((w) => w.text),
        soakPeriodMs: s.config.soakPeriodMs,
        pollEveryMs: s.config.pollEveryMs,
        accounts,
        apps,
        candidates,
        // Past the first ten, the list says "…and N more": the rest need no links.
        toSign: [...signLinks, ...toSign.slice(10).map((req) => ({ req }))],
        mine: [...mineLinks, ...mine.slice(10).map((req) => ({ req }))],
        page,
      },
      now,
    );
  }

  /** Set when Slack answered 429: the rest of a refresh run waits for the next one. */
  let rateLimited = false;

  async function publish(userId: string): Promise<boolean> {
    const now = s.clock();
    // Read before the data: a write landing meanwhile leaves this publish looking stale, not fresh.
    const epoch = await readDashboardEpoch(s.redis, s.keys);
    const verdict = await s.access.check(userId, 'member');
    let view: HomeView;
    if (verdict.ok) view = await build(userId, now);
    else {
      s.metrics.accessRefusals.inc({ action: 'home', code: verdict.code });
      view = notForYouHome(
        verdict.code === 'unavailable' ? 'I could not check your Slack account just now; open the tab again in a minute.' : 'Ask your zoomjwt admin if you think you should see it.',
      );
    }
    try {
      await s.slack.views.publish({ user_id: userId, view });
    } catch (err) {
      if ((err as { code?: string }).code === 'slack_webapi_rate_limited_error') rateLimited = true;
      log.warn({ user: userId, err: { message: slackErrorText(err) } }, 'views.publish failed');
      return false;
    }
    await home.published(userId, epoch, now);
    return true;
  }

  async function refresh(): Promise<number> {
    const now = s.clock();
    const since = now - HOME_VISITOR_TTL_MS;
    const [visitors, epoch] = await Promise.all([home.visitors(since), readDashboardEpoch(s.redis, s.keys)]);
    if (visitors.length === 0) return 0;
    const { epochs, ats } = await home.lastPublished(visitors);
    let published = 0;
    rateLimited = false;
    for (let i = 0; i < visitors.length && published < HOME_REFRESH_BATCH && !rateLimited; i++) {
      if (epochs[i] === epoch) continue;
      if (now - Number(ats[i] ?? 0) < HOME_REPUBLISH_MIN_MS) continue;
      if (await publish(visitors[i]!)) published++;
    }
    return published;
  }

  function registerSlack(app: App): void {
    app.event('app_home_opened', async ({ event }) => {
      if (event.tab !== 'home' || typeof event.user !== 'string') return;
      try {
        await home.addVisitor(event.user, s.clock());
        await publish(event.user);
      } catch (err) {
        log.error({ err }, 'home tab could not be published');
      }
    });
    for (const id of [HOME_ACTION.pagePrev, HOME_ACTION.pageNext]) {
      app.action<BlockButtonAction>(id, async ({ ack, body }) => {
        await ack();
        const page = Math.max(0, Math.min(10_000, Number.parseInt(body.actions[0]?.value ?? '0', 10) || 0));
        try {
          await home.setPage(body.user.id, page);
          await publish(body.user.id);
        } catch (err) {
          log.error({ err }, 'home tab page could not be published');
        }
      });
    }
  }

  return {
    name: 'home',
    registerSlack,
    processors: { actions: { [HOME_JOB]: async () => ({ republished: await refresh() }) } },
    async schedule() {
      await s.queues.actions.upsertJobScheduler(HOME_SCHEDULER_ID, { every: REFRESH_EVERY_MS }, { name: HOME_JOB, data: {} });
    },
    publish,
    refresh,
  };
}
