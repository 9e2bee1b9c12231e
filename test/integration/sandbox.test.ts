/**
 * `npm run sandbox` end to end: a scripted session piped into the real entry point (a separate
 * process, as a person would run it), checked through what the console prints. The sandbox runs
 * the real app against its simulated Zoom account and Slack stand-in on real Redis.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pastedLine } from '../../dev/sandbox/console';
import { renderMessage } from '../../dev/sandbox/render';
import { countKeys, REDIS_URL } from '../helpers/redis';
import { freePort } from '../helpers/net';

const ROOT = resolve(__dirname, '../..');

interface Session {
  code: number | null;
  output: string;
  /** Console output after the prompt line `@user> input`, up to the next prompt. */
  after(prompt: string, nth?: number): string;
}

function runScript(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<Session> {
  return new Promise((done, fail) => {
    const child = spawn('npx', ['tsx', 'dev/sandbox/main.ts', '--no-log', ...args], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`sandbox did not finish; output so far:\n${output.slice(-3000)}`));
    }, 150_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      const segments = output.split(/\n(?=@[a-z]+> )/);
      done({
        code,
        output,
        after(prompt, nth = 1) {
          const hits = segments.filter((s) => s.startsWith(`${prompt}\n`));
          const hit = hits[nth - 1];
          if (hit === undefined) throw new Error(`no "${prompt}" (#${nth}) in the session:\n${output.slice(0, 4000)}`);
          return hit;
        },
      });
    });
    child.stdin.end(script);
  });
}

const removedPrefix = (output: string): string => {
  const m = /Sandbox stopped; removed its (\d+) Redis keys \((zoomjwt-sandbox-[0-9a-f]+)\)/.exec(output);
  if (!m) throw new Error(`no clean-up line in:\n${output.slice(-1500)}`);
  expect(Number(m[1])).toBeGreaterThan(0);
  return m[2]!;
};

const LIFECYCLE = `
# a scripted session: evidence, a disable with two approvals and Done, the soak, a live remove
/zoomjwt status
/zoomjwt disable "Reporting JWT" nobody has called it for 20 days
click 1
as @dan
click 1
as @gus
click 1
as @bea
click 1
as @carl
click 1
click 1
/zoomjwt remove "Reporting JWT" too early
wait 8d
as @ana
/zoomjwt remove "Reporting JWT" soak passed, no calls since disable
as @bea
click 1
as @carl
click 1
/zoomjwt status
digest
`;

