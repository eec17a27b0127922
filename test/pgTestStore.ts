// PostgreSQL for the unit suites: the server the test command started
// (scripts/postgres.mjs, URL in DURABLE_TEST_PG_URL), one fresh schema per
// test so tests never see each other's rows, dropped afterwards.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { loadMigrations, type Migration } from '../src/durable/store/migrationFiles';
import { PostgresStore } from '../src/durable/store/postgres/postgresStore';
import { atTestEnd, type After } from './testEnd';

/** The repository root (found from the bundled file, like helpers.ts does; not imported from there to keep the two acyclic). */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export const PG_URL = process.env.DURABLE_TEST_PG_URL;
export const PG_MIGRATIONS_DIR = join(repoRoot(), 'migrations', 'postgres');
/** Why PostgreSQL tests are skipped, or undefined when a server is there. */
export const PG_MISSING = PG_URL ? undefined : 'no PostgreSQL server: run the tests with `npm test` (it starts one), or set DURABLE_TEST_PG_URL';


/** A schema of its own for this test, dropped when the test ends. */
export function pgSchema(t: After): string {
  const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  atTestEnd(t, 'drop', () => dropPgSchema(schema));
  return schema;
}

export async function dropPgSchema(schema: string): Promise<void> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    // A store some test left open may still be inside a transaction on these tables: the server
    // can pick the DROP as a deadlock victim. That is cleanup racing cleanup, so try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '40P01' || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  } finally {
    await client.end();
  }
}

export async function openPgStore(t: After, options: { clock?: () => number; project?: string; schema?: string; migrations?: Migration[] } = {}): Promise<PostgresStore> {
  const schema = options.schema ?? pgSchema(t);
  const store = await PostgresStore.open({
    connectionString: PG_URL!,
    schema,
    project: options.project ?? 'test-project',
    migrations: options.migrations ?? loadMigrations(PG_MIGRATIONS_DIR),
    clock: options.clock,
  });
  atTestEnd(t, 'dispose', () => store.close());
  return store;
}

/** Run a statement as the server's superuser (to damage or inspect what the store wrote). */
export async function pgAdmin<T = Record<string, unknown>>(schema: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Another session takes the journal table's write lock and holds it until the returned function is called (a stalled journal). */
export async function pgLockJournal(schema: string): Promise<() => Promise<void>> {
  const client = new Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE journal IN EXCLUSIVE MODE');
  return async () => {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
  };
}
