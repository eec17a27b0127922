// Bundles the extension (and, with --tests, every test file) with esbuild.
// Type-checking is separate (`npm run typecheck`): esbuild only strips types.
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = new Set(process.argv.slice(2));
const production = args.has('--production');

// Native and host-provided modules stay outside the bundle.
const external = ['vscode', '@vscode/sqlite3', 'pg-native'];

function findFiles(dir, suffix) {
  return readdirSync(dir, { recursive: true }).filter((f) => f.endsWith(suffix)).map((f) => join(dir, f));
}

// The command supervisor runs as a process of its own, so it is a bundle of its own.
const SUPERVISOR = { commandSupervisor: join(root, 'src/agent/supervisor/supervisorMain.ts') };

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: production ? false : 'linked',
  minify: production,
  external,
  logLevel: 'warning',
};

async function buildExtension() {
  await esbuild.build({ ...common, entryPoints: { extension: join(root, 'src/extension/extension.ts'), ...SUPERVISOR }, outdir: join(root, 'dist') });
  // Webview pages: browser bundles next to their styles in media/.
  await esbuild.build({
    entryPoints: { sessionPage: join(root, 'media/src/sessionPage.ts'), explorerPage: join(root, 'media/src/explorerPage.ts') },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: production,
    sourcemap: false,
    outdir: join(root, 'media/dist'),
    logLevel: 'warning',
  });
}

async function buildTests() {
  rmSync(join(root, 'out'), { recursive: true, force: true });
  const entries = { ...SUPERVISOR };
  for (const file of [...findFiles(join(root, 'test'), '.test.ts'), ...findFiles(join(root, 'test'), '.child.ts')]) {
    entries[relative(root, file).replace(/\.ts$/, '')] = file;
  }
  // Tooling the tests drive (linters, browsers) is loaded from node_modules, not bundled.
  const testExternal = [...external, 'eslint', 'typescript-eslint', '@eslint/js', 'playwright-core', 'mocha'];
  await esbuild.build({ ...common, entryPoints: entries, outdir: join(root, 'out'), sourcemap: 'inline', external: testExternal });
}

/**
 * The test-harness extension and the integration tests it runs inside the
 * extension host. They live in the harness's folder (so `require('vscode')` is
 * attributed to it); the native SQLite module resolves to this repository's build.
 */
async function buildHarness() {
  const harness = join(root, 'test', 'harness-extension');
  rmSync(join(harness, 'dist'), { recursive: true, force: true });
  const sqlitePath = join(root, 'node_modules', '@vscode', 'sqlite3');
  const localSqlite = {
    name: 'local-sqlite',
    setup(build) {
      build.onResolve({ filter: /^@vscode\/sqlite3$/ }, () => ({ path: sqlitePath, external: true }));
    },
  };
  const tests = {};
  for (const file of findFiles(join(root, 'test', 'integration'), '.itest.ts')) tests[`tests/${relative(join(root, 'test', 'integration'), file).replace(/\.ts$/, '')}`] = file;
  await esbuild.build({
    ...common,
    entryPoints: { harness: join(harness, 'harness.ts'), ...tests },
    outdir: join(harness, 'dist'),
    external: ['vscode', 'mocha'],
    plugins: [localSqlite],
    sourcemap: 'inline',
  });
}

if (args.has('--tests')) await buildTests();
if (args.has('--harness')) await buildHarness();
if ((!args.has('--tests') && !args.has('--harness')) || args.has('--all')) await buildExtension();
