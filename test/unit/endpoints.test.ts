import fc from 'fast-check';
import { MAX_TEMPLATE_LENGTH, normaliseEndpoint, statusClass } from '../../src/capabilities/evidence/rules/endpoints';

describe('normaliseEndpoint', () => {
  it.each([
    // [url_pattern as Zoom logs it, method, expected template, expected family]
    ['https://zoom.us/v2/users/abc@x.com/meetings?page_size=30', 'GET', '/users/{userId}/meetings', 'meetings'],
    ['https://api.zoom.us/v2/scim2/Users/KDcuGIm1QgePTO8WbOqwIQ', 'GET', '/scim2/Users/{userId}', 'scim2'],
    ['https://api.zoom.us/v2/scim2/Groups/HG5PTHkhQNiLNDbVmGAaTA', 'PATCH', '/scim2/Groups/{groupId}', 'scim2'],
    ['https://api.zoom.us/v2/scim2/Users', 'POST', '/scim2/Users', 'scim2'],
    ['/v2/report/meetings/85746065432/participants', 'GET', '/report/meetings/{meetingId}/participants', 'report'],
    ['/v2/report/daily', 'GET', '/report/daily', 'report'],
    ['/v2/report/users/abc@x.com/meetings', 'GET', '/report/users/{userId}/meetings', 'report'],
    ['/v2/metrics/meetings?type=live&page_size=300', 'GET', '/metrics/meetings', 'metrics'],
    ['/v2/metrics/meetings/85746065432/participants/16778240/qos', 'GET', '/metrics/meetings/{meetingId}/participants/{participantId}/qos', 'metrics'],
    ['/v2/metrics/zoomrooms/K9dD8RjPT8iElU0QkFbG8w', 'GET', '/metrics/zoomrooms/{roomId}', 'metrics'],
    ['/v2/rooms/K9dD8RjPT8iElU0QkFbG8w/zrclient', 'POST', '/rooms/{roomId}/zrclient', 'rooms'],
    ['/v2/rooms/locations/49D7a0xPQvGQ2DCMZgSe7w', 'GET', '/rooms/locations/{locationId}', 'rooms'],
    ['/v2/rooms/account_profile', 'GET', '/rooms/account_profile', 'rooms'],
    ['/v2/users/me', 'GET', '/users/me', 'users'],
    ['/v2/users/me/meetings', 'POST', '/users/me/meetings', 'meetings'],
    ['/v2/users', 'POST', '/users', 'users'],
    ['/v2/users/6sJ2TVFlRqa5m6ClDz-Z4g', 'PATCH', '/users/{userId}', 'users'],
    ['/v2/users/abc@x.com/status', 'PUT', '/users/{userId}/status', 'users'],
    ['/v2/users/abc@x.com/settings', 'PATCH', '/users/{userId}/settings', 'users'],
    ['/v2/users/abc@x.com/webinars', 'POST', '/users/{userId}/webinars', 'webinars'],
    ['/v2/users/abc@x.com/recordings?from=2024-01-01', 'GET', '/users/{userId}/recordings', 'recordings'],
    ['/v2/users/email?email=a@b.c', 'GET', '/users/email', 'users'],
    ['/v2/meetings/85746065432', 'PATCH', '/meetings/{meetingId}', 'meetings'],
    ['/v2/meetings/85746065432/registrants/9tboDiHUQAeOnbmudzWa5g', 'GET', '/meetings/{meetingId}/registrants/{registrantId}', 'meetings'],
    ['/v2/meetings/85746065432/registrants/status', 'PUT', '/meetings/{meetingId}/registrants/status', 'meetings'],
    ['/v2/meetings/85746065432/recordings/settings', 'PATCH', '/meetings/{meetingId}/recordings/settings', 'meetings'],
    ['/v2/meetings/85746065432/recordings/R9ua5pEtSe6HZM8zFnMn7Q', 'DELETE', '/meetings/{meetingId}/recordings/{recordingId}', 'meetings'],
    ['/v2/meetings/85746065432/polls/QalIoKWLTJehBJ8e1xRrbQ', 'GET', '/meetings/{meetingId}/polls/{pollId}', 'meetings'],
    ['/v2/webinars/95204914252/panelists/abcDEF1234xyz', 'DELETE', '/webinars/{webinarId}/panelists/{panelistId}', 'webinars'],
    ['/v2/past_meetings/85746065432/instances', 'GET', '/past_meetings/{meetingUUID}/instances', 'past_meetings'],
    ['/v2/groups/HG5PTHkhQNiLNDbVmGAaTA/members', 'POST', '/groups/{groupId}/members', 'groups'],
    ['/v2/accounts/abcDEF123ghiJKL/users/a@b.c/meetings', 'GET', '/accounts/{accountId}/users/{userId}/meetings', 'meetings'],
    ['/v2/accounts/abcDEF123ghiJKL/settings', 'GET', '/accounts/{accountId}/settings', 'accounts'],
    ['/v2/phone/users/3vt4b7wtb79q4wvb/call_logs', 'GET', '/phone/users/{userId}/call_logs', 'phone'],
    ['/v2/phone/call_logs/20190528-8dc84a3e-2f9c', 'GET', '/phone/call_logs/{callLogId}', 'phone'],
    ['/v2/phone/devices/e2c9a9d71b8c4a78', 'GET', '/phone/devices/{deviceId}', 'phone'],
    ['/v2/chat/users/me/channels/e2c9a9d71b8c4a78a5f8cd7c1a2b3d4f/members', 'GET', '/chat/users/me/channels/{channelId}/members', 'chat'],
    ['/v2/im/chat/messages/7f3a1c2e-1d2b-4c5e-9a7b-0c1d2e3f4a5b', 'GET', '/im/chat/messages/{messageId}', 'im'],
    ['/v2/contacts/jchill@example.com', 'GET', '/contacts/{contactId}', 'contacts'],
    ['/v2/marketplace/apps/yMTuhTNNT-2oqLl-WQyt8w/api_call_logs', 'GET', '/marketplace/apps/{appId}/api_call_logs', 'marketplace'],
    ['/v2/dashboards/meetings/85746065432', 'GET', '/dashboards/meetings/{meetingId}', 'dashboards'],
  ])('%s %s → %s', (url, method, template, family) => {
    const result = normaliseEndpoint(url, method);
    expect(result).toEqual({ key: `${method} ${template}`, method, template, family });
  });

  describe('meeting UUIDs, which may contain "/" and are double-encoded when they do', () => {
    it.each([
      '/v2/past_meetings//4444AAAiAAAAiAiAiiAii==/participants',
      '/v2/past_meetings/%252F4444AAAiAAAAiAiAiiAii%253D%253D/participants',
      '/v2/past_meetings/%2F4444AAAiAAAAiAiAiiAii%3D%3D/participants',
      '/v2/past_meetings/ab/cdefghijklmnopqrstu==/participants',
      '/v2/past_meetings/aDYlohsHRtCd4ii1uC2+hA==/participants',
    ])('%s keeps one placeholder for the whole UUID', (url) => {
      expect(normaliseEndpoint(url, 'GET').template).toBe('/past_meetings/{meetingUUID}/participants');
    });
  });

  describe('ids outside the resource table fall back to {id}', () => {
    it.each([
      ['/v2/unknown_thing/123456', '/unknown_thing/{id}'],
      ['/v2/widgets/someone@example.com/parts', '/widgets/{id}/parts'],
      ['/v2/widgets/7f3a1c2e-1d2b-4c5e-9a7b-0c1d2e3f4a5b', '/widgets/{id}'],
      ['/v2/widgets/KDcuGIm1QgePTO8WbOqwIQ', '/widgets/{id}'],
      ['/v2/widgets/abc%40x.com', '/widgets/{id}'],
      ['/v2/widgets/{widgetId}', '/widgets/{id}'],
      ['/v2/widgets/me', '/widgets/me'],
      ['/v2/widgets/settings', '/widgets/settings'],
      // Zoom paths never have two ids in a row: the second is part of the first.
      ['/v2/widgets/abc@x.com/def@y.com', '/widgets/{id}'],
    ])('%s → %s', (url, template) => {
      expect(normaliseEndpoint(url, 'GET').template).toBe(template);
    });
  });

  it('strips host, /v2, query, fragment and trailing slash in any combination', () => {
    const variants = [
      'https://api.zoom.us/v2/users/abc@x.com/meetings',
      'http://zoom.us/v2/users/abc@x.com/meetings/',
      'https://api.zoom.us:443/v2/users/abc@x.com/meetings?page_size=30&next_page_token=x#top',
      '//api.zoom.us/v2/users/abc@x.com/meetings',
      'api.zoom.us/v2/users/abc@x.com/meetings',
      '/v2/users/abc@x.com/meetings',
      '/users/abc@x.com/meetings',
      'v2/users/abc@x.com/meetings',
      '  /v2/users/abc@x.com//meetings  ',
    ];
    for (const url of variants) {
      expect(normaliseEndpoint(url, 'GET').template).toBe('/users/{userId}/meetings');
    }
  });

  it('upper-cases the method and marks a nonsense method as UNKNOWN', () => {
    expect(normaliseEndpoint('/v2/users', 'post')).toMatchObject({ method: 'POST', key: 'POST /users' });
    expect(normaliseEndpoint('/v2/users', ' Patch ').method).toBe('PATCH');
    expect(normaliseEndpoint('/v2/users', '').method).toBe('UNKNOWN');
    expect(normaliseEndpoint('/v2/users', 'GET /x').method).toBe('UNKNOWN');
  });

  it('answers the same for a URL seen with two methods (the cache is keyed safely)', () => {
    const url = '/v2/meetings/111222333';
    expect(normaliseEndpoint(url, 'GET').key).toBe('GET /meetings/{meetingId}');
    expect(normaliseEndpoint(url, 'DELETE').key).toBe('DELETE /meetings/{meetingId}');
    expect(normaliseEndpoint(url, 'get').key).toBe('GET /meetings/{meetingId}');
    expect(normaliseEndpoint(url, 'GET').key).toBe('GET /meetings/{meetingId}');
  });

  describe('garbage in, a safe template out', () => {
    it.each([
      ['', '/unknown'],
      ['   ', '/unknown'],
      ['not a url', '/unknown'],
      ['hello', '/unknown'],
      ['https://api.zoom.us', '/unknown'],
      ['https://api.zoom.us/v2/', '/unknown'],
      ['/v2/users/abc def/meetings', '/unknown'],
      ['/v2/users\n/meetings', '/unknown'],
    ])('%j → %s', (url, template) => {
      expect(normaliseEndpoint(url, 'GET').template).toBe(template);
    });

    it('does not throw on non-string input from untyped JSON', () => {
      const result = normaliseEndpoint(undefined as unknown as string, null as unknown as string);
      expect(result).toEqual({
        key: 'UNKNOWN /unknown',
        method: 'UNKNOWN',
        template: '/unknown',
        family: 'unknown',
      });
    });

    it('caps very long and very deep paths at 200 characters', () => {
      const deep = normaliseEndpoint(`/v2/${'segment_word/'.repeat(500)}`, 'GET');
      expect(deep.template.length).toBeLessThanOrEqual(MAX_TEMPLATE_LENGTH);
      expect(deep.template).toMatch(/^(\/segment_word)+$/);
      const wide = normaliseEndpoint(`/v2/${'long_path_word_number_one/x@y.z/'.repeat(20)}`, 'GET');
      expect(wide.template.length).toBeLessThanOrEqual(MAX_TEMPLATE_LENGTH);
      expect(wide.template).toMatch(/^(\/long_path_word_number_one\/\{id\})+(\/long_path_word_number_one)?$/);
      const huge = normaliseEndpoint(`/v2/users/${'a'.repeat(100_000)}`, 'GET');
      expect(huge.template).toBe('/users/{userId}');
    });

    it('any string gives a short template of plain words and placeholders, never throwing', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 12 }), (url, method) => {
          const result = normaliseEndpoint(url, method);
          expect(result.template.length).toBeLessThanOrEqual(MAX_TEMPLATE_LENGTH);
          expect(result.template).toMatch(/^(\/([A-Za-z0-9_-]+|\{[A-Za-z]+\}))+$/);
          expect(result.key).toBe(`${result.method} ${result.template}`);
          expect(result.method).toMatch(/^[A-Z]{1,10}$/);
        }),
        { numRuns: 2000 },
      );
    });
  });

  it('recovers the template from any concrete URL built from it (property)', () => {
    const templates: Array<[string, string[]]> = [
      ['/users/{userId}/meetings', ['users']],
      ['/scim2/Users/{userId}', ['scim2']],
      ['/report/meetings/{meetingId}/participants', ['report']],
      ['/meetings/{meetingId}/registrants/{registrantId}', ['meetings']],
      ['/rooms/{roomId}/zrclient', ['rooms']],
      ['/past_meetings/{meetingUUID}/participants', ['past_meetings']],
      ['/phone/users/{userId}/call_logs', ['phone']],
    ];
    const email = fc
      .tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,15}$/), fc.stringMatching(/^[a-z]{2,10}$/))
      .map(([user, domain]) => `${user}@${domain}.com`);
    const number = fc.bigInt({ min: 1n, max: 99_999_999_999n }).map(String);
    const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b));
    const base64 = bytes16.map((b) => b.toString('base64url').slice(0, 22));
    const uuid = fc.uuid();
    const meetingUuid = bytes16
      .map((b) => b.toString('base64'))
      .map((u) => (u.includes('/') ? encodeURIComponent(encodeURIComponent(u)) : u));
    const id = fc.oneof(email, number, base64, uuid, meetingUuid);
    const host = fc.constantFrom('https://api.zoom.us', 'https://zoom.us', '');
    const query = fc.constantFrom('', '?page_size=30', '?next_page_token=abc&x=1');

    fc.assert(
      fc.property(
        fc.constantFrom(...templates),
        fc.array(id, { minLength: 3, maxLength: 3 }),
        host,
        query,
        ([template], ids, h, q) => {
          let i = 0;
          const concrete = template.replace(/\{[A-Za-z]+\}/g, () => ids[i++]!);
          const result = normaliseEndpoint(`${h}/v2${concrete}${q}`, 'GET');
          expect(result.template).toBe(template);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('stays correct past the cache bound (old entries are evicted, not served wrong)', () => {
    for (let i = 0; i < 20_000; i++) {
      const result = normaliseEndpoint(`/v2/meetings/${1_000_000 + i}`, 'GET');
      expect(result.template).toBe('/meetings/{meetingId}');
    }
    expect(normaliseEndpoint('/v2/users/abc@x.com/meetings', 'GET').template).toBe('/users/{userId}/meetings');
  });
});

describe('statusClass', () => {
  it.each([
    [200, '2xx'],
    [204, '2xx'],
    [299, '2xx'],
    [301, '3xx'],
    [400, '4xx'],
    [401, '4xx'],
    [429, '4xx'],
    [500, '5xx'],
    [503, '5xx'],
    [100, 'other'],
    [0, 'other'],
    [600, 'other'],
    [-200, 'other'],
    [200.5, 'other'],
    [Number.NaN, 'other'],
  ] as const)('%d → %s', (status, expected) => {
    expect(statusClass(status)).toBe(expected);
  });
});
