/**
 * The house rules ESLint holds (eslint.house.cjs) catch planted violations, with exactly the
 * definitions eslint.config.mjs uses: raw Redis calls outside a store are refused, a store may
 * make them, and so may src/platform/redis/.
 */
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { houseConfigs } = require('../../eslint.house.cjs') as { houseConfigs: Linter.Config[] };

const linter = new Linter({ configType: 'flat' });
const config: Linter.Config[] = [
  { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
  ...houseConfigs,
];
const problems = (file: string, code: string) => linter.verify(code, config, { filename: file }).map((m) => `${m.line}: ${m.message}`);

const raw = [
  'export async function f(redis: any, s: any, deps: any) {',
  "  await redis.get('k');",
  "  await s.redis.multi().set('a', '1').exec();",
  "  await deps.redis.eval('return 1', 0);",
  '}',
].join('\n');

it('refuses raw Redis calls in a job, a feature or the platform outside redis/', () => {
  for (const file of ['src/capabilities/digest/jobs/digest.ts', 'src/capabilities/home/feature.ts', 'src/platform/zoom/client.ts', 'src/main.ts']) {
    expect(problems(file, raw)).toEqual([
      expect.stringMatching(/^2: Raw Redis calls belong in a store/),
      expect.stringMatching(/^3: Raw Redis calls belong in a store/),
      expect.stringMatching(/^4: Raw Redis calls belong in a store/),
    ]);
  }
});

it('lets a store and platform/redis make them', () => {
  for (const file of ['src/capabilities/digest/stores/digestDays.ts', 'src/platform/zoom/stores/pause.ts', 'src/platform/redis/lease.ts']) {
    expect(problems(file, raw)).toEqual([]);
  }
});

it('leaves calls that only pass the connection on, or name something else, alone', () => {
  const fine = ['export function g(redis: any, s: any, store: any) {', '  store.get(redis);', '  return s.create(s.redis, s.keys);', '}'].join('\n');
  expect(problems('src/capabilities/home/feature.ts', fine)).toEqual([]);
});

it('refuses an error class without a code, and accepts either way of declaring one', () => {
  const lint = (code: string, file = 'src/capabilities/x/y.ts') => linter.verify(code, config, { filename: file }).map((m) => m.message);
  const noCode = 'export class NoCode extends Error { constructor() { super("x"); } }';
  // In a store too, where the raw-Redis selectors do not apply.
  for (const file of ['src/capabilities/x/y.ts', 'src/capabilities/x/stores/y.ts', 'scripts/z.ts']) {
    expect(lint(noCode, file)).toEqual([expect.stringMatching(/has a `code`/)]);
  }
  expect(lint("export class Field extends Error { readonly code = 'field'; }")).toEqual([]);
  expect(lint('export class Param extends Error { constructor(readonly code: string) { super(code); } }')).toEqual([]);
});
