// migrations/sqlite and migrations/postgres: the same numbers, and after each
// number the same tables, columns (name, kind of value, nullability, primary
// key), indexes and triggers. A migration added to one folder only fails here.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as sqlite3 from '@vscode/sqlite3';
import { loadMigrations } from '../../../src/durable/store/migrationFiles';
import { MIGRATIONS_DIR, openBackend, tempDir } from '../../helpers';
import { openPgStore, pgAdmin, pgSchema, PG_MIGRATIONS_DIR, PG_MISSING } from '../../pgTestStore';

type Column = { table: string; column: string; kind: string; notNull: boolean; primaryKey: boolean };
type Shape = { columns: Column[]; indexes: string[]; triggers: string[] };

const KIND: Record<string, string> = { integer: 'integer', bigint: 'integer', text: 'text', blob: 'bytes', bytea: 'bytes' };
const kindOf = (declared: string): string => KIND[declared.toLowerCase()] ?? `unknown ${declared}`;

function all<R>(db: sqlite3.Database, sql: string): Promise<R[]> {
  return new Promise((resolve, reject) => db.all(sql, (err: Error | null, rows: R[]) => (err ? reject(err) : resolve(rows))));
}

async function sqliteShape(file: string): Promise<Shape> {
  const db = new sqlite3.Database(file);
  try {
    const tables = await all<{ name: string }>(db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`);
    const columns: Column[] = [];
    for (const { name } of tables) {
      const info = await all<{ name: string; type: string; notnull: number; pk: number }>(db, `PRAGMA table_info(${name})`);
      // SQLite's INTEGER PRIMARY KEY is an alias of the rowid: never null, whatever notnull says.
      for (const c of info) columns.push({ table: name, column: c.name, kind: kindOf(c.type), notNull: c.notnull === 1 || c.pk > 0, primaryKey: c.pk > 0 });
    }
    const indexes = (await all<{ name: string }>(db, `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`)).map((r) => r.name);
    const triggers = (await all<{ name: string }>(db, `SELECT name FROM sqlite_master WHERE type = 'trigger'`)).map((r) => r.name);
    return { columns: sortColumns(columns), indexes: indexes.sort(), triggers: triggers.sort() };
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

async function postgresShape(schema: string): Promise<Shape> {
  const rows = await pgAdmin<{ table_name: string; column_name: string; data_type: string; is_nullable: string; pk: boolean }>(
    schema,
    `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable,
            EXISTS (SELECT 1 FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage k
                      ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema AND k.table_name = tc.table_name
                    WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = c.table_schema AND tc.table_name = c.table_name AND k.column_name = c.column_name) AS pk
     FROM information_schema.columns c WHERE c.table_schema = $1`,
    [schema],
  );
  const columns = rows.map((r) => ({ table: r.table_name, column: r.column_name, kind: kindOf(r.data_type), notNull: r.is_nullable === 'NO', primaryKey: r.pk }));
  // Primary keys and UNIQUE constraints make indexes of their own, as SQLite's autoindexes do: not compared.
  const indexes = await pgAdmin<{ indexname: string }>(
    schema,
    `SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = $1
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_class x ON x.oid = k.conindid WHERE x.relname = i.indexname AND k.contype IN ('p', 'u'))`,
    [schema],
  );
  const triggers = await pgAdmin<{ trigger_name: string }>(schema, `SELECT DISTINCT trigger_name FROM information_schema.triggers WHERE trigger_schema = $1`, [schema]);
  return { columns: sortColumns(columns), indexes: indexes.map((r) => r.indexname).sort(), triggers: triggers.map((r) => r.trigger_name).sort() };
}

function sortColumns(columns: Column[]): Column[] {
  return columns.sort((a, b) => a.table.localeCompare(b.table) || a.column.localeCompare(b.column));
}

test('both stores ship the same migration numbers and names', () => {
  const names = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  assert.deepEqual(names(PG_MIGRATIONS_DIR), names(MIGRATIONS_DIR));
});

test('after every migration number the two schemas are equivalent, table by table', { skip: PG_MISSING }, async (t) => {
  const sqlite = loadMigrations(MIGRATIONS_DIR);
  const postgres = loadMigrations(PG_MIGRATIONS_DIR);
  for (let n = 1; n <= sqlite.length; n++) {
    const file = join(tempDir(t), `v${n}.db`);
    await (await openBackend(t, { file, migrations: sqlite.slice(0, n) })).close();
    const schema = pgSchema(t);
    await (await openPgStore(t, { schema, migrations: postgres.slice(0, n) })).close();
    const [a, b] = [await sqliteShape(file), await postgresShape(schema)];
    const tables = [...new Set(a.columns.map((c) => c.table))];
    assert.deepEqual([...new Set(b.columns.map((c) => c.table))].sort(), tables.sort(), `tables after migration ${n}`);
    for (const table of tables) {
      assert.deepEqual(b.columns.filter((c) => c.table === table), a.columns.filter((c) => c.table === table), `columns of ${table} after migration ${n}`);
    }
    assert.deepEqual(b.indexes, a.indexes, `indexes after migration ${n}`);
    assert.deepEqual(b.triggers, a.triggers, `triggers after migration ${n}`);
  }
});
