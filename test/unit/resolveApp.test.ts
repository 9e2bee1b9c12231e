import { describeResolveFailure, resolveApp, resolveFailureMessage, unquote, type ResolvableApp } from '../../src/capabilities/evidence/rules/resolveApp';
import { splitAppArgs } from '../../src/capabilities/evidence/rules/resolveApp';

const apps: ResolvableApp[] = [
  { appId: 'AzScim0001', name: 'Azure SCIM JWT', account: 'default' },
  { appId: 'Legacy0002', name: 'Legacy JWT', account: 'default' },
  { appId: 'Legacy0003', name: 'Legacy JWT reporting', account: 'default' },
  { appId: 'Rooms00004', name: 'Rooms script', account: 'default' },
];

function found(query: string, opts?: { exact?: boolean }): string {
  const r = resolveApp(query, apps, opts);
  if (!r.ok) throw new Error(`expected a match for ${query}, got ${r.reason}`);
  return r.app.appId;
}

describe('resolveApp', () => {
  it('takes an exact id first, case-sensitively', () => {
    expect(found('Rooms00004')).toBe('Rooms00004');
    expect(resolveApp('rooms00004', apps).ok).toBe(false);
  });

  it('prefers the exact name (any case, folded spaces) over a longer name sharing its prefix', () => {
    expect(found('legacy jwt')).toBe('Legacy0002');
    expect(found('  LEGACY   JWT ')).toBe('Legacy0002');
    expect(found('"Legacy JWT"')).toBe('Legacy0002');
  });

  it('accepts a unique prefix, then a unique substring', () => {
    expect(found('azure')).toBe('AzScim0001');
    expect(found('reporting')).toBe('Legacy0003');
    const r = resolveApp('script', apps);
    expect(r.ok && r.by).toBe('substring');
  });

  it('never guesses between several matches', () => {
    const r = resolveApp('legacy', apps);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe('ambiguous');
      expect(r.candidates.map((a) => a.appId)).toEqual(['Legacy0002', 'Legacy0003']);
    }
    const jwt = resolveApp('jwt', apps);
    expect(!jwt.ok && jwt.candidates.length).toBe(3);
  });

  it('calls two apps with the same name ambiguous', () => {
    const twins = [...apps, { appId: 'Other00005', name: 'legacy jwt', account: 'eu' }];
    const r = resolveApp('Legacy JWT', twins);
    expect(!r.ok && r.reason).toBe('ambiguous');
    expect(!r.ok && r.candidates.map((a) => a.appId).sort()).toEqual(['Legacy0002', 'Other00005']);
  });

  it('answers unknown with every app to choose from, and empty likewise', () => {
    const r = resolveApp('zzz', apps);
    expect(!r.ok && r.reason).toBe('unknown');
    expect(!r.ok && r.candidates).toHaveLength(4);
    expect(resolveApp('  ', apps)).toMatchObject({ ok: false, reason: 'empty' });
  });

  describe('exact mode (remove)', () => {
    it('accepts the exact id or the full name in any case', () => {
      expect(found('Legacy0003', { exact: true })).toBe('Legacy0003');
      expect(found('legacy jwt reporting', { exact: true })).toBe('Legacy0003');
    });

    it('refuses a unique prefix or substring, listing what it could mean', () => {
      const r = resolveApp('azure', apps, { exact: true });
      expect(r).toMatchObject({ ok: false, reason: 'not_exact' });
      expect(!r.ok && r.candidates.map((a) => a.appId)).toEqual(['AzScim0001']);
      expect(resolveApp('Rooms0000', apps, { exact: true })).toMatchObject({ ok: false, reason: 'not_exact' });
      expect(resolveApp('rooms00004', apps, { exact: true })).toMatchObject({ ok: false, reason: 'not_exact' });
      expect(resolveApp('nothing like it', apps, { exact: true })).toMatchObject({ ok: false, reason: 'unknown' });
    });
  });

  it('unquotes straight, curly and back quotes', () => {
    expect(unquote('“Legacy JWT”')).toBe('Legacy JWT');
    expect(unquote('`abc`')).toBe('abc');
    expect(unquote('"unbalanced')).toBe('"unbalanced');
  });
});

describe('rendering a failure', () => {
  it('lists candidates with ids and says nothing changed', () => {
    const r = resolveApp('legacy', apps);
    if (r.ok) throw new Error('expected ambiguity');
    const text = describeResolveFailure(r);
    expect(text).toContain('matches 2 apps');
    expect(text).toContain('*Legacy JWT* `Legacy0002`');
    expect(text).toContain('*Legacy JWT reporting* `Legacy0003`');
    expect(text).toMatch(/nothing was changed/);
  });

  it('shows the usage line when nothing was typed, and caps long lists', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ appId: `App${String(i).padStart(4, '0')}`, name: `App ${i}` }));
    const r = resolveApp('', many);
    if (r.ok) throw new Error('expected empty');
    const msg = resolveFailureMessage(r, { usage: '`/zoomjwt app <app>`' });
    const text = JSON.stringify(msg.blocks);
    expect(text).toContain('Usage: `/zoomjwt app <app>`');
    expect(text).toContain('…and 25 more');
    expect(msg.text).toContain('/zoomjwt app');
  });

  it('escapes what the person typed and what app names hold', () => {
    const r = resolveApp('<!channel>', [{ appId: 'X1', name: 'a <b> & c' }]);
    if (r.ok) throw new Error('expected unknown');
    const text = describeResolveFailure(r);
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('a &lt;b&gt; &amp; c');
  });
});

describe('splitAppArgs (app names with spaces, then free text)', () => {
  it('takes the longest exact name or id, a quoted name, or else the first word', () => {
    expect(splitAppArgs('Legacy JWT callers moved to S2S', apps)).toEqual({ query: 'Legacy JWT', rest: 'callers moved to S2S' });
    expect(splitAppArgs('legacy jwt reporting done', apps)).toEqual({ query: 'legacy jwt reporting', rest: 'done' });
    expect(splitAppArgs('Legacy0002 all moved', apps)).toEqual({ query: 'Legacy0002', rest: 'all moved' });
    expect(splitAppArgs('“Rooms script” moved to OAuth', apps)).toEqual({ query: 'Rooms script', rest: 'moved to OAuth' });
    expect(splitAppArgs('azure moved', apps)).toEqual({ query: 'azure', rest: 'moved' });
    expect(splitAppArgs('Azure SCIM JWT', apps)).toEqual({ query: 'Azure SCIM JWT', rest: '' });
  });

  it('keeps a quoted name whole across a line break, and the line breaks of the text after it', () => {
    // The request commands' reason goes on the card and in the audit log as typed.
    expect(splitAppArgs('"Legacy\nJWT" moved\nto S2S', apps)).toEqual({ query: 'Legacy\nJWT', rest: 'moved\nto S2S' });
    expect(splitAppArgs('"Nope\nThing" why', apps)).toEqual({ query: 'Nope\nThing', rest: 'why' });
    expect(splitAppArgs('"Rooms script"\nmoved\nto OAuth', apps)).toEqual({ query: 'Rooms script', rest: 'moved\nto OAuth' });
  });
});
