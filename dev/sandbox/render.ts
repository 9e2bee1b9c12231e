/**
 * Slack messages as a terminal shows them: Block Kit (header, section text and fields, context,
 * divider, buttons) turned into indented plain lines, mrkdwn tokens (`<@U…>`, `<#C…>`, date tokens,
 * links, emoji) into readable text. Buttons come back numbered so the console can press them.
 * Pure: no I/O, so what a user reads is exactly what a test checks.
 */

export interface RenderedButton {
  /** 1-based, in reading order. */
  n: number;
  label: string;
  actionId: string;
  value: string;
  blockId: string;
  style?: string;
  /** The confirmation dialog Slack would show first (title — text). */
  confirm?: string;
}

export interface Rendered {
  lines: string[];
  buttons: RenderedButton[];
}

export interface RenderNames {
  /** `U0ANA` → `@ana`. */
  user(id: string): string;
  /** `C0APPROVALS` → `#zoomjwt-approvals`. */
  channel(id: string): string;
}

/** Emoji shortcodes the app uses, as one terminal character each; others stay as `:name:`. */
const EMOJI: Record<string, string> = {
  white_check_mark: '✅', warning: '⚠️', no_entry: '⛔', memo: '📝', mag: '🔍', hourglass_flowing_sand: '⏳',
  black_nib: '✒️', x: '❌', octagonal_sign: '🛑', wastebasket: '🗑️', alarm_clock: '⏰', raising_hand: '🙋',
  test_tube: '🧪', newspaper: '📰', arrows_counterclockwise: '🔄', rotating_light: '🚨', large_green_circle: '🟢',
  red_circle: '🔴', large_yellow_circle: '🟡', white_circle: '⚪', chart_with_upwards_trend: '📈',
  chart_with_downwards_trend: '📉', zzz: '💤', bell: '🔔', information_source: 'ℹ️', heavy_minus_sign: '➖',
  arrow_up: '↑', arrow_down: '↓', arrow_right: '→', calendar: '📅', key: '🔑', link: '🔗', bulb: '💡',
  hammer_and_wrench: '🛠️', ok: '🆗', question: '❓', eyes: '👀', lock: '🔒', clock3: '🕒', pause_button: '⏸️',
  ghost: '👻', grey_question: '❔', double_vertical_bar: '⏸️', wrench: '🔧', tada: '🎉', new: '🆕', inbox_tray: '📥',
  hourglass: '⌛',
};

/** mrkdwn → plain text: mentions, channels, dates, links, emoji, entities. Bold/italic markers stay. */
export function plain(mrkdwn: string, names: RenderNames): string {
  return mrkdwn
    .replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (_m, id: string) => names.user(id))
    .replace(/<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, label?: string) => (label ? `#${label}` : names.channel(id)))
    .replace(/<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, label?: string) => label ?? `@group-${id}`)
    .replace(/<!date\^\d+\^[^|>]*\|([^>]*)>/g, '$1')
    .replace(/<!(here|channel|everyone)>/g, '@$1')
    .replace(/<((?:https?|mailto):[^|>]+)\|([^>]+)>/g, (_m, url: string, label: string) => (label === url ? url : `${label} (${url})`))
    .replace(/<((?:https?|mailto):[^>]+)>/g, '$1')
    .replace(/:([a-z0-9_+-]+):/g, (m, name: string) => EMOJI[name] ?? m)
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const textOf = (v: unknown): string => (isObj(v) && typeof v.text === 'string' ? v.text : '');

function indent(text: string, pad: string): string[] {
  return text.split('\n').map((line) => (line.trim() === '' ? '' : `${pad}${line}`));
}

