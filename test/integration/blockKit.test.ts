/**
 * The fake Slack holds the app to Slack's Block Kit limits, over HTTP, as Slack does: a message,
 * update, ephemeral or view past a limit is answered `invalid_blocks` (a response_url post: HTTP
 * 400) and never carried out. And the app's own views stay inside them, even for app names at the
 * limits, with fresh block ids on every card update.
 */
import { ACTION } from '../../src/slack/ids';
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
    const eph = await web.chat.postEphemeral({ channel: 'C0DIGEST', user: PEOPLE.bob, text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) as never }).catch((e: unknown) => e);
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
