/**
 * What ships beside the code says what the code and the tests do: the Slack manifest asks for the
 * scopes the README explains and no other, compose runs Redis the way the fault suite proves it
 * and can hand the app its accounts file, and the README names the bench's machine.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('the Slack manifest', () => {
  const manifest = read('manifest.yml');
  const scopes = [...manifest.slice(manifest.indexOf('    bot:')).split('\nsettings:')[0]!.matchAll(/^\s+- ([a-z:.]+)$/gm)].map((m) => m[1]);

  it('asks for exactly the scopes the README explains', () => {
    const readme = read('README.md');
    const explained = readme.slice(readme.indexOf('Bot scopes and why:'), readme.indexOf('Requesters hear'));
    const named = [...explained.matchAll(/`([a-z]+(?::[a-z.]+)?)` \(/g)].map((m) => m[1]);
    expect(scopes.sort()).toEqual([...new Set(named)].sort());
  });

  it('does not ask for im:write, which nothing uses: DMs are chat.postMessage to a user id', () => {
    expect(scopes).not.toContain('im:write');
    const code = sourceFiles('src').map(read).join('\n');
    expect(code).not.toMatch(/conversations\.open|\bim\.open/);
    expect(read('src/capabilities/approvals/flow.ts')).toMatch(/chat\.postMessage\(\{ channel: req\.requester/);
  });
});

describe('docker-compose.yml', () => {
  const compose = read('docker-compose.yml');

  it('runs Redis with the AOF setting the fault suite restarts it with', () => {
    const proven = /'--appendfsync', '(\w+)'/.exec(read('test/faults/redisServer.ts'))?.[1];
    expect(proven).toBe('always');
    expect(compose).toMatch(new RegExp(`"--appendonly", "yes", "--appendfsync", "${proven}"`));
  });

  it('mounts ZOOM_ACCOUNTS_FILE into every app container and points the variable at the mount', () => {
    for (const service of ['web', 'worker']) {
      const block = compose.split(/\n  (?=\w+:\n)/).find((b) => b.startsWith(`${service}:`))!;
      const target = /target: (\S+)/.exec(block)?.[1];
      expect([service, target]).toEqual([service, expect.stringMatching(/^\/run\//)]);
      expect(block).toContain('source: ${ZOOM_ACCOUNTS_FILE:-/dev/null}');
      expect(block).toContain(`ZOOM_ACCOUNTS_FILE: \${ZOOM_ACCOUNTS_FILE:+${target}}`);
      expect(block).toMatch(/read_only: true/);
    }
  });
});

it('the README names the CPU that bench/results.json was measured on', () => {
  const results = JSON.parse(read('bench/results.json')) as { date: string; machine: { cpu: string; cores: number } };
  const perf = read('README.md').split('## Performance')[1]!.split('\n## ')[0]!;
  expect(perf).toContain(`(${results.date.slice(0, 10)}; ${results.machine.cpu}, ${results.machine.cores} cores,`);
});
