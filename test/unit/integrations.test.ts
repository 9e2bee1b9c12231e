import {
  GENERIC_MIGRATION_GUIDE,
  GUIDES,
  type IntegrationGuess,
  MARKETPLACE_CREATED_APPS_URL,
  guessIntegrations,
} from '../../src/capabilities/evidence/rules/integrations';

type Calls = Record<string, number>;

function guess(appName: string, calls: Calls = {}): IntegrationGuess[] {
  return guessIntegrations({
    appName,
    endpoints: Object.entries(calls).map(([key, count]) => ({ key, count })),
  });
}

function byId(guesses: IntegrationGuess[], id: string): IntegrationGuess {
  const found = guesses.find((g) => g.id === id);
  if (!found) throw new Error(`no guess "${id}" in ${JSON.stringify(guesses.map((g) => g.id))}`);
  return found;
}

describe('guessIntegrations: endpoint families', () => {
  it('scim2 calls point to SCIM provisioning with the Azure guide', () => {
    const [first, ...rest] = guess('Integration key', {
      'GET /scim2/Users': 40,
      'PATCH /scim2/Users/{userId}': 12,
      'POST /scim2/Groups/{groupId}': 3,
    });
    expect(rest).toEqual([]);
    expect(first).toMatchObject({
      id: 'scim',
      label: 'SCIM provisioning (Azure AD / Entra ID or Okta)',
      confidence: 'high',
      endpoints: ['GET /scim2/Users', 'PATCH /scim2/Users/{userId}', 'POST /scim2/Groups/{groupId}'],
      guide: GUIDES.azureScim,
    });
    expect(first!.reason).toContain('55 calls to 3 endpoints (100% of all calls)');
    expect(first!.guide!.title).toBe('Azure Automated Provisioning (SCIM)');
  });

  it('folds user management next to scim2 into the SCIM guess instead of a second guess', () => {
    const guesses = guess('key', { 'POST /scim2/Users': 10, 'PATCH /users/{userId}': 5 });
    expect(guesses.map((g) => g.id)).toEqual(['scim']);
    expect(guesses[0]!.endpoints).toEqual(['POST /scim2/Users', 'PATCH /users/{userId}']);
  });

  it('rooms calls point to Zoom Rooms with the JSON-RPC guide', () => {
    const [first] = guess('key', { 'POST /rooms/{roomId}/zrclient': 8, 'GET /metrics/zoomrooms': 2 });
    expect(first).toMatchObject({ id: 'zoom-rooms', confidence: 'high', guide: GUIDES.zoomRooms });
    expect(first!.endpoints).toEqual(['POST /rooms/{roomId}/zrclient', 'GET /metrics/zoomrooms']);
    expect(first!.guide!.title).toBe('Zoom Rooms JSON-RPC API');
  });

  it.each([
    'GET /report/meetings/{meetingId}/participants',
    'GET /metrics/meetings',
    'GET /past_meetings/{meetingUUID}/participants',
    'GET /report/webinars/{webinarId}/participants',
  ])('%s points to a reporting job', (key) => {
    const [first, ...rest] = guess('key', { [key]: 100 });
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ id: 'reporting', confidence: 'medium', endpoints: [key] });
    expect(first!.guide).toBeUndefined();
  });

  it('meeting scheduling on behalf of users points to a calendar/CRM/EHR integration', () => {
    const [first] = guess('key', {
      'POST /users/{userId}/meetings': 30,
      'PATCH /meetings/{meetingId}': 10,
      'DELETE /meetings/{meetingId}': 4,
      'POST /meetings/{meetingId}/registrants': 6,
    });
    expect(first).toMatchObject({ id: 'scheduling', confidence: 'medium' });
    expect(first!.label).toMatch(/Salesforce/);
    expect(first!.label).toMatch(/Epic/);
    expect(first!.endpoints).toHaveLength(4);
  });

  it('reading meetings without ever writing one is weak evidence of scheduling', () => {
    const [first] = guess('key', { 'GET /users/{userId}/meetings': 30, 'GET /meetings/{meetingId}': 10 });
    expect(first).toMatchObject({ id: 'scheduling', confidence: 'low' });
    expect(first!.reason).toContain('reads only');
  });

  it('user management without scim2 points to a provisioning script', () => {
    const [first] = guess('key', {
      'POST /users': 3,
      'PATCH /users/{userId}': 2,
      'PUT /users/{userId}/status': 1,
    });
    expect(first).toMatchObject({ id: 'user-provisioning', label: 'User provisioning script', confidence: 'medium' });
  });

  it.each([
    ['POST /webinars/{webinarId}/registrants', 'webinar-marketing', 'medium'],
    ['GET /users/{userId}/recordings', 'recording-archive', 'medium'],
    ['DELETE /meetings/{meetingId}/recordings/{recordingId}', 'recording-archive', 'medium'],
    ['GET /phone/users/{userId}/call_logs', 'zoom-phone', 'high'],
    ['POST /chat/users/me/messages', 'chat-bot', 'high'],
    ['POST /im/chat/messages', 'chat-bot', 'high'],
  ])('%s → %s (%s)', (key, id, confidence) => {
    const guesses = guess('key', { [key]: 10 });
    expect(guesses.map((g) => [g.id, g.confidence])).toEqual([[id, confidence]]);
  });

  it('reads master-account calls through /accounts/{accountId}/… like direct ones', () => {
    const [first] = guess('key', { 'GET /accounts/{accountId}/report/daily': 10 });
    expect(first).toMatchObject({ id: 'reporting', endpoints: ['GET /accounts/{accountId}/report/daily'] });
  });

  it('marks a stray call (under 5% of all calls) as low confidence', () => {
    const guesses = guess('key', { 'GET /report/daily': 1000, 'GET /rooms/{roomId}': 3 });
    expect(byId(guesses, 'reporting').confidence).toBe('medium');
    expect(byId(guesses, 'zoom-rooms').confidence).toBe('low');
    expect(byId(guesses, 'zoom-rooms').reason).toContain('(<1% of all calls)');
  });
});

