/**
 * Numbered SQL migrations, applied in order at open.
 *
 * Each migration runs in its own transaction that also records its version,
 * name and checksum in `schema_migrations`, so a crash mid-migration leaves
 * either all or none of it. An applied migration whose file changed since is
 * refused (shipped migrations are never edited: add a new one). A database that
 * has versions we do not know was written by a newer extension: refused too.
 */
import { MigrationError, StorageError } from '../../model/errors';
import { checksumOf, type Migration } from '../migrationFiles';
import type { SqliteConnection } from './sqliteConnection';
export { checksumOf, loadMigrations, type Migration } from '../migrationFiles';

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
