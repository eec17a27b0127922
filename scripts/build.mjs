// Bundles the extension (and, with --tests, every test file) with esbuild.
// Type-checking is separate (`npm run typecheck`): esbuild only strips types.
import * as esbuild from 'esbuild';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = new Set(process.argv.slice(2));
const production = args.has('--production');

// Native and host-provided modules stay outside the bundle.
const external = ['vscode', '@vscode/sqlite3'];

function findFiles(dir, suffix) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findFiles(full, suffix));
    else if (name.endsWith(suffix)) out.push(full);
  }
  return out;
}

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
  await esbuild.build({ ...common, entryPoints: { extension: join(root, 'src/extension/extension.ts') }, outdir: join(root, 'dist') });
}

async function buildTests() {
  rmSync(join(root, 'out'), { recursive: true, force: true });
  const entries = {};
  for (const file of [...findFiles(join(root, 'test'), '.test.ts'), ...findFiles(join(root, 'test'), '.child.ts')]) {
    entries[relative(root, file).replace(/\.ts$/, '')] = file;
  }
  // Tooling the tests drive (linters, browsers) is loaded from node_modules, not bundled.
  const testExternal = [...external, 'eslint', 'typescript-eslint', '@eslint/js', 'playwright-core', 'mocha'];
  await esbuild.build({ ...common, entryPoints: entries, outdir: join(root, 'out'), sourcemap: 'inline', external: testExternal });
}

if (args.has('--tests')) await buildTests();
if (!args.has('--tests') || args.has('--all')) await buildExtension();
