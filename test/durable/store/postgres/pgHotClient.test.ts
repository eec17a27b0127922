// The connection kept between statements: taken one statement at a time,
// released to the pool exactly once (pg-pool throws on a second release), and
// destroyed, not crashed on, when it fails while kept.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { PoolClient } from 'pg';
import { HotClient } from '../../../../src/durable/store/postgres/pgHotClient';

// Every HotClient of this file is closed at the end (its idle sweeper must not outlive the tests).
const made: HotClient[] = [];
function keepForCleanup(hot: HotClient): void {
  made.push(hot);
}
test.after(() => made.forEach((h) => h.close()));

/** A pooled client as far as HotClient sees it: its releases are recorded, and a second one throws as pg-pool does. */
function fakeClient(name: string): PoolClient & { releases: Array<true | undefined> } {
  const client = new EventEmitter() as EventEmitter & { releases: Array<true | undefined>; release(destroy?: true): void };
  client.releases = [];
  client.release = (destroy?: true) => {
    if (client.releases.length > 0) throw new Error(`${name}: Release called on client which has already been released to the pool.`);
    client.releases.push(destroy);
  };
  return client as unknown as PoolClient & { releases: Array<true | undefined> };
}

test('the first pooled connection is kept; while it is busy a second one is released after its statement', () => {
  const hot = new HotClient('pg://test');
  keepForCleanup(hot);
  const a = fakeClient('a');
  assert.equal(hot.take(), undefined, 'nothing kept yet');
  hot.giveBack(a, false);
  assert.deepEqual(a.releases, [], 'kept, not released');
  assert.equal(hot.take(), a);
  assert.equal(hot.take(), undefined, 'one statement at a time on it');
  const b = fakeClient('b');
  hot.giveBack(b, false);
  assert.deepEqual(b.releases, [undefined], 'a second connection goes back to the pool');
  hot.giveBack(a, false);
  assert.equal(hot.take(), a, 'free again after its statement');
  hot.giveBack(a, false);
  hot.close();
  assert.deepEqual(a.releases, [undefined], 'close gives it back to the pool, once');
  hot.close();
  assert.deepEqual(a.releases, [undefined]);
});

test('a kept connection that fails while idle is destroyed with a log line; one that fails mid-statement is destroyed after it', () => {
  const warnings: string[] = [];
  const hot = new HotClient('pg://test', (m) => warnings.push(m));
  keepForCleanup(hot);
  const a = fakeClient('a');
  hot.giveBack(a, false);
  // Without our listener this emit would throw (an 'error' event nobody handles).
  a.emit('error', new Error('terminating connection due to administrator command'));
  assert.deepEqual(a.releases, [true], 'destroyed, not returned to the pool');
  assert.match(warnings[0], /pg:\/\/test: a kept connection failed: terminating connection/);
  assert.equal(hot.take(), undefined, 'not handed out again');

  const b = fakeClient('b');
  hot.giveBack(b, false);
  assert.equal(hot.take(), b);
  b.emit('error', new Error('Connection terminated unexpectedly'));
  assert.deepEqual(b.releases, [], 'not released under a running statement');
  hot.giveBack(b, false);
  assert.deepEqual(b.releases, [true], 'destroyed once its statement ended');
  assert.equal(hot.take(), undefined);
});

test('a statement that failed because the server went away destroys the kept connection; after close nothing is kept', () => {
  const hot = new HotClient('pg://test');
  keepForCleanup(hot);
  const a = fakeClient('a');
  hot.giveBack(a, false);
  assert.equal(hot.take(), a);
  hot.giveBack(a, true);
  assert.deepEqual(a.releases, [true]);
  const broken = fakeClient('broken');
  hot.giveBack(broken, true);
  assert.deepEqual(broken.releases, [true], 'a broken pooled connection is never kept');
  const c = fakeClient('c');
  hot.giveBack(c, false);
  assert.equal(hot.take(), c);
  hot.close();
  assert.deepEqual(c.releases, [], 'busy at close: released when its statement ends');
  hot.giveBack(c, false);
  assert.deepEqual(c.releases, [undefined]);
  const d = fakeClient('d');
  hot.giveBack(d, false);
  assert.deepEqual(d.releases, [undefined], 'closed: not kept');
});

test('a kept connection idle past its time goes back to the pool', async () => {
  const hot = new HotClient('pg://test', undefined, undefined, 20);
  keepForCleanup(hot);
  const a = fakeClient('a');
  hot.giveBack(a, false);
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(a.releases, [undefined]);
  assert.equal(hot.take(), undefined);
});

test('nothing is kept while a caller waits for the pool: a full pool (of one, say) is never starved by an idle kept connection', () => {
  let waiting = 0;
  const hot = new HotClient('pg://test', undefined, () => waiting);
  keepForCleanup(hot);
  const a = fakeClient('a');
  hot.giveBack(a, false);
  assert.equal(hot.take(), a);
  waiting = 1; // a transaction asked the pool for a connection while this statement ran
  hot.giveBack(a, false);
  assert.deepEqual(a.releases, [undefined], 'handed back to the pool for the waiter');
  assert.equal(hot.take(), undefined);
  const b = fakeClient('b');
  hot.giveBack(b, false);
  assert.deepEqual(b.releases, [undefined], 'not kept while someone still waits');
  waiting = 0;
  const c = fakeClient('c');
  hot.giveBack(c, false);
  assert.equal(hot.take(), c, 'kept again once nobody waits');
  hot.giveBack(c, false);
});
