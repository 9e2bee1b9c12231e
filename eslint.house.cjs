/**
 * House rules ESLint holds (the import rules are dependency-cruiser's, in .dependency-cruiser.cjs).
 * Kept in their own file so test/unit/houseLint.test.ts lints planted violations with exactly
 * these definitions.
 */
const RAW_REDIS = 'Raw Redis calls belong in a store (a stores/ folder) or src/platform/redis/: call a store function here.';

/** A call on a Redis connection: `redis.x()`, `s.redis.x()`, `this.redis.x()`, `deps.redis.x()`. */
const rawRedisSelectors = [
  "CallExpression[callee.type='MemberExpression'][callee.object.type='Identifier'][callee.object.name='redis']",
  "CallExpression[callee.type='MemberExpression'][callee.object.type='MemberExpression'][callee.object.property.name='redis']",
];

module.exports = {
  rawRedisOutsideStores: {
    name: 'zoomjwt/raw-redis-only-in-stores',
    files: ['src/**/*.ts'],
    ignores: ['src/**/stores/**', 'src/platform/redis/**'],
    rules: {
      'no-restricted-syntax': ['error', ...rawRedisSelectors.map((selector) => ({ selector, message: RAW_REDIS }))],
    },
  },
};
