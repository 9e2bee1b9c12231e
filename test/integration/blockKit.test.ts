/**
 * The fake Slack holds the app to Slack's Block Kit limits, over HTTP, as Slack does: a message,
 * update, ephemeral or view past a limit is answered `invalid_blocks` (a response_url post: HTTP
 * 400) and never carried out. And the app's own views stay inside them, even for app names at the
 * limits, with fresh block ids on every card update.
 */
import { ACTION } from '../../src/platform/slack/ids';
import { callsChart } from '../../src/capabilities/evidence/views/charts';
import { checkMessage } from '../../dev/fakes/blockKit';
import { card, click, openRequest, PEOPLE, seedApp, startHarness, waitForStatus, type Harness } from './approvals.harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('block-kit');
});
afterAll(async () => {
  // The refusals this file provokes on purpose are not the app's.
  h.slack.refused.length = 0;
  await h.stop();
});

const text = (t: string) => ({ type: 'mrkdwn', text: t });
const plain = (t: string) => ({ type: 'plain_text', text: t });
const section = (t: string) => ({ type: 'section', text: text(t) });
const button = (over: Record<string, unknown> = {}) => ({ type: 'button', text: plain('Go'), action_id: 'go', value: 'v', ...over });
const actions = (...elements: unknown[]) => ({ type: 'actions', elements });
const confirm = { title: plain('Sure?'), text: plain('Really.'), confirm: plain('Yes'), deny: plain('No') };

const days = (n: number) => Array.from({ length: n }, (_, i) => `d${i}`);
const series = (name: string, labels: string[]): { name: string; data: Array<{ label: string; value: unknown }> } => ({ name, data: labels.map((label) => ({ label, value: 1 })) });
const chart = (over: Record<string, unknown> = {}, labels = days(5), many = [series('Successful', labels)]) => ({
  type: 'data_visualization', title: 'Calls', chart: { type: 'bar', series: many, axis_config: { categories: labels }, ...over },
});
const raw = (t: string) => ({ type: 'raw_text', text: t });
const rows = (n: number, width = 2) => Array.from({ length: n }, () => Array.from({ length: width }, () => raw('x')));

