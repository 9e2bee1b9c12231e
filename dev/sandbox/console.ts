/**
 * The terminal stand-in for Slack. A line typed here becomes what Slack would send the app: a
 * signed slash command from the current user, or a signed `block_actions` payload for a button of
 * a message already shown. Everything the app sends back to the Slack stand-in (command answers,
 * response_url posts, channel posts and updates, DMs) is printed as it arrives, readably, with
 * each message's buttons numbered so `click 2` can press them.
 */
import { formatDuration, parseDuration } from '../../src/kernel/duration';
import { checkMessage } from '../fakes/blockKit';
import { REQUEST_ACTION } from '../../src/platform/slack/ids';
import { renderMessage, type RenderedButton, type RenderNames } from './render';
import { CHANNELS, PEOPLE, personByHandle, SANDBOX_TEAM, type Person } from './scenario';
import { blockActionsBody, homeOpenedBody, sendSigned, slashCommandBody, viewSubmissionBody, type FakeSlack, type ResponseUrlPost, type SlackActivity } from '../fakes/slackSim';
import type { Clock } from '../../src/kernel/clock';

export interface ConsoleDeps {
  slack: FakeSlack;
  /** `http://127.0.0.1:PORT/slack/events`: the real receiver. */
  eventsUrl: string;
  signingSecret: string;
  /** The app's clock (epoch ms): requests are signed with its time. */
  clock: Clock;
  /** Moves the clock forward by `ms`, with everything the world does meanwhile. */
  wait(ms: number): Promise<void>;
  /** Resolves once the app's work caused by the last input has finished (jobs, Slack posts). */
  settle(): Promise<void>;
  write(text: string): void;
}

export type ConsoleResult = 'continue' | 'quit';

export interface SandboxConsole {
  readonly user: Person;
  prompt(): string;
  /** How a piped line is echoed: with the prompt of whoever types it, without its `# note`. */
  echo(line: string): string;
  handle(line: string): Promise<ConsoleResult>;
  close(): void;
}

/** A message shown with buttons, so `click` can find it again. */
interface Clickable {
  n: number;
  channel: string;
  ts: string;
  /** Epoch ms (real) of the last time it was posted or redrawn: "latest" means this. */
  touched: number;
  /** From a response_url or command answer: a snapshot (Slack keeps no copy of those). */
  snapshot?: { text: string; blocks: unknown[] };
}

export const CONSOLE_HELP = [
  'Commands:',
  '  /zoomjwt <subcommand …>   sent to the app as a slash command from the current user',
  '                            (try /zoomjwt help, /zoomjwt status, /zoomjwt app "Azure SCIM JWT")',
  '  click <n> [on <card>]     press button <n> of the latest approval card with buttons (else of the',
  '                            latest message with buttons), or of card #<card>',
  '  as @<name>                act as someone else: ' + PEOPLE.map((p) => `@${p.handle}`).join(', '),
  '  who                       the people of this workspace and what they may do',
  '  cards                     messages that have buttons right now',
  '  digest                    show the latest digest in #' + CHANNELS.digest.name + ' (posting one first if none exists)',
  '  home                      open the zoomjwt Home tab as the current user (its buttons: click <n> on home)',
  '  submit <reason> [| <name>] fill in and submit the open form (for remove, | the exact app name)',
  '  cancel                    close the open form',
  '  wait <duration>           move the clock forward (e.g. wait 8d); calls keep arriving and Zoom is polled',
  '  help                      this list',
  '  quit                      stop the sandbox and remove its Redis keys',
  'Lines starting with # are ignored, and so is a " # note" at the end of a line; a line may start',
  'with a prompt such as "@bea> " (as in the README), which acts as @bea.',
].join('\n');

/**
 * A line as a person pastes it from the README: `@bea> click 1   # Approve: 1 of 2`. The prompt
 * names who types; a `#` after whitespace, outside double quotes, starts a note to the reader
 * (`ticket #12` stays, as does a `#` inside "quotes").
 */
