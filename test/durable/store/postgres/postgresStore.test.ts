// What only the shared store has to do: keep projects apart, skip rows another
// transaction is claiming, announce changes, refuse a wrong key, a role
// without rights and a missing database with clear messages, and survive
// several machines migrating a new database at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'pg';
import { isDurableError, type StorageError } from '../../../../src/durable/model/errors';
import { newExecutionId } from '../../../../src/durable/model/ids';
import { DurableEngine } from '../../../../src/durable/runtime/engine';
import { loadMigrations } from '../../../../src/durable/store/migrationFiles';
import { PostgresStore } from '../../../../src/durable/store/postgres/postgresStore';
import type { StoreHint } from '../../../../src/durable/store/journalStore';
import { TEST_MASTER_KEY, until } from '../../../helpers';
import { openPgStore, pgAdmin, pgSchema, PG_MIGRATIONS_DIR, PG_MISSING, PG_URL } from '../../../pgTestStore';

const skip = PG_MISSING;
const job = (title: string) => ({ id: newExecutionId(), kind: 'k', version: 1, title });

test('one database, two projects: each store sees, leases and prunes only its own executions', { skip }, async (t) => {
  const schema = pgSchema(t);
  const laptop = await openPgStore(t, { schema, project: 'github.com/acme/web' });
  const other = await openPgStore(t, { schema, project: 'github.com/acme/api' });
  const mine = job('web job');
  await laptop.createExecution(mine);
  const theirs = job('api job');
  await other.createExecution(theirs);
  assert.deepEqual((await laptop.listExecutions()).map((e) => e.title), ['web job']);
  assert.deepEqual((await other.listExecutions()).map((e) => e.title), ['api job']);
  assert.equal(await laptop.getExecution(theirs.id), undefined, "another project's execution is invisible");
  assert.equal(await laptop.acquireLease(theirs.id, 'w', 1_000), undefined, 'and cannot be leased from here');
  assert.equal(await laptop.finalize(theirs.id, 'cancelled'), false, 'nor finished');
  assert.deepEqual(await laptop.deleteExecutions([theirs.id, mine.id]), { journal: 0, audit: 0, promises: 0, timers: 0, bytes: 0 });
  assert.equal((await other.getExecution(theirs.id))?.status, 'running', 'a prune here leaves the other project alone');
  assert.equal((await laptop.totals()).executions, 0);
  assert.equal((await other.totals()).executions, 1);
});

test('a claim skips an execution another transaction is holding instead of waiting for it (after a few short tries)', { skip }, async (t) => {
  const schema = pgSchema(t);
  const store = await openPgStore(t, { schema });
  const e = job('busy');
  await store.createExecution(e);
  const holder = new Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
  await holder.connect();
  t.after(() => holder.end());
  await holder.query('BEGIN');
  await holder.query('SELECT 1 FROM executions WHERE id = $1 FOR UPDATE', [e.id]);
  const started = Date.now();
  assert.equal(await store.acquireLease(e.id, 'window-b', 1_000), undefined, 'skipped while held');
  assert.ok(Date.now() - started < 1_500, 'answered after a few short tries, without waiting for the holder to finish');
  await holder.query('ROLLBACK');
  assert.equal(await store.acquireLease(e.id, 'window-b', 1_000), 1, 'claimed once released');
});

test('another window learns of a change at once by a hint; a hint of another project is not delivered', { skip }, async (t) => {
  const schema = pgSchema(t);
  const a = await openPgStore(t, { schema, project: 'p1' });
  const b = await openPgStore(t, { schema, project: 'p1' });
  const elsewhere = await openPgStore(t, { schema, project: 'p2' });
  const heard: StoreHint[] = [];
  const subscription = b.watch((h) => heard.push(h));
  t.after(() => subscription.dispose());
  await until(async () => {
    // LISTEN starts in the background: poke until the first hint arrives.
    await a.createExecution(job('poke'));
    return heard.length > 0;
  }, 5_000);
  heard.length = 0;
  const e = job('watched');
  await a.createExecution(e);
  await a.createPromise({ id: 'p-1', executionId: e.id, stepId: 0, name: 'approval', tokenHash: new Uint8Array(32) });
  await a.settlePromise('p-1', 'resolved', new Uint8Array([1]));
  await a.finalize(e.id, 'completed');
  await elsewhere.createExecution(job('not ours'));
  await until(() => heard.some((h) => h.kind === 'execution' && h.executionId === e.id && heard.some((x) => x.kind === 'promise')), 5_000);
  assert.ok(heard.some((h) => h.kind === 'promise' && h.executionId === e.id), JSON.stringify(heard));
  assert.ok(heard.every((h) => h.executionId !== undefined));
  const others = (await elsewhere.listExecutions()).map((x) => x.id);
  assert.ok(!heard.some((h) => others.includes(h.executionId as never)), 'p2 stays out of p1');
});

test('every machine must use the same master key: a wrong key is refused at open, before anything is read', { skip }, async (t) => {
  const schema = pgSchema(t);
  const open = (masterKey: Uint8Array) =>
    DurableEngine.open({ file: '', migrationsDir: PG_MIGRATIONS_DIR, masterKey, postgres: { connectionString: PG_URL!, project: 'p', schema } });
  const first = await open(TEST_MASTER_KEY);
  await first.dispose();
  await assert.rejects(open(new Uint8Array(32).fill(9)), (e: unknown) => isDurableError(e, 'wrong_key') && /postgres:\/\/postgres@127\.0\.0\.1:\d+\/durable_test/.test((e as Error).message));
  const again = await open(TEST_MASTER_KEY);
  await again.dispose();
});

test('a role without rights, a missing database and a server that is not there give clear errors', { skip }, async (t) => {
  const role = `reader_${Date.now().toString(36)}`;
  await pgAdmin('public', `CREATE ROLE ${role} LOGIN`);
  t.after(() => pgAdmin('public', `DROP ROLE IF EXISTS ${role}`));
  const url = new URL(PG_URL!);
  const as = (user: string, db = url.pathname.slice(1), port = url.port) => `postgres://${user}@${url.hostname}:${port}/${db}`;
  const open = (connectionString: string) =>
    PostgresStore.open({ connectionString, schema: `s_${role}`, project: 'p', migrations: loadMigrations(PG_MIGRATIONS_DIR), connectTimeoutMs: 1_000 });
  await assert.rejects(open(as(role)), (e: unknown) => (e as StorageError).reason === 'denied' && /refused the role: check the user name, the password/.test((e as Error).message));
  await assert.rejects(open(as('postgres', 'no_such_db')), (e: unknown) => (e as StorageError).reason === 'cannot_open' && /the database does not exist/.test((e as Error).message));
  await assert.rejects(open(as('postgres', 'durable_test', '1')), (e: unknown) => (e as StorageError).reason === 'unavailable' && /cannot be reached/.test((e as Error).message));
});

test('machines opening a new database at once apply each migration once', { skip }, async (t) => {
  const schema = pgSchema(t);
  const stores = await Promise.all([1, 2, 3, 4].map(() => openPgStore(t, { schema })));
  const applied = await pgAdmin<{ version: string }>(schema, 'SELECT version FROM schema_migrations ORDER BY version');
  assert.deepEqual(applied.map((r) => Number(r.version)), loadMigrations(PG_MIGRATIONS_DIR).map((m) => m.version));
  assert.equal(stores.length, 4);
});