/** Each payload breaks one documented limit; the pointer names where. */
const OVER_LIMIT: Array<[string, unknown[], string]> = [
  ['51 blocks in a message', Array.from({ length: 51 }, () => ({ type: 'divider' })), '/blocks'],
  ['section text of 3001', [section('x'.repeat(3001))], '/blocks/0/text/text'],
  ['empty section text', [section('')], '/blocks/0/text/text'],
  ['header of 151', [{ type: 'header', text: plain('h'.repeat(151)) }], '/blocks/0/text/text'],
  ['mrkdwn header', [{ type: 'header', text: text('h') }], '/blocks/0/text/type'],
  ['button text of 76', [actions(button({ text: plain('b'.repeat(76)) }))], '/blocks/0/elements/0/text/text'],
  ['button value of 2001', [actions(button({ value: 'v'.repeat(2001) }))], '/blocks/0/elements/0/value'],
  ['action_id of 256', [actions(button({ action_id: 'a'.repeat(256) }))], '/blocks/0/elements/0/action_id'],
  ['block_id of 256', [{ type: 'divider', block_id: 'b'.repeat(256) }], '/blocks/0/block_id'],
  ['a repeated block_id', [{ type: 'divider', block_id: 'same' }, { type: 'divider', block_id: 'same' }], '/blocks/1/block_id'],
  ['11 fields', [{ type: 'section', fields: Array.from({ length: 11 }, () => text('f')) }], '/blocks/0/fields'],
  ['a field of 2001', [{ type: 'section', fields: [text('f'.repeat(2001))] }], '/blocks/0/fields/0/text'],
  ['11 context elements', [{ type: 'context', elements: Array.from({ length: 11 }, () => text('c')) }], '/blocks/0/elements'],
  ['a confirm without deny', [actions(button({ confirm: { ...confirm, deny: undefined } }))], '/blocks/0/elements/0/confirm/deny'],
  ['a confirm title of 101', [actions(button({ confirm: { ...confirm, title: plain('t'.repeat(101)) } }))], '/blocks/0/elements/0/confirm/title/text'],
  ['a confirm text of 301', [actions(button({ confirm: { ...confirm, text: plain('t'.repeat(301)) } }))], '/blocks/0/elements/0/confirm/text/text'],
  ['a text object of another type', [{ type: 'section', text: { type: 'markdown', text: 'x' } }], '/blocks/0/text/type'],
  ['a button style of another kind', [actions(button({ style: 'green' }))], '/blocks/0/elements/0/style'],
  // Native charts and tables (docs.slack.dev: data-visualization-block, table-block, data-table-block).
  ['a chart title of 51', [{ ...chart(), title: 't'.repeat(51) }], '/blocks/0/title'],
  ['a chart without a title', [{ ...chart(), title: undefined }], '/blocks/0/title'],
  ['a chart of another type', [chart({ type: 'scatter' })], '/blocks/0/chart/type'],
  ['a series of 21 points', [chart({}, days(21), [series('Calls', days(21))])], '/blocks/0/chart/series/0/data'],
  ['7 series', [chart({}, days(3), Array.from({ length: 7 }, (_, i) => series(`s${i}`, days(3))))], '/blocks/0/chart/series'],
  ['two series of one name', [chart({}, days(3), [series('Calls', days(3)), series('Calls', days(3))])], '/blocks/0/chart/series/1/name'],
  ['a series name of 21', [chart({}, days(3), [series('n'.repeat(21), days(3))])], '/blocks/0/chart/series/0/name'],
  ['a category of 21', [chart({}, ['c'.repeat(21)], [series('Calls', ['c'.repeat(21)])])], '/blocks/0/chart/axis_config/categories/0'],
  ['points that are not the categories', [chart({ axis_config: { categories: days(4) } }, days(5))], '/blocks/0/chart/series/0/data'],
  ['an axis label of 51', [chart({ axis_config: { categories: days(5), y_label: 'y'.repeat(51) } })], '/blocks/0/chart/axis_config/y_label'],
  ['a bar chart without axis_config', [chart({ axis_config: undefined })], '/blocks/0/chart/axis_config'],
  ['a point that is not a number', [chart({}, ['a'], [{ name: 'Calls', data: [{ label: 'a', value: 'many' }] }])], '/blocks/0/chart/series/0/data/0/value'],
  ['a pie of 7 segments', [{ type: 'data_visualization', title: 'Pie', chart: { type: 'pie', segments: days(7).map((label) => ({ label, value: 1 })) } }], '/blocks/0/chart/segments'],
  ['a table of 101 rows', [{ type: 'table', rows: rows(101) }], '/blocks/0/rows'],
  ['a table row of 21 cells', [{ type: 'table', rows: rows(1, 21) }], '/blocks/0/rows/0'],
  ['a table cell of another type', [{ type: 'table', rows: [[{ type: 'mrkdwn', text: 'x' }]] }], '/blocks/0/rows/0/0'],
  ['21 column settings', [{ type: 'table', rows: rows(1), column_settings: Array.from({ length: 21 }, () => ({ align: 'left' })) }], '/blocks/0/column_settings'],
  ['a column aligned to the middle', [{ type: 'table', rows: rows(1), column_settings: [{ align: 'middle' }] }], '/blocks/0/column_settings/0/align'],
  ['a data table without a caption', [{ type: 'data_table', rows: rows(2) }], '/blocks/0/caption'],
  ['a data table of only a header', [{ type: 'data_table', caption: 'c', rows: rows(1) }], '/blocks/0/rows'],
  ['a data table of 102 rows', [{ type: 'data_table', caption: 'c', rows: rows(102) }], '/blocks/0/rows'],
  ['a data table row shorter than its header', [{ type: 'data_table', caption: 'c', rows: [...rows(1, 3), ...rows(1, 2)] }], '/blocks/0/rows/1'],
  ['a rich_text header cell', [{ type: 'data_table', caption: 'c', rows: [[{ type: 'rich_text', elements: [] }], [raw('x')]] }], '/blocks/0/rows/0/0'],
  ['a page size of 101', [{ type: 'data_table', caption: 'c', rows: rows(2), page_size: 101 }], '/blocks/0/page_size'],
];

