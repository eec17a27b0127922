// The store the core suites run against: SQLite by default; PostgreSQL when the
// test command runs them a second time with DURABLE_TEST_STORE=postgres. On
// PostgreSQL a test's "file" stands for a schema of its own, named after the
// file path, so a reopen (or a child process given the same path) finds the
// same schema; the process that used it first drops it when its test ends.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PostgresTarget } from '../src/durable/runtime/engine';
import { dropPgSchema } from './pgTestStore';
import { atTestEnd, type After } from './testEnd';

export { atTestEnd } from './testEnd';
export const STORE_UNDER_TEST: 'sqlite' | 'postgres' = process.env.DURABLE_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
/** For tests that damage or read the SQLite file itself: skipped when the suite runs on PostgreSQL. */
export const SQLITE_ONLY = STORE_UNDER_TEST === 'postgres' ? 'reaches into the SQLite file' : undefined;

function root(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export function schemaOfFile(file: string): string {
  return `f_${createHash('sha256').update(file).digest('hex').slice(0, 20)}`;
}

const claimed = new Set<string>();

/** What DurableEngine.open needs for the store under test at `file`; `t` (when given) drops the schema after the test. */
export function engineStore(
  file: string,
  t?: After,
  kind: 'sqlite' | 'postgres' = STORE_UNDER_TEST,
): { migrationsDir: string; postgres?: PostgresTarget } {
  if (kind === 'sqlite') return { migrationsDir: join(root(), 'migrations', 'sqlite') };
  const url = process.env.DURABLE_TEST_PG_URL;
  if (!url) throw new Error('DURABLE_TEST_STORE=postgres needs DURABLE_TEST_PG_URL (npm test starts a server)');
  const schema = schemaOfFile(file);
  if (t && !claimed.has(schema)) {
    claimed.add(schema);
    atTestEnd(t, 'drop', () => dropPgSchema(schema));
  }
  return { migrationsDir: join(root(), 'migrations', 'postgres'), postgres: { connectionString: url, project: 'test-project', schema } };
}
