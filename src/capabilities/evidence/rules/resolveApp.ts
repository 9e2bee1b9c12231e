/**
 * Turning what a person typed into one app (SPEC §2): `<app>` is an app id, or a name matched
 * case-insensitively — the exact name first, then a unique prefix, then a unique substring.
 * Anything ambiguous or unknown comes back with the candidates, never a guess.
 *
 * `exact: true` is for every command that changes something (requests, untrack, owner,
 * migrated; for `remove` typing the app is also the confirmation): only the exact id or the exact
 * full name (case-insensitive) is accepted; a partial name is refused with the apps it could
 * have meant. Partial names serve reads (`app`) only.
 *
 * Pure: no I/O, so every rule is unit-tested and the listeners only render the result.
 */
import { escapeMrkdwn, truncate } from '../../../kernel/format';
import { COMMAND } from '../../../platform/slack/ids';
import { message, section, type SlackMessage } from '../../../platform/slack/blocks';

export interface ResolvableApp {
  appId: string;
  name: string;
  account?: string;
}

export type ResolveFailure = 'empty' | 'unknown' | 'ambiguous' | 'not_exact';

export type Resolution<T extends ResolvableApp> =
  | { ok: true; app: T; by: 'id' | 'name' | 'prefix' | 'substring' }
  | {
      ok: false;
      reason: ResolveFailure;
      /** The query as understood (trimmed, quotes removed). */
      query: string;
      /**
       * ambiguous / not_exact: the apps that matched; unknown: every app to choose from
       * (sorted by name); empty: every app.
       */
      candidates: T[];
    };

/** Names are compared without case and with runs of whitespace folded. */
function fold(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** `"Legacy JWT"`, `“Legacy JWT”` and `` `6aBc` `` are read as what is inside the quotes. */
export function unquote(text: string): string {
  const t = text.trim();
  const m = /^(["“”'`])(.*)(["“”'`])$/s.exec(t);
  return m ? m[2]!.trim() : t;
}

const byName = <T extends ResolvableApp>(a: T, b: T) => a.name.localeCompare(b.name) || a.appId.localeCompare(b.appId);

export function resolveApp<T extends ResolvableApp>(rawQuery: string, apps: readonly T[], opts: { exact?: boolean } = {}): Resolution<T> {
  const query = unquote(rawQuery);
  const sorted = [...apps].sort(byName);
  if (query === '') return { ok: false, reason: 'empty', query, candidates: sorted };

  // Ids are case-sensitive in Zoom; an exact id always wins over a name.
  const byId = sorted.find((a) => a.appId === query);
  if (byId) return { ok: true, app: byId, by: 'id' };

  const q = fold(query);
  const exact = sorted.filter((a) => fold(a.name) === q);
  if (exact.length === 1) return { ok: true, app: exact[0]!, by: 'name' };
  // Two apps with the same name (in two accounts): only the id can tell them apart.
  if (exact.length > 1) return { ok: false, reason: 'ambiguous', query, candidates: exact };

  const prefix = sorted.filter((a) => fold(a.name).startsWith(q));
  const substring = prefix.length ? prefix : sorted.filter((a) => fold(a.name).includes(q) || a.appId.toLowerCase().includes(q.toLowerCase()));
  if (opts.exact) {
    return substring.length
      ? { ok: false, reason: 'not_exact', query, candidates: substring }
      : { ok: false, reason: 'unknown', query, candidates: sorted };
  }
  if (prefix.length === 1) return { ok: true, app: prefix[0]!, by: 'prefix' };
  if (prefix.length > 1) return { ok: false, reason: 'ambiguous', query, candidates: prefix };
  const inner = sorted.filter((a) => fold(a.name).includes(q));
  if (inner.length === 1) return { ok: true, app: inner[0]!, by: 'substring' };
  if (inner.length > 1) return { ok: false, reason: 'ambiguous', query, candidates: inner };
  return { ok: false, reason: 'unknown', query, candidates: sorted };
}

/** How many candidates a reply lists before "…and N more". */
export const MAX_CANDIDATES_SHOWN = 15;

/** `• *Name* `id`` lines, at most `max`, then how many more there are. */
export function candidateLines(candidates: readonly ResolvableApp[], max = MAX_CANDIDATES_SHOWN, withAccount = false): string {
  const lines = candidates
    .slice(0, max)
    .map((a) => `• *${escapeMrkdwn(truncate(a.name, 80))}* \`${escapeMrkdwn(a.appId)}\`${withAccount && a.account ? ` (${escapeMrkdwn(a.account)})` : ''}`);
  if (candidates.length > max) lines.push(`…and ${candidates.length - max} more`);
  return lines.join('\n');
}

/**
 * The sentence (mrkdwn) for a failed resolution, with the candidates. `usage` is the
 * subcommand's usage line, shown when nothing was typed.
 */
export function describeResolveFailure(
  result: Extract<Resolution<ResolvableApp>, { ok: false }>,
  opts: { usage?: string; withAccount?: boolean } = {},
): string {
  const shown = `\`${escapeMrkdwn(truncate(result.query, 80).replace(/`/g, "'"))}\``;
  const list = candidateLines(result.candidates, MAX_CANDIDATES_SHOWN, opts.withAccount);
  const none = 'No app is tracked yet: add one with `' + COMMAND + ' track <appId>`.';
  switch (result.reason) {
    case 'empty':
      return `${opts.usage ? `Usage: ${opts.usage}\n` : ''}Which app? Give its id or name.${result.candidates.length ? `\n${list}` : `\n${none}`}`;
    case 'ambiguous':
      return `${shown} matches ${result.candidates.length} apps; nothing was changed. Use the id or the full name:\n${list}`;
    case 'not_exact':
      return `${shown} is not the exact id or full name of an app; nothing was changed. Type one of these exactly:\n${list}`;
    case 'unknown':
      return result.candidates.length
        ? `No tracked app matches ${shown}; nothing was changed. Tracked apps:\n${list}`
        : `No tracked app matches ${shown}. ${none}`;
  }
}