export function pastedLine(raw: string): { line: string; as?: string } {
  let text = raw.trim();
  const prompt = /^@([A-Za-z]+)>\s*/.exec(text);
  if (prompt) text = text.slice(prompt[0].length);
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === '“' || c === '”') quoted = !quoted;
    else if (c === '#' && !quoted && i > 0 && /\s/.test(text[i - 1]!) && (i + 1 === text.length || /\s/.test(text[i + 1]!))) {
      text = text.slice(0, i);
      break;
    }
  }
  return { line: text.trim(), ...(prompt ? { as: prompt[1]! } : {}) };
}

const DM_CHANNEL = /^[UW][A-Z0-9]+$/;
/** How long a click waits for the app's ephemeral answer (ms); Slack's own deadline is 3 s. */
const CLICK_ANSWER_TIMEOUT_MS = 10_000;

export function createConsole(deps: ConsoleDeps): SandboxConsole {
  const { slack, write } = deps;
  let user: Person = PEOPLE[0]!;
  let counter = 0;
  let nextCard = 1;
  const cards = new Map<string, Clickable>();
  const ephemeralCards: Clickable[] = [];
  /** response_url path → who the answer is for. */
  const responseOwners = new Map<string, Person>();
  /** The modal open on screen (Slack shows one at a time per person here). */
  let modal: { viewId: string; view: Record<string, unknown>; user: Person } | undefined;

  const names: RenderNames = {
    user: (id) => {
      const p = PEOPLE.find((x) => x.id === id);
      return p ? `@${p.handle}` : id === slack.botUserId ? '@zoomjwt' : `@${id}`;
    },
    channel: (id) => {
      const c = Object.values(CHANNELS).find((x) => x.id === id);
      return c ? `#${c.name}` : DM_CHANNEL.test(id) ? `DM with ${names.user(id)}` : `#${id}`;
    },
  };

  function show(title: string, msg: { text?: unknown; blocks?: unknown }): RenderedButton[] {
    const r = renderMessage(msg, names);
    write(`\n┌─ ${title}\n${r.lines.map((l) => `│${l}`).join('\n')}\n└─\n`);
    return r.buttons;
  }

  function cardFor(channel: string, ts: string): Clickable {
    const key = `${channel}/${ts}`;
    let card = cards.get(key);
    if (!card) {
      card = { n: nextCard++, channel, ts, touched: Date.now() };
      cards.set(key, card);
    }
    card.touched = Date.now();
    return card;
  }

  function onActivity(a: SlackActivity): void {
    if (a.kind === 'response') return showResponse(a.response);
    if (a.kind === 'refused') {
      const first = a.refused.errors[0];
      write(`\n(Slack refused a ${a.refused.where} message: invalid_blocks, ${first ? `${first.pointer} ${first.message}` : 'no detail'})\n`);
      return;
    }
    const { method, args } = a.call;
    if (method === 'chat.postMessage' || method === 'chat.update') {
      const channel = String(a.result.channel ?? args.channel ?? '');
      const ts = String(a.result.ts ?? args.ts ?? '');
      const stored = slack.message(channel, ts);
      const msg = stored ?? { text: args.text, blocks: args.blocks };
      if (DM_CHANNEL.test(channel)) {
        show(`DM from @zoomjwt to ${names.user(channel)}`, msg);
        return;
      }
      if (method === 'chat.postMessage' && typeof args.thread_ts === 'string') {
        // A reminder or an announcement under a card: shown with its card, not as a card of its own.
        show(`${names.channel(channel)} · in the thread of card #${cardFor(channel, args.thread_ts).n}`, msg);
        return;
      }
      const card = cardFor(channel, ts);
      const verb = method === 'chat.update' ? 'updated' : 'posted';
      show(`${names.channel(channel)} · card #${card.n} (${verb})`, msg);
    } else if (method === 'views.open' || method === 'views.update') {
      const viewId = String((a.result.view as { id?: string } | undefined)?.id ?? args.view_id ?? '');
      const view = slack.views.get(viewId)?.view;
      if (!view) return;
      modal = { viewId, view, user };
      showModal(view);
    } else if (method === 'chat.postEphemeral') {
      show(`only ${names.user(String(args.user ?? ''))} sees this, in ${names.channel(String(args.channel ?? ''))}`, { text: args.text, blocks: args.blocks });
    }
  }

  function showModal(view: Record<string, unknown>): void {
    const title = String((view.title as { text?: string } | undefined)?.text ?? 'Form');
    const blocks = (Array.isArray(view.blocks) ? view.blocks : []) as Array<Record<string, unknown>>;
    const shown = blocks.filter((b) => b.type !== 'input');
    const inputs = blocks.filter((b) => b.type === 'input').map((b) => `  ▭ ${String((b.label as { text?: string } | undefined)?.text ?? b.block_id)}${b.optional ? ' (optional)' : ''}`);
    show(`a form opens for @${user.handle}: ${title}`, { text: title, blocks: shown });
    if (inputs.length) write(`${inputs.join('\n')}\n   (fill it in with: submit <reason>${inputs.length > 1 ? ' | <exact app name>' : ''}; or cancel)\n`);
  }

  function showResponse(r: ResponseUrlPost): void {
    const owner = responseOwners.get(r.path);
    const who = owner ? `@${owner.handle}` : 'the clicker';
    const body = r.body;
    const where =
      body.response_type === 'in_channel' ? `posted in ${names.channel(CHANNELS.ops.id)} (via response_url)` : `only ${who} sees this`;
    const replaces = body.replace_original === true ? ' · replaces the message it came from' : '';
    const buttons = show(`${where}${replaces}`, body);
    if (buttons.length) rememberSnapshot(body);
  }

  function rememberSnapshot(body: { text?: unknown; blocks?: unknown }): void {
    const card: Clickable = {
      n: nextCard++,
      channel: CHANNELS.ops.id,
      ts: `${Math.floor(Date.now() / 1000)}.${String(nextCard).padStart(6, '0')}`,
      touched: Date.now(),
      snapshot: { text: String(body.text ?? ''), blocks: Array.isArray(body.blocks) ? body.blocks : [] },
    };
    ephemeralCards.push(card);
    write(`   (that message is card #${card.n})\n`);
  }

  const unsubscribe = slack.subscribe(onActivity);

  const timestamp = () => Math.floor(deps.clock() / 1000);
  const responseUrl = () => {
    counter += 1;
    const path = `/respond/${user.handle}-${counter}`;
    responseOwners.set(path, user);
    return { path, url: `${slack.responseUrlBase}${user.handle}-${counter}` };
  };

  async function slashCommand(text: string): Promise<void> {
    const { url } = responseUrl();
    const body = slashCommandBody({
      triggerId: slack.issueTrigger(),
      text,
      userId: user.id,
      userName: user.handle,
      teamId: SANDBOX_TEAM,
      channelId: CHANNELS.ops.id,
      channelName: CHANNELS.ops.name,
      responseUrl: url,
    });
    const res = await sendSigned(deps.eventsUrl, body, { signingSecret: deps.signingSecret, timestampS: timestamp() });
    if (res.status !== 200) {
      write(`\n(the app answered HTTP ${res.status}; Slack would show "/zoomjwt failed")\n`);
    } else if (res.json && checkMessage(res.json).length) {
      const first = checkMessage(res.json)[0]!;
      write(`\n(Slack would refuse this answer: invalid_blocks, ${first.pointer} ${first.message})\n`);
    } else if (res.json) {
      const inChannel = res.json.response_type === 'in_channel';
      const buttons = show(inChannel ? `posted in ${names.channel(CHANNELS.ops.id)} by /zoomjwt` : `only @${user.handle} sees this`, res.json);
      if (buttons.length) rememberSnapshot(res.json);
    }
    await deps.settle();
  }

  function messageOf(card: Clickable): { text: string; blocks: unknown[] } | undefined {
    if (card.snapshot) return card.snapshot;
    const stored = slack.message(card.channel, card.ts);
    return stored ? { text: stored.text, blocks: stored.blocks } : undefined;
  }

  function withButtons(): Array<{ card: Clickable; buttons: RenderedButton[]; msg: { text: string; blocks: unknown[] } }> {
    const out = [];
    for (const card of [...cards.values(), ...ephemeralCards]) {
      const msg = messageOf(card);
      if (!msg) continue;
      const buttons = renderMessage(msg, names).buttons;
      if (buttons.length) out.push({ card, buttons, msg });
    }
    // Approval cards first: an alert posted meanwhile in the digest channel must not steal a
    // plain `click 1` meant for the request being signed. Then the most recently drawn.
    const rank = (c: Clickable) => (c.channel === CHANNELS.approvals.id ? 1 : 0);
    return out.sort((a, b) => rank(b.card) - rank(a.card) || b.card.touched - a.card.touched || b.card.n - a.card.n);
  }

  async function click(args: string): Promise<void> {
    const onHome = /^(\d+)\s+on\s+home$/i.exec(args.trim());
    if (onHome) return clickHome(Number(onHome[1]));
    const m = /^(\d+)(?:\s+on\s+(?:card\s*)?#?(\d+))?$/i.exec(args.trim());
    if (!m) {
      write('Usage: click <n> [on <card>] — e.g. click 1, or click 2 on 3\n');
      return;
    }
    const n = Number(m[1]);
    const candidates = withButtons();
    const target = m[2] !== undefined ? candidates.find((c) => c.card.n === Number(m[2])) : candidates[0];
    if (!target) {
      write(m[2] !== undefined ? `Card #${m[2]} has no buttons (any more).\n` : 'No message has buttons right now.\n');
      return;
    }
    const button = target.buttons.find((b) => b.n === n);
    if (!button) {
      write(`Card #${target.card.n} has buttons ${target.buttons.map((b) => `[${b.n}] ${b.label}`).join('  ')}; there is no [${n}].\n`);
      return;
    }
    write(`\n@${user.handle} clicks [${button.n}] ${button.label} on card #${target.card.n}\n`);
    if (button.confirm) write(`   Slack asks first: "${button.confirm}" → confirmed\n`);
    const { path, url } = responseUrl();
    const body = blockActionsBody({
      userId: user.id,
      userName: user.handle,
      teamId: SANDBOX_TEAM,
      channelId: target.card.channel,
      channelName: names.channel(target.card.channel).replace(/^#/, ''),
      message: { ts: target.card.ts, text: target.msg.text, blocks: target.msg.blocks },
      button: { actionId: button.actionId, value: button.value, blockId: button.blockId, label: button.label },
      responseUrl: url,
      actionTs: (deps.clock() / 1000).toFixed(6),
      triggerId: slack.issueTrigger(),
    });
    const res = await sendSigned(deps.eventsUrl, body, { signingSecret: deps.signingSecret, timestampS: timestamp() });
    if (res.status !== 200) {
      write(`(the app answered HTTP ${res.status}; Slack would show a warning on the button)\n`);
      return;
    }
    // Most listeners answer the clicker on its response_url; a Request button opens a form instead.
    if (!Object.values(REQUEST_ACTION).includes(button.actionId as never)) {
      await slack.waitForResponse((r) => r.path === path, CLICK_ANSWER_TIMEOUT_MS).catch(() => write('(no answer to the click within 10 s)\n'));
    }
    await deps.settle();
  }

  async function openHome(): Promise<void> {
    const before = slack.homeView(user.id);
    const body = homeOpenedBody({ userId: user.id, teamId: SANDBOX_TEAM, eventTs: (deps.clock() / 1000).toFixed(6) });
    const res = await sendSigned(deps.eventsUrl, body, { signingSecret: deps.signingSecret, timestampS: timestamp(), json: true });
    if (res.status !== 200) return void write(`(the app answered HTTP ${res.status})\n`);
    await deps.settle();
    const view = slack.homeView(user.id);
    if (!view || view === before) return void write('(the Home tab did not change; the log file may say why)\n');
    show(`zoomjwt · Home tab of @${user.handle}`, { text: 'Home', blocks: view.blocks });
  }

  async function clickHome(n: number): Promise<void> {
    const view = slack.homeView(user.id);
    if (!view) return void write('Open the Home tab first: home\n');
    const button = renderMessage({ text: '', blocks: view.blocks }, names).buttons.find((b) => b.n === n);
    if (!button) return void write(`The Home tab has no button [${n}].\n`);
    write(`\n@${user.handle} clicks [${button.n}] ${button.label} in the Home tab\n`);
    const body = blockActionsBody({
      userId: user.id, userName: user.handle, teamId: SANDBOX_TEAM, channelId: '', channelName: '',
      message: { ts: '', text: '', blocks: [] },
      button: { actionId: button.actionId, value: button.value, blockId: button.blockId, label: button.label },
      responseUrl: responseUrl().url, actionTs: (deps.clock() / 1000).toFixed(6), triggerId: slack.issueTrigger(), home: true,
    });
    const res = await sendSigned(deps.eventsUrl, body, { signingSecret: deps.signingSecret, timestampS: timestamp() });
    if (res.status !== 200) return void write(`(the app answered HTTP ${res.status})\n`);
    await deps.settle();
    const after = slack.homeView(user.id);
    if (after && after !== view) show(`zoomjwt · Home tab of @${user.handle}`, { text: 'Home', blocks: after.blocks });
  }

  async function submit(args: string): Promise<void> {
    if (!modal || modal.user !== user) return void write('No form is open for you. `/zoomjwt disable <app>` (without a reason) opens one.\n');
    const [reason = '', name] = args.split('|').map((x) => x.trim());
    const blocks = (Array.isArray(modal.view.blocks) ? modal.view.blocks : []) as Array<{ type?: string; block_id?: string; element?: { action_id?: string } }>;
    const values: Record<string, Record<string, { type: string; value: string }>> = {};
    let k = 0;
    for (const b of blocks) {
      if (b.type !== 'input' || !b.block_id || !b.element?.action_id) continue;
      values[b.block_id] = { [b.element.action_id]: { type: 'plain_text_input', value: (k++ === 0 ? reason : name) ?? '' } };
    }
    const body = viewSubmissionBody({ userId: user.id, userName: user.handle, teamId: SANDBOX_TEAM, viewId: modal.viewId, view: modal.view, values });
    const res = await sendSigned(deps.eventsUrl, body, { signingSecret: deps.signingSecret, timestampS: timestamp() });
    if (res.status !== 200) return void write(`(the app answered HTTP ${res.status})\n`);
    const answer = res.json ?? {};
    if (answer.response_action === 'errors') {
      const errors = Object.values((answer.errors ?? {}) as Record<string, string>);
      write(`\nThe form stays open and says:\n${errors.map((e) => `  ⚠ ${e}`).join('\n')}\n`);
    } else if (answer.response_action === 'update') {
      write('\n(the form shows: working on it…)\n');
    } else {
      write('\n(the form closes)\n');
      modal = undefined;
    }
    await deps.settle();
  }

  function latestDigest(): { text: string; blocks: unknown[]; ts: string } | undefined {
    const inDigest = [...slack.messages.values()].filter((msg) => msg.channel === CHANNELS.digest.id);
    const digests = inDigest.filter((msg) => {
      const first = msg.blocks[0] as { type?: string; text?: { text?: string } } | undefined;
      return first?.type === 'header' && String(first.text?.text ?? '').startsWith('zoomjwt digest');
    });
    const last = digests.sort((a, b) => Number(b.ts) - Number(a.ts))[0];
    return last ? { text: last.text, blocks: last.blocks, ts: last.ts } : undefined;
  }

  async function digest(): Promise<void> {
    if (!latestDigest()) {
      write(`(no digest in #${CHANNELS.digest.name} yet: asking for one with /zoomjwt digest)\n`);
      await slashCommand('digest');
    }
    const found = latestDigest();
    if (!found) {
      write(`No digest has been posted in #${CHANNELS.digest.name}; the log file may say why.\n`);
      return;
    }
    const card = cardFor(CHANNELS.digest.id, found.ts);
    show(`#${CHANNELS.digest.name} · latest digest (card #${card.n})`, found);
  }

  function who(): void {
    const lines = PEOPLE.map((p) => `  ${p === user ? '→' : ' '} @${p.handle.padEnd(5)} ${p.role}`);
    write(`People in this workspace (you are @${user.handle}):\n${lines.join('\n')}\n`);
  }

  function listCards(): void {
    const list = withButtons();
    if (!list.length) return void write('No message has buttons right now.\n');
    for (const { card, buttons } of list) {
      write(`  card #${card.n} in ${names.channel(card.channel)}: ${buttons.map((b) => `[${b.n}] ${b.label}`).join('  ')}\n`);
    }
  }

  async function handle(raw: string): Promise<ConsoleResult> {
    if (raw.trim().startsWith('#')) return 'continue';
    const pasted = pastedLine(raw);
    if (pasted.as !== undefined) {
      const person = personByHandle(pasted.as);
      if (!person) {
        write(`Who is @${pasted.as}? Choose one of ${PEOPLE.map((p) => `@${p.handle}`).join(', ')}.\n`);
        return 'continue';
      }
      user = person;
    }
    const line = pasted.line;
    if (line === '') return 'continue';
    const [word = '', ...restWords] = line.split(/\s+/);
    const rest = line.slice(word.length).trim();
    switch (word.toLowerCase()) {
      case '/zoomjwt':
        await slashCommand(rest);
        break;
      case 'click':
        await click(rest);
        break;
      case 'as': {
        const person = personByHandle(restWords[0] ?? '');
        if (!person) {
          write(`Who? Choose one of ${PEOPLE.map((p) => `@${p.handle}`).join(', ')}.\n`);
          break;
        }
        user = person;
        write(`You are now @${user.handle} (${user.role}).\n`);
        break;
      }
      case 'who':
      case 'people':
        who();
        break;
      case 'cards':
        listCards();
        break;
      case 'digest':
        await digest();
        break;
      case 'home':
        await openHome();
        break;
      case 'submit':
        await submit(rest);
        break;
      case 'cancel':
        if (!modal) write('No form is open.\n');
        else write('(the form closes; nothing was sent)\n');
        modal = undefined;
        break;
      case 'wait': {
        const ms = parseDuration(rest);
        if (ms === undefined || ms <= 0) {
          write('Usage: wait <duration>, e.g. wait 90s, wait 2h, wait 8d\n');
          break;
        }
        write(`⏩ Moving the app's clock ${formatDuration(ms)} forward: the integrations keep calling, and Zoom is polled again…\n`);
        await deps.wait(ms);
        write(`⏩ It is now ${new Date(deps.clock()).toISOString().slice(0, 16).replace('T', ' ')} UTC on the app's clock.\n`);
        break;
      }
      case 'help':
      case '?':
        write(`${CONSOLE_HELP}\n`);
        break;
      case 'quit':
      case 'exit':
        return 'quit';
      default:
        if (word.startsWith('/')) write(`Only /zoomjwt is installed in this workspace.\n`);
        else write(`I don't know "${word}". Type help for the list.\n`);
    }
    return 'continue';
  }

  return {
    get user() {
      return user;
    },
    prompt: () => `@${user.handle}> `,
    echo(raw) {
      if (raw.trim().startsWith('#')) return `@${user.handle}> ${raw}`;
      const pasted = pastedLine(raw);
      const who = (pasted.as !== undefined ? personByHandle(pasted.as) : undefined) ?? user;
      return `@${who.handle}> ${pasted.line}`;
    },
    handle,
    close: unsubscribe,
  };
}
