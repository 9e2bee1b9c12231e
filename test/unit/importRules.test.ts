/**
 * The import rules of `.dependency-cruiser.cjs` each catch a deliberate violation. A small tree
 * with one planted violation per rule (and clean modules beside them) is cruised with the
 * project's own rule file; every rule must name the module that breaks it, and nothing else may
 * be reported against the clean modules. The real tree is checked by `npm run lint:deps`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const repo = resolve(__dirname, '../..');

const tree: Record<string, string> = {
  'src/main.ts': [
    "import './platform/upward';",
    "import './kernel/outward';",
    "import './capabilities/approvals/sideways';",
    "import './capabilities/evidence/rules/ownIndex';",
    "import './capabilities/evidence/views/impure';",
    "import './capabilities/evidence/jobs/rawRedis';",
    "import './capabilities/evidence/stores/clean';",
    "import './capabilities/digest/circleA';",
    "import './capabilities/home/devImport';",
    "import './capabilities/evidence';",
    '',
  ].join('\n'),
  // platform reaching up into a capability
  'src/platform/upward.ts': "import { rule } from '../capabilities/evidence/rules/rule';\nexport const up = rule;\n",
  // kernel reaching out to platform
  'src/kernel/outward.ts': "import { ID } from '../platform/ids';\nexport const out = ID;\n",
  'src/platform/ids.ts': "export const ID = 'x';\n",
  // a capability reaching past another's index
  'src/capabilities/approvals/sideways.ts': "import { rule } from '../evidence/rules/rule';\nexport const side = rule;\n",
  'src/capabilities/evidence/index.ts': "export { rule } from './rules/rule';\n",
  'src/capabilities/evidence/rules/rule.ts': 'export const rule = 1;\n',
  // a module going through its own capability's index
  'src/capabilities/evidence/rules/ownIndex.ts': "import { rule } from '../index';\nexport const own = rule;\n",
  // a view importing Redis at run time (also raw Redis outside a store)
  'src/capabilities/evidence/views/impure.ts': "import IORedis from 'ioredis';\nexport const make = () => new IORedis();\n",
  // a job importing Redis at run time
  'src/capabilities/evidence/jobs/rawRedis.ts': "import IORedis from 'ioredis';\nexport const conn = () => new IORedis();\n",
  // a store may: the clean control
  'src/capabilities/evidence/stores/clean.ts': "import IORedis from 'ioredis';\nimport type { Redis } from 'ioredis';\nexport const open = (): Redis => new IORedis();\n",
  // a circle closed by a type-only import
  'src/capabilities/digest/circleA.ts': "import { b } from './circleB';\nexport interface A { n: number }\nexport const a = b;\n",
  'src/capabilities/digest/circleB.ts': "import type { A } from './circleA';\nexport const b: A = { n: 1 };\n",
  // src importing the sandbox or the fakes
  'src/capabilities/home/devImport.ts': "import { fake } from '../../../dev/fakes/fake';\nexport const home = fake;\n",
  'dev/fakes/fake.ts': 'export const fake = 1;\n',
  // nothing imports this
  'src/platform/lonely.ts': 'export const lonely = 1;\n',
  'tsconfig.json': JSON.stringify({ compilerOptions: { strict: true, module: 'commonjs', esModuleInterop: true, skipLibCheck: true }, include: ['src', 'dev'] }),
};

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

let violations: Violation[] = [];
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zjt-import-rules-'));
  for (const [file, text] of Object.entries(tree)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const cli = join(repo, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  let out: string;
  try {
    out = execFileSync(process.execPath, [cli, 'src', 'dev', '--config', join(repo, '.dependency-cruiser.cjs'), '--output-type', 'json'], {
      cwd: dir,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    // Violations make the CLI exit non-zero; the report is still on stdout.
    out = (err as { stdout?: string }).stdout ?? '';
  }
  violations = (JSON.parse(out) as { summary: { violations: Violation[] } }).summary.violations;
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const broken = (rule: string) => violations.filter((v) => v.rule.name === rule).map((v) => `${v.from} → ${v.to}`);

it.each([
  ['platform-and-kernel-stay-below', 'src/platform/upward.ts → src/capabilities/evidence/rules/rule.ts'],
  ['kernel-is-self-contained', 'src/kernel/outward.ts → src/platform/ids.ts'],
  ['capability-through-index', 'src/capabilities/approvals/sideways.ts → src/capabilities/evidence/rules/rule.ts'],
  ['capability-not-through-own-index', 'src/capabilities/evidence/rules/ownIndex.ts → src/capabilities/evidence/index.ts'],
  ['dev-stays-out-of-src', 'src/capabilities/home/devImport.ts → dev/fakes/fake.ts'],
  ['no-orphans-in-src', 'src/platform/lonely.ts → src/platform/lonely.ts'],
])('%s catches %s', (rule, edge) => {
  expect(broken(rule)).toContain(edge);
});

it('pure-modules-stay-pure catches a view importing ioredis at run time', () => {
  expect(broken('pure-modules-stay-pure').some((e) => /^src\/capabilities\/evidence\/views\/impure\.ts → (.*\/)?node_modules\/ioredis\//.test(e))).toBe(true);
});

it('redis-only-in-stores catches ioredis outside a store, and lets a store have it', () => {
  const edges = broken('redis-only-in-stores');
  expect(edges.some((e) => /^src\/capabilities\/evidence\/jobs\/rawRedis\.ts → (.*\/)?node_modules\/ioredis\//.test(e))).toBe(true);
  expect(edges.some((e) => e.startsWith('src/capabilities/evidence/views/impure.ts → '))).toBe(true);
  expect(edges.some((e) => e.startsWith('src/capabilities/evidence/stores/clean.ts'))).toBe(false);
});

it('no-circular catches a circle closed by a type-only import', () => {
  const edges = broken('no-circular');
  expect(edges).toEqual(expect.arrayContaining(['src/capabilities/digest/circleA.ts → src/capabilities/digest/circleB.ts']));
});

it('reports nothing against the clean modules', () => {
  const clean = ['src/capabilities/evidence/stores/clean.ts', 'src/capabilities/evidence/rules/rule.ts', 'src/platform/ids.ts', 'dev/fakes/fake.ts'];
  expect(violations.filter((v) => clean.includes(v.from))).toEqual([]);
});