/** The same as an ephemeral Slack message. */
export function resolveFailureMessage(
  result: Extract<Resolution<ResolvableApp>, { ok: false }>,
  opts: { usage?: string; withAccount?: boolean } = {},
): SlackMessage {
  const text = describeResolveFailure(result, opts);
  const fallback =
    result.reason === 'empty'
      ? `Which app? ${opts.usage ?? ''}`.trim()
      : `${result.reason === 'unknown' ? 'No tracked app matches' : result.reason === 'ambiguous' ? 'Several apps match' : 'Not an exact match for'} "${escapeMrkdwn(truncate(result.query, 80))}"`;
  return message(fallback, [section(text)]);
}

/**
 * Splits `<app> <rest>` when app names hold spaces: a quoted app first, then the longest run of
 * leading words that is an exact id or full name, else the first word. The one splitter of every
 * command that takes an app and then free text (`owner`, `migrated`, `disable|enable|remove`).
 */
export function splitAppArgs(args: string, apps: ReadonlyArray<{ appId: string; name: string }>): { query: string; rest: string } {
  const text = args.trim();
  // `s`: a quoted name may run over a line break, as the request commands always allowed.
  const quoted = /^(["“”'`])(.+?)(["“”'`])(?:\s+([\s\S]*))?$/s.exec(text);
  if (quoted) return { query: quoted[2]!.trim(), rest: (quoted[4] ?? '').trim() };
  const words = text.split(/\s+/).filter(Boolean);
  for (let k = words.length; k >= 1; k--) {
    const query = words.slice(0, k).join(' ');
    if (resolveApp(query, apps, { exact: true }).ok) return { query, rest: words.slice(k).join(' ') };
  }
  return { query: words[0] ?? '', rest: words.slice(1).join(' ') };
}
