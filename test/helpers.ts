// Shared test fixtures: temp folders, a keyring with a fixed test key, an open backend.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Keyring } from '../src/durable/cipher';
import { DEFAULT_CONFIG } from '../src/durable/config';
import { JournalCodec } from '../src/durable/journalCodec';
import { loadMigrations } from '../src/durable/migrations';
import { SqliteBackend } from '../src/durable/sqliteBackend';

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

export const MIGRATIONS_DIR = join(repoRoot(), 'migrations');

export function tempDir(t: { after(fn: () => void): void }, prefix = 'das-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
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
  options: { file?: string; clock?: () => number } = {},
): Promise<SqliteBackend> {
  const file = options.file ?? join(tempDir(t), 'durable.db');
  const backend = await SqliteBackend.open({
    file,
    migrations: loadMigrations(MIGRATIONS_DIR),
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
