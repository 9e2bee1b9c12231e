/**
 * The import rules of the house (docs/ARCHITECTURE.md, "Rules the tooling holds"). `npm test`
 * runs `npm run lint:deps`, so CI refuses an arrow that runs the wrong way.
 * test/unit/importRules.test.ts plants one violation of each rule and checks it is caught.
 */
const pure = '^src/(kernel|capabilities/[^/]+/(rules|views|model))(/|\\.ts$)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No circles between modules, type-only imports included: each one hides a layer that is not one.',
      severity: 'error',
      from: { path: '^(src|dev|scripts)/' },
      to: { circular: true },
    },
    {
      name: 'platform-and-kernel-stay-below',
      comment: 'platform/ and kernel/ hold no product rules: they never import a capability.',
      severity: 'error',
      from: { path: '^src/(platform|kernel)/' },
      to: { path: '^src/capabilities/' },
    },
    {
      name: 'kernel-is-self-contained',
      comment: 'kernel/ is the pure, shared base: it imports only kernel/ (and Node).',
      severity: 'error',
      from: { path: '^src/kernel/' },
      to: { path: '^src/', pathNot: '^src/kernel/' },
    },
    {
      name: 'capability-through-index',
      comment: 'A capability uses another only through its index.ts (its public face).',
      severity: 'error',
      from: { path: '^src/capabilities/([^/]+)/' },
      to: { path: '^src/capabilities/([^/]+)/.+', pathNot: ['^src/capabilities/$1/', '^src/capabilities/[^/]+/index\\.ts$'] },
    },
    {
      name: 'capability-not-through-own-index',
      comment: 'Inside a capability, modules import each other directly: going through the own index closes a circle.',
      severity: 'error',
      from: { path: '^src/capabilities/([^/]+)/.+', pathNot: '^src/capabilities/[^/]+/index\\.ts$' },
      to: { path: '^src/capabilities/$1/index\\.ts$' },
    },
    {
      name: 'pure-modules-stay-pure',
      comment: 'Rules, models and views decide and draw; they import no Redis, BullMQ or Bolt at run time.',
      severity: 'error',
      from: { path: pure },
      to: { path: '(^|/)node_modules/(ioredis|bullmq|@slack/bolt)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'redis-only-in-stores',
      comment:
        'Raw Redis lives in stores (a capability\'s stores/, platform/<x>/stores/) and platform/redis. ' +
        'The queue layer hands BullMQ its connection. (ESLint catches redis.<command>() calls elsewhere.)',
      severity: 'error',
      from: {
        path: '^src/',
        pathNot: ['/stores/', '^src/platform/redis/', '^src/platform/queue/'],
      },
      to: { path: '(^|/)node_modules/ioredis/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'dev-stays-out-of-src',
      comment: 'The sandbox and the fakes are for `npm run sandbox` and the tests; src/ never imports them, so they never ship.',
      severity: 'error',
      from: { path: '^(src|scripts)/' },
      to: { path: '^(dev|test|bench)/' },
    },
    {
      name: 'no-orphans-in-src',
      comment: 'A module nothing imports is dead code (knip says which exports are).',
      severity: 'error',
      from: { orphan: true, path: '^src/', pathNot: ['^src/main\\.ts$', '\\.d\\.ts$'] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
