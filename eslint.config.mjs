// @ts-check
/**
 * ESLint with typescript-eslint's type-checked rules, above all no-floating-promises: an
 * un-awaited Slack or Redis call is a lost write. src/, dev/ and scripts/ get the whole
 * recommended type-checked set. Tests and benchmarks read JSON from fake servers and Redis as
 * `any` by nature, so there the no-unsafe-* family and require-await are off; the promise rules
 * stay on everywhere. The house rules (error codes, raw Redis only in stores) are in
 * eslint.house.cjs; the import rules in .dependency-cruiser.cjs.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import house from './eslint.house.cjs';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // An async function without await is how a throw becomes a rejection, and how a function
      // keeps the Promise-returning shape its interface declares.
      '@typescript-eslint/require-await': 'off',
      // Our interfaces declare function-valued fields as methods (respond, handler, addSecret…);
      // none of them uses `this`, so passing them on is safe and the rule only adds noise.
      '@typescript-eslint/unbound-method': 'off',
      // Errors forwarded from sockets and Lua arrive as `unknown`; passing them on unchanged is right.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // The sandbox and the fakes read loose JSON from the app under test, like the tests do.
    files: ['dev/**/*.ts'],
    rules: {
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      // Expected strings in assertions are written as they are shown.
      'no-regex-spaces': 'off',
    },
  },
  ...house.houseConfigs,
);
