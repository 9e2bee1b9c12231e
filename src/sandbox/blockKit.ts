/**
 * Slack's documented Block Kit limits, checked the way Slack checks them before it accepts a
 * message or a view: the fake Slack (slackSim.ts) answers `invalid_blocks` with these errors, so
 * a view that breaks a limit fails in the tests and the sandbox as it would fail in Slack.
 *
 * Limits (docs.slack.dev Block Kit reference, @slack/types): 50 blocks per message, 100 per modal
 * or Home view; `block_id` and `action_id` at most 255 characters, block ids unique per message;
 * section text 1–3000, at most 10 fields of at most 2000; header plain_text at most 150; context at
 * most 10 elements; actions at most 25 elements; button text plain_text at most 75, value at most
 * 2000, url at most 3000, style primary or danger; confirm dialogs with plain_text title (100),
 * text (300), confirm and deny (30); overflow menus 2–5 options (text 75, value 150); input
 * blocks (modals and Home only) with a plain_text label (2000) and an input element, and a modal
 * with input blocks needs `submit`; plain_text_input placeholder 150, lengths 0–3000. Lengths are counted in UTF-16 code units, which is never less
 * than Slack's character count, so the fake is at least as strict as Slack.
 */

export type Surface = 'message' | 'modal' | 'home';

export interface BlockKitError {
  /** JSON pointer into the payload, e.g. `/blocks/3/text/text`. */
  pointer: string;
  message: string;
}

