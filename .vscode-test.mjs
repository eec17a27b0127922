// Alternative path for contributors who can reach Microsoft's download server:
// `npm run test:electron` downloads VS Code (Electron) with @vscode/test-electron
// and runs phase 1 of the integration tests there. CI and this repository's own
// machines use the code-server harness instead (scripts/vscode-test.mjs).
import { defineConfig } from '@vscode/test-cli';

export default defineConfig({
  label: 'integration',
  files: 'test/harness-extension/dist/tests/extension.itest.js',
  workspaceFolder: 'test/fixtures/sample-workspace',
  env: { DURABLE_SESSIONS_TEST_API: '1' },
  mocha: { ui: 'tdd', timeout: 30_000 },
});
