/**
 * Endpoint normalisation. Zoom's call logs give `url_pattern` as the URL that was called, with
 * concrete ids (`https://api.zoom.us/v2/users/abc@x.com/meetings?page_size=30`). Usage is
 * aggregated by template instead (`GET /users/{userId}/meetings`), so the number of distinct keys
 * stays small however many users or meetings a caller touches, and ids (emails) never reach the
 * digest.
 *
 * Pure and total: any input, however odd, gives a safe template (only `[A-Za-z0-9_-]` segments
 * and `{placeholders}`, at most 200 characters) and never throws.
 */

export interface NormalisedEndpoint {
  /** `METHOD /template`, the aggregation key. */
  readonly key: string;
  /** Upper-case HTTP method, or `UNKNOWN`. */
  readonly method: string;
  /** Path without host, `/v2`, query or ids: `/users/{userId}/meetings`. */
  readonly template: string;
  /** Area of the API, for "a new endpoint family appeared": `users`, `scim2`, `rooms`, … */
  readonly family: string;
}

export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'other';

export function statusClass(httpStatus: number): StatusClass {
  if (!Number.isInteger(httpStatus)) return 'other';
  if (httpStatus >= 200 && httpStatus < 300) return '2xx';
  if (httpStatus >= 300 && httpStatus < 400) return '3xx';
  if (httpStatus >= 400 && httpStatus < 500) return '4xx';
  if (httpStatus >= 500 && httpStatus < 600) return '5xx';
  return 'other';
}

/** Longest template returned, in characters. */
export const MAX_TEMPLATE_LENGTH = 200;
const UNKNOWN_TEMPLATE = '/unknown';
/** Inputs are cut to this many characters before parsing: no Zoom URL comes close. */
const MAX_INPUT_LENGTH = 2048;
/** Segments kept; deeper paths are cut (Zoom's deepest is about 8). */
const MAX_SEGMENTS = 24;

/**
 * A resource name (lower-cased) → the placeholder for the id segment that follows it.
 * `/users/abc@x.com` → `/users/{userId}`; scim2's `Users`/`Groups` share the entries.
 * A following segment that is a known literal (`/users/me`, `/rooms/locations`) is kept.
 */
const ID_AFTER: ReadonlyMap<string, string> = new Map(
  Object.entries({
    users: '{userId}',
    meetings: '{meetingId}',
    webinars: '{webinarId}',
    live_meetings: '{meetingId}',
    live_webinars: '{webinarId}',
    past_meetings: '{meetingUUID}',
    past_webinars: '{webinarUUID}',
    groups: '{groupId}',
    rooms: '{roomId}',
    zoomrooms: '{roomId}',
    accounts: '{accountId}',
    sub_accounts: '{accountId}',
    recordings: '{recordingId}',
    registrants: '{registrantId}',
    panelists: '{panelistId}',
    participants: '{participantId}',
    polls: '{pollId}',
    instances: '{instanceId}',
    channels: '{channelId}',
    messages: '{messageId}',
    sessions: '{sessionId}',
    contacts: '{contactId}',
    members: '{memberId}',
    admins: '{userId}',
    assistants: '{assistantId}',
    schedulers: '{schedulerId}',
    roles: '{roleId}',
    call_logs: '{callLogId}',
    call_history: '{callLogId}',
    call_queues: '{callQueueId}',
    auto_receptionists: '{autoReceptionistId}',
    common_areas: '{commonAreaId}',
    shared_line_groups: '{sharedLineGroupId}',
    sites: '{siteId}',
    numbers: '{numberId}',
    phone_numbers: '{numberId}',
    voice_mails: '{voicemailId}',
    devices: '{deviceId}',
    collaboration_devices: '{deviceId}',
    sip_phones: '{phoneId}',
    locations: '{locationId}',
    apps: '{appId}',
    event_subscription: '{subscriptionId}',
    subscriptions: '{subscriptionId}',
    tracking_fields: '{fieldId}',
    templates: '{templateId}',
    meeting_templates: '{templateId}',
    webinar_templates: '{templateId}',
    setting_templates: '{templateId}',
    archive_files: '{fileId}',
    files: '{fileId}',
    events: '{eventId}',
    feedback: '{feedbackId}',
    tsp: '{tspId}',
    whiteboards: '{whiteboardId}',
    clips: '{clipId}',
    workspaces: '{workspaceId}',
    reservations: '{reservationId}',
    tags: '{tagId}',
    services: '{serviceId}',
    calendars: '{calendarId}',
    questions: '{questionId}',
    tracking_sources: '{sourceId}',
    virtual_backgrounds: '{fileId}',
    emails: '{emailId}',
    billing_invoices: '{invoiceId}',
    invoices: '{invoiceId}',
    plans: '{planId}',
    h323: '{deviceId}',
  }),
);

