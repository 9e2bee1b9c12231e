/**
 * Who is probably still calling an app, guessed from the endpoints it calls and from its name
 * (SPEC §4.3). Zoom's call logs carry no caller identity, so this is evidence for a person to
 * confirm, never a fact: every guess says why it was made and how sure it is.
 */

export interface MigrationGuide {
  title: string;
  url: string;
}

export type Confidence = 'high' | 'medium' | 'low';

export interface IntegrationGuess {
  /** Stable id: `scim`, `salesforce`, `epic`, `zoom-rooms`, `reporting`, `scheduling`, … */
  id: string;
  label: string;
  confidence: Confidence;
  /** One sentence for people: what was seen. */
  reason: string;
  /** Endpoint keys (`METHOD /template`) behind the guess, most called first. */
  endpoints: string[];
  /** Zoom's program-specific migration guide, where one exists. */
  guide?: MigrationGuide;
}

export interface IntegrationInput {
  appName: string;
  /** Endpoint keys as made by `normaliseEndpoint`, with their call counts over the window. */
  endpoints: ReadonlyArray<{ key: string; count: number }>;
}

/** Zoom's general JWT → Server-to-Server OAuth guide, for callers without a dedicated one. */
export const GENERIC_MIGRATION_GUIDE: MigrationGuide = {
  title: 'JWT app type migration guide',
  url: 'https://developers.zoom.us/docs/internal-apps/jwt-app-migration/',
};

/** Where a person disables or removes an app by hand. */
export const MARKETPLACE_CREATED_APPS_URL = 'https://marketplace.zoom.us/user/build';

export const GUIDES = {
  azureScim: {
    title: 'Azure Automated Provisioning (SCIM)',
    url: 'https://support.zoom.com/hc/en/article?id=zm_kb&sysparm_article=KB0064441',
  },
  salesforce: {
    title: 'Salesforce for Zoom App',
    url: 'https://support.zoom.com/hc/en/article?id=zm_kb&sysparm_article=KB0063953',
  },
  epic: {
    title: 'Epic and Epic FHIR',
    url: 'https://support.zoom.com/hc/en/article?id=zm_kb&sysparm_article=KB0059796',
  },
  zoomRooms: {
    title: 'Zoom Rooms JSON-RPC API',
    url: 'https://developers.zoom.us/docs/rooms/',
  },
} as const satisfies Record<string, MigrationGuide>;

/** Groups of endpoints that point to one kind of caller. Each endpoint key falls in one group. */
type Group =
  | 'scim'
  | 'rooms'
  | 'phone'
  | 'chat'
  | 'reporting'
  | 'recordings'
  | 'webinars'
  | 'scheduling'
  | 'user-management';

interface GroupRule {
  group: Group;
  /** Matches the template (without a master-account `/accounts/{accountId}` prefix). */
  matches: (method: string, template: string) => boolean;
  /** Calls that only this kind of caller makes; reads alone are weaker evidence. */
  isSignature?: (method: string, template: string) => boolean;
}

/** Per-user endpoints a provisioning job touches (not meetings or recordings). */
const USER_SUBRESOURCE = new RegExp(
  `^/users/[^/]+/(${[
    'status',
    'settings',
    'password',
    'email',
    'picture',
    'permissions',
    'assistants',
    'schedulers',
    'presence_status',
  ].join('|')})(/|$)`,
);

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
const isWrite = (method: string): boolean => WRITE_METHODS.has(method);

