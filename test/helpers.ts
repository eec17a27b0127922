// Shared test fixtures: temp folders, a keyring with a fixed test key, an open backend.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Keyring } from '../src/durable/crypto/cipher';
import { DEFAULT_CONFIG } from '../src/durable/model/config';
import { JournalCodec } from '../src/durable/crypto/journalCodec';
import { loadMigrations, type Migration } from '../src/durable/store/sqlite/migrations';
import { SqliteBackend } from '../src/durable/store/sqlite/sqliteBackend';

/** The repository root, found from the bundled test file's location. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('repository root not found');
    dir = parent;
  }
  return dir;
}

export const MIGRATIONS_DIR = join(repoRoot(), 'migrations', 'sqlite');
/** The command supervisor, bundled next to the tests (scripts/build.mjs --tests). */
export const SUPERVISOR_SCRIPT = join(repoRoot(), 'out', 'commandSupervisor.js');

export function tempDir(t: { after(fn: () => void): void }, prefix = 'das-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Retried: a detached helper (a command supervisor finishing its record) may still add a file
  // while the folder is removed, which fails the removal with ENOTEMPTY once.
  t.after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  return dir;
}

export const TEST_MASTER_KEY = new Uint8Array(32).map((_, i) => i + 1);
export const OTHER_MASTER_KEY = new Uint8Array(32).map((_, i) => 200 - i);

export function testKeyring(options: { maxPayloadBytes?: number; current?: Uint8Array; previous?: Uint8Array[] } = {}): Keyring {
  return new Keyring({
    current: options.current ?? TEST_MASTER_KEY,
    previous: options.previous,
    maxPayloadBytes: options.maxPayloadBytes ?? DEFAULT_CONFIG.maxPayloadBytes,
  });
}

export function testCodec(keyring = testKeyring()): JournalCodec {
  return new JournalCodec(keyring);
}

export async function openBackend(
  t: { after(fn: () => void | Promise<void>): void },
  options: { file?: string; clock?: () => number; migrations?: Migration[] } = {},
): Promise<SqliteBackend> {
  const file = options.file ?? join(tempDir(t), 'durable.db');
  const backend = await SqliteBackend.open({
    file,
    migrations: options.migrations ?? loadMigrations(MIGRATIONS_DIR),
    busyTimeoutMs: 200,
    clock: options.clock,
  });
  t.after(() => backend.close());
  return backend;
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

import { DurableEngine } from '../src/durable/runtime/engine';
import { pgAdmin, pgLockJournal } from './pgTestStore';
import type { DurableConfig } from '../src/durable/model/config';
import { DurableRuntime, type RuntimeEvent } from '../src/durable/runtime/runtime';
import { WorkflowRegistry, type WorkflowDefinition } from '../src/durable/execution/workflow';

export { STORE_UNDER_TEST, SQLITE_ONLY, engineStore, schemaOfFile } from './storeUnderTest';
import { STORE_UNDER_TEST, atTestEnd, engineStore, schemaOfFile } from './storeUnderTest';

export interface RuntimeFixture {
  readonly file: string;
  readonly engine: DurableEngine;
  readonly registry: WorkflowRegistry;
  readonly runtime: DurableRuntime;
  readonly events: RuntimeEvent[];
  readonly warnings: string[];
  /** A second runtime on the same engine (another "window" in this process; `machine`: on another machine). */
  another(ownerId: string, workflows?: WorkflowDefinition[], machine?: string): DurableRuntime;
}

/** An engine on a temp database with a runtime; everything is disposed after the test. */
export async function makeRuntime(
  t: { after(fn: () => void | Promise<void>): void },
  options: { workflows?: WorkflowDefinition[]; config?: Partial<DurableConfig>; clock?: () => number; ownerId?: string; file?: string; machine?: string; store?: 'sqlite' | 'postgres' } = {},
): Promise<RuntimeFixture> {
  const file = options.file ?? join(tempDir(t), 'durable.db');
  const warnings: string[] = [];
  const engine = await DurableEngine.open({
    file,
    ...engineStore(file, t, options.store),
    masterKey: TEST_MASTER_KEY,
    config: { ackTimeoutMs: 2_000, ...options.config },
    clock: options.clock,
    logger: { warn: (m) => warnings.push(m) },
  });
  const registry = new WorkflowRegistry();
  for (const w of options.workflows ?? []) registry.register(w);
  const logger = { info: () => undefined, warn: (m: string) => warnings.push(m) };
  const runtime = new DurableRuntime({ engine, registry, ownerId: options.ownerId ?? 'test-owner', clock: options.clock, logger, drainTimeoutMs: 1_000, machine: options.machine });
  const events: RuntimeEvent[] = [];
  runtime.onEvent((e) => events.push(e));
  const others: DurableRuntime[] = [];
  // Before any schema drop of this test (on PostgreSQL), even a reopened file's.
  atTestEnd(t, 'dispose', async () => {
    for (const r of [runtime, ...others]) await r.dispose();
    await engine.dispose();
  });
  return {
    file,
    engine,
    registry,
    runtime,
    events,
    warnings,
    another(ownerId, workflows, machine) {
      const reg = new WorkflowRegistry();
      for (const w of workflows ?? options.workflows ?? []) reg.register(w);
      const other = new DurableRuntime({ engine, registry: reg, ownerId, clock: options.clock, logger, drainTimeoutMs: 1_000, machine });
      others.push(other);
      return other;
    },
  };
}

export interface Gate<T = void> {
  readonly promise: Promise<T>;
  open(value: T): void;
}

/** A promise with its resolve function, for gating ops in tests. */
export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolve when `predicate` holds, polling every 5 ms, failing after `ms`. */
export async function until(predicate: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

import * as sqlite3 from '@vscode/sqlite3';

/** Run one statement on `file` through a separate connection (a stranger to the engine: a tool, a bug, another process). */
export async function rawSql(file: string, statement: string, params: unknown[] = []): Promise<void> {
  if (STORE_UNDER_TEST === 'postgres') {
    // The same damage on the server: `?` placeholders become $1, $2…, in the schema that stands for this "file".
    let n = 0;
    await pgAdmin(schemaOfFile(file), statement.replace(/\?/g, () => `$${++n}`), params);
    return;
  }
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file);
    db.run(statement, params, (err) => db.close(() => (err ? reject(err) : resolve())));
  });
}

/** Hold SQLite's write lock on `file` (on PostgreSQL: an exclusive lock on the journal table) from another connection until the returned function is called. */
export async function holdWriteLock(file: string): Promise<() => Promise<void>> {
  if (STORE_UNDER_TEST === 'postgres') return pgLockJournal(schemaOfFile(file));
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(opened)));
  });
  await new Promise<void>((resolve, reject) => db.exec('BEGIN IMMEDIATE', (err) => (err ? reject(err) : resolve())));
  return () => new Promise<void>((resolve) => db.exec('ROLLBACK', () => db.close(() => resolve())));
}

/** Whether a process still exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