/**
 * Path words Zoom uses as literals (lower-cased). They are never taken for ids, even right after
 * a resource name (`/users/me`, `/users/email`, `/meetings/{meetingId}/recordings/settings`).
 */
const LITERALS: ReadonlySet<string> = new Set([
  ...ID_AFTER.keys(),
  // namespaces
  'scim2', 'report', 'metrics', 'dashboards', 'phone', 'im', 'chat', 'marketplace', 'team_chat',
  'contact_center', 'sip_trunk', 'sip_trunks', 'qss', 'docs', 'mail', 'calendar', 'v1', 'v2',
  // scim2 resources
  'me', 'schemas', 'resourcetypes', 'serviceproviderconfig', 'bulk',
  // common sub-resources and actions
  'settings', 'status', 'summary', 'email', 'password', 'token', 'zak', 'permissions', 'picture',
  'presence_status', 'features', 'vanity_name', 'upcoming_meetings', 'lock_settings', 'options',
  'managed_domains', 'trusted_domains', 'owner', 'account_profile', 'account_settings',
  'digital_signage', 'zrclient', 'livestream', 'invitation', 'batch_registrants', 'batch_polls',
  'survey', 'jointoken', 'local_recording', 'live_streaming', 'analytics_details',
  'analytics_summary',
  'meeting_summary', 'meeting_summaries', 'sip_dialing', 'open_apps', 'archive_token', 'qa',
  'daily', 'telephone', 'cloud_recording', 'operationlogs', 'activities', 'upcoming_events',
  'billing', 'crc', 'client', 'versions', 'satisfaction', 'issues', 'absentees', 'branding',
  'recording', 'download', 'transcripts', 'transcript', 'api_call_logs', 'webhook_logs',
  'rotate_client_secret', 'preapprove', 'manifest', 'validate', 'requests', 'subscription',
  'assign', 'unassign', 'batch', 'sync', 'search', 'list', 'usage', 'plan', 'addons', 'base',
  'registration', 'custom_questions', 'custom_attributes', 'approve', 'deny', 'cancel', 'end',
  'recover', 'check', 'structure', 'alert', 'history', 'qos', 'participants_qos', 'sharing',
  'chat_messages', 'meeting', 'webinar', 'user', 'account', 'group', 'room', 'rtms', 'emoji',
  'reactions', 'bookmarks', 'mentions', 'channel', 'message', 'thread', 'threads', 'sso',
  'wallpaper', 'background', 'backgrounds', 'location', 'profile', 'notifications', 'sip',
  'outbound_caller_id', 'calling_plans', 'extensions', 'blocked_list', 'emergency_addresses',
  'emergency_service', 'rooms_status', 'zpa', 'assets', 'restart', 'upgrade', 'unlink', 'link',
]);

/** A meeting UUID is 16 bytes in standard base64; it may contain '/' and so span segments. */
const BASE64_UUID = /^[A-Za-z0-9+/]{22}==$/;

const WORD = 0;
const ID = 1;
const INVALID = 2;
type SegmentKind = typeof WORD | typeof ID | typeof INVALID;

/**
 * Classifies a segment that is not a known literal, in one pass over its characters (this is the
 * hot loop of polling). Path words are lower-case snake_case without digits; ids are numbers,
 * emails, UUIDs and Zoom's base64 ids, which mix digits, cases or punctuation. Whitespace or
 * control characters mean the input is not a URL at all.
 */
function classify(segment: string): SegmentKind {
  let digits = 0;
  let letters = 0;
  let lower = 0;
  let upperAfterFirst = 0;
  let underscores = 0;
  let punctuation = 0;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c >= 97 && c <= 122) {
      letters++;
      lower++;
    } else if (c >= 65 && c <= 90) {
      letters++;
      if (i > 0) upperAfterFirst++;
    } else if (c >= 48 && c <= 57) {
      digits++;
    } else if (c === 95) {
      underscores++;
    } else if (c === 45) {
      // '-' appears in UUIDs and url-safe base64, never in Zoom's path words.
      punctuation++;
    } else if (c <= 32 || c === 127) {
      return INVALID;
    } else {
      // '@', '.', '%', '+', '=', '{', '<', ':' …: emails, encoded or base64 ids, placeholders.
      punctuation++;
    }
  }
  if (punctuation > 0 || segment.length > 40) return ID;
  if (letters === 0) return digits > 0 ? ID : WORD;
  if (digits > 0 && segment.length >= 6) return ID;
  if (upperAfterFirst > 0 && lower > 0 && segment.length >= 10) return ID;
  return segment.length >= 20 && underscores === 0 ? ID : WORD;
}