/** In priority order: the first match wins (`/report/webinars/…` is reporting, not marketing). */
const GROUP_RULES: readonly GroupRule[] = [
  { group: 'scim', matches: (_m, t) => /^\/scim2(\/|$)/i.test(t) },
  {
    group: 'rooms',
    matches: (_m, t) =>
      /^\/rooms(\/|$)/.test(t) || /^\/metrics\/(zoomrooms|issues\/zoomrooms)(\/|$)/.test(t),
  },
  { group: 'phone', matches: (_m, t) => /^\/(phone|sip_phones)(\/|$)/.test(t) },
  { group: 'chat', matches: (_m, t) => /^\/(chat|im)(\/|$)/.test(t) },
  {
    group: 'reporting',
    matches: (_m, t) => /^\/(report|metrics|dashboards|past_meetings|past_webinars)(\/|$)/.test(t),
  },
  {
    group: 'recordings',
    matches: (_m, t) => /\/recordings(\/|$)/.test(t) || /^\/archive_files(\/|$)/.test(t),
  },
  {
    group: 'webinars',
    matches: (_m, t) =>
      /^\/webinars(\/|$)/.test(t) || /^\/users\/[^/]+\/(webinars|webinar_templates)(\/|$)/.test(t),
    isSignature: (m, t) => isWrite(m) || t.includes('/registrants'),
  },
  {
    group: 'scheduling',
    matches: (_m, t) =>
      /^\/users\/[^/]+\/(meetings|meeting_templates|upcoming_meetings|token|zak)(\/|$)/.test(t) ||
      /^\/(meetings|live_meetings)(\/|$)/.test(t),
    isSignature: (m, t) => isWrite(m) || t.includes('/registrants'),
  },
  {
    group: 'user-management',
    matches: (_m, t) =>
      /^\/users(\/[^/]+)?$/.test(t) ||
      USER_SUBRESOURCE.test(t) ||
      /^\/(groups|roles)(\/|$)/.test(t),
    isSignature: (m) => isWrite(m),
  },
];

interface Evidence {
  keys: Array<{ key: string; count: number }>;
  calls: number;
  hasSignature: boolean;
}

/** What an endpoint group alone suggests. */
interface GroupGuess {
  id: string;
  label: string;
  /** "It calls …" completes the sentence. */
  what: string;
  /** A group only one kind of caller uses (scim2, Zoom Rooms, …) is strong evidence. */
  specific: boolean;
  guide?: MigrationGuide;
}

const GROUP_GUESSES: Record<Group, GroupGuess> = {
  scim: {
    id: 'scim',
    label: 'SCIM provisioning (Azure AD / Entra ID or Okta)',
    what: 'SCIM 2.0 user and group provisioning endpoints',
    specific: true,
    guide: GUIDES.azureScim,
  },
  rooms: {
    id: 'zoom-rooms',
    label: 'Zoom Rooms integration',
    what: 'Zoom Rooms endpoints',
    specific: true,
    guide: GUIDES.zoomRooms,
  },
  phone: {
    id: 'zoom-phone',
    label: 'Zoom Phone integration',
    what: 'Zoom Phone endpoints',
    specific: true,
  },
  chat: {
    id: 'chat-bot',
    label: 'Team Chat bot or chat integration',
    what: 'Team Chat endpoints',
    specific: true,
  },
  reporting: {
    id: 'reporting',
    label: 'Reporting or analytics job',
    what: 'report, dashboard and past-meeting endpoints',
    specific: false,
  },
  recordings: {
    id: 'recording-archive',
    label: 'Recording archiving or compliance tool',
    what: 'cloud recording endpoints',
    specific: false,
  },
  webinars: {
    id: 'webinar-marketing',
    label: 'Webinar or marketing platform (e.g. Marketo, HubSpot)',
    what: 'webinar endpoints',
    specific: false,
  },
  scheduling: {
    id: 'scheduling',
    label: 'Calendar, CRM or EHR integration scheduling meetings (e.g. Salesforce, Epic)',
    what: 'meeting scheduling endpoints on behalf of users',
    specific: false,
  },
  'user-management': {
    id: 'user-provisioning',
    label: 'User provisioning script',
    what: 'user management endpoints',
    specific: false,
  },
};

