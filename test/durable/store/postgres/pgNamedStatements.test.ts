// Statements prepared by name on PostgreSQL: the server keeps them parsed per
// connection, and when a server connection does not hold a name the driver
// believes it does (a pooler in transaction mode, DEALLOCATE, a changed table),
// the statement is sent again unnamed, a transaction is retried whole, the
// log says so once, and nothing is written twice.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { PgConnection } from '../../../../src/durable/store/postgres/pgConnection';
import { PG_MISSING, PG_URL, pgSchema } from '../../../pgTestStore';
import { atTestEnd } from '../../../testEnd';

/** One connection in the pool, so every statement meets the same server session. */
async function openOne(t: TestContext, preparedStatements?: boolean): Promise<{ conn: PgConnection; warnings: string[] }> {
  const schema = pgSchema(t);
  const warnings: string[] = [];
  const setup = await PgConnection.open({ connectionString: PG_URL!, poolSize: 1 });
  await setup.query('create schema', `CREATE SCHEMA ${schema}`);
  await setup.close();
  const conn = await PgConnection.open({ connectionString: PG_URL!, schema, poolSize: 1, preparedStatements, warn: (m) => warnings.push(m) });
  atTestEnd(t, 'dispose', () => conn.close());
  await conn.query('create table', 'CREATE TABLE items (id bigint PRIMARY KEY, label text NOT NULL)');
  return { conn, warnings };
}

const INSERT = 'INSERT INTO items (id, label) VALUES ($1, $2) RETURNING id';
const SELECT = 'SELECT * FROM items WHERE id = $1';

async function preparedTexts(conn: PgConnection): Promise<string[]> {
  const rows = await conn.query<{ statement: string }>('list prepared', 'SELECT statement FROM pg_prepared_statements ORDER BY statement');
  return rows.map((r) => r.statement);
}

test('statements with parameters are prepared once per connection; with the setting off none is', { skip: PG_MISSING }, async (t) => {
  const on = await openOne(t);
  await on.conn.query('insert', INSERT, [1, 'one']);
  await on.conn.query('insert', INSERT, [2, 'two']);
  assert.deepEqual(await preparedTexts(on.conn), [INSERT]);
  assert.equal(on.conn.namesStatements, true);

  const off = await openOne(t, false);
  await off.conn.query('insert', INSERT, [1, 'one']);
  assert.deepEqual(await preparedTexts(off.conn), []);
  assert.equal(off.conn.namesStatements, false);
});

test('a name the server connection lost: the statement runs once, unnamed, and the log says why', { skip: PG_MISSING }, async (t) => {
  const { conn, warnings } = await openOne(t);
  await conn.query('insert', INSERT, [1, 'one']);
  await conn.query('forget names', 'DEALLOCATE ALL'); // the driver still believes INSERT is prepared
  const [row] = await conn.query<{ id: string }>('insert', INSERT, [2, 'two']);
  assert.equal(String(row.id), '2');
  const all = await conn.query<{ id: string; label: string }>('read', 'SELECT id::text AS id, label FROM items ORDER BY id');
  assert.deepEqual(all.map((r) => `${r.id}:${r.label}`), ['1:one', '2:two']);
  assert.equal(conn.namesStatements, false);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /insert: prepared statement "durable_\d+" does not exist; statements are sent unnamed from now on \(durableSessions\.postgres\.preparedStatements\)/);
  await conn.query('insert', INSERT, [3, 'three']);
  assert.deepEqual(await preparedTexts(conn), [], 'nothing is named any more');
  assert.equal(warnings.length, 1, 'one warning, not one per statement');
});

test('inside a transaction the mismatch rolls it back and the retry writes each row once', { skip: PG_MISSING }, async (t) => {
  const { conn, warnings } = await openOne(t);
  await conn.query('insert', INSERT, [1, 'one']);
  await conn.query('forget names', 'DEALLOCATE ALL');
  let runs = 0;
  await conn.transaction('two rows', async () => {
    runs++;
    await conn.query('insert', 'INSERT INTO items (id, label) VALUES ($1, $2)', [10, 'ten']); // never named before: runs, then is rolled back
    await conn.query('insert', INSERT, [11, 'eleven']); // the lost name: fails before running
  });
  assert.equal(runs, 2);
  const all = await conn.query<{ id: string }>('read', 'SELECT id::text AS id FROM items ORDER BY id');
  assert.deepEqual(all.map((r) => r.id), ['1', '10', '11']);
  assert.equal(warnings.length, 1);
});

test('a table whose columns changed under a prepared SELECT * is read again unnamed, with the new column', { skip: PG_MISSING }, async (t) => {
  const { conn, warnings } = await openOne(t);
  await conn.query('insert', INSERT, [1, 'one']);
  await conn.query('read', SELECT, [1]);
  await conn.query('migrate', "ALTER TABLE items ADD COLUMN note text NOT NULL DEFAULT 'added'");
  const [row] = await conn.query<{ label: string; note: string }>('read', SELECT, [1]);
  assert.deepEqual({ label: row.label, note: row.note }, { label: 'one', note: 'added' });
  assert.match(warnings[0] ?? '', /cached plan must not change result type/);
});
