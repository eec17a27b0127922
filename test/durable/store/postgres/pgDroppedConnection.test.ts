// The server drops a connection no statement is running on (an administrator's
// pg_terminate_backend, a restart, a pooler's timeout). pg then emits 'error' on
// the client; a connection we hold (kept between statements, or between the
// statements of a transaction) must not turn that into an unhandled event that
// brings the extension host down. One line in the log; the next statement runs
// on a fresh connection, or fails as 'unavailable' inside the transaction.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { isDurableError } from '../../../../src/durable/model/errors';
import { PgConnection } from '../../../../src/durable/store/postgres/pgConnection';
import { PG_MISSING, PG_URL, pgAdmin } from '../../../pgTestStore';

async function open(t: { after(fn: () => Promise<void>): void }): Promise<{ conn: PgConnection; warnings: string[]; drop(): Promise<number> }> {
  const name = `dropped-${randomUUID()}`;
  const warnings: string[] = [];
  const conn = await PgConnection.open({ connectionString: PG_URL as string, applicationName: name, warn: (m) => warnings.push(m) });
  t.after(() => conn.close());
  const drop = async (): Promise<number> => {
    const rows = await pgAdmin<{ ok: boolean }>('public', 'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1', [name]);
    return rows.length;
  };
  return { conn, warnings, drop };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

test('a kept connection the server drops while idle: one line in the log, and the next statement runs on a fresh one', { skip: PG_MISSING }, async (t) => {
  const { conn, warnings, drop } = await open(t);
  assert.deepEqual(await conn.query('first', 'SELECT $1::int AS n', [1]), [{ n: 1 }]);
  assert.equal(await drop(), 1, 'one connection open, kept after the statement');
  await until('the drop was noticed', () => warnings.length > 0);
  await new Promise((r) => setTimeout(r, 100)); // pg reports a drop twice: the log has one line for it
  assert.equal(warnings.length, 1, warnings.join(' | '));
  assert.match(warnings[0], /a connection failed: terminating connection due to administrator command; it is closed, and the next statement takes another/);
  assert.deepEqual(await conn.query('after', 'SELECT $1::int AS n', [2]), [{ n: 2 }]);
});

test('a connection dropped between the statements of a transaction: the transaction fails as unavailable, nothing crashes, the next one works', { skip: PG_MISSING }, async (t) => {
  const { conn, warnings, drop } = await open(t);
  const failed = await conn
    .transaction('two statements', async () => {
      await conn.query('inside', 'SELECT $1::int AS n', [1]);
      assert.equal(await drop(), 1);
      // Between statements nobody but our listener hears the client's 'error'.
      await until('the drop was noticed', () => warnings.length > 0);
      await conn.query('inside again', 'SELECT $1::int AS n', [2]);
    })
    .then(() => undefined, (e: unknown) => e);
  assert.ok(isDurableError(failed, 'storage'), `a storage error (${String(failed)})`);
  assert.equal((failed as { reason?: string }).reason, 'unavailable');
  assert.equal(warnings.filter((w) => /a connection failed/.test(w)).length, 1, warnings.join(' | '));
  assert.deepEqual(await conn.transaction('again', () => conn.query('fresh', 'SELECT $1::int AS n', [3])), [{ n: 3 }]);
});