/** A word in the app name that names the caller. The first hint per guess id wins. */
interface NameHint {
  pattern: RegExp;
  id: string;
  label: string;
  /** Endpoint groups this caller would use; their evidence joins the guess. */
  claims: readonly Group[];
  /** How sure the name alone makes us. */
  strength: 'high' | 'medium';
  guide?: MigrationGuide;
}

const NAME_HINTS: readonly NameHint[] = [
  {
    pattern: /\b(azure|entra|aad)\b/,
    id: 'scim',
    label: 'SCIM provisioning from Azure AD / Entra ID',
    claims: ['scim', 'user-management'],
    strength: 'high',
    guide: GUIDES.azureScim,
  },
  {
    pattern: /\bokta\b/,
    id: 'scim',
    label: 'SCIM provisioning from Okta',
    claims: ['scim', 'user-management'],
    strength: 'high',
  },
  {
    pattern: /\bone ?login\b/,
    id: 'scim',
    label: 'SCIM provisioning from OneLogin',
    claims: ['scim', 'user-management'],
    strength: 'high',
  },
  {
    pattern: /\bscim\b/,
    id: 'scim',
    label: GROUP_GUESSES.scim.label,
    claims: ['scim', 'user-management'],
    strength: 'high',
    guide: GUIDES.azureScim,
  },
  {
    pattern: /\b(salesforce|sfdc)\b/,
    id: 'salesforce',
    label: 'Salesforce for Zoom',
    claims: ['scheduling', 'webinars'],
    strength: 'high',
    guide: GUIDES.salesforce,
  },
  {
    pattern: /\b(epic|fhir)\b/,
    id: 'epic',
    label: 'Epic / Epic FHIR',
    claims: ['scheduling'],
    strength: 'high',
    guide: GUIDES.epic,
  },
  {
    pattern: /\b(zoom ?rooms?|rooms|zr)\b/,
    id: 'zoom-rooms',
    label: GROUP_GUESSES.rooms.label,
    claims: ['rooms'],
    strength: 'high',
    guide: GUIDES.zoomRooms,
  },
  {
    pattern: /\b(workday|bamboo ?hr|successfactors|adp)\b/,
    id: 'user-provisioning',
    label: 'User provisioning from an HR system',
    claims: ['user-management'],
    strength: 'high',
  },
  {
    pattern: /\b(marketo|hubspot|eloqua|pardot|on24|cvent)\b/,
    id: 'webinar-marketing',
    label: 'Marketing platform (webinar registrations)',
    claims: ['webinars'],
    strength: 'high',
  },
  {
    pattern: /\b(tableau|power ?bi|splunk|looker|datadog|snowflake)\b/,
    id: 'reporting',
    label: 'Reporting or analytics job',
    claims: ['reporting'],
    strength: 'high',
  },
  {
    pattern: /\b(smarsh|theta ?lake|global ?relay|panopto|kaltura)\b/,
    id: 'recording-archive',
    label: 'Recording archiving or compliance tool',
    claims: ['recordings'],
    strength: 'high',
  },
  {
    pattern: /\b(report|reports|reporting|analytics|dashboards?|metrics|stats|bi)\b/,
    id: 'reporting',
    label: GROUP_GUESSES.reporting.label,
    claims: ['reporting'],
    strength: 'medium',
  },
  {
    pattern: /\b(archive|archiving|archiver|compliance|retention|backup|recordings?)\b/,
    id: 'recording-archive',
    label: GROUP_GUESSES.recordings.label,
    claims: ['recordings'],
    strength: 'medium',
  },
  {
    pattern: /\b(webinars?|marketing)\b/,
    id: 'webinar-marketing',
    label: GROUP_GUESSES.webinars.label,
    claims: ['webinars'],
    strength: 'medium',
  },
  {
    pattern: /\b(phone|pbx|telephony|call ?center|contact ?center)\b/,
    id: 'zoom-phone',
    label: GROUP_GUESSES.phone.label,
    claims: ['phone'],
    strength: 'medium',
  },
  {
    pattern: /\b(bot|chatbot|chat|im)\b/,
    id: 'chat-bot',
    label: GROUP_GUESSES.chat.label,
    claims: ['chat'],
    strength: 'medium',
  },
  {
    pattern: /\b(calendar|outlook|exchange|scheduler|scheduling|booking|crm|ehr)\b/,
    id: 'scheduling',
    label: GROUP_GUESSES.scheduling.label,
    claims: ['scheduling'],
    strength: 'medium',
  },
  {
    pattern: /\b(provisioning|users?|hr|onboarding|offboarding)\b/,
    id: 'user-provisioning',
    label: GROUP_GUESSES['user-management'].label,
    claims: ['user-management'],
    strength: 'medium',
  },
];