/** The path of a URL or path-like string, without host, query and fragment; `undefined` if none. */
function extractPath(input: string): string | undefined {
  let text = input.trim();
  const query = text.indexOf('?');
  if (query >= 0) text = text.slice(0, query);
  const fragment = text.indexOf('#');
  if (fragment >= 0) text = text.slice(0, fragment);
  if (text.startsWith('//')) {
    // Protocol-relative: //zoom.us/v2/...
    const slash = text.indexOf('/', 2);
    return slash >= 0 ? text.slice(slash) : '';
  }
  if (text.startsWith('/')) return text;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const scheme = text.indexOf('://');
  if (scheme > 0 && scheme < slash) {
    // https://api.zoom.us/v2/...
    const pathStart = text.indexOf('/', scheme + 3);
    return pathStart >= 0 ? text.slice(pathStart) : '';
  }
  // "zoom.us/v2/users" or "v2/users": a host-looking first segment is dropped.
  return text.slice(0, slash).includes('.') ? text.slice(slash) : `/${text}`;
}

/**
 * APIs a master account calls on behalf of a sub account as `/accounts/{accountId}/<api>/…`;
 * anything else under `/accounts/{accountId}` (settings, owner, plans) is account management.
 */
const MIRRORED_APIS: ReadonlySet<string> = new Set([
  'users', 'meetings', 'webinars', 'groups', 'rooms', 'report', 'metrics', 'phone', 'im', 'chat',
  'scim2', 'past_meetings', 'past_webinars', 'live_meetings', 'recordings', 'marketplace', 'roles',
  'h323', 'sip_phones', 'tracking_fields', 'contacts', 'devices', 'tsp', 'archive_files',
]);

function familyOf(segments: readonly string[]): string {
  let rest = segments;
  if (
    rest[0]?.toLowerCase() === 'accounts' &&
    rest[1] === '{accountId}' &&
    MIRRORED_APIS.has(rest[2]?.toLowerCase() ?? '')
  ) {
    rest = rest.slice(2);
  }
  const first = rest[0]?.toLowerCase();
  if (first === undefined || first.startsWith('{')) return 'unknown';
  // Meetings, webinars and recordings "of a user" belong to those APIs, not to user management.
  if (first === 'users' && rest.length > 2) {
    const sub = rest[2]?.toLowerCase();
    if (sub === 'meetings' || sub === 'upcoming_meetings' || sub === 'meeting_templates') {
      return 'meetings';
    }
    if (sub === 'webinars' || sub === 'webinar_templates') return 'webinars';
    if (sub === 'recordings') return 'recordings';
  }
  return first;
}

/** The literal's lower-case form if `segment` is a known path word. */
function literalOf(segment: string): string | undefined {
  if (LITERALS.has(segment)) return segment;
  // Only scim2 capitalises its words (`Users`, `Groups`, `ServiceProviderConfig`); lower-casing
  // every segment would allocate for each id.
  const first = segment.charCodeAt(0);
  if (first >= 65 && first <= 90 && segment.length <= 40) {
    const lower = segment.toLowerCase();
    if (LITERALS.has(lower)) return lower;
  }
  return undefined;
}

