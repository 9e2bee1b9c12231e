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
 *
 * Native charts and tables (docs.slack.dev, blocks/data-visualization-block, table-block,
 * data-table-block): `data_visualization` has a title of 1–50 and a chart of type pie (1–6
 * segments), or bar, area or line with 1–6 series of unique names (at most 20 characters), each of
 * 1–20 data points (label at most 20, a finite number) whose labels are the axis categories, and an
 * `axis_config` of categories (at most 20 characters each) and optional x_label / y_label (at most
 * 50). `table` has 1–100 rows of 1–20 raw_text or rich_text cells and at most 20 column_settings
 * (align left, center or right). `data_table` needs a caption, 2–101 rows (a header row, whose
 * cells are never rich_text, and at most 100 more) all of the same length, cells raw_text,
 * raw_number or rich_text, a page_size of 1–100 and a row_header_column_index inside the row.
 * A workspace that does not know a block type refuses it; `unsupported` makes the fake do that.
 */

export type Surface = 'message' | 'modal' | 'home';

export interface BlockKitError {
  /** JSON pointer into the payload, e.g. `/blocks/3/text/text`. */
  pointer: string;
  message: string;
}

const MAX_BLOCKS: Record<Surface, number> = { message: 50, modal: 100, home: 100 };
const BLOCK_TYPES = new Set([
  'section', 'header', 'context', 'actions', 'divider', 'image', 'input', 'rich_text', 'markdown', 'video', 'file',
  'data_visualization', 'table', 'data_table',
]);

