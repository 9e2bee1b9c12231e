/**
 * Zoom's text stays text (SPEC §5.6): whoever can rename a Marketplace app, or make an
 * integration call odd URLs, controls strings that zoomjwt shows. Generated hostile strings go in
 * as app names, endpoint URLs, reasons and notes; the real app runs every surface (status, app
 * detail, the card in each state, requests, audit, refusals, help, the digest and alerts), and
 * every byte that reaches Slack (acks, Web API calls with their fallback text, response URLs) is
 * searched for a mention, link or ping that the input carried.
 */
import fc from 'fast-check';
import { mrkdwnStrings } from '../helpers/mrkdwn';
import { ACTION } from '../../src/platform/slack/ids';
import { click, openRequest, PEOPLE, startHarness, waitForStatus, type Harness } from './approvals.harness';
import { ACCOUNT_ID } from '../helpers/env';
import { sleep, until } from '../helpers/polls';

/** Control sequences Slack acts on; each carries an id or host no real message of ours uses. */
const HOSTILE = [
  '<!channel>',
  '<!here|here>',
  '<!everyone>',
  '<!subteam^SHOSTILE1|@admins>',
  '<!date^1392734382^{date}|x>',
  '<@UHOSTILE1>',
  '<@UHOSTILE2|ceo>',
  '<#CHOSTILE1|general>',
  '<https://evil.example/x|click here>',
  '<http://evil.example>',
  '<mailto:evil@example.com|mail>',
];
/** What must never appear in anything sent to Slack. */
const FORBIDDEN = ['<!channel', '<!here', '<!everyone', '<!subteam', '<!date^1392734382', '<@UHOSTILE', '<#CHOSTILE', '<https://evil', '<http://evil', '<mailto:'];

const hostileText = fc
  .tuple(
    fc.array(fc.constantFrom(...HOSTILE), { minLength: 1, maxLength: 3 }),
    fc.array(fc.constantFrom('Payroll', 'sync', '*bold*', '_it_', '`code`', '~x~', '&amp;', '>', '\n', ' ', 'é', '🙂'), { maxLength: 4 }),
  )
  .map(([bad, words]) => {
    const parts = [...bad, ...words];
    return parts.join(' ').slice(0, 120);
  });

let h: Harness;
let seq = 0;

beforeAll(async () => {
  h = await startHarness('hostile', { REQUIRED_APPROVALS: '2', SOAK_PERIOD: '0', ADMINS: PEOPLE.alice, DIGEST_TZ: 'UTC' });
});
afterAll(async () => {
  await h.stop();
});

/** What zoomjwt sent to Slack since `callsFrom`/`responsesFrom`, plus the acks given. */
function sentSince(callsFrom: number, responsesFrom: number, acks: unknown[]): string {
  const calls = h.slack.calls.slice(callsFrom).map((c) => c.args);
  const responses = h.slack.responses.slice(responsesFrom).map((r) => r.body);
  return mrkdwnStrings([...calls, ...responses, ...acks]).join('\n');
}

/** The forbidden sequences found in `sent`, with some context. */
function leaks(sent: string): string[] {
  return FORBIDDEN.flatMap((f) => {
    const at = sent.indexOf(f);
    return at === -1 ? [] : [`${f} … ${sent.slice(Math.max(0, at - 60), at + 60)}`];
  });
}

