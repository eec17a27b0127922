// Which @vscode/sqlite3 opens durable.db: the running VS Code's own first (in
// each layout its builds use), then the copy of a platform-specific package,
// each probed for what the journal needs. Fake VS Code roots hold small modules
// that re-export the real binding, fail to load, or imitate an old SQLite.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  bundledBindingCandidate,
  describeBinding,
  hostBindingCandidates,
  loadSqliteBinding,
  NoSqliteBindingError,
  type BindingCandidate,
} from '../../../../src/durable/store/sqlite/sqliteBinding';
import { SqliteBackend } from '../../../../src/durable/store/sqlite/sqliteBackend';
import { StorageError } from '../../../../src/durable/model/errors';
import { MIGRATIONS_DIR, repoRoot, tempDir } from '../../../helpers';
import { loadMigrations } from '../../../../src/durable/store/migrationFiles';

const REAL = join(repoRoot(), 'node_modules', '@vscode', 'sqlite3');

/** A module folder `dir` whose package.json says `version` and whose index.js is `body`. */
function fakeModule(dir: string, version: string, body: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@vscode/sqlite3', version, main: 'index.js' }));
  writeFileSync(join(dir, 'index.js'), body);
}

const REEXPORT = `module.exports = require(${JSON.stringify(REAL)});\n`;
const BROKEN = `throw new Error("The module '/x/vscode-sqlite3.node' was compiled against a different Node.js version using NODE_MODULE_VERSION 115.");\n`;
/** Answers like SQLite 3.31.1: loads, opens, but lacks STRICT tables. */
const OLD_SQLITE = `
class Database {
  constructor(file, mode, cb) { setImmediate(() => cb(null)); }
  all(sql, cb) { setImmediate(() => cb(null, /sqlite_version/.test(sql) ? [{ v: '3.31.1' }] : [])); return this; }
  close(cb) { setImmediate(() => cb && cb(null)); }
}
module.exports = { Database, OPEN_READONLY: 1, OPEN_READWRITE: 2, OPEN_CREATE: 4 };
`;

interface FakeRoots {
  appRoot: string;
  extensionRoot: string;
  candidates: BindingCandidate[];
}

function roots(t: { after(fn: () => void): void }): FakeRoots {
  const base = tempDir(t, 'das-binding-');
  const appRoot = join(base, 'vscode');
  const extensionRoot = join(base, 'extension');
  mkdirSync(appRoot, { recursive: true });
  mkdirSync(extensionRoot, { recursive: true });
  return { appRoot, extensionRoot, candidates: [...hostBindingCandidates(appRoot), bundledBindingCandidate(extensionRoot)] };
}

test('the server layout (node_modules): VS Code’s own module wins over the bundled copy', async (t) => {
  const r = roots(t);
  fakeModule(join(r.appRoot, 'node_modules', '@vscode', 'sqlite3'), '5.1.8-vscode', REEXPORT);
  fakeModule(join(r.extensionRoot, 'node_modules', '@vscode', 'sqlite3'), '5.1.14-vscode', REEXPORT);
  const binding = await loadSqliteBinding(r.candidates);
  assert.equal(binding.source, 'host');
  assert.equal(binding.version, '5.1.8-vscode');
  assert.match(binding.sqliteVersion, /^3\.\d+\.\d+$/);
  assert.equal(
    describeBinding(binding),
    `VS Code's own @vscode/sqlite3 5.1.8-vscode (${join(r.appRoot, 'node_modules', '@vscode', 'sqlite3')}), SQLite ${binding.sqliteVersion}`,
  );
});

test('the desktop layout (node_modules.asar) is found when there is no plain node_modules', async (t) => {
  const r = roots(t);
  fakeModule(join(r.appRoot, 'node_modules.asar', '@vscode', 'sqlite3'), '5.1.6-vscode', REEXPORT);
  const binding = await loadSqliteBinding(r.candidates);
  assert.equal(binding.source, 'host');
  assert.equal(binding.where, join(r.appRoot, 'node_modules.asar', '@vscode', 'sqlite3'));
});