describe('npm run sandbox', () => {
  it('walks an app from evidence to a live removal through the console, and leaves no keys behind', async () => {
    const s = await runScript(LIFECYCLE, ['--poll-every', '0']);
    expect(s.code).toBe(0);

    // Evidence from the simulated account's 30 days of logs.
    const status = s.after('@ana> /zoomjwt status');
    expect(status).toContain('only @ana sees this');
    expect(status).toContain('ZOOMJWT STATUS');
    expect(status).toMatch(/Azure SCIM JWT.*active/);
    expect(status).toMatch(/GET \/scim2\/Users/);
    expect(status).toMatch(/Rooms Control JWT.*disabled/);
    expect(status).toMatch(/Reporting JWT.*last call 20 d ago/);
    expect(status).toContain('Webinar Sync');
    // The simulated account sends Zoom's usage fields: candidates by recent use, the unused as the easy ones.
    expect(status).toMatch(/Webinar Sync.*— last used \d+ (min|h|d) ago, \d+ calls in 30 d, 3 active users, works with ZOOM_WEBINAR/);
    expect(status).toMatch(/the easy ones[\s\S]*Old Phone Export/);
    expect(status).toMatch(/Zoom: \d+ calls in 30 d/);

    // The request: a card in the approvals channel with numbered buttons, and a link for the requester.
    const opened = s.after('@ana> /zoomjwt disable "Reporting JWT" nobody has called it for 20 days');
    expect(opened).toContain('#zoomjwt-approvals · card #1 (posted)');
    expect(opened).toContain('DISABLE REPORTING JWT?');
    expect(opened).toContain('[1] Approve  [2] Reject  [3] Cancel request');
    expect(opened).toMatch(/only @ana sees this[\s\S]*Request `R[0-9A-F]+` to disable \*Reporting JWT\* is open/);

    // Refusals change nothing: no card update follows them.
    const own = s.after('@ana> click 1');
    expect(own).toContain('@ana clicks [1] Approve on card #1');
    expect(own).toMatch(/only @ana sees this[\s\S]*(your approval cannot count|your own)/i);
    expect(own).not.toContain('(updated)');
    const dan = s.after('@dan> click 1');
    expect(dan).toMatch(/only @dan sees this[\s\S]*You are not an approver/);
    expect(dan).not.toContain('(updated)');
    const gus = s.after('@gus> click 1');
    expect(gus).toMatch(/only @gus sees this[\s\S]*not an approver[\s\S]*Nothing was changed/);
    expect(gus).not.toContain('(updated)');

    // Two approvals, then the operator step and Done.
    const bea = s.after('@bea> click 1');
    expect(bea).toContain('card #1 (updated)');
    expect(bea).toContain('Signatures (1 of 2)');
    expect(bea).toContain('Signed (1 of 2).');
    const carl = s.after('@carl> click 1', 1);
    expect(carl).toContain('Signatures (2 of 2)');
    expect(carl).toContain('[1] Done');
    expect(carl).toMatch(/DM from @zoomjwt to @ana[\s\S]*was approved/);
    const done = s.after('@carl> click 1', 2);
    expect(done).toContain('@carl clicks [1] Done on card #1');
    expect(done).toContain('Recorded: *Reporting JWT* disabled');
    expect(done).toContain('Marked done by @carl');

    // The soak holds the removal back until the clock has moved past it.
    expect(s.after('@carl> /zoomjwt remove "Reporting JWT" too early')).toMatch(/removal needs 7d of soak[\s\S]*Nothing was opened/);
    expect(s.after('@carl> wait 8d')).toContain("It is now");

    const remove = s.after('@ana> /zoomjwt remove "Reporting JWT" soak passed, no calls since disable');
    expect(remove).toContain('card #2 (posted)');
    expect(remove).toContain('REMOVE REPORTING JWT?');
    expect(remove).toContain('soak of 7d done');
    expect(remove).toContain('[1] Approve removal');
    expect(s.after('@bea> click 1', 2)).toContain('Remove this app for good?');
    const removed = s.after('@carl> click 1', 3);
    expect(removed).toContain('Removed from Zoom (DELETE answered 2xx).');
    expect(removed).toMatch(/DM from @zoomjwt to @ana[\s\S]*was removed from Zoom/);
    expect(s.after('@carl> /zoomjwt status', 1)).toMatch(/Reporting JWT.*removed/);

    // The digest channel's work queue reflects the session.
    const digest = s.after('@carl> digest');
    expect(digest).toContain('#zoomjwt-digest · latest digest');
    expect(digest).toContain('ZOOMJWT DIGEST');
    expect(digest).toContain('Removed Reporting JWT from Zoom');
    expect(digest).toMatch(/Rooms Control JWT: \d+ failed calls since it was disabled/);

    expect(await countKeys(removedPrefix(s.output))).toBe(0);
  }, 180_000);

  it("runs the README's walkthrough exactly as printed there, prompts and notes included", async () => {
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
    const block = /## Try it in five minutes[\s\S]*?```text\n([\s\S]*?)```/.exec(readme)?.[1];
    // The block is the annotated transcript a reader copies: prompts in front, notes behind.
    expect(block).toMatch(/^@ana> \/zoomjwt status\s+# \S/m);
    const s = await runScript(block!);
    expect(s.code).toBe(0);
    expect(s.output).not.toMatch(/I don't know|Only \/zoomjwt is installed|Usage: click|Who is|no "|Card #\d+ has/);
    expect(s.after('@ana> /zoomjwt disable "Reporting JWT" silent for 20 days')).toContain('DISABLE REPORTING JWT?');
    expect(s.after('@bea> click 1')).toContain('Signatures (1 of 2)');
    expect(s.after('@carl> click 1', 2)).toContain('Recorded: *Reporting JWT* disabled');
    expect(s.after('@ana> /zoomjwt remove "Reporting JWT" soak passed, no calls since')).toContain('REMOVE REPORTING JWT?');
    expect(s.after('@carl> click 1', 3)).toContain('Removed from Zoom (DELETE answered 2xx).');
    expect(s.after('@carl> digest')).toContain('Removed Reporting JWT from Zoom');
    removedPrefix(s.output);
  }, 180_000);

  it('shows the Home tab and lets a person fill the request form in the terminal', async () => {
    const script = [
      '/zoomjwt disable "Reporting JWT"',
      'submit',
      'submit the reporting job moved to OAuth',
      'as @bea',
      'home',
      'click 1 on home',
      'cancel',
      'as @gus',
      'home',
      'quit',
    ].join('\n');
    const s = await runScript(script);
    expect(s.code).toBe(0);
    expect(s.after('@ana> /zoomjwt disable "Reporting JWT"')).toMatch(/a form opens for @ana: Request disable[\s\S]*What will happen[\s\S]*▭ Reason/);
    expect(s.after('@ana> submit')).toContain('A reason is required');
    const submitted = s.after('@ana> submit the reporting job moved to OAuth');
    expect(submitted).toContain('DISABLE REPORTING JWT?');
    expect(submitted).toContain('(the form closes)');
    expect(submitted).toMatch(/DM from @zoomjwt to @ana[\s\S]*Request `R[0-9A-F]+` to disable \*Reporting JWT\* is open/);
    expect(s.after('@bea> home')).toMatch(/Waiting for your signature\*\n│  • `R[0-9A-F]+` \*Disable Reporting JWT\* by @ana/);
    expect(s.after('@bea> click 1 on home')).toContain('a form opens for @bea: Request disable');
    expect(s.after('@gus> home')).toContain('This dashboard is for full members');
    removedPrefix(s.output);
  }, 180_000);

  it('starts a private redis-server when REDIS_URL does not answer, and stops it at the end', async () => {
    const port = await freePort();
    const s = await runScript('/zoomjwt status\nwho\nquit\n/zoomjwt help\n', ['--poll-every', '0'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(s.code).toBe(0);
    expect(s.output).toContain('trying a private redis-server');
    expect(s.after('@ana> /zoomjwt status')).toContain('ZOOMJWT STATUS');
    expect(s.after('@ana> who')).toMatch(/@gus\s+guest/);
    // `quit` ends the session: later lines are not run.
    expect(s.output).not.toContain('@ana> /zoomjwt help');
    expect(s.output).toContain('Stopped the private redis-server.');
    removedPrefix(s.output);
  }, 180_000);
});

describe('sandbox input', () => {
  it('reads a pasted README line: the prompt names who types, a trailing note is dropped', () => {
    expect(pastedLine('@bea> click 1                                             # Approve: 1 of 2')).toEqual({ line: 'click 1', as: 'bea' });
    expect(pastedLine('/zoomjwt disable "Reporting JWT" silent # posts a card')).toEqual({ line: '/zoomjwt disable "Reporting JWT" silent' });
    // Not notes: a # inside a word, or inside double quotes.
    expect(pastedLine('/zoomjwt disable "Ops #2 JWT" see ticket #123')).toEqual({ line: '/zoomjwt disable "Ops #2 JWT" see ticket #123' });
    expect(pastedLine('/zoomjwt disable "Ops # JWT" why')).toEqual({ line: '/zoomjwt disable "Ops # JWT" why' });
  });
});

describe('sandbox rendering', () => {
  const names = { user: (id: string) => (id === 'U0BEA' ? '@bea' : `@${id}`), channel: (id: string) => `#${id.toLowerCase()}` };

  it('numbers buttons in reading order and turns mrkdwn tokens into text', () => {
    const r = renderMessage(
      {
        text: 'fallback',
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: 'Disable X?' } },
          { type: 'section', text: { type: 'mrkdwn', text: ':black_nib: <@U0BEA> signed <!date^1700000000^{date_short_pretty}|2023-11-14 22:13 UTC> in <#C0APPROVALS>, see <https://x.test/a|the card>' } },
          { type: 'section', fields: [{ type: 'mrkdwn', text: '*Calls 24 h / 7 d*\n3 / 40' }] },
          {
            type: 'actions',
            block_id: 'approval:R1',
            elements: [
              { type: 'button', text: { type: 'plain_text', text: 'Approve' }, action_id: 'approval_approve', value: 'R1' },
              { type: 'button', text: { type: 'plain_text', text: 'Reject' }, action_id: 'approval_reject', value: 'R1' },
            ],
          },
          { type: 'context', elements: [{ type: 'mrkdwn', text: 'a' }, { type: 'mrkdwn', text: 'b' }] },
        ],
      },
      names,
    );
    expect(r.lines).toEqual([
      '  ━━ DISABLE X? ━━',
      '  ✒️ @bea signed 2023-11-14 22:13 UTC in #c0approvals, see the card (https://x.test/a)',
      '  • *Calls 24 h / 7 d*: 3 / 40',
      '  [1] Approve  [2] Reject',
      '    ┆ a · b',
    ]);
    expect(r.buttons.map((b) => [b.n, b.actionId, b.value, b.blockId])).toEqual([
      [1, 'approval_approve', 'R1', 'approval:R1'],
      [2, 'approval_reject', 'R1', 'approval:R1'],
    ]);
  });

  it('falls back to the message text when there are no blocks', () => {
    expect(renderMessage({ text: 'hello &lt;world&gt;' }, names).lines).toEqual(['  hello <world>']);
  });
});