describe('the fake Slack refuses what Slack refuses', () => {
  it.each(OVER_LIMIT)('chat.postMessage with %s: invalid_blocks, nothing posted', async (_what, blocks, pointer) => {
    const before = h.slack.messages.size;
    const err = await h.b.running.services.slack.chat.postMessage({ channel: 'C0DIGEST', text: 'fallback', blocks: blocks as never }).catch((e: unknown) => e);
    expect((err as { data?: { error?: string; errors?: Array<{ pointer: string }> } }).data).toMatchObject({
      error: 'invalid_blocks',
      errors: expect.arrayContaining([expect.objectContaining({ pointer })]),
    });
    expect(h.slack.messages.size).toBe(before);
  });

  it('refuses chat.update and chat.postEphemeral the same way, and leaves the message as it was', async () => {
    const web = h.b.running.services.slack;
    const posted = await web.chat.postMessage({ channel: 'C0DIGEST', text: 'v1', blocks: [section('v1')] as never });
    const update = await web.chat.update({ channel: 'C0DIGEST', ts: String(posted.ts), text: 'v2', blocks: [section('x'.repeat(3001))] as never }).catch((e: unknown) => e);
    expect((update as { data?: { error?: string } }).data?.error).toBe('invalid_blocks');
    expect(h.slack.message('C0DIGEST', String(posted.ts))?.text).toBe('v1');
    const eph = await web.chat.postEphemeral({ channel: 'C0DIGEST', user: PEOPLE.bob, text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) }).catch((e: unknown) => e);
    expect((eph as { data?: { error?: string } }).data?.error).toBe('invalid_blocks');
  });

  it('holds views to 100 blocks and modal titles to 24 characters', async () => {
    const web = h.b.running.services.slack;
    const blocks = (n: number) => Array.from({ length: n }, () => ({ type: 'divider' }));
    await expect(web.views.publish({ user_id: PEOPLE.bob, view: { type: 'home', blocks: blocks(100) } as never })).resolves.toMatchObject({ ok: true });
    const home = await web.views.publish({ user_id: PEOPLE.bob, view: { type: 'home', blocks: blocks(101) } as never }).catch((e: unknown) => e);
    expect((home as { data?: { error?: string } }).data?.error).toBe('invalid_blocks');
    const modal = await web.views.open({ trigger_id: '1.2', view: { type: 'modal', title: plain('t'.repeat(25)), blocks: blocks(1) } as never }).catch((e: unknown) => e);
    expect((modal as { data?: { errors?: Array<{ pointer: string }> } }).data?.errors).toEqual([expect.objectContaining({ pointer: '/view/title/text' })]);
  });

  it('checks modal input blocks, submit, overflow menus and private_metadata', async () => {
    const web = h.b.running.services.slack;
    const input = { type: 'input', block_id: 'r', label: plain('Reason'), element: { type: 'plain_text_input', action_id: 'i', multiline: true } };
    const errorsOf = async (view: Record<string, unknown>) =>
      ((await web.views.open({ trigger_id: h.slack.issueTrigger(), view: view as never }).catch((e: unknown) => e)) as { data?: { errors?: Array<{ pointer: string }> } }).data?.errors?.map((e) => e.pointer);
    const modal = (over: Record<string, unknown>) => ({ type: 'modal', title: plain('T'), submit: plain('Send'), blocks: [input], ...over });
    expect(await errorsOf(modal({ submit: undefined }))).toEqual(['/view/submit']);
    expect(await errorsOf(modal({ submit: plain('s'.repeat(25)) }))).toEqual(['/view/submit/text']);
    expect(await errorsOf(modal({ private_metadata: 'm'.repeat(3001) }))).toEqual(['/view/private_metadata']);
    expect(await errorsOf(modal({ callback_id: 'c'.repeat(256) }))).toEqual(['/view/callback_id']);
    expect(await errorsOf(modal({ blocks: [{ ...input, label: text('mrkdwn label') }] }))).toEqual(['/view/blocks/0/label/type']);
    expect(await errorsOf(modal({ blocks: [{ ...input, element: button() }] }))).toEqual(['/view/blocks/0/element']);
    const overflow = (n: number) => ({ type: 'section', text: text('x'), accessory: { type: 'overflow', action_id: 'o', options: Array.from({ length: n }, (_, i) => ({ text: plain(`o${i}`), value: `v${i}` })) } });
    expect(await errorsOf(modal({ blocks: [overflow(1)] }))).toEqual(['/view/blocks/0/accessory/options']);
    // An input block is not a message block.
    const posted = await web.chat.postMessage({ channel: 'C0DIGEST', text: 'x', blocks: [input] as never }).catch((e: unknown) => e);
    expect((posted as { data?: { error?: string } }).data?.error).toBe('invalid_blocks');
    h.slack.refused.length = 0;
  });

  it('treats trigger ids as Slack does (issued, 3 s, single use) and keeps each user\'s Home view', async () => {
    const web = h.b.running.services.slack;
    const view = { type: 'modal', title: plain('T'), blocks: [section('x')] } as never;
    const errorOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { data?: { error?: string } }) => e.data?.error);
    expect(await errorOf(web.views.open({ trigger_id: '123.456.abc', view }))).toBe('invalid_trigger_id');
    const trigger = h.slack.issueTrigger();
    const opened = await web.views.open({ trigger_id: trigger, view });
    expect(await errorOf(web.views.open({ trigger_id: trigger, view }))).toBe('exchanged_trigger_id');
    const old = h.slack.issueTrigger();
    h.slack.expireTrigger(old);
    expect(await errorOf(web.views.open({ trigger_id: old, view }))).toBe('expired_trigger_id');
    expect(await errorOf(web.views.update({ view_id: 'V0NOPE', view }))).toBe('not_found');
    await web.views.update({ view_id: String(opened.view?.id), view: { type: 'modal', title: plain('Updated'), blocks: [section('y')] } as never });
    expect(h.slack.views.get(String(opened.view?.id))?.view.title).toEqual(plain('Updated'));
    await web.views.publish({ user_id: PEOPLE.carol, view: { type: 'home', blocks: [section('for carol')] } as never });
    expect(h.slack.homeView(PEOPLE.carol)?.blocks).toEqual([section('for carol')]);
    expect(h.slack.homeView(PEOPLE.dave)).toBeUndefined();
    expect(await errorOf(web.views.publish({ user_id: PEOPLE.carol, view }))).toBe('invalid_arguments');
  });

  it('answers a response_url post past the limits with HTTP 400 invalid_blocks, and shows nothing', async () => {
    const res = await fetch(`${h.slack.responseUrlBase}block-kit-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', text: 'x', blocks: [section('x'.repeat(3001))] }),
    });
    expect([res.status, await res.text()]).toEqual([400, 'invalid_blocks']);
    expect(h.slack.responses.some((r) => r.path === '/respond/block-kit-1')).toBe(false);
  });
});

describe('native blocks', () => {
  it('a workspace told to refuse them answers invalid_blocks, and takes them again after', async () => {
    const s = h.b.running.services;
    const good = [chart()];
    await s.slack.chat.postMessage({ channel: 'C0DIGEST', text: 'fallback', blocks: good });
    h.slack.refuseBlockTypes(['data_visualization']);
    try {
      const err = await s.slack.chat.postMessage({ channel: 'C0DIGEST', text: 'fallback', blocks: good }).catch((e: unknown) => e);
      expect((err as { data?: { error?: string } }).data?.error).toBe('invalid_blocks');
      // A refusal the test asked for is kept apart from a limit the app broke.
      expect(h.slack.declined.at(-1)?.errors[0]?.message).toBe('unsupported block type: data_visualization');
    } finally {
      h.slack.refuseBlockTypes([]);
    }
    await s.slack.chat.postMessage({ channel: 'C0DIGEST', text: 'fallback', blocks: good });
  });

  it('the calls chart fits the limits for any number of days, grouping days past 20', async () => {
    for (const n of [1, 14, 20, 21, 30, 31, 60, 90]) {
      const daily = Array.from({ length: n }, (_, i) => ({
        day: new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10), total: 10 + i, ok: 9 + i, failed: 1,
        byClass: { '2xx': 9 + i, '3xx': 0, '4xx': 1, '5xx': 0, other: 0 },
      }));
      const block = callsChart('Calls per day', daily) as unknown as { chart: { series: Array<{ data: Array<{ value: number }> }> } };
      expect(checkMessage({ blocks: [block] })).toEqual([]);
      // Grouped, every call is still counted once.
      const counted = block.chart.series.flatMap((x) => x.data).reduce((sum, p) => sum + p.value, 0);
      expect(counted).toBe(daily.reduce((sum, d) => sum + d.total, 0));
      expect(block.chart.series[0]!.data.length).toBe(Math.ceil(n / Math.ceil(n / 20)));
    }
  });
});

describe("the app's own messages", () => {
  it('status, app, requests, audit, help and the digest stay inside the limits with 60 apps of long emoji names', async () => {
    h.slack.refused.length = 0;
    const names: string[] = [];
    for (let i = 0; i < 60; i++) {
      const app = await seedApp(h.b, { name: `${i} ${'🇫🇷👩‍💻 <b>&'.repeat(40)}`.slice(0, 300) });
      names.push(app.name);
    }
    for (const text of ['status', 'status public', `app ${names[7]}`, 'requests', 'audit', 'help', 'digest']) {
      const res = await h.b.command(text, { user_id: PEOPLE.alice });
      expect([text, res.status]).toEqual([text, 200]);
    }
    await h.slack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0DIGEST' && JSON.stringify(c.args.blocks ?? '').includes('digest'));
    expect(h.slack.refused.map((r) => [r.where, r.errors.slice(0, 2)])).toEqual([]);
  });

  it('a card for an app whose name is long and full of emoji stays inside the limits through its life, with fresh block ids on each update', async () => {
    h.slack.refused.length = 0;
    // Zoom allows long names; this one is 300 UTF-16 units of family emoji and letters.
    const name = `Legacy ${'👨‍👩‍👧‍👦 reports '.repeat(15)}`.slice(0, 300);
    const app = await seedApp(h.b, { name, state: 'disabled' });
    const id = await openRequest(h.b, `remove ${app.appId} soaked, no calls`);
    const posted = await card(h, id);
    const idsOf = (blocks: unknown[]) => (blocks as Array<{ block_id?: string }>).map((b) => b.block_id).filter(Boolean);
    const first = idsOf(posted.blocks);
    expect(first).toHaveLength(1);

    await click(h.b, ACTION.approve, id, PEOPLE.bob);
    await h.slack.waitFor('chat.update', (c) => JSON.stringify(c.args.blocks ?? '').includes('Signatures (1 of'));
    const second = idsOf((await card(h, id)).blocks);
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);

    await click(h.b, ACTION.approve, id, PEOPLE.carol);
    await waitForStatus(h.store, id, 'executed');
    await h.slack.waitFor('chat.update', (c) => JSON.stringify(c.args.blocks ?? '').includes('no further action'));
    expect(h.slack.refused).toEqual([]);
    // The header kept whole graphemes: no lone surrogate went out.
    const header = (posted.blocks[0] as { text: { text: string } }).text.text;
    expect(header.length).toBeLessThanOrEqual(150);
    expect(header).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  });
});
