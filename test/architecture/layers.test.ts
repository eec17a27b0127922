// The house keeps itself: each arrow the layer table forbids is reported by
// the lint rule (a probe file per case), the real import graph has no cycle
// between files or folders, every import in it follows the table, and the
// known debts listed with the table still exist (so the list only shrinks).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import { repoRoot } from '../helpers';
import { cycles, folderOf, importEdges } from './importGraph';

const root = repoRoot();
interface LayersModule {
  violation(file: string, target: string): string | undefined;
  readonly KNOWN_DEBT: ReadonlyArray<{ from: string; to: string; why: string }>;
}
const layers = (): Promise<LayersModule> => import(join(root, 'eslint-rules', 'layers.mjs')) as Promise<LayersModule>;

async function lintProbe(file: string, source: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(source, { filePath: join(root, file) });
  return result.messages.filter((m) => m.ruleId === 'layers/imports').map((m) => m.message);
}

const FORBIDDEN: ReadonlyArray<[string, string, string, RegExp]> = [
  ['the core imports vscode', 'src/durable/runtime/__probe.ts', "import * as vscode from 'vscode';", /may import vscode/],
  ['the agent imports vscode', 'src/agent/__probe.ts', "import * as vscode from 'vscode';", /may import vscode/],
  ['a shared protocol imports vscode', 'src/shared/__probe.ts', "import * as vscode from 'vscode';", /may import vscode/],
  ['a unit test imports vscode', 'test/durable/__probe.test.ts', "import * as vscode from 'vscode';", /may import vscode/],
  ['a view imports the extension', 'src/views/__probe.ts', "import { Container } from '../extension/container';", /src\/views must not import src\/extension/],
  ['the core imports a view', 'src/durable/runtime/__probe.ts', "import { x } from '../../views/statusBar';", /must not import src\/views/],
  ['the agent imports the extension', 'src/agent/__probe.ts', "import { x } from '../extension/sessionService';", /src\/agent must not import src\/extension/],
  ['execution imports journal (upward)', 'src/durable/execution/__probe.ts', "import { x } from '../journal/checkpoint';", /execution must not import src\/durable\/journal/],
  ['model imports anything of ours', 'src/durable/model/__probe.ts', "import { x } from '../crypto/cipher';", /model must not import/],
  ['a core module names the SQLite adapter', 'src/durable/journal/__probe.ts', "import { SqliteBackend } from '../store/sqlite/sqliteBackend';", /must not import src\/durable\/store\/sqlite|name a storage adapter/],
  ['runtime (not the engine) names the adapter', 'src/durable/runtime/__probe.ts', "import { SqliteBackend } from '../store/sqlite/sqliteBackend';", /name a storage adapter/],
  ['the driver outside its adapter', 'src/durable/runtime/__probe.ts', "import sqlite3 from '@vscode/sqlite3';", /may import @vscode\/sqlite3/],
  ['a view reaches into the core', 'src/views/__probe.ts', "import { x } from '../durable/model/ids';", /public surface/],
  ['a page imports host code', 'media/src/__probe.ts', "import { x } from '../../src/views/statusBar';", /media\/src must not import src\/views/],
];

for (const [name, file, source, message] of FORBIDDEN) {
  test(`the layer rule fires when ${name}`, async () => {
    const messages = await lintProbe(file, `${source}\nexport const probe: unknown = 1;\n`);
    assert.ok(messages.some((m) => message.test(m)), `${file}: ${JSON.stringify(messages)}`);
  });
}

test('the layer rule lets the allowed arrows pass', async () => {
  const allowed: Array<[string, string]> = [
    ['src/extension/__probe.ts', "import * as vscode from 'vscode';\nimport { x } from '../views/statusBar';\nimport { y } from '../durable';"],
    ['src/durable/journal/__probe.ts', "import { x } from '../execution/stepValue';\nimport type { JournalStore } from '../store/journalStore';"],
    ['src/durable/runtime/engine.ts', "import { SqliteBackend } from '../store/sqlite/sqliteBackend';"],
    ['src/durable/store/sqlite/__probe.ts', "import sqlite3 from '@vscode/sqlite3';"],
    ['media/src/__probe.ts', "import type { HostMessage } from '../../src/shared/sessionProtocol';"],
    ['test/durable/__probe.test.ts', "import sqlite3 from '@vscode/sqlite3';"],
  ];
  for (const [file, source] of allowed) assert.deepEqual(await lintProbe(file, `${source}\nexport const probe: unknown = 1;\n`), [], file);
});

test('the import graph has no cycle between files or between folders', () => {
  const edges = importEdges(root, ['src', 'media/src']).filter((e) => !e.to.startsWith('pkg:'));
  assert.deepEqual(cycles(edges).map((c) => c.join(' → ')), []);
  assert.deepEqual(cycles(edges.map((e) => ({ from: folderOf(e.from), to: folderOf(e.to) }))).map((c) => c.join(' → ')), []);
});

test('every import of the sources follows the layer table, type-only imports included', async () => {
  const { violation } = await layers();
  const wrong = importEdges(root, ['src', 'media/src'])
    .map((e) => ({ ...e, why: violation(e.from, e.to) }))
    .filter((e) => e.why)
    .map((e) => `${e.from} → ${e.to}: ${e.why}`);
  assert.deepEqual(wrong, []);
});

test('each known debt of the layer table still exists (fixed ones must leave the list)', async () => {
  const { KNOWN_DEBT } = await layers();
  const edges = new Set(importEdges(root, ['src']).map((e) => `${e.from} → ${e.to}`));
  for (const debt of KNOWN_DEBT) assert.ok(edges.has(`${debt.from} → ${debt.to}`), `no longer needed: ${debt.from} → ${debt.to} (${debt.why})`);
});

test('the code cites only documents that are in the repository', () => {
  const edges = importEdges(root, ['src', 'media/src', 'test', 'bench']);
  const files = new Set(edges.map((e) => e.from));
  const outside = [...files].filter((f) => /\b(DESIGN|STYLE|TESTING)\.md\b/.test(readFileSync(join(root, f), 'utf8')));
  assert.deepEqual(outside, []);
});
