/**
 * Ack latency: signed `/zoomjwt status` commands and approve clicks on live requests against the
 * real app, and the same bodies against the bare Bolt baseline, in interleaved rounds (each round
 * runs every concurrency level, app and baseline alternating which goes first), so drifts of this
 * shared machine hit both sides alike.
 */
import type { FakeSlack } from '../dev/fakes/slackServer';
import { actionBody, commandBody, postSigned } from '../dev/fakes/signing';
import { ACTION } from '../src/platform/slack/ids';
import { runLoad } from './load';
import { summarise, type LatencySummary } from './stats';

export const LEVELS = [1, 16, 64] as const;
export type Level = (typeof LEVELS)[number];
export type Kind = 'status' | 'click';
type Side = 'app' | 'baseline' | 'baseline_tiny';

export interface AckOptions {
  appUrl: string;
  baselineUrl: string;
  signingSecret: string;
  slack: FakeSlack;
  teamId: string;
  /** Apps to open requests on (each round opens one disable request per app). */
  appIds: string[];
  requester: string;
  approvers: string[];
  rounds: number;
  statusCount: Record<Level, number>;
  clickCount: Record<Level, number>;
  /** Called after the warm-up round (memory mark). */
  onWarm?: () => void | Promise<void>;
  /** Called after every round (memory after a full collection). */
  afterRound?: (round: number) => void | Promise<void>;
  /** CPU time used so far by the app and by the baseline process (µs). */
  cpu: Record<'app' | 'baseline', () => Promise<number>>;
  /** Gives the baseline the constant it answers `status` with (a real status answer's JSON). */
  setBaselineStatus(json: string): Promise<void>;
  /** Called around the status and the click loads at concurrency 16 of the last round (profiling). */
  around?: (phase: 'start' | 'stop', kind: Kind) => Promise<void>;
  log: (line: string) => void;
}

export interface AckResult {
  /** CPU time each process spent per request (µs), by side and kind, over all timed loads. */
  cpu_us_per_request: Record<string, number>;
  status: Record<string, LatencySummary>;
  click: Record<string, LatencySummary>;
  /** Bare Bolt answering `status` with a constant copy of the app's status answer. */
  baseline: Record<string, LatencySummary>;
  /** Bare Bolt answering with a two-word constant. */
  baseline_tiny: Record<string, LatencySummary>;
  baseline_click: Record<string, LatencySummary>;
  /** Size of the app's status answer (bytes, the largest mean of a load). */
  status_answer_bytes: number;
  /** Clicks whose answer was a signature (live requests), out of all timed clicks. */
  live_clicks: number;
  rounds: number;
}

/** Waits (up to 15 s) until `done()` holds, then a little longer for card updates in flight. */
async function settle(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
}

/**
 * Waits until the app has stopped calling Slack for `quietMs` (at most 15 s): the work that
 * follows opening or cancelling requests (cards, thread posts, jobs) must not be billed to the
 * next timed load.
 */
async function quiesce(slack: AckOptions['slack'], quietMs = 300): Promise<void> {
  const deadline = Date.now() + 15_000;
  let seen = slack.calls.length + slack.responses.length;
  let since = Date.now();
  while (Date.now() < deadline && Date.now() - since < quietMs) {
    await new Promise((r) => setTimeout(r, 25));
    const now = slack.calls.length + slack.responses.length;
    if (now !== seen) {
      seen = now;
      since = Date.now();
    }
  }
}

