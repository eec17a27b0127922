// Lint rules that keep the layers apart (STYLE.md 1): the durable core never
// imports `vscode`, and has no `any`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export const layeringRule = {
  'no-restricted-imports': [
    'error',
    {
      paths: [{ name: 'vscode', message: 'src/durable is the pure core: it must not import vscode (adapt it in src/extension).' }],
      patterns: [{ group: ['**/extension/**', '**/views/**'], message: 'src/durable must not depend on the extension or view layers.' }],
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', '**/dist/**', 'out/**', '.cache/**', '.tools/**', '.vscode-test/**', 'test-results/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { ecmaVersion: 2022, sourceType: 'module' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/durable/**/*.ts'],
    rules: { ...layeringRule, '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    files: ['scripts/**/*.mjs', 'test/**/*.mjs', 'bench/**/*.mjs', '*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['media/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
);
