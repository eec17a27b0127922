// Lint rules. The layers of the house (which folder may import which, who
// may import vscode or a database driver) live in eslint-rules/layers.mjs and
// are described in docs/ARCHITECTURE.md; the core has no `any`.
import { existsSync, statSync } from 'node:fs';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { layersPlugin } from './eslint-rules/layers.mjs';

const isFile = (path) => existsSync(path) && statSync(path).isFile();

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
    files: ['src/**/*.ts', 'media/src/**/*.ts', 'test/**/*.ts'],
    plugins: { layers: layersPlugin(isFile) },
    rules: { 'layers/imports': 'error' },
  },
  {
    files: ['src/durable/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    files: ['scripts/**/*.mjs', 'test/**/*.mjs', 'bench/**/*.mjs', 'eslint-rules/**/*.mjs', '*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['media/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
);