export async function runAck(o: AckOptions): Promise<AckResult> {
  const lat = new Map<string, { latencies: number[]; wallMs: number; errors: number }>();
  const cpuUs = new Map<string, { us: number; n: number }>();
  const record = (side: Side, kind: Kind, level: Level, r: { latencies: number[]; wallMs: number; errors: number }) => {
    const key = `${side}:${kind}:${level}`;
    const acc = lat.get(key) ?? { latencies: [], wallMs: 0, errors: 0 };
    acc.latencies.push(...r.latencies);
    acc.wallMs += r.wallMs;
    acc.errors += r.errors;
    lat.set(key, acc);
  };
  const statusBody = () =>
    commandBody({ text: 'status', team_id: o.teamId, user_id: o.requester, response_url: `${o.slack.responseUrlBase}status` });
  // The same request shape; the baseline answers this text with a two-word constant.
  const tinyBody = () =>
    commandBody({ text: 'tiny', team_id: o.teamId, user_id: o.requester, response_url: `${o.slack.responseUrlBase}status` });

  // The baseline answers `status` with a constant of the app's own answer, byte for byte, so the
  // ratio compares the work behind an answer, not the size of what is sent; the tiny constant
  // shows what the size alone costs.
  const sample = await postSigned(o.appUrl, statusBody(), { signingSecret: o.signingSecret });
  if (!sample.json) throw new Error(`status answer is not JSON (HTTP ${sample.status})`);
  await o.setBaselineStatus(sample.body);
  const clickBody = (ids: string[], k: number) =>
    actionBody({
      action_id: ACTION.approve,
      value: ids[k % ids.length]!,
      user_id: o.approvers[Math.floor(k / ids.length) % o.approvers.length]!,
      team_id: o.teamId,
      channel_id: 'C0APPROVALS',
      response_url: `${o.slack.responseUrlBase}click`,
    });
  const slackCommand = (url: string, text: string) =>
    postSigned(url, commandBody({ text, team_id: o.teamId, user_id: o.requester, response_url: `${o.slack.responseUrlBase}open` }), {
      signingSecret: o.signingSecret,
    });

  let statusBytes = 0;
  let liveClicks = 0;
  let timedClicks = 0;
  for (let round = 0; round <= o.rounds; round++) {
    const warm = round === 0;
    const scale = warm ? 0.25 : 1;
    // Fresh live requests: one disable request per app, each able to take (required − 1) signatures.
    const ids: string[] = [];
    for (const appId of o.appIds) {
      const res = await slackCommand(`${o.appUrl}`, `disable ${appId} benchmark round ${round}`);
      const id = /`(R[0-9A-F]{10})`/.exec(JSON.stringify(res.json ?? {}))?.[1];
      if (id) ids.push(id);
    }
    if (ids.length === 0) throw new Error('no approval request could be opened');
    await quiesce(o.slack);
    const respondedBefore = o.slack.responses.filter((r) => r.path.endsWith('/click')).length;
    let k = 0;
    for (const level of LEVELS) {
      for (const kind of ['status', 'click'] as const) {
        // Each round and level changes which side goes first.
        const all: Side[] = kind === 'status' ? ['app', 'baseline', 'baseline_tiny'] : ['app', 'baseline'];
        const shift = (round + level) % all.length;
        const sides = [...all.slice(shift), ...all.slice(0, shift)];
        const count = Math.max(level, Math.round((kind === 'status' ? o.statusCount[level] : o.clickCount[level]) * scale));
        const base = k;
        for (const side of sides) {
          const url = side === 'app' ? o.appUrl : o.baselineUrl;
          const proc = side === 'app' ? 'app' : 'baseline';
          const profiled = !warm && round === o.rounds && level === 16 && side === 'app';
          if (profiled) await o.around?.('start', kind);
          const answered = o.slack.responses.filter((r) => r.path.endsWith('/click')).length;
          const cpu0 = await o.cpu[proc]();
          const r = await runLoad({
            url,
            signingSecret: o.signingSecret,
            concurrency: level,
            count,
            body: kind === 'click' ? (i) => clickBody(ids, base + i) : side === 'baseline_tiny' ? tinyBody : statusBody,
          });
          if (side === 'app' && kind === 'click') {
            // A click's answer and card update follow its ack. Let them finish before the next
            // load, so that load's figures are its own (the baseline has no follow-up work).
            await settle(() => o.slack.responses.filter((x) => x.path.endsWith('/click')).length >= answered + count);
          }
          if (profiled) await o.around?.('stop', kind);
          const used = (await o.cpu[proc]()) - cpu0;
          if (!warm) {
            const acc = cpuUs.get(`${side}:${kind}`) ?? { us: 0, n: 0 };
            cpuUs.set(`${side}:${kind}`, { us: acc.us + used, n: acc.n + count });
          }
          if (side === 'app' && kind === 'status') statusBytes = Math.max(statusBytes, r.meanBytes);
          if (!warm) record(side, kind, level, r);
        }
        if (kind === 'click') {
          k += count;
          if (!warm) timedClicks += count;
        }
      }
    }
    // Answers to clicks go to the response URL after the ack; give the last ones time to land.
    await new Promise((r) => setTimeout(r, 1500));
    const answers = o.slack.responses.filter((r) => r.path.endsWith('/click')).slice(respondedBefore);
    if (!warm) liveClicks += answers.filter((a) => /Signed \(/.test(JSON.stringify(a.body))).length;
    for (const id of ids) {
      await postSigned(
        `${o.appUrl}`,
        actionBody({ action_id: ACTION.cancel, value: id, user_id: o.requester, team_id: o.teamId, response_url: `${o.slack.responseUrlBase}cancel` }),
        { signingSecret: o.signingSecret },
      );
    }
    // Cancels finish after their ack; the next round's requests must not meet them still open.
    await new Promise((r) => setTimeout(r, 1000));
    o.log(`  ack round ${round}${warm ? ' (warm-up, not counted)' : ''}: ${ids.length} live requests, ${k} clicks`);
    if (warm) await o.onWarm?.();
    await o.afterRound?.(round);
  }
  const out = (side: Side, kind: Kind) =>
    Object.fromEntries(
      LEVELS.map((level) => {
        const v = lat.get(`${side}:${kind}:${level}`) ?? { latencies: [], wallMs: 0, errors: 0 };
        return [`c${level}`, summarise(v.latencies, v.wallMs, v.errors)];
      }),
    );
  return {
    cpu_us_per_request: Object.fromEntries([...cpuUs].map(([key, v]) => [key, Math.round(v.us / Math.max(1, v.n))])),
    status: out('app', 'status'),
    click: out('app', 'click'),
    baseline: out('baseline', 'status'),
    baseline_tiny: out('baseline_tiny', 'status'),
    baseline_click: out('baseline', 'click'),
    status_answer_bytes: statusBytes,
    live_clicks: timedClicks ? liveClicks / timedClicks : 0,
    rounds: o.rounds,
  };
}