describe('guessIntegrations: the app name', () => {
  it('"Azure SCIM JWT" is SCIM provisioning with high confidence even with no calls', () => {
    const guesses = guess('Azure SCIM JWT');
    expect(guesses).toHaveLength(1);
    expect(guesses[0]).toMatchObject({
      id: 'scim',
      label: 'SCIM provisioning from Azure AD / Entra ID',
      confidence: 'high',
      endpoints: [],
      guide: GUIDES.azureScim,
    });
    expect(guesses[0]!.reason).toMatch(/name mentions "azure".*no calls/);
  });

  it.each([
    ['Salesforce JWT', 'salesforce', GUIDES.salesforce],
    ['SFDC-sync', 'salesforce', GUIDES.salesforce],
    ['Zoom4Salesforce', 'salesforce', GUIDES.salesforce],
    ['Epic telehealth', 'epic', GUIDES.epic],
    ['EPIC_FHIR', 'epic', GUIDES.epic],
    ['Zoom Rooms controller', 'zoom-rooms', GUIDES.zoomRooms],
    ['AzureSCIM', 'scim', GUIDES.azureScim],
    ['scim-bridge', 'scim', GUIDES.azureScim],
  ])('"%s" → %s with its guide', (appName, id, guide) => {
    const [first] = guess(appName);
    expect(first).toMatchObject({ id, confidence: 'high', guide });
  });

  it.each([
    ['Okta provisioning', 'SCIM provisioning from Okta'],
    ['OneLogin', 'SCIM provisioning from OneLogin'],
  ])('"%s" → SCIM from that identity provider, without the Azure-only guide', (appName, label) => {
    const guesses = guess(appName);
    expect(guesses).toHaveLength(1);
    const [first] = guesses;
    expect(first).toMatchObject({ id: 'scim', label, confidence: 'high' });
    expect(first!.guide).toBeUndefined();
  });

  it('"Workday" is user provisioning from an HR system', () => {
    const guesses = guess('Workday user sync');
    expect(guesses).toHaveLength(1);
    expect(guesses[0]).toMatchObject({ id: 'user-provisioning', confidence: 'high' });
  });

  it('a generic word in the name is medium confidence on its own', () => {
    expect(guess('Weekly usage report')[0]).toMatchObject({ id: 'reporting', confidence: 'medium' });
  });

  it('matches whole words only', () => {
    expect(guess('Epicenter sandbox')).toEqual([]);
    expect(guess('Bathrooms booking')).toMatchObject([{ id: 'scheduling' }]);
  });

  it('a name that agrees with the endpoints claims them: one guess, high confidence', () => {
    const guesses = guess('Salesforce prod', {
      'POST /users/{userId}/meetings': 20,
      'PATCH /meetings/{meetingId}': 5,
    });
    expect(guesses).toHaveLength(1);
    expect(guesses[0]).toMatchObject({
      id: 'salesforce',
      confidence: 'high',
      guide: GUIDES.salesforce,
      endpoints: ['POST /users/{userId}/meetings', 'PATCH /meetings/{meetingId}'],
    });
    expect(guesses[0]!.reason).toContain('25 calls to 2 endpoints');
  });

  it('Okta with scim2 calls is one SCIM guess labelled Okta', () => {
    const guesses = guess('Okta', { 'GET /scim2/Users': 5 });
    expect(guesses).toMatchObject([{ id: 'scim', label: 'SCIM provisioning from Okta', endpoints: ['GET /scim2/Users'] }]);
  });
});

