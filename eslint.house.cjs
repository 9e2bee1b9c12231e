/**
 * House rules ESLint holds (the import rules are dependency-cruiser's, in .dependency-cruiser.cjs).
 * Kept in their own file so test/unit/houseLint.test.ts lints planted violations with exactly
 * these definitions. Both rules use no-restricted-syntax, whose options do not merge across
 * config blocks, so each block lists every selector that applies to its files.
 */
const RAW_REDIS = 'Raw Redis calls belong in a store (a stores/ folder) or src/platform/redis/: call a store function here.';

/** A call on a Redis connection: `redis.x()`, `s.redis.x()`, `this.redis.x()`, `deps.redis.x()`. */
const rawRedis = [
  "CallExpression[callee.type='MemberExpression'][callee.object.type='Identifier'][callee.object.name='redis']",
  "CallExpression[callee.type='MemberExpression'][callee.object.type='MemberExpression'][callee.object.property.name='redis']",
].map((selector) => ({ selector, message: RAW_REDIS }));

/** An error class of ours says what went wrong in a `code` (a property or a constructor parameter property). */
const errorWithoutCode = {
  selector:
    "ClassDeclaration[superClass.type='Identifier'][superClass.name='Error']" +
    ":not(:has(PropertyDefinition[key.name='code'])):not(:has(TSParameterProperty[parameter.name='code']))",
  message: 'Every error class has a `code` (a stable, machine-readable reason).',
};

/** @type {import('eslint').Linter.Config[]} */
const houseConfigs = [
  {
    name: 'zoomjwt/error-classes-have-code',
    files: ['src/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', errorWithoutCode] },
  },
  {
    name: 'zoomjwt/raw-redis-only-in-stores',
    files: ['src/**/*.ts'],
    ignores: ['src/**/stores/**', 'src/platform/redis/**'],
    rules: { 'no-restricted-syntax': ['error', errorWithoutCode, ...rawRedis] },
  },
];

module.exports = { houseConfigs };