test('a broken host binding (built for another runtime) falls back to the bundled copy', async (t) => {
  const r = roots(t);
  fakeModule(join(r.appRoot, 'node_modules', '@vscode', 'sqlite3'), '5.1.8-vscode', BROKEN);
  fakeModule(join(r.extensionRoot, 'node_modules', '@vscode', 'sqlite3'), '5.1.14-vscode', REEXPORT);
  const binding = await loadSqliteBinding(r.candidates);
  assert.equal(binding.source, 'bundled');
  assert.match(describeBinding(binding), /^the bundled copy of @vscode\/sqlite3 5\.1\.14-vscode \(/);
});

test('a missing host binding falls back to the bundled copy', async (t) => {
  const r = roots(t);
  fakeModule(join(r.extensionRoot, 'node_modules', '@vscode', 'sqlite3'), '5.1.14-vscode', REEXPORT);
  const binding = await loadSqliteBinding(r.candidates);
  assert.equal(binding.source, 'bundled');
});

test('an SQLite older than the schema needs is refused, and the next candidate is used', async (t) => {
  const r = roots(t);
  fakeModule(join(r.appRoot, 'node_modules', '@vscode', 'sqlite3'), '5.0.0-vscode', OLD_SQLITE);
  fakeModule(join(r.extensionRoot, 'node_modules', '@vscode', 'sqlite3'), '5.1.14-vscode', REEXPORT);
  assert.equal((await loadSqliteBinding(r.candidates)).source, 'bundled');
});

test('nothing usable (the universal package on a VS Code without a binding): one error lists every attempt and what to do', async (t) => {
  const r = roots(t);
  fakeModule(join(r.appRoot, 'node_modules', '@vscode', 'sqlite3'), '5.0.0-vscode', OLD_SQLITE);
  fakeModule(join(r.appRoot, 'node_modules.asar', '@vscode', 'sqlite3'), '5.1.8-vscode', 'module.exports = {};\n');
  const error = await loadSqliteBinding(r.candidates).then(
    () => assert.fail('a binding was accepted'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof NoSqliteBindingError);
  assert.ok(error instanceof StorageError && error.reason === 'cannot_open');
  assert.deepEqual(error.attempts, [
    `VS Code's own at ${join(r.appRoot, 'node_modules', '@vscode', 'sqlite3')}: SQLite 3.31.1 is older than 3.37.0, which the journal's schema needs`,
    `VS Code's own at ${join(r.appRoot, 'node_modules.asar', '@vscode', 'sqlite3')}: it is not an @vscode/sqlite3 module (no Database class)`,
    `bundled at ${join(r.extensionRoot, 'node_modules', '@vscode', 'sqlite3')}: not found`,
  ]);
  assert.match(error.message, /^no usable SQLite binding for durable\.db\. Tried: VS Code's own at .*older than 3\.37\.0.*Update VS Code, or install the platform-specific package/);
});

test('a file the binding cannot put in write-ahead logging is refused at open, with the reason', async (t) => {
  const r = roots(t);
  // The real binding, except that SQLite keeps the rollback journal (as on some network file systems).
  fakeModule(
    join(r.appRoot, 'node_modules', '@vscode', 'sqlite3'),
    '5.1.8-vscode',
    `const real = require(${JSON.stringify(REAL)});
class Database extends real.Database {
  all(sql, ...rest) {
    if (/journal_mode=WAL/i.test(sql)) { setImmediate(rest[rest.length - 1], null, [{ journal_mode: 'delete' }]); return this; }
    return super.all(sql, ...rest);
  }
}
module.exports = Object.assign(Object.create(real), { Database });
`,
  );
  const file = join(r.extensionRoot, 'durable.db');
  await assert.rejects(
    SqliteBackend.open({ file, migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 1_000, binding: r.candidates }),
    (e: unknown) => e instanceof StorageError && e.reason === 'cannot_open' && /kept the journal mode 'delete' instead of write-ahead logging/.test(e.message),
  );
});

test('the binding a file opened with is reported by the backend', async (t) => {
  const r = roots(t);
  fakeModule(join(r.appRoot, 'node_modules', '@vscode', 'sqlite3'), '5.1.8-vscode', REEXPORT);
  const backend = await SqliteBackend.open({ file: join(r.extensionRoot, 'durable.db'), migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 1_000, binding: r.candidates });
  t.after(() => backend.close());
  assert.equal(backend.binding.source, 'host');
  assert.equal(backend.binding.version, '5.1.8-vscode');
});
