/**
 * Migrations on PostgreSQL: the same rules as on SQLite (one transaction per
 * migration with its record in `schema_migrations`, edited or unknown
 * migrations refused). Several machines may open a new database at once, so
 * every migration transaction first takes a transaction-scoped advisory lock
 * (it ends with the transaction, which also holds behind a transaction-mode
 * pooler) and re-reads what is applied under it.
 */
import { MigrationError, StorageError } from '../../model/errors';
import { checksumOf, type Migration } from '../migrationFiles';
import type { PgConnection } from './pgConnection';
import { num } from './pgRows';

// Keyed by the schema's name as configured: current_schema() is NULL until the schema exists.
const LOCK = `SELECT pg_advisory_xact_lock(hashtext('durable-agent-sessions:migrations:' || $1::text))`;

async function applied(conn: PgConnection): Promise<Map<number, { name: string; checksum: string }>> {
  const rows = await conn.query('read applied migrations', 'SELECT version, name, checksum FROM schema_migrations ORDER BY version');
  return new Map(rows.map((r) => [num(r.version), { name: String(r.name), checksum: String(r.checksum) }]));
}

/** Apply pending migrations; returns the versions applied now. */
export async function migratePostgres(conn: PgConnection, migrations: readonly Migration[], now: () => number): Promise<number[]> {
  const schema = conn.schema;
  const newest = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  const appliedNow: number[] = [];
  for (const migration of [undefined, ...migrations]) {
    await conn.transaction(migration ? `apply migration ${migration.version} (${migration.name})` : 'check migrations', async () => {
      await conn.query('lock migrations', LOCK, [schema]);
      // Under the lock: machines creating the same new schema at once do not collide.
      if (schema !== 'public') await conn.query('create schema', `CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '""')}"`);
      await conn.query(
        'create migration table',
        'CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at bigint NOT NULL)',
      );
      const done = await applied(conn);
      if (!migration) {
        for (const [version, row] of done) {
          const known = migrations.find((m) => m.version === version);
          if (!known) {
            throw new StorageError(
              'newer_schema',
              `${conn.where} has schema version ${version} but this extension knows up to ${newest}: ` +
                'another machine runs a newer version of the extension; update the extension here (nothing was changed)',
            );
          }
          if (checksumOf(known.sql) !== row.checksum) {
            throw new MigrationError(
              `migration ${version} (${row.name}) on ${conn.where} differs from the one this extension ships; ` +
                'shipped migrations must never change: restore the file and add a new numbered migration instead',
            );
          }
        }
        return;
      }
      if (done.has(migration.version)) return; // another machine applied it while we waited for the lock
      await conn.query(`migration ${migration.version}`, migration.sql);
      await conn.query('record migration', 'INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)', [
        migration.version, migration.name, checksumOf(migration.sql), now(),
      ]);
      appliedNow.push(migration.version);
    });
  }
  return appliedNow;
}
