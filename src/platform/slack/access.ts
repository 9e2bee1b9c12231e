/**
 * Who may do what (SPEC §5.5), checked in one place. The rules are plain: anyone may read `help`;
 * full members of the installed workspace may read evidence and open requests; admins (`ADMINS`,
 * or the approvers when it is unset) change what is watched; approvers sign. The facts come from
 * Slack (`users.info`, `usergroups.users.list`), kept for a short while so a burst of commands
 * costs one lookup; when Slack cannot answer, the answer is no, with a sentence that says so.
 */
import type { webApi } from '@slack/bolt';
import { accountRefusal, isGroupId, type InstalledIn, type SlackUserFacts } from '../../kernel/people';
import type { Logger } from '../../log';
import type { Clock } from '../../kernel/clock';
import { slackErrorText } from './errors';

/** What a person must be for an action. */
export type Role = 'anyone' | 'member' | 'admin' | 'approver';

export type AccessVerdict = { ok: true } | { ok: false; code: 'not_member' | 'not_admin' | 'not_approver' | 'unavailable'; message: string };

/** How long Slack's word on a person or a user group is kept (ms). Short: a guest demoted or a
 * member removed from a group loses access within a minute. */
export const ACCESS_CACHE_MS = 60_000;
/** Entries kept at most per cache; the oldest go first. */
const CACHE_LIMIT = 5_000;

export interface Access {
  /** Whether `userId` may act in `role`. Never throws: Slack failures are a refusal. */
  check(userId: string, role: Role): Promise<AccessVerdict>;
  /** Whether `userId` is listed in ADMINS (directly or through a user group) and a full member. */
  isAdmin(userId: string): Promise<boolean>;
}

/** Who may do it, for the refusal sentence. */
const WHO: Record<'member' | 'admin', string> = {
  member: 'full members of this Slack workspace',
  admin: 'zoomjwt admins (ADMINS, or the approvers when ADMINS is unset)',
};

/**
 * A small time-bounded cache whose lookups in flight are shared. Only answers that `keep`
 * approves are kept: a Slack outage must not be remembered for a minute.
 */
function cached<T>(ttlMs: number, clock: Clock, load: (key: string) => Promise<T>, keep: (value: T) => boolean) {
  const values = new Map<string, { at: number; value: T }>();
  const inflight = new Map<string, Promise<T>>();
  return (key: string): Promise<T> => {
    const hit = values.get(key);
    if (hit && clock() - hit.at < ttlMs) return Promise.resolve(hit.value);
    let running = inflight.get(key);
    if (!running) {
      running = load(key)
        .then((value) => {
          if (!keep(value)) return value;
          if (values.size >= CACHE_LIMIT) values.delete(values.keys().next().value as string);
          values.set(key, { at: clock(), value });
          return value;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, running);
    }
    return running;
  };
}

/** Slack's answer about one person: the facts, or why there are none. */
type Facts = { ok: true; user: SlackUserFacts } | { ok: false; error: string };
/** A user group's members, or why they are unknown. */
type Members = { ok: true; users: string[] } | { ok: false; error: string };

export function createAccess(deps: {
  slack: webApi.WebClient;
  approvers: readonly string[];
  admins: readonly string[];
  installed: () => InstalledIn;
  log: Logger;
  clock: Clock;
}): Access {
  const { log } = deps;
  const answered = (v: { ok: boolean }) => v.ok;
  const userInfo = cached<Facts>(ACCESS_CACHE_MS, deps.clock, async (userId) => {
    try {
      const res = await deps.slack.users.info({ user: userId });
      return { ok: true, user: (res.user ?? {}) };
    } catch (err) {
      const code = slackErrorText(err);
      if (code !== 'user_not_found') log.warn({ user: userId, err: { message: code } }, 'users.info failed during an access check');
      return { ok: false, error: code };
    }
  }, answered);
  const groupMembers = cached<Members>(ACCESS_CACHE_MS, deps.clock, async (group) => {
    try {
      const res = await deps.slack.usergroups.users.list({ usergroup: group });
      return { ok: true, users: res.users ?? [] };
    } catch (err) {
      const code = slackErrorText(err);
      if (code !== 'plan_upgrade_required' && code !== 'no_such_subteam') log.warn({ group, err: { message: code } }, 'user group lookup failed');
      return { ok: false, error: code };
    }
  }, answered);

  /** Whether `userId` is in the list (ids or user groups); `note` says why a group could not count. */
  async function listed(userId: string, list: readonly string[]): Promise<{ listed: boolean; note: string }> {
    if (list.includes(userId)) return { listed: true, note: '' };
    let note = '';
    for (const group of list.filter(isGroupId)) {
      const members = await groupMembers(group);
      if (members.ok && members.users.includes(userId)) return { listed: true, note: '' };
      if (!members.ok && members.error === 'plan_upgrade_required') {
        note = ' (a user group is listed, but user groups need a paid Slack plan, so its members cannot count here; ask your admin to list people instead)';
      }
    }
    return { listed: false, note };
  }

  const unavailable: AccessVerdict = {
    ok: false, code: 'unavailable', message: ':warning: I could not check your Slack account just now, so nothing was done. Try again in a minute.',
  };

  /** Why `userId` is not a full member, undefined when they are, or 'unavailable' (Slack did not answer). */
  async function notMember(userId: string): Promise<string | undefined> {
    const facts = await userInfo(userId);
    // Slack's definite "no such person here" is an answer; anything else is Slack not answering.
    if (!facts.ok) return facts.error === 'user_not_found' || facts.error === 'user_not_visible' ? 'Slack does not know your account here' : 'unavailable';
    return accountRefusal(facts.user, deps.installed());
  }

  async function member(userId: string): Promise<AccessVerdict> {
    const why = await notMember(userId);
    if (why === 'unavailable') return unavailable;
    if (why) return { ok: false, code: 'not_member', message: `:no_entry: Only ${WHO.member} can use zoomjwt, and ${why}. Nothing was changed.` };
    return { ok: true };
  }

  async function inList(userId: string, role: 'admin' | 'approver'): Promise<AccessVerdict> {
    const list = role === 'admin' ? deps.admins : deps.approvers;
    const found = await listed(userId, list);
    const code = role === 'admin' ? 'not_admin' : 'not_approver';
    const lead = role === 'admin' ? `Only ${WHO.admin} can do that` : 'You are not an approver for zoomjwt requests';
    if (!found.listed) return { ok: false, code, message: `:no_entry: ${lead}${found.note}. Nothing was changed.` };
    // Listed, and still a full member: a deactivated or demoted account loses its role at once.
    const why = await notMember(userId);
    if (why === 'unavailable') return unavailable;
    if (why) return { ok: false, code, message: `:no_entry: ${lead}: ${why}. Nothing was changed.` };
    return { ok: true };
  }

  return {
    async check(userId, role) {
      if (role === 'anyone') return { ok: true };
      if (role === 'member') return member(userId);
      return inList(userId, role);
    },
    async isAdmin(userId) {
      return (await inList(userId, 'admin')).ok;
    },
  };
}