/** Options of a check: block types this workspace refuses (an older workspace or client). */
export interface CheckOptions {
  unsupported?: ReadonlySet<string>;
}
const ELEMENT_TYPES = new Set([
  'button', 'checkboxes', 'datepicker', 'datetimepicker', 'timepicker', 'image', 'overflow', 'radio_buttons', 'plain_text_input',
  'static_select', 'external_select', 'users_select', 'conversations_select', 'channels_select',
  'multi_static_select', 'multi_external_select', 'multi_users_select', 'multi_conversations_select', 'multi_channels_select',
  'email_text_input', 'url_text_input', 'number_input', 'rich_text_input', 'workflow_button', 'file_input',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the `blocks` of a message (chat.postMessage / update / postEphemeral, response_url). */
export function checkMessage(payload: Obj, surface: Surface = 'message', opts: CheckOptions = {}): BlockKitError[] {
  const errors: BlockKitError[] = [];
  const err = (pointer: string, message: string) => void errors.push({ pointer, message });
  if (payload.blocks === undefined) return errors;
  if (!Array.isArray(payload.blocks)) {
    err('/blocks', 'must be an array');
    return errors;
  }
  checkBlocks(payload.blocks, '/blocks', surface, err, opts);
  return errors;
}

/** Checks a view (views.open / update / push / publish). */
export function checkView(view: unknown, opts: CheckOptions = {}): BlockKitError[] {
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
  else checkBlocks(view.blocks, '/view/blocks', type, err, opts);
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

const isFiniteNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

function requiredString(value: unknown, pointer: string, max: number, err: Err): void {
  if (typeof value !== 'string' || value.length === 0) err(pointer, 'must be a non-empty string');
  else if (value.length > max) err(pointer, `must be at most ${max} characters (is ${value.length})`);
}

function arrayOf(value: unknown, pointer: string, min: number, max: number, err: Err): unknown[] | undefined {
  if (!Array.isArray(value)) {
    err(pointer, 'must be an array');
    return undefined;
  }
  if (value.length < min || value.length > max) err(pointer, `must hold ${min}–${max} items (holds ${value.length})`);
  return value;
}

function dataVisualization(block: Obj, at: string, err: Err): void {
  requiredString(block.title, `${at}/title`, 50, err);
  const chart = block.chart;
  if (!isObj(chart)) return err(`${at}/chart`, 'must be a chart object');
  if (chart.type === 'pie') {
    arrayOf(chart.segments, `${at}/chart/segments`, 1, 6, err)?.forEach((seg, i) => {
      if (!isObj(seg)) return err(`${at}/chart/segments/${i}`, 'must be a segment object');
      requiredString(seg.label, `${at}/chart/segments/${i}/label`, 20, err);
      if (!isFiniteNumber(seg.value)) err(`${at}/chart/segments/${i}/value`, 'must be a number');
    });
    return;
  }
  if (chart.type !== 'bar' && chart.type !== 'area' && chart.type !== 'line') return err(`${at}/chart/type`, `must be pie, bar, area or line (is ${String(chart.type)})`);
  const axis = chart.axis_config;
  let categories: unknown[] | undefined;
  if (!isObj(axis)) err(`${at}/chart/axis_config`, 'is required');
  else {
    categories = arrayOf(axis.categories, `${at}/chart/axis_config/categories`, 1, 20, err);
    categories?.forEach((c, i) => requiredString(c, `${at}/chart/axis_config/categories/${i}`, 20, err));
    maxString(axis.x_label, `${at}/chart/axis_config/x_label`, 50, err);
    maxString(axis.y_label, `${at}/chart/axis_config/y_label`, 50, err);
  }
  const names = new Set<string>();
  arrayOf(chart.series, `${at}/chart/series`, 1, 6, err)?.forEach((series, i) => {
    const sp = `${at}/chart/series/${i}`;
    if (!isObj(series)) return err(sp, 'must be a data series object');
    requiredString(series.name, `${sp}/name`, 20, err);
    if (typeof series.name === 'string') {
      if (names.has(series.name)) err(`${sp}/name`, `duplicate series name: ${series.name}`);
      names.add(series.name);
    }
    const points = arrayOf(series.data, `${sp}/data`, 1, 20, err);
    points?.forEach((pt, j) => {
      if (!isObj(pt)) return err(`${sp}/data/${j}`, 'must be a data point object');
      requiredString(pt.label, `${sp}/data/${j}/label`, 20, err);
      if (!isFiniteNumber(pt.value)) err(`${sp}/data/${j}/value`, 'must be a number');
    });
    if (points && categories) {
      const labels = points.map((pt) => (isObj(pt) ? pt.label : undefined));
      if (labels.length !== categories.length || labels.some((l, j) => l !== categories[j])) err(`${sp}/data`, 'labels must match axis_config.categories');
    }
  });
}

function tableCell(cell: unknown, pointer: string, err: Err, allowed: readonly string[]): void {
  if (!isObj(cell) || typeof cell.type !== 'string' || !allowed.includes(cell.type)) return err(pointer, `must be a cell of type ${allowed.join(', ')}`);
  if (cell.type === 'raw_text' && typeof cell.text !== 'string') err(`${pointer}/text`, 'must be a string');
  if (cell.type === 'raw_number' && !isFiniteNumber(cell.value)) err(`${pointer}/value`, 'must be a number');
  if (cell.type === 'rich_text' && !Array.isArray(cell.elements)) err(`${pointer}/elements`, 'must be an array');
}

function table(block: Obj, at: string, err: Err): void {
  arrayOf(block.rows, `${at}/rows`, 1, 100, err)?.forEach((row, i) => {
    arrayOf(row, `${at}/rows/${i}`, 1, 20, err)?.forEach((cell, j) => tableCell(cell, `${at}/rows/${i}/${j}`, err, ['raw_text', 'rich_text']));
  });
  if (block.column_settings !== undefined) {
    arrayOf(block.column_settings, `${at}/column_settings`, 0, 20, err)?.forEach((c, i) => {
      if (c === null) return;
      if (!isObj(c)) return err(`${at}/column_settings/${i}`, 'must be an object');
      if (c.align !== undefined && c.align !== 'left' && c.align !== 'center' && c.align !== 'right') err(`${at}/column_settings/${i}/align`, 'must be left, center or right');
      if (c.is_wrapped !== undefined && typeof c.is_wrapped !== 'boolean') err(`${at}/column_settings/${i}/is_wrapped`, 'must be a boolean');
    });
  }
}

function dataTable(block: Obj, at: string, err: Err): void {
  requiredString(block.caption, `${at}/caption`, 3000, err);
  const rows = arrayOf(block.rows, `${at}/rows`, 2, 101, err);
  const width = Array.isArray(rows?.[0]) ? (rows[0] as unknown[]).length : 0;
  rows?.forEach((row, i) => {
    const cells = arrayOf(row, `${at}/rows/${i}`, 1, 100, err);
    if (cells && cells.length !== width) err(`${at}/rows/${i}`, `must hold as many values as the header (${width}, holds ${cells.length})`);
    cells?.forEach((cell, j) => tableCell(cell, `${at}/rows/${i}/${j}`, err, i === 0 ? ['raw_text', 'raw_number'] : ['raw_text', 'raw_number', 'rich_text']));
  });
  if (block.page_size !== undefined && (!Number.isInteger(block.page_size) || (block.page_size as number) < 1 || (block.page_size as number) > 100)) err(`${at}/page_size`, 'must be an integer of 1–100');
  if (block.row_header_column_index !== undefined && (!Number.isInteger(block.row_header_column_index) || (block.row_header_column_index as number) < 0 || (block.row_header_column_index as number) >= width)) {
    err(`${at}/row_header_column_index`, `must be a column index (0–${width - 1})`);
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

function checkBlocks(blocks: unknown[], pointer: string, surface: Surface, err: Err, opts: CheckOptions = {}): void {
  const max = MAX_BLOCKS[surface];
  if (blocks.length > max) err(pointer, `must hold at most ${max} blocks (holds ${blocks.length})`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const at = `${pointer}/${i}`;
    if (!isObj(block)) return err(at, 'must be a block object');
    if (typeof block.type !== 'string' || !BLOCK_TYPES.has(block.type) || opts.unsupported?.has(block.type)) return err(`${at}/type`, `unsupported block type: ${String(block.type)}`);
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
      case 'data_visualization':
        dataVisualization(block, at, err);
        break;
      case 'table':
        table(block, at, err);
        break;
      case 'data_table':
        dataTable(block, at, err);
        break;
      default:
        break;
    }
  });
}

/** Slack's `response_metadata.messages` lines for the errors, e.g. `[ERROR] must be … [json-pointer:/blocks/0/text/text]`. */
export function slackErrorMessages(errors: BlockKitError[]): string[] {
  return errors.map((e) => `[ERROR] ${e.message} [json-pointer:${e.pointer}]`);
}