/** Below this share of all calls, an endpoint group is a stray call: low confidence. */
const STRAY_SHARE = 0.05;

/**
 * "AzureSCIM_JWT-prod" → "azure scim jwt prod": lower-case words, camelCase and acronym
 * boundaries split, so hints can match whole words.
 */
function nameWords(appName: string): string {
  return appName
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

function splitKey(key: string): { method: string; template: string } {
  const space = key.indexOf(' ');
  if (space < 0) return { method: '', template: key };
  return { method: key.slice(0, space).toUpperCase(), template: key.slice(space + 1) };
}

function withoutMasterPrefix(template: string): string {
  const match = /^\/accounts\/\{accountId\}(\/.+)$/.exec(template);
  return match ? match[1]! : template;
}

function collectEvidence(endpoints: IntegrationInput['endpoints']): Map<Group, Evidence> {
  const byGroup = new Map<Group, Evidence>();
  for (const { key, count } of endpoints) {
    const calls = Number.isFinite(count) && count > 0 ? count : 0;
    const { method, template } = splitKey(key);
    const path = withoutMasterPrefix(template);
    const rule = GROUP_RULES.find((r) => r.matches(method, path));
    if (!rule) continue;
    let evidence = byGroup.get(rule.group);
    if (!evidence) {
      evidence = { keys: [], calls: 0, hasSignature: false };
      byGroup.set(rule.group, evidence);
    }
    evidence.keys.push({ key, count: calls });
    evidence.calls += calls;
    if (!rule.isSignature || rule.isSignature(method, path)) evidence.hasSignature = true;
  }
  return byGroup;
}

function percent(part: number, whole: number): string {
  if (whole <= 0) return '';
  const pct = (part / whole) * 100;
  return pct > 0 && pct < 1 ? ' (<1% of all calls)' : ` (${Math.round(pct)}% of all calls)`;
}

function callsPhrase(evidence: Evidence, totalCalls: number): string {
  const calls = evidence.calls;
  const endpointCount = evidence.keys.length;
  const endpointsWord = endpointCount === 1 ? '1 endpoint' : `${endpointCount} endpoints`;
  const callsWord = calls === 1 ? '1 call' : `${calls.toLocaleString('en-US')} calls`;
  return `${callsWord} to ${endpointsWord}${percent(calls, totalCalls)}`;
}

function mergeEvidence(parts: Evidence[]): Evidence {
  const merged: Evidence = { keys: [], calls: 0, hasSignature: false };
  for (const part of parts) {
    merged.keys.push(...part.keys);
    merged.calls += part.calls;
    merged.hasSignature ||= part.hasSignature;
  }
  return merged;
}

function sortedKeys(evidence: Evidence): string[] {
  return [...evidence.keys]
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key))
    .map((k) => k.key);
}

function endpointConfidence(group: GroupGuess, evidence: Evidence, totalCalls: number): Confidence {
  const share = totalCalls > 0 ? evidence.calls / totalCalls : 1;
  if (share < STRAY_SHARE || !evidence.hasSignature) return 'low';
  return group.specific ? 'high' : 'medium';
}

const CONFIDENCE_RANK: Record<Confidence, number> = { high: 0, medium: 1, low: 2 };

