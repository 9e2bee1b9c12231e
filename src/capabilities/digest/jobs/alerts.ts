/**
 * Evidence alerts (SPEC §4.4), posted in the digest channel the moment the evidence changes:
 *  - calls succeed after an app was marked disabled ("it may not really be disabled");
 *  - calls fail after disable ("something still depends on it"), with a Request enable button;
 *  - a tracked app is gone from Zoom; a new endpoint family appears on a tracked app;
 *  - polling of an account has failed for an hour.
 *
 * Each alert is posted once per event: before posting, the runner claims the event's key with
 * `SET NX` (app + disabledAt, app + family, account + failingSince…), so repeated polls and any
 * number of workers never repeat it. A post that fails releases its claim so the next check
 * tries again: silence must never look like "nothing happened".
 */
import type { Redis } from 'ioredis';
import type { webApi } from '@slack/bolt';
import { escapeMrkdwn, formatCount, timeAgo, truncate } from '../../../kernel/format';
import { MARKETPLACE_CREATED_APPS_URL } from '../../evidence';
import type { TrackedApp } from '../../evidence';
import type { Logger } from '../../../log';
import { actions, button, message, section, type SlackMessage } from '../../../platform/slack/blocks';
import { ACTION, COMMAND } from '../../../platform/slack/ids';
import type { AppStore } from '../../evidence';
import type { AuditLog } from '../../audit';
import type { HealthStore } from '../../evidence';
import type { Keys } from '../../../platform/redis/keys';
import type { UsageStore } from '../../evidence';
import type { PollEvent } from '../../evidence';
import type { Clock } from '../../../kernel/clock';
import { createAlertClaims } from '../stores/alertClaims';

/** Polling counts as "failing for an hour" from this long after the first failure (ms). */
export const POLL_FAILING_ALERT_MS = 3_600_000;
/** Alert claims are kept this long (ms); an event older than that is not news any more. */
export const ALERT_CLAIM_TTL_MS = 180 * 86_400_000;

export type AlertKind = 'succeeded_after_disable' | 'failed_after_disable' | 'app_gone' | 'new_family' | 'poll_failing';

export interface AlertDeps {
  redis: Redis;
  keys: Keys;
  slack: webApi.WebClient;
  apps: AppStore;
  usage: UsageStore;
  health: HealthStore;
  audit: AuditLog;
  log: Logger;
  clock: Clock;
  channel: string;
}

export interface Alerts {
  /** Handles a poll event (app_gone, new_family; poll_completed runs `checkAccount`). */
  onEvent(event: PollEvent): Promise<void>;
  /** Checks one account's disabled apps and poll health; returns the alerts posted. */
  checkAccount(account: string): Promise<AlertKind[]>;
}

const appLabel = (name: string) => `*${escapeMrkdwn(truncate(name, 80))}*`;

