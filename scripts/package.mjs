// Builds the production bundle and packages a platform-specific VSIX (the
// native SQLite module makes the package per-platform). Prints its size and
// checks that the native module is inside.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import yauzl from 'yauzl';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse((await import('node:fs')).readFileSync(join(root, 'package.json'), 'utf8'));

/** VS Code's platform target for this machine (`vsce package --target`). */
export function currentTarget() {
  const arch = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[process.arch];
  const platform = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[process.platform];
  if (!arch || !platform) throw new Error(`no VS Code target for ${process.platform}-${process.arch}`);
  return `${platform}-${arch}`;
}

const target = process.env.VSCE_TARGET || currentTarget();
const out = join(root, `${pkg.name}-${pkg.version}-${target}.vsix`);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });

run(process.execPath, [join(root, 'scripts/build.mjs'), '--production']);
run(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--target', target, '--out', out, '--no-update-package-json', '--skip-license']);

const entries = await listZip(out);
for (const required of ['extension/dist/extension.js', 'extension/migrations/sqlite/001_initial.sql', 'extension/migrations/postgres/001_initial.sql', 'extension/dist/commandSupervisor.js', 'extension/node_modules/@vscode/sqlite3/build/Release/vscode-sqlite3.node']) {
  if (!entries.has(required)) throw new Error(`the VSIX lacks ${required}`);
}
console.log(`packaged ${out} (${(statSync(out).size / 1024).toFixed(0)} KiB, ${entries.size} files, target ${target})`);
if (process.argv.includes('--list')) [...entries].sort().forEach((e) => console.log(`  ${e}`));

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