interface RankedGuess {
  guess: IntegrationGuess;
  calls: number;
}

/**
 * Guesses, most likely first (confidence, then calls). Empty when neither the endpoints nor the
 * name point anywhere.
 */
export function guessIntegrations(input: IntegrationInput): IntegrationGuess[] {
  const evidence = collectEvidence(input.endpoints ?? []);
  const totalCalls = (input.endpoints ?? []).reduce(
    (sum, e) => sum + (Number.isFinite(e.count) && e.count > 0 ? e.count : 0),
    0,
  );
  const words = nameWords(typeof input.appName === 'string' ? input.appName : '');
  const claimed = new Set<Group>();
  const seenIds = new Set<string>();
  const ranked: RankedGuess[] = [];

  // 1. The name speaks first: "Azure SCIM JWT" is SCIM even before any call is seen.
  // Groups an earlier, more specific hint already explains: "Okta provisioning" is one guess.
  const named = new Set<Group>();
  for (const hint of NAME_HINTS) {
    if (seenIds.has(hint.id)) continue;
    const match = hint.pattern.exec(words);
    if (!match) continue;
    if (hint.claims.every((group) => named.has(group))) continue;
    seenIds.add(hint.id);
    for (const group of hint.claims) named.add(group);
    const parts: Evidence[] = [];
    for (const group of hint.claims) {
      const found = claimed.has(group) ? undefined : evidence.get(group);
      if (found) {
        parts.push(found);
        claimed.add(group);
      }
    }
    const backing = mergeEvidence(parts);
    const share = totalCalls > 0 ? backing.calls / totalCalls : 1;
    const mention = `the app name mentions "${match[0]}"`;
    const guess: IntegrationGuess =
      backing.keys.length > 0
        ? {
            id: hint.id,
            label: hint.label,
            // Name and endpoints agree; a generic word backed only by a stray call stays medium.
            confidence: hint.strength === 'high' || share >= STRAY_SHARE ? 'high' : 'medium',
            reason:
              `${capitalise(mention)}, and it calls matching endpoints: ` +
              `${callsPhrase(backing, totalCalls)}.`,
            endpoints: sortedKeys(backing),
          }
        : {
            id: hint.id,
            label: hint.label,
            confidence: hint.strength,
            reason: `${capitalise(mention)}; no calls to matching endpoints seen.`,
            endpoints: [],
          };
    if (hint.guide) guess.guide = hint.guide;
    ranked.push({ guess, calls: backing.calls });
  }

  // 2. Endpoint groups nobody named. User management next to scim2 is part of the SCIM job.
  if (evidence.has('scim') && !claimed.has('scim') && !claimed.has('user-management')) {
    const scim = evidence.get('scim')!;
    const users = evidence.get('user-management');
    if (users) {
      evidence.set('scim', mergeEvidence([scim, users]));
      claimed.add('user-management');
    }
  }
  for (const [group, found] of evidence) {
    if (claimed.has(group)) continue;
    const meta = GROUP_GUESSES[group];
    if (seenIds.has(meta.id)) continue;
    seenIds.add(meta.id);
    const readsOnly = found.hasSignature ? '' : ' (reads only)';
    const guess: IntegrationGuess = {
      id: meta.id,
      label: meta.label,
      confidence: endpointConfidence(meta, found, totalCalls),
      reason: `It calls ${meta.what}${readsOnly}: ${callsPhrase(found, totalCalls)}.`,
      endpoints: sortedKeys(found),
    };
    if (meta.guide) guess.guide = meta.guide;
    ranked.push({ guess, calls: found.calls });
  }

  return ranked
    .sort(
      (a, b) =>
        CONFIDENCE_RANK[a.guess.confidence] - CONFIDENCE_RANK[b.guess.confidence] ||
        b.calls - a.calls ||
        a.guess.id.localeCompare(b.guess.id),
    )
    .map((r) => r.guess);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
