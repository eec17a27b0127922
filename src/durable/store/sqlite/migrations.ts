/**
 * Numbered SQL migrations, applied in order at open.
 *
 * Each migration runs in its own transaction that also records its version,
 * name and checksum in `schema_migrations`, so a crash mid-migration leaves
 * either all or none of it. An applied migration whose file changed since is
 * refused (shipped migrations are never edited: add a new one). A database that
 * has versions we do not know was written by a newer extension: refused too.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MigrationError, StorageError } from '../../model/errors';
import type { SqliteConnection } from './sqliteConnection';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const FILE_PATTERN = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/** Read `NNN_name.sql` files from a folder; gaps or duplicates are a packaging error. */
export function loadMigrations(dir: string): Migration[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new MigrationError(`cannot read the migrations folder ${dir}: ${(error as Error).message}`);
  }
  const migrations = names
    .filter((n) => n.endsWith('.sql'))
    .map((name) => {
      const match = FILE_PATTERN.exec(name);
      if (!match) throw new MigrationError(`migration file ${name} does not match NNN_name.sql`);
      return { version: Number(match[1]), name: match[2], sql: readFileSync(join(dir, name), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, index) => {
    if (m.version !== index + 1) throw new MigrationError(`migrations must be numbered 1, 2, 3… without gaps; found ${m.version} at position ${index + 1}`);
  });
  if (migrations.length === 0) throw new MigrationError(`no migrations found in ${dir}`);
  return migrations;
}

export function checksumOf(sql: string): string {
  // Line endings must not change the checksum (a checkout on Windows rewrites them).
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
  [column: string]: string | number;
}

/** Apply pending migrations; returns the versions applied now. */
export async function migrate(conn: SqliteConnection, migrations: readonly Migration[], now: () => number): Promise<number[]> {
  await conn.exclusive('create migration table', () =>
    conn.execScript(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    ),
  );
  const applied = await conn.exclusive('read applied migrations', () =>
    conn.all<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version'),
  );
  const known = new Map(migrations.map((m) => [m.version, m]));
  const newest = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  for (const row of applied) {
    const migration = known.get(row.version);
    if (!migration) {
      throw new StorageError(
        'newer_schema',
        `durable.db (${conn.file}) has schema version ${row.version} but this extension knows up to ${newest}: ` +
          'it was written by a newer version of the extension; update the extension (the file was left untouched)',
      );
    }
    if (checksumOf(migration.sql) !== row.checksum) {
      throw new MigrationError(
        `migration ${row.version} (${row.name}) was edited after it was applied to ${conn.file}; ` +
          'shipped migrations must never change: restore the file and add a new numbered migration instead',
      );
    }
  }
  const done = new Set(applied.map((r) => r.version));
  const appliedNow: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    await conn.transaction(`apply migration ${migration.version} (${migration.name})`, async () => {
      await conn.execScript(migration.sql);
      await conn.run('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)', [
        migration.version,
        migration.name,
        checksumOf(migration.sql),
        now(),
      ]);
    });
    appliedNow.push(migration.version);
  }
  return appliedNow;
}