describe('guessIntegrations: mixtures and ordering', () => {
  it('one JWT key shared by several callers gives one guess per caller, most certain first', () => {
    const guesses = guess('Company JWT', {
      'GET /report/meetings/{meetingId}/participants': 500,
      'GET /scim2/Users': 120,
      'PATCH /scim2/Users/{userId}': 80,
      'POST /users/{userId}/meetings': 60,
      'GET /rooms/{roomId}': 2,
    });
    expect(guesses.map((g) => [g.id, g.confidence])).toEqual([
      ['scim', 'high'],
      ['reporting', 'medium'],
      ['scheduling', 'medium'],
      ['zoom-rooms', 'low'],
    ]);
    const all = guesses.flatMap((g) => g.endpoints);
    expect(new Set(all).size).toBe(all.length); // every endpoint explains one guess only
  });

  it('a name and unrelated endpoints give both guesses', () => {
    const guesses = guess('Azure SCIM JWT', { 'GET /report/daily': 10 });
    expect(guesses.map((g) => [g.id, g.confidence])).toEqual([
      ['scim', 'high'],
      ['reporting', 'medium'],
    ]);
    expect(byId(guesses, 'scim').endpoints).toEqual([]);
  });

  it('orders equally confident guesses by calls', () => {
    const guesses = guess('key', { 'GET /report/daily': 10, 'GET /users/{userId}/recordings': 90 });
    expect(guesses.map((g) => g.id)).toEqual(['recording-archive', 'reporting']);
  });

  it('orders endpoints within a guess by calls', () => {
    const [first] = guess('key', { 'GET /report/daily': 1, 'GET /report/users': 9, 'GET /metrics/meetings': 5 });
    expect(first!.endpoints).toEqual(['GET /report/users', 'GET /metrics/meetings', 'GET /report/daily']);
  });
});

describe('guessIntegrations: no evidence', () => {
  it('returns nothing for a neutral name and no calls', () => {
    expect(guess('JWT key', {})).toEqual([]);
    expect(guess('', {})).toEqual([]);
  });

  it('ignores endpoints that point nowhere', () => {
    expect(guess('key', { 'GET /marketplace/apps': 5, 'GET /unknown': 3 })).toEqual([]);
  });

  it('tolerates odd counts and keys without a method', () => {
    const guesses = guessIntegrations({
      appName: 'x',
      endpoints: [
        { key: '/scim2/Users', count: Number.NaN },
        { key: 'GET /scim2/Groups', count: -4 },
      ],
    });
    expect(guesses).toMatchObject([{ id: 'scim', endpoints: ['/scim2/Users', 'GET /scim2/Groups'] }]);
  });
});

describe('links', () => {
  it('exports the generic migration guide and the created-apps page', () => {
    expect(GENERIC_MIGRATION_GUIDE.url).toBe('https://developers.zoom.us/docs/internal-apps/jwt-app-migration/');
    expect(MARKETPLACE_CREATED_APPS_URL).toBe('https://marketplace.zoom.us/user/build');
    expect(GUIDES.salesforce.url).toBe('https://support.zoom.com/hc/en/article?id=zm_kb&sysparm_article=KB0063953');
    expect(GUIDES.epic.url).toBe('https://support.zoom.com/hc/en/article?id=zm_kb&sysparm_article=KB0059796');
    expect(GUIDES.azureScim.url).toBe('https://support.zoom.com/hc/en/article?id=zm_kb&sysparm_article=KB0064441');
  });
});
