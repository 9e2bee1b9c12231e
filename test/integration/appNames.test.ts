/**
 * What `<app>` accepts, per command, and that `help` says the same: every command that changes
 * something takes only the exact id or the full name; `app` and `audit` (reads) also take a unique
 * part of the name.
 */
import { visibleText } from '../helpers/boot';
import { command, seedApp, startHarness, type Harness } from './approvals.harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('app-names');
});
afterAll(async () => {
  await h.stop();
});

const EXACT_ONLY = ['disable', 'enable', 'remove', 'owner', 'migrated', 'untrack'] as const;
const args: Record<(typeof EXACT_ONLY)[number], string> = {
  disable: 'a reason',
  enable: 'a reason',
  remove: 'a reason',
  owner: '<@U0BOB|bob>',
  migrated: 'callers moved',
  untrack: '',
};

it('refuses a unique partial name for every command that changes something, and accepts the full name', async () => {
  const active = await seedApp(h.b, { name: 'Quarterly Reporting JWT' });
  const disabled = await seedApp(h.b, { name: 'Nightly Export JWT', state: 'disabled' });
  for (const sub of EXACT_ONLY) {
    const target = sub === 'enable' || sub === 'remove' ? disabled : active;
    const partial = target.name.split(' ').slice(0, 2).join(' ');
    const refused = await command(h.b, `${sub} ${partial} ${args[sub]}`.trim());
    expect([sub, refused.text]).toEqual([sub, expect.stringMatching(/not the exact id or full name/)]);
  }
  // The full name goes through (untrack last: it takes the app away).
  const owner = await command(h.b, `owner ${active.name} <@U0BOB|bob>`);
  expect(owner.text).toMatch(/now owns the migration of \*Quarterly Reporting JWT\*/);
  const untrack = await command(h.b, `untrack "${active.name}"`);
  expect(untrack.text).not.toMatch(/not the exact id/);
});

it('lets `app` find an app by a unique prefix or a unique substring of its name', async () => {
  const app = await seedApp(h.b, { name: 'Zebra Payroll Sync JWT' });
  expect((await command(h.b, 'app zebra pay')).text).toContain(app.name);
  expect((await command(h.b, 'app payroll sync')).text).toContain(app.name);
});

it('help says which commands need the exact id or full name and which take part of a name', async () => {
  const res = await h.b.command('help');
  const text = visibleText(res.json);
  expect(text).toMatch(/`disable`, `enable`, `remove`, `owner`, `migrated` and `untrack` need the exact app id or full name/);
  expect(text).toMatch(/`app` and `audit` also take a unique prefix or part of the name/);
});
