import { COMMAND } from './ids';
import { context, header, message, section, type SlackMessage } from './blocks';

/** Every subcommand of SPEC §2 with an example, grouped the way people use them. */
export const USAGE: Array<{ group: string; items: Array<[string, string]> }> = [
  {
    group: 'See where things stand',
    items: [
      ['status', 'every tracked app at a glance (add `public` to post it in the channel)'],
      ['app Legacy JWT', 'one app in depth: calls per day, endpoints, likely integration, history'],
      ['requests', 'pending approval requests'],
      ['audit Legacy JWT', 'latest audit entries (optionally for one app)'],
    ],
  },
  {
    group: 'Choose and organise apps (admins; `migrated`: the app\'s owner too)',
    items: [
      ['track 6aBcDeFgHiJkLmNoPq', 'start watching an app by its Zoom app id'],
      ['untrack Legacy JWT', 'stop watching an app (history is kept)'],
      ['owner Legacy JWT @dana', 'who drives the migration of an app'],
      ['migrated Legacy JWT callers moved to S2S', "the owner's word that the callers have moved"],
    ],
  },
  {
    group: 'Retire an app (two people sign off)',
    items: [
      ['disable Legacy JWT no calls for 14 days', 'ask to disable an app for a soak period'],
      ['enable Legacy JWT the SCIM sync broke', 'ask to turn a disabled app back on (one approver)'],
      ['remove 6aBcDeFgHiJkLmNoPq soak finished, no calls', 'ask to remove an app for good'],
    ],
  },
  {
    group: 'Chores (`poll` and `digest`: admins)',
    items: [
      ['poll', 'read the Zoom call logs now'],
      ['digest', "post or refresh today's digest"],
      ['help', 'this message'],
    ],
  },
];

export function helpMessage(intro?: string): SlackMessage {
  const blocks = [
    header('zoomjwt: retire Zoom JWT apps as a team'),
    ...(intro ? [section(intro)] : []),
    ...USAGE.map(({ group, items }) =>
      section(`*${group}*\n${items.map(([example, what]) => `\`${COMMAND} ${example}\` — ${what}`).join('\n')}`),
    ),
    context(
      '`<app>` is an app id or name, case-insensitive (quotes around a name are fine). ' +
        '`disable`, `enable`, `remove`, `owner`, `migrated` and `untrack` need the exact app id or full name; ' +
        '`app` and `audit` also take a unique prefix or part of the name. ' +
        'Disable and remove need two approvers; enable needs one. ' +
        'Reading and asking is for full members of this workspace; admins are `ADMINS` (or the approvers).',
    ),
  ];
  const fallback = `${intro ? `${intro}\n` : ''}Usage: ${USAGE.flatMap((g) => g.items.map(([e]) => `${COMMAND} ${e.split(' ')[0]}`)).join(', ')}`;
  return message(fallback, blocks);
}
