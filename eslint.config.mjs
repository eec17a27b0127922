// Lint rules that keep the layers apart (STYLE.md 1): the durable core never
// imports `vscode`, and has no `any`.
import js from '@eslint/js';
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
  { ignores: ['node_modules/**', 'dist/**', 'out/**', '.cache/**', '.tools/**', '.vscode-test/**', 'test-results/**', 'bench/results/**'] },
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
    files: ['scripts/**/*.mjs', 'media/**/*.js', 'bench/**/*.mjs', '*.mjs', '.vscode-test.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly', fetch: 'readonly', window: 'readonly', document: 'readonly', acquireVsCodeApi: 'readonly', performance: 'readonly', AbortController: 'readonly' },
    },
  },
);
