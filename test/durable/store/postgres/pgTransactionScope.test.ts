// A transaction's statements find their connection through an AsyncLocalStorage
// that is switched off whenever no transaction is open (an enabled one makes Node
// track every promise of the extension host). Overlapping transactions must each
// keep their own connection until they end, whichever ends first.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { PgConnection } from '../../../../src/durable/store/postgres/pgConnection';
import { PG_MISSING, PG_URL } from '../../../pgTestStore';

test('overlapping transactions: the one still open after the other committed keeps its connection, and its rollback takes its rows back', { skip: PG_MISSING }, async (t) => {
  const conn = await PgConnection.open({ connectionString: PG_URL as string, applicationName: `scope-${randomUUID()}` });
  const table = `scope_${randomUUID().replace(/-/g, '')}`;
  t.after(async () => {
    await conn.query('drop', `DROP TABLE IF EXISTS ${table}`);
    await conn.close();
  });
  await conn.query('create', `CREATE TABLE ${table} (n int NOT NULL)`);
  const backend = (): Promise<Array<{ pid: number }>> => conn.query('which backend', 'SELECT pg_backend_pid() AS pid');

  let releaseFirst!: () => void;
  const firstMayEnd = new Promise<void>((resolve) => (releaseFirst = resolve));
  let firstEnded!: () => void;
  const firstDone = new Promise<void>((resolve) => (firstEnded = resolve));
  const first = conn.transaction('first', async () => {
    await conn.query('first row', `INSERT INTO ${table} (n) VALUES (1)`);
    await firstMayEnd;
  }).finally(firstEnded);
  const second = conn.transaction('second', async () => {
    const [before] = await backend();
    await conn.query('second row', `INSERT INTO ${table} (n) VALUES (2)`);
    releaseFirst();
    await firstDone; // the first has committed: no other transaction is open now
    const [after] = await backend();
    assert.equal(after.pid, before.pid, 'the second transaction still runs on its own connection');
    await conn.query('third row', `INSERT INTO ${table} (n) VALUES (3)`);
    throw new Error('roll the second back');
  });
  await first;
  await assert.rejects(second, /roll the second back/);
  const rows = await conn.query<{ n: number }>('rows', `SELECT n FROM ${table} ORDER BY n`);
  assert.deepEqual(rows.map((r) => r.n), [1], 'the first committed; the second rolled back whole, its row after the first ended included');
  // A transaction after all of them ended finds its scope again.
  await assert.rejects(
    conn.transaction('later', async () => {
      await conn.query('later row', `INSERT INTO ${table} (n) VALUES (4)`);
      throw new Error('roll the later one back');
    }),
    /roll the later one back/,
  );
  assert.deepEqual((await conn.query<{ n: number }>('rows', `SELECT n FROM ${table} ORDER BY n`)).map((r) => r.n), [1]);
});