const MAX_BLOCKS: Record<Surface, number> = { message: 50, modal: 100, home: 100 };
const BLOCK_TYPES = new Set(['section', 'header', 'context', 'actions', 'divider', 'image', 'input', 'rich_text', 'markdown', 'video', 'file']);
const ELEMENT_TYPES = new Set([
  'button', 'checkboxes', 'datepicker', 'datetimepicker', 'timepicker', 'image', 'overflow', 'radio_buttons', 'plain_text_input',
  'static_select', 'external_select', 'users_select', 'conversations_select', 'channels_select',
  'multi_static_select', 'multi_external_select', 'multi_users_select', 'multi_conversations_select', 'multi_channels_select',
  'email_text_input', 'url_text_input', 'number_input', 'rich_text_input', 'workflow_button', 'file_input',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the `blocks` of a message (chat.postMessage / update / postEphemeral, response_url). */
export function checkMessage(payload: Obj, surface: Surface = 'message'): BlockKitError[] {
  const errors: BlockKitError[] = [];
  const err = (pointer: string, message: string) => void errors.push({ pointer, message });
  if (payload.blocks === undefined) return errors;
  if (!Array.isArray(payload.blocks)) {
    err('/blocks', 'must be an array');
    return errors;
  }
  checkBlocks(payload.blocks, '/blocks', surface, err);
  return errors;
}

/** Checks a view (views.open / update / push / publish). */
export function checkView(view: unknown): BlockKitError[] {
  const errors: BlockKitError[] = [];
  const err = (pointer: string, message: string) => void errors.push({ pointer, message });
  if (!isObj(view)) {
    err('/view', 'must be an object');
    return errors;
  }
  const type = view.type;
  if (type !== 'modal' && type !== 'home') {
    err('/view/type', 'must be modal or home');
    return errors;
  }
  if (type === 'modal') {
    textObject(view.title, '/view/title', err, { plainOnly: true, max: 24 });
    for (const key of ['submit', 'close'] as const) {
      if (view[key] !== undefined) textObject(view[key], `/view/${key}`, err, { plainOnly: true, max: 24 });
    }
  }
  if (type === 'modal' && view.submit === undefined && Array.isArray(view.blocks) && view.blocks.some((b) => isObj(b) && b.type === 'input')) {
    err('/view/submit', 'is required when the view has input blocks');
  }
  maxString(view.private_metadata, '/view/private_metadata', 3000, err);
  maxString(view.callback_id, '/view/callback_id', 255, err);
  if (!Array.isArray(view.blocks)) err('/view/blocks', 'must be an array');
  else checkBlocks(view.blocks, '/view/blocks', type, err);
  return errors;
}

type Err = (pointer: string, message: string) => void;

function maxString(value: unknown, pointer: string, max: number, err: Err): void {
  if (value === undefined) return;
  if (typeof value !== 'string') err(pointer, 'must be a string');
  else if (value.length > max) err(pointer, `must be at most ${max} characters (is ${value.length})`);
}

function textObject(value: unknown, pointer: string, err: Err, opts: { plainOnly?: boolean; max: number }): void {
  if (!isObj(value)) return err(pointer, 'must be a text object');
  if (value.type !== 'plain_text' && value.type !== 'mrkdwn') return err(`${pointer}/type`, 'must be plain_text or mrkdwn');
  if (opts.plainOnly && value.type !== 'plain_text') err(`${pointer}/type`, 'must be plain_text');
  if (value.type === 'mrkdwn' && value.emoji !== undefined) err(`${pointer}/emoji`, 'is only allowed on plain_text');
  if (value.type === 'plain_text' && value.verbatim !== undefined) err(`${pointer}/verbatim`, 'is only allowed on mrkdwn');
  if (typeof value.text !== 'string' || value.text.length === 0) return err(`${pointer}/text`, 'must be a non-empty string');
  if (value.text.length > opts.max) err(`${pointer}/text`, `must be at most ${opts.max} characters (is ${value.text.length})`);
}

function confirmDialog(value: unknown, pointer: string, err: Err): void {
  if (!isObj(value)) return err(pointer, 'must be a confirmation dialog object');
  textObject(value.title, `${pointer}/title`, err, { plainOnly: true, max: 100 });
  textObject(value.text, `${pointer}/text`, err, { max: 300 });
  textObject(value.confirm, `${pointer}/confirm`, err, { plainOnly: true, max: 30 });
  textObject(value.deny, `${pointer}/deny`, err, { plainOnly: true, max: 30 });
  if (value.style !== undefined && value.style !== 'primary' && value.style !== 'danger') err(`${pointer}/style`, 'must be primary or danger');
}

function element(value: unknown, pointer: string, err: Err, actionIds: Set<string>): void {
  if (!isObj(value)) return err(pointer, 'must be an element object');
  if (typeof value.type !== 'string' || !ELEMENT_TYPES.has(value.type)) return err(`${pointer}/type`, `unsupported element type: ${String(value.type)}`);
  if (value.action_id !== undefined) {
    maxString(value.action_id, `${pointer}/action_id`, 255, err);
    if (typeof value.action_id === 'string') {
      if (actionIds.has(value.action_id)) err(`${pointer}/action_id`, `duplicate action_id in the block: ${value.action_id}`);
      actionIds.add(value.action_id);
    }
  }
  if (value.confirm !== undefined) confirmDialog(value.confirm, `${pointer}/confirm`, err);
  if (value.type === 'overflow') {
    if (!Array.isArray(value.options) || value.options.length < 2 || value.options.length > 5) err(`${pointer}/options`, 'must hold 2 to 5 options');
    else value.options.forEach((o, k) => option(o, `${pointer}/options/${k}`, err));
  }
  if (value.type === 'plain_text_input') {
    if (value.placeholder !== undefined) textObject(value.placeholder, `${pointer}/placeholder`, err, { plainOnly: true, max: 150 });
    maxString(value.initial_value, `${pointer}/initial_value`, 3000, err);
    for (const key of ['min_length', 'max_length'] as const) {
      const n = value[key];
      if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 3000)) err(`${pointer}/${key}`, 'must be an integer from 0 to 3000');
    }
    if (typeof value.min_length === 'number' && typeof value.max_length === 'number' && value.min_length > value.max_length) err(`${pointer}/min_length`, 'must not exceed max_length');
  }
  if (value.type === 'button') {
    textObject(value.text, `${pointer}/text`, err, { plainOnly: true, max: 75 });
    maxString(value.value, `${pointer}/value`, 2000, err);
    maxString(value.url, `${pointer}/url`, 3000, err);
    maxString(value.accessibility_label, `${pointer}/accessibility_label`, 75, err);
    if (value.style !== undefined && value.style !== 'primary' && value.style !== 'danger') err(`${pointer}/style`, 'must be primary or danger');
  }
}

function option(value: unknown, pointer: string, err: Err): void {
  if (!isObj(value)) return err(pointer, 'must be an option object');
  textObject(value.text, `${pointer}/text`, err, { plainOnly: true, max: 75 });
  maxString(value.value, `${pointer}/value`, 150, err);
  if (value.description !== undefined) textObject(value.description, `${pointer}/description`, err, { plainOnly: true, max: 75 });
}