/** Renders a message (`{text, blocks}`) to lines; buttons numbered from 1. */
export function renderMessage(msg: { text?: unknown; blocks?: unknown }, names: RenderNames): Rendered {
  const lines: string[] = [];
  const buttons: RenderedButton[] = [];
  const blocks = Array.isArray(msg.blocks) ? msg.blocks : [];

  const addButton = (el: Obj, blockId: string) => {
    const confirm = isObj(el.confirm) ? `${textOf(el.confirm.title)} — ${textOf(el.confirm.text)}` : undefined;
    buttons.push({
      n: buttons.length + 1,
      label: plain(textOf(el.text), names),
      actionId: String(el.action_id ?? ''),
      value: String(el.value ?? ''),
      blockId,
      ...(typeof el.style === 'string' ? { style: el.style } : {}),
      ...(confirm ? { confirm } : {}),
    });
    return buttons[buttons.length - 1]!;
  };
  const buttonLine = (made: RenderedButton[]) => `  ${made.map((b) => `[${b.n}] ${b.label}`).join('  ')}`;

  for (const block of blocks) {
    if (!isObj(block)) continue;
    const blockId = typeof block.block_id === 'string' ? block.block_id : '';
    switch (block.type) {
      case 'header':
        lines.push(`  ━━ ${plain(textOf(block.text), names).toUpperCase()} ━━`);
        break;
      case 'section': {
        if (isObj(block.text)) lines.push(...indent(plain(textOf(block.text), names), '  '));
        if (Array.isArray(block.fields)) {
          for (const field of block.fields) {
            const [first, ...rest] = plain(textOf(field), names).split('\n');
            lines.push(`  • ${first ?? ''}${rest.length ? `: ${rest.join(' / ')}` : ''}`);
          }
        }
        if (isObj(block.accessory) && block.accessory.type === 'button') lines.push(buttonLine([addButton(block.accessory, blockId)]));
        break;
      }
      case 'context': {
        const parts = (Array.isArray(block.elements) ? block.elements : []).map((e) => plain(textOf(e), names)).filter(Boolean);
        if (parts.length) lines.push(...indent(parts.join(' · '), '    ┆ '));
        break;
      }
      case 'divider':
        lines.push('  ────────');
        break;
      case 'actions': {
        const made = (Array.isArray(block.elements) ? block.elements : [])
          .filter((e): e is Obj => isObj(e) && e.type === 'button')
          .map((e) => addButton(e, blockId));
        if (made.length) lines.push(buttonLine(made));
        break;
      }
      case 'data_visualization': {
        // A native chart in the terminal: one line per point, each series as a number.
        const chart = isObj(block.chart) ? block.chart : {};
        const series = (Array.isArray(chart.series) ? chart.series : []).filter(isObj);
        lines.push(`  📊 ${String(block.title ?? '')}${series.length ? ` (${series.map((x) => String(x.name ?? '')).join(' / ')})` : ''}`);
        const first = series[0] && Array.isArray(series[0].data) ? series[0].data : [];
        first.forEach((pt, i) => {
          const values = series.map((x) => (Array.isArray(x.data) && isObj(x.data[i]) ? String(x.data[i].value ?? '') : ''));
          lines.push(`    ${String(isObj(pt) ? pt.label ?? '' : '').padEnd(12)} ${values.join(' / ')}`);
        });
        break;
      }
      case 'table':
      case 'data_table': {
        const rows = (Array.isArray(block.rows) ? block.rows : []).filter(Array.isArray) as unknown[][];
        const cell = (c: unknown) => (isObj(c) ? String(c.text ?? c.value ?? '') : '');
        const widths = rows[0]?.map((_, j) => Math.min(48, Math.max(...rows.map((r) => cell(r[j]).length)))) ?? [];
        for (const row of rows) lines.push(`  ${row.map((c, j) => cell(c).slice(0, 48).padEnd(widths[j] ?? 0)).join('  ')}`);
        break;
      }
      default:
        if (isObj(block.text)) lines.push(...indent(plain(textOf(block.text), names), '  '));
    }
  }
  if (lines.length === 0) lines.push(...indent(plain(typeof msg.text === 'string' ? msg.text : '', names), '  '));
  // Runs of blank lines collapse to one: section texts often end with a newline.
  const tidy = lines.filter((line, i) => line !== '' || (i > 0 && lines[i - 1] !== ''));
  return { lines: tidy, buttons };
}