/** Template segments, or `undefined` when the path is not a URL path. */
function templateOf(path: string): string[] | undefined {
  const raw = path.split('/');
  // Drop the leading '' and one API version prefix.
  let start = 1;
  const version = raw[1];
  if (version === 'v2' || version === 'v1') start = 2;

  const out: string[] = [];
  let pendingPlaceholder: string | undefined;
  let lastWasId = false;
  const mayHoldSplitUuid = path.includes('==');
  for (let i = start; i < raw.length && out.length < MAX_SEGMENTS; i++) {
    let segment = raw[i]!;
    // A meeting UUID may contain '/' (and start with one): "//4444AAAiAAAAiAiAiiAii==" or
    // "ab/cd…==". Join the pieces back when they form exactly one UUID.
    if (mayHoldSplitUuid && (pendingPlaceholder !== undefined || segment === '')) {
      let joined = segment;
      for (let j = i + 1; j < raw.length && j <= i + 8 && joined.length < 24; j++) {
        joined = `${joined}/${raw[j]!}`;
        if (joined.length === 24 && BASE64_UUID.test(joined)) {
          segment = joined;
          i = j;
          break;
        }
      }
    }
    if (segment === '') continue;

    const literal = literalOf(segment);
    if (literal !== undefined) {
      out.push(segment);
      pendingPlaceholder = ID_AFTER.get(literal);
      lastWasId = false;
      continue;
    }
    const kind = classify(segment);
    if (kind === INVALID) return undefined;
    if (pendingPlaceholder !== undefined) {
      out.push(pendingPlaceholder);
      pendingPlaceholder = undefined;
      lastWasId = true;
      continue;
    }
    if (kind === ID) {
      // Zoom paths never hold two ids in a row: a second one is the rest of the first.
      if (!lastWasId) out.push('{id}');
      lastWasId = true;
      continue;
    }
    out.push(segment);
    lastWasId = false;
  }
  return out;
}

/** `/a/b/c`, dropping trailing segments rather than cutting a placeholder in half. */
function joinWithinLimit(segments: readonly string[]): string {
  let template = '';
  for (const segment of segments) {
    if (template.length + 1 + segment.length > MAX_TEMPLATE_LENGTH) break;
    template += `/${segment}`;
  }
  return template;
}

const METHOD = /^[A-Z]{1,10}$/;
const COMMON_METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']);

function cleanMethod(method: unknown): string {
  if (typeof method !== 'string') return 'UNKNOWN';
  // The common case costs one comparison.
  if (COMMON_METHODS.has(method)) return method;
  const upper = method.trim().toUpperCase();
  return METHOD.test(upper) ? upper : 'UNKNOWN';
}

function normalise(urlPattern: unknown, method: unknown): NormalisedEndpoint {
  const httpMethod = cleanMethod(method);

  let template = UNKNOWN_TEMPLATE;
  let family = 'unknown';
  if (typeof urlPattern === 'string' && urlPattern.length > 0) {
    const path = extractPath(urlPattern.slice(0, MAX_INPUT_LENGTH));
    if (path !== undefined) {
      const segments = templateOf(path);
      if (segments !== undefined && segments.length > 0) {
        template = joinWithinLimit(segments);
        family = familyOf(segments);
      }
    }
  }
  return { key: `${httpMethod} ${template}`, method: httpMethod, template, family };
}

/**
 * Recent results in two generations (an approximate LRU), keyed by URL alone: building a
 * method+URL key string per call costs more than it saves. A URL seen with another method (rare:
 * Zoom reports upper-case methods, and a caller uses one method per URL) is simply recomputed.
 * Call logs repeat the same URLs (a job polling one user's meetings), so a hit skips parsing.
 * When the young generation fills, it becomes the old one and the previous old one is dropped:
 * at most 2 × CACHE_GENERATION entries, O(1) per call (evicting from one Map key by key degrades
 * badly in V8).
 */
const CACHE_GENERATION = 4_096;
let youngCache = new Map<string, NormalisedEndpoint>();
let oldCache = new Map<string, NormalisedEndpoint>();

/**
 * `normaliseEndpoint('https://api.zoom.us/v2/users/abc@x.com/meetings?page_size=30', 'get')`
 * → `{ key: 'GET /users/{userId}/meetings', method: 'GET', template: '/users/{userId}/meetings',
 * family: 'meetings' }`. Results are shared through the cache: treat them as read-only.
 */
export function normaliseEndpoint(urlPattern: string, method: string): NormalisedEndpoint {
  // Very long inputs are garbage; caching them would only pin memory.
  if (typeof urlPattern !== 'string' || urlPattern.length > MAX_INPUT_LENGTH) {
    return normalise(urlPattern, method);
  }
  const young = youngCache.get(urlPattern);
  if (young !== undefined && young.method === method) return young;
  const old = oldCache.get(urlPattern);
  const result = old !== undefined && old.method === method ? old : normalise(urlPattern, method);
  if (youngCache.size >= CACHE_GENERATION) {
    oldCache = youngCache;
    youngCache = new Map();
  }
  youngCache.set(urlPattern, result);
  return result;
}