export function createAlerts(deps: AlertDeps): Alerts {
  const { log } = deps;
  const claims = createAlertClaims(deps.redis, deps.keys);
  const claimKey = claims.key;

  /** Claims the event, posts, audits. False when the event was already alerted. */
  async function fire(
    kind: AlertKind,
    key: string,
    msg: SlackMessage,
    audit: { appId?: string; account?: string; summary: string; details?: Record<string, string | number> },
  ): Promise<boolean> {
    if (!(await claims.claim(key, deps.clock(), ALERT_CLAIM_TTL_MS))) return false;
    try {
      await deps.slack.chat.postMessage({ channel: deps.channel, text: msg.text, blocks: msg.blocks ?? [], unfurl_links: false });
    } catch (err) {
      await claims.release(key);
      log.warn({ alert: kind, err: { message: (err as Error).message } }, 'alert could not be posted; it will be retried on the next check');
      throw err;
    }
    await deps.audit.append({
      type: 'alert',
      actor: 'system',
      ...(audit.appId ? { appId: audit.appId } : {}),
      ...(audit.account ? { account: audit.account } : {}),
      summary: audit.summary,
      details: { kind, ...audit.details },
    });
    log.info({ alert: kind, appId: audit.appId, account: audit.account }, 'alert posted');
    return true;
  }

  async function checkDisabled(app: TrackedApp, now: number, fired: AlertKind[]): Promise<void> {
    const disabledAt = app.disabledAt;
    if (app.state !== 'disabled' || disabledAt === undefined) return;
    const summary = await deps.usage.summary(app.appId);
    // The summary's exact last-success / last-failure times decide; counts are for the message.
    if (summary.lastSuccess !== undefined && summary.lastSuccess > disabledAt) {
      const ok = await deps.usage.successesSince(app.appId, disabledAt, now);
      const text =
        `:rotating_light: ${appLabel(app.name)} was marked disabled ${timeAgo(disabledAt, now)}` +
        `${app.disabledBy ? ` by <@${app.disabledBy}>` : ''}, but ${formatCount(Math.max(ok.count, 1))} call${ok.count === 1 ? '' : 's'} succeeded since ` +
        `(last ${timeAgo(summary.lastSuccess, now)}) — it may not really be disabled. Check it in the <${MARKETPLACE_CREATED_APPS_URL}|Marketplace> · \`${COMMAND} app ${app.appId}\``;
      const posted = await fire('succeeded_after_disable', claimKey('succeeded', app.appId, disabledAt), message(text, [section(text)], 'in_channel'), {
        appId: app.appId,
        account: app.account,
        summary: `Alert: ${app.name} still answers calls after it was marked disabled`,
        details: { calls: ok.count, disabledAt },
      });
      if (posted) fired.push('succeeded_after_disable');
    }
    if (summary.lastFailure !== undefined && summary.lastFailure > disabledAt) {
      const failed = await deps.usage.failuresSince(app.appId, disabledAt, now);
      const top = failed.endpoints.slice(0, 5).map((e) => `\`${escapeMrkdwn(truncate(e.key, 80))}\` (${formatCount(e.count)})`);
      const more = failed.endpoints.length > 5 ? ` and ${failed.endpoints.length - 5} more` : '';
      const n = Math.max(failed.count, 1);
      const text =
        `:warning: Something still depends on ${appLabel(app.name)}: ${formatCount(n)} failed call${n === 1 ? '' : 's'} to ${top.join(', ') || 'its endpoints'}${more} ` +
        `since it was disabled ${timeAgo(disabledAt, now)}. Find the caller and migrate it, or roll back with an enable request.`;
      const posted = await fire(
        'failed_after_disable',
        claimKey('failed', app.appId, disabledAt),
        message(text, [section(text), actions('alert_actions', [button('Request enable', ACTION.alertRequestEnable, app.appId, 'primary')])], 'in_channel'),
        {
          appId: app.appId,
          account: app.account,
          summary: `Alert: ${n} failed call${n === 1 ? '' : 's'} to ${app.name} since it was disabled`,
          details: { calls: n, disabledAt },
        },
      );
      if (posted) fired.push('failed_after_disable');
    }
  }

  async function checkAccount(account: string): Promise<AlertKind[]> {
    const now = deps.clock();
    const fired: AlertKind[] = [];
    const apps = (await deps.apps.list()).filter((a) => a.account === account);
    for (const app of apps) {
      try {
        await checkDisabled(app, now, fired);
      } catch (err) {
        log.warn({ appId: app.appId, err: { message: (err as Error).message } }, 'alert check failed for app');
      }
    }
    const health = await deps.health.get(account);
    if (health.failingSince !== undefined && now - health.failingSince >= POLL_FAILING_ALERT_MS) {
      const error = health.lastError ? `: ${escapeMrkdwn(truncate(health.lastError, 300))}` : '';
      const text =
        `:red_circle: Polling Zoom account *${escapeMrkdwn(account)}* has failed for ${timeAgo(health.failingSince, now).replace(' ago', '')} ` +
        `(${health.consecutiveFailures} poll${health.consecutiveFailures === 1 ? '' : 's'} in a row)${error}. ` +
        `Until it works, the call counts of its apps are stale — silence does not mean nobody calls them.`;
      const posted = await fire('poll_failing', claimKey('poll-failing', account, health.failingSince), message(text, [section(text)], 'in_channel'), {
        account,
        summary: `Alert: polling account ${account} has failed for an hour`,
        details: { failingSince: health.failingSince, failures: health.consecutiveFailures },
      });
      if (posted) fired.push('poll_failing');
    }
    return fired;
  }

  async function onEvent(event: PollEvent): Promise<void> {
    switch (event.type) {
      case 'app_gone': {
        const app = await deps.apps.get(event.appId);
        const text =
          `:ghost: Tracked app ${appLabel(event.name)} (\`${escapeMrkdwn(event.appId)}\`) no longer exists in Zoom: it was removed outside zoomjwt. ` +
          `Nothing can call it any more. \`${COMMAND} app ${event.appId}\` shows its history.`;
        await fire('app_gone', claimKey('gone', event.appId, app?.goneAt ?? 'x'), message(text, [section(text)], 'in_channel'), {
          appId: event.appId,
          account: event.account,
          summary: `Alert: ${event.name} disappeared from Zoom`,
        });
        return;
      }
      case 'new_family': {
        // One claim per family: a family alerted once is never alerted again for this app.
        const fresh: string[] = [];
        for (const family of event.families) {
          if (await claims.claim(claimKey('family', event.appId, family), deps.clock(), ALERT_CLAIM_TTL_MS)) fresh.push(family);
        }
        if (fresh.length === 0) return;
        const list = fresh.map((f) => `\`${escapeMrkdwn(truncate(f, 80))}\``).join(', ');
        const text =
          `:new: ${appLabel(event.name)} started calling ${fresh.length === 1 ? 'a new endpoint family' : 'new endpoint families'}: ${list}. ` +
          `A new caller may be using its key. \`${COMMAND} app ${event.appId}\``;
        try {
          await deps.slack.chat.postMessage({ channel: deps.channel, text, blocks: [section(text)], unfurl_links: false });
        } catch (err) {
          await claims.release(...fresh.map((f) => claimKey('family', event.appId, f)));
          throw err;
        }
        await deps.audit.append({
          type: 'alert',
          actor: 'system',
          appId: event.appId,
          account: event.account,
          summary: `Alert: ${event.name} calls new endpoint families: ${fresh.join(', ')}`,
          details: { kind: 'new_family', families: fresh.join(',') },
        });
        return;
      }
      case 'poll_completed':
        await checkAccount(event.account);
        return;
      default:
        return;
    }
  }

  return { onEvent, checkAccount };
}