it('no generated app name, endpoint, reason or note ever reaches Slack as a mention, link or ping', async () => {
  await fc.assert(
    fc.asyncProperty(hostileText, hostileText, hostileText, async (name, reason, note) => {
      seq += 1;
      const appId = `hostile${seq}${Math.random().toString(36).slice(2, 6)}`;
      const s = h.b.running.services;
      const callsFrom = h.slack.calls.length;
      const responsesFrom = h.slack.responses.length;
      const acks: unknown[] = [];
      /**
       * `poll` joins a poll already running (the one at start-up, on a busy machine), which may
       * have listed the account before this run's app existed: ask again until one has seen it.
       */
      const pollUntil = async (done: () => Promise<boolean>, what: string) => {
        for (let attempt = 1; ; attempt++) {
          await run('poll');
          try {
            return await until(async () => (await done()) || undefined, what, 3_000);
          } catch (err) {
            if (attempt >= 5) throw err;
          }
        }
      };
      const run = async (text: string, user: string = PEOPLE.alice) => {
        const res = await h.b.command(text, { user_id: user });
        expect(res.status).toBe(200);
        acks.push(res.json);
        const id = /Request `(R[0-9A-F]+)`/.exec(JSON.stringify(res.json))?.[1];
        return { ...(id ? { id } : {}) };
      };

      // Zoom knows the app under a hostile name, called at hostile URLs, some calls failing.
      const now = s.clock();
      h.zoom.addApp(ACCOUNT_ID, { app_id: appId, app_name: name });
      h.zoom.addLogs(appId, [
        { url_pattern: `https://api.zoom.us/v2/users/${encodeURIComponent(name)}/meetings`, time: String(now - 3_600_000), http_status: 200, method: 'GET', trace_id: `t-${appId}-1` },
        { url_pattern: `https://api.zoom.us/v2/${name}`, time: String(now - 1_800_000), http_status: 401, method: 'POST', trace_id: `t-${appId}-2` },
      ]);
      await s.apps.track({ appId, account: 'default', name: appId, trackedBy: 'test' }, now);
      await pollUntil(async () => (await s.apps.get(appId))?.name !== appId && (await s.usage.summary(appId)).ingested >= 2, 'a poll to record the app and fold its entries');

      await run('status');
      await run('status public');
      await run(`app ${appId}`);
      await run(`app ${name}`);
      await run(`owner ${appId} <@${PEOPLE.carol}>`);
      await run(`migrated ${appId} ${note}`, PEOPLE.carol);
      // By its exact (hostile) name: opens a request, withdrawn at once.
      const byName = await run(`disable ${name} ${reason}`);
      if (byName.id) await click(h.b, ACTION.cancel, byName.id, PEOPLE.alice);
      await run(`remove ${appId} ${reason}`);
      await run(`${name}`);
      await run(`audit ${appId}`);

      // The card in each state: pending, signed, awaiting the operator, done.
      const id = await openRequest(h.b, `disable ${appId} ${reason}`);
      await run('requests');
      await click(h.b, ACTION.approve, id, PEOPLE.bob);
      await click(h.b, ACTION.approve, id, PEOPLE.carol);
      await waitForStatus(h.store, id, 'awaiting_operator');
      await click(h.b, ACTION.taskDone, id, PEOPLE.alice);
      await waitForStatus(h.store, id, 'executed');

      // Disabled, still called and failing: the alerts. Then a rejected enable and the digest.
      await sleep(30);
      const after = s.clock() - 10;
      h.zoom.addLogs(appId, [
        { url_pattern: `https://api.zoom.us/v2/rooms/${name}`, time: String(after - 1), http_status: 401, method: 'GET', trace_id: `t-${appId}-3` },
        { url_pattern: `https://api.zoom.us/v2/report/${name}`, time: String(after), http_status: 200, method: 'GET', trace_id: `t-${appId}-4` },
      ]);
      await pollUntil(async () => (await s.usage.summary(appId)).ingested >= 4, 'the second poll');
      const enable = await openRequest(h.b, `enable ${appId} ${reason}`);
      await click(h.b, ACTION.reject, enable, PEOPLE.bob);
      await waitForStatus(h.store, enable, 'rejected');
      await run('digest');
      await until(async () => h.slack.callsTo('chat.postMessage').some((c) => c.args.channel === 'C0DIGEST' && c.at >= now) || h.slack.callsTo('chat.update').some((c) => c.args.channel === 'C0DIGEST' && c.at >= now), 'the digest');
      // Let alerts and DMs that follow the poll land before looking.
      await sleep(200);
      await run(`audit ${appId}`);

      const sent = sentSince(callsFrom, responsesFrom, acks);
      // The name did reach Slack, as text (escaped), so the search above looked at real output.
      expect(sent).toContain('&lt;');
      expect(leaks(sent)).toEqual([]);
    }),
    { numRuns: 6, endOnFailure: true },
  );
  // Six whole journeys through the app; a busy machine can take a minute.
}, 120_000);
