// @ts-check
/**
 * ESLint with typescript-eslint's type-checked rules. Above all no-floating-promises: an
 * un-awaited Slack or Redis call is a lost write. The house rules that are about calls rather than
 * imports (raw Redis only in stores) are here; the import rules are in .dependency-cruiser.cjs.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
);