/** Elements an input block may hold. */
const INPUT_ELEMENTS = new Set([
  'plain_text_input', 'checkboxes', 'datepicker', 'datetimepicker', 'timepicker', 'radio_buttons', 'static_select', 'external_select',
  'users_select', 'conversations_select', 'channels_select', 'multi_static_select', 'multi_external_select', 'multi_users_select',
  'multi_conversations_select', 'multi_channels_select', 'email_text_input', 'url_text_input', 'number_input', 'rich_text_input', 'file_input',
]);

function checkBlocks(blocks: unknown[], pointer: string, surface: Surface, err: Err): void {
  const max = MAX_BLOCKS[surface];
  if (blocks.length > max) err(pointer, `must hold at most ${max} blocks (holds ${blocks.length})`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const at = `${pointer}/${i}`;
    if (!isObj(block)) return err(at, 'must be a block object');
    if (typeof block.type !== 'string' || !BLOCK_TYPES.has(block.type)) return err(`${at}/type`, `unsupported block type: ${String(block.type)}`);
    if (block.block_id !== undefined) {
      maxString(block.block_id, `${at}/block_id`, 255, err);
      if (typeof block.block_id === 'string') {
        if (blockIds.has(block.block_id)) err(`${at}/block_id`, `duplicate block_id: ${block.block_id}`);
        blockIds.add(block.block_id);
      }
    }
    switch (block.type) {
      case 'section': {
        if (block.text === undefined && block.fields === undefined) err(at, 'a section needs text or fields');
        if (block.text !== undefined) textObject(block.text, `${at}/text`, err, { max: 3000 });
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0) err(`${at}/fields`, 'must be a non-empty array');
          else {
            if (block.fields.length > 10) err(`${at}/fields`, `must hold at most 10 items (holds ${block.fields.length})`);
            block.fields.forEach((f, j) => textObject(f, `${at}/fields/${j}`, err, { max: 2000 }));
          }
        }
        if (block.accessory !== undefined) element(block.accessory, `${at}/accessory`, err, new Set());
        break;
      }
      case 'header':
        textObject(block.text, `${at}/text`, err, { plainOnly: true, max: 150 });
        break;
      case 'input': {
        if (surface === 'message') err(`${at}/type`, 'input blocks are only allowed in modals and Home tabs');
        textObject(block.label, `${at}/label`, err, { plainOnly: true, max: 2000 });
        if (block.hint !== undefined) textObject(block.hint, `${at}/hint`, err, { plainOnly: true, max: 2000 });
        if (block.optional !== undefined && typeof block.optional !== 'boolean') err(`${at}/optional`, 'must be a boolean');
        if (!isObj(block.element) || typeof block.element.type !== 'string' || !INPUT_ELEMENTS.has(block.element.type)) {
          err(`${at}/element`, 'must be an input element');
        } else element(block.element, `${at}/element`, err, new Set());
        break;
      }
      case 'context': {
        if (!Array.isArray(block.elements) || block.elements.length === 0) return err(`${at}/elements`, 'must be a non-empty array');
        if (block.elements.length > 10) err(`${at}/elements`, `must hold at most 10 elements (holds ${block.elements.length})`);
        block.elements.forEach((e, j) => {
          if (isObj(e) && e.type === 'image') return;
          textObject(e, `${at}/elements/${j}`, err, { max: 3000 });
        });
        break;
      }
      case 'actions': {
        if (!Array.isArray(block.elements) || block.elements.length === 0) return err(`${at}/elements`, 'must be a non-empty array');
        if (block.elements.length > 25) err(`${at}/elements`, `must hold at most 25 elements (holds ${block.elements.length})`);
        const actionIds = new Set<string>();
        block.elements.forEach((e, j) => element(e, `${at}/elements/${j}`, err, actionIds));
        break;
      }
      default:
        break;
    }
  });
}

/** Slack's `response_metadata.messages` lines for the errors, e.g. `[ERROR] must be … [json-pointer:/blocks/0/text/text]`. */
export function slackErrorMessages(errors: BlockKitError[]): string[] {
  return errors.map((e) => `[ERROR] ${e.message} [json-pointer:${e.pointer}]`);
}
