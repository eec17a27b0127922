// Builds the production bundle and packages the extension.
//
//   npm run package                        the universal VSIX (no native binary): the one to publish
//   npm run package -- --platform          a platform-specific VSIX for this machine, with the
//                                          bundled @vscode/sqlite3 as a fallback (--target T for another)
//   add --list to print every file inside
//
// The universal package opens durable.db through the running VS Code's own
// @vscode/sqlite3 (see src/durable/store/sqlite/sqliteBinding.ts). vsce must
// print no warning: any line it marks as a warning fails the packaging.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yauzl from 'yauzl';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** VS Code's platform target for this machine (`vsce package --target`). */
export function currentTarget() {
  const arch = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[process.arch];
  const platform = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[process.platform];
  if (!arch || !platform) throw new Error(`no VS Code target for ${process.platform}-${process.arch}`);
  return `${platform}-${arch}`;
}

/** The file names of a VSIX's universal and platform-specific packages. */
export function vsixName(target) {
  return target ? `${pkg.name}-${pkg.version}-${target}.vsix` : `${pkg.name}-${pkg.version}.vsix`;
}

const NATIVE = 'extension/node_modules/@vscode/sqlite3/build/Release/vscode-sqlite3.node';
const REQUIRED = [
  'extension/dist/extension.js',
  'extension/dist/commandSupervisor.js',
  'extension/migrations/sqlite/001_initial.sql',
  'extension/migrations/postgres/001_initial.sql',
  'extension/media/icon.png',
  'extension/changelog.md',
  'extension/media/demo/tour.json',
  // Every picture and page the walkthrough shows.
  ...pkg.contributes.walkthroughs.flatMap((w) => w.steps.map((s) => `extension/${s.media.image ?? s.media.markdown ?? s.media.svg}`)),
];
/** The native module's files, added to .vscodeignore's list for a platform package only. */
const FALLBACK_FILES = ['!node_modules/@vscode/sqlite3/package.json', '!node_modules/@vscode/sqlite3/lib/*.js', '!node_modules/@vscode/sqlite3/build/Release/vscode-sqlite3.node'];

function vsce(args) {
  const run = spawnSync(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-update-package-json', ...args], { cwd: root, encoding: 'utf8' });
  const output = `${run.stdout}\n${run.stderr}`;
  if (run.status !== 0) throw new Error(`vsce failed (exit ${run.status}):\n${output}`);
  // vsce prints warnings on stderr ("WARNING", or "::warning::" under CI annotations).
  const warnings = output.split('\n').filter((l) => /\bwarning\b/i.test(l));
  if (warnings.length > 0) throw new Error(`vsce warned:\n${warnings.join('\n')}`);
}

/** Packages one VSIX; returns its path and entries after checking what must (and must not) be inside. */
export async function packageVsix({ target, build = true } = {}) {
  if (build) execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--production'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const out = join(root, vsixName(target));
  if (target) {
    // The same list as the universal package, plus the native module (vsce reads one ignore file).
    const dir = mkdtempSync(join(tmpdir(), 'das-package-'));
    try {
      const ignore = join(dir, 'platform.vscodeignore');
      writeFileSync(ignore, `${readFileSync(join(root, '.vscodeignore'), 'utf8')}\n${FALLBACK_FILES.join('\n')}\n`);
      vsce(['--target', target, '--ignoreFile', ignore, '--out', out]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    vsce(['--no-dependencies', '--out', out]);
  }
  const entries = await listZip(out);
  for (const required of REQUIRED) if (!entries.has(required)) throw new Error(`${out} lacks ${required}`);
  if (target && !entries.has(NATIVE)) throw new Error(`${out} lacks the bundled fallback ${NATIVE}`);
  const superfluous = [...entries].filter((e) => (!target && e.includes('node_modules/')) || /\.(ts|map)$|tsconfig|\/src\//.test(e));
  if (superfluous.length > 0) throw new Error(`${out} holds files it should not: ${superfluous.join(', ')}`);
  return { file: out, entries, bytes: statSync(out).size };
}

function listZip(file) {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const names = new Set();
      zip.on('entry', (e) => {
        names.add(e.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolve(names));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--target');
  const target = at >= 0 ? args[at + 1] : args.includes('--platform') ? currentTarget() : undefined;
  // The fallback is the binary npm compiled on this machine: it runs only on this machine's platform.
  if (target && target !== currentTarget()) throw new Error(`a ${target} package would carry this ${currentTarget()} machine's SQLite binary: package it on a ${target} machine`);
  const { file, entries, bytes } = await packageVsix({ target });
  console.log(`packaged ${file} (${(bytes / 1024).toFixed(0)} KiB, ${entries.size} files, ${target ? `target ${target}, with the bundled SQLite fallback` : "universal: uses VS Code's own SQLite"})`);
  if (args.includes('--list')) [...entries].sort().forEach((e) => console.log(`  ${e}`));
}
