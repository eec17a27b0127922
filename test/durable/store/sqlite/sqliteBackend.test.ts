import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as sqlite3 from '@vscode/sqlite3';
import { isDurableError } from '../../../../src/durable/model/errors';
import { asIdempotencyKey, newExecutionId, stepId, type ExecutionId } from '../../../../src/durable/model/ids';
import type { NewEntry, StoredRow } from '../../../../src/durable/model/journal';
import { loadMigrations } from '../../../../src/durable/store/sqlite/migrations';
import { SqliteBackend } from '../../../../src/durable/store/sqlite/sqliteBackend';
import { packedRowToRecord } from '../../../../src/durable/store/sqlite/sqliteRows';
import { MIGRATIONS_DIR, bytes, openBackend, tempDir, testCodec, text } from '../../../helpers';

const codec = testCodec();
const KEY = asIdempotencyKey(new Uint8Array(32).fill(7));

function resultRow(exec: ExecutionId, step: number, payload = `r${step}`, attempt = 1, key = KEY): StoredRow {
  const entry: NewEntry = { kind: 'step_result', executionId: exec, attempt, stepId: stepId(step), stepName: `s${step}`, effect: 'idempotent', idempotencyKey: key, payload: bytes(payload) };
  return codec.encode(entry);
}

function rawDb(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(db)));
  });
}
function rawExec(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
}
function rawClose(db: sqlite3.Database): Promise<void> {
  return new Promise((resolve) => db.close(() => resolve()));
}

test('open creates the schema in WAL mode and records the migration', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'durable.db');
  const backend = await openBackend(t, { file });
  assert.deepEqual(await backend.quickCheck(), ['ok']);
  const db = await rawDb(file);
  t.after(() => rawClose(db));
  const rows = await new Promise<Array<{ version: number; checksum: string }>>((resolve, reject) =>
    db.all('SELECT version, checksum FROM schema_migrations', (err, r) => (err ? reject(err) : resolve(r))),
  );
  assert.deepEqual(rows.map((r) => r.version), loadMigrations(MIGRATIONS_DIR).map((m) => m.version), 'every migration, in order');
  const mode = await new Promise<{ journal_mode: string }>((resolve, reject) => db.get('PRAGMA journal_mode', (err, r) => (err ? reject(err) : resolve(r))));
  assert.equal(mode.journal_mode, 'wal');
});

test('reopening does not re-apply migrations and keeps data', async (t) => {
  const file = join(tempDir(t), 'durable.db');
  const first = await SqliteBackend.open({ file, migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 100 });
  const exec = newExecutionId();
  await first.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  await first.close();
  const second = await openBackend(t, { file });
  assert.equal((await second.getExecution(exec))?.kind, 'k');
});

test('an edited, already-applied migration is refused with a clear error', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'durable.db');
  (await SqliteBackend.open({ file, migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 100 })).close();
  const edited = join(dir, 'migrations');
  cpSync(MIGRATIONS_DIR, edited, { recursive: true });
  const first = join(edited, '001_initial.sql');
  writeFileSync(first, readFileSync(first, 'utf8') + '\n-- sneaky edit\n');
  await assert.rejects(
    SqliteBackend.open({ file, migrations: loadMigrations(edited), busyTimeoutMs: 100 }),
    (e: unknown) => isDurableError(e, 'migration') && /was edited after it was applied/.test(e.message),
  );
});

test('a database from a newer schema is refused and left untouched', async (t) => {
  const file = join(tempDir(t), 'durable.db');
  const backend = await SqliteBackend.open({ file, migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 100 });
  const exec = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  await backend.close();
  const db = await rawDb(file);
  await rawExec(db, "INSERT INTO schema_migrations VALUES (999, 'future', 'x', 0)");
  await rawClose(db);
  await assert.rejects(
    SqliteBackend.open({ file, migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 100 }),
    (e: unknown) => isDurableError(e, 'storage') && (e as { reason?: string }).reason === 'newer_schema' && /update the extension/.test(e.message),
  );
  const again = await rawDb(file);
  const count = await new Promise<number>((resolve) => again.get('SELECT count(*) AS n FROM executions', (_e, r: { n: number }) => resolve(r.n)));
  await rawClose(again);
  assert.equal(count, 1, 'committed data is still there');
});

test('a corrupted file gives a typed corrupt error and is not modified', async (t) => {
  const file = join(tempDir(t), 'durable.db');
  const garbage = Buffer.alloc(8192, 0x5a);
  writeFileSync(file, garbage);
  await assert.rejects(
    SqliteBackend.open({ file, migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 100 }),
    (e: unknown) => isDurableError(e, 'storage') && (e as { reason?: string }).reason === 'corrupt' && /move it aside/.test(e.message),
  );
  assert.deepEqual(readFileSync(file), garbage, 'the damaged file is left as it was');
});

test('a missing folder gives cannot_open', async (t) => {
  const file = join(tempDir(t), 'no', 'such', 'dir', 'durable.db');
  await assert.rejects(
    SqliteBackend.open({ file, migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 100 }),
    (e: unknown) => isDurableError(e, 'storage') && (e as { reason?: string }).reason === 'cannot_open',
  );
});

test('a read-only database rejects writes with read_only and keeps committed rows', async (t) => {
  const file = join(tempDir(t), 'durable.db');
  const writer = await SqliteBackend.open({ file, migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 100 });
  const exec = newExecutionId();
  await writer.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  await writer.appendRows([resultRow(exec, 0)]);
  await writer.close();
  const reader = await SqliteBackend.open({ file, migrations: [], busyTimeoutMs: 100, readOnly: true });
  t.after(() => reader.close());
  await assert.rejects(reader.appendRows([resultRow(exec, 1)]), (e: unknown) => isDurableError(e, 'storage') && (e as { reason?: string }).reason === 'read_only');
  const rows = await reader.readSegment(exec, 1, 0, 10);
  assert.equal(rows.length, 1);
  assert.equal(text(codec.openPayload(rows[0])), 'r0');
});

test('a database locked by another process gives locked after the busy timeout', async (t) => {
  const backend = await openBackend(t);
  const exec = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  const other = await rawDb(backend.file);
  await rawExec(other, 'BEGIN EXCLUSIVE; INSERT INTO schema_migrations VALUES (50, \'lock\', \'x\', 0);');
  await assert.rejects(backend.appendRows([resultRow(exec, 0)]), (e: unknown) => isDurableError(e, 'storage') && (e as { reason?: string }).reason === 'locked' && /another process/.test(e.message));
  await rawExec(other, 'ROLLBACK');
  await rawClose(other);
  const seqs = await backend.appendRows([resultRow(exec, 0)]);
  assert.equal(seqs.length, 1, 'works again once the lock is gone');
});

test('a fenced append refused by a lock leaves no statement in progress: the next transaction commits, and the append goes in', async (t) => {
  const backend = await openBackend(t);
  const exec = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  const epoch = await backend.acquireLease(exec, 'window-a', 60_000);
  assert.ok(epoch !== undefined);
  const fence = { owner: 'window-a', epoch };
  const other = await rawDb(backend.file);
  await rawExec(other, 'BEGIN IMMEDIATE');
  // One autocommit statement, its lease check inside; SQLite leaves a statement that got SQLITE_BUSY active.
  await assert.rejects(backend.appendRows([{ ...resultRow(exec, 0), fence }]), (e: unknown) => (e as { reason?: string }).reason === 'locked');
  await rawExec(other, 'ROLLBACK');
  await rawClose(other);
  // Left active, that statement makes every later COMMIT fail ("SQL statements in progress"): the
  // suspension of the step that gave up could never be written.
  const second = newExecutionId();
  await backend.createExecution({ id: second, kind: 'k', version: 1, title: 'second' });
  assert.equal((await backend.getExecution(second))?.title, 'second');
  const seqs = await backend.appendRows([{ ...resultRow(exec, 0), fence }]);
  assert.equal(seqs.length, 1);
  assert.deepEqual((await backend.readSegment(exec, 1, 0, 10)).map((row) => text(codec.openPayload(row))), ['r0']);
});

test('appendRows returns contiguous increasing seqs across chunk sizes', async (t) => {
  const backend = await openBackend(t);
  const exec = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  const rows = Array.from({ length: 343 }, (_, i) => resultRow(exec, i, `p${i}`, 1, asIdempotencyKey(new Uint8Array(32).fill(i % 256))));
  const seqs = await backend.appendRows(rows);
  assert.equal(seqs.length, 343);
  seqs.forEach((s, i) => assert.equal(s, seqs[0] + i));
  // Read back in segments and check each row is where its seq says.
  const read: number[] = [];
  let after = 0;
  for (;;) {
    const segment = await backend.readSegment(exec, 1, after, 50);
    if (segment.length === 0) break;
    for (const r of segment) {
      assert.equal(text(codec.openPayload(r)), `p${r.stepId}`);
      read.push(r.seq);
    }
    after = segment[segment.length - 1].seq;
  }
  assert.deepEqual(read, seqs);
  assert.equal((await backend.getExecution(exec))?.stepCount, 343);
});

test('a step result is unique per execution attempt and step (database-enforced)', async (t) => {
  const backend = await openBackend(t);
  const exec = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  await backend.appendRows([resultRow(exec, 0)]);
  await assert.rejects(backend.appendRows([resultRow(exec, 0, 'again')]), /UNIQUE constraint failed/);
  await backend.appendRows([resultRow(exec, 0, 'next attempt', 2)]);
  assert.equal((await backend.readSegment(exec, 1, 0, 10)).length, 1, 'the failed transaction left nothing behind');
});

test('the schema refuses a control row without a MAC and a payload row with one', async (t) => {
  const backend = await openBackend(t);
  const exec = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  const row = resultRow(exec, 0);
  await assert.rejects(backend.appendRows([{ ...row, kind: 'step_intent' }]), /CHECK constraint failed/);
  await assert.rejects(backend.appendRows([{ ...row, mac: new Uint8Array(36) }]), /CHECK constraint failed/);
});

test('findResultByKey finds a committed result in any attempt of the execution', async (t) => {
  const backend = await openBackend(t);
  const exec = newExecutionId();
  const other = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  await backend.createExecution({ id: other, kind: 'k', version: 1, title: 't' });
  const [seq] = await backend.appendRows([resultRow(exec, 4, 'found')]);
  const found = await backend.findResultByKey(exec, KEY);
  assert.equal(found?.seq, seq);
  assert.equal(await backend.findResultByKey(other, KEY), undefined);
  assert.equal(await backend.findResultByKey(exec, asIdempotencyKey(new Uint8Array(32))), undefined);
});

test('finalize: the first terminal status wins; reopen never revives a completed or cancelled execution', async (t) => {
  const backend = await openBackend(t);
  const done = newExecutionId();
  await backend.createExecution({ id: done, kind: 'k', version: 1, title: 't' });
  assert.equal(await backend.finalize(done, 'completed'), true);
  assert.equal(await backend.reopen(done), false, 'a completed execution is never reopened (it would be finished twice)');
  assert.equal((await backend.getExecution(done))?.status, 'completed');
  const exec = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  assert.equal(await backend.finalize(exec, 'failed'), true);
  assert.equal(await backend.finalize(exec, 'completed', 'late'), false);
  assert.equal((await backend.getExecution(exec))?.status, 'failed');
  assert.equal(await backend.reopen(exec), true);
  assert.equal((await backend.getExecution(exec))?.status, 'running');
  assert.equal(await backend.finalize(exec, 'cancelled'), true);
  assert.equal(await backend.reopen(exec), false);
  assert.equal((await backend.getExecution(exec))?.status, 'cancelled');
  const listed = await backend.listExecutions({ statuses: ['cancelled'] });
  assert.deepEqual(listed.map((e) => e.id), [exec]);
});

test('leases: taken atomically, refused while live, taken over after expiry', async (t) => {
  let now = 1_000_000;
  const backend = await openBackend(t, { clock: () => now });
  const exec = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  assert.equal(await backend.acquireLease(exec, 'window-a', 10_000), 1);
  assert.equal(await backend.acquireLease(exec, 'window-b', 10_000), undefined);
  assert.equal(await backend.renewLease(exec, 'window-b', 10_000), false, 'a renewal never steals');
  now += 5_000;
  assert.equal(await backend.renewLease(exec, 'window-a', 10_000), true);
  now += 9_000;
  assert.equal(await backend.acquireLease(exec, 'window-b', 10_000), undefined, 'renewed lease is still live');
  now += 2_000;
  assert.equal(await backend.acquireLease(exec, 'window-b', 10_000), 2, 'expired lease is taken over');
  assert.equal((await backend.getExecution(exec))?.leaseOwner, 'window-b');
});

test('ambiguity_resolved entries are projected into the audit table in the same transaction', async (t) => {
  const backend = await openBackend(t);
  const exec = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  const row = codec.encode({
    kind: 'ambiguity_resolved', executionId: exec, attempt: 1, stepId: stepId(2), stepName: 'edit', effect: 'exactly_once', idempotencyKey: KEY,
    meta: { intent: 'destructive', policy: 'verify', decision: 'verified_done', decidedBy: 'probe', decidedAt: 42 },
  });
  const [seq] = await backend.appendRows([row]);
  const audit = await backend.listAudit(exec);
  assert.equal(audit.length, 1);
  assert.deepEqual({ ...audit[0], idempotencyKey: undefined }, {
    seq, executionId: exec, stepId: 2, stepName: 'edit', effect: 'exactly_once', idempotencyKey: undefined,
    policy: 'verify', decision: 'verified_done', decidedBy: 'probe', decidedAt: 42,
  });
});

test('close is idempotent and later calls fail with closed', async (t) => {
  const backend = await SqliteBackend.open({ file: join(tempDir(t), 'durable.db'), migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 100 });
  await backend.close();
  await backend.close();
  await assert.rejects(backend.maxSeq(), (e: unknown) => isDurableError(e, 'storage') && (e as { reason?: string }).reason === 'closed');
});

test('point lookups leave no read snapshot open: a write after another process wrote succeeds', async (t) => {
  const backend = await openBackend(t);
  const exec = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  await backend.appendRows([resultRow(exec, 0)]);
  await backend.getExecution(exec);
  await backend.findResultByKey(exec, KEY);
  const other = await rawDb(backend.file);
  await rawExec(other, `UPDATE executions SET title = 'changed elsewhere' WHERE id = '${exec}'`);
  await rawClose(other);
  await backend.appendRows([resultRow(exec, 1)]);
  assert.equal((await backend.getExecution(exec))?.title, 'changed elsewhere');
});

test('a packed row whose lengths do not fit its blob is refused as damage, not split', () => {
  const exec = newExecutionId();
  const h = (keyLength: number | null, macLength: number | null) => JSON.stringify([1, 0, 'step_intent', 's0', 'exactly_once', 3, 5, keyLength, macLength]);
  const ok = packedRowToRecord(exec, { seq: 7, h: h(32, 16), b: Buffer.alloc(50, 1) });
  assert.deepEqual([ok.idempotencyKey?.length, ok.body.length, ok.mac?.length, ok.executionId], [32, 2, 16, exec]);
  for (const row of [{ seq: 7, h: h(32, 16), b: Buffer.alloc(47) }, { seq: 7, h: h(null, null), b: null }]) {
    assert.throws(() => packedRowToRecord(exec, row), (e: unknown) => isDurableError(e, 'integrity') && /journal row 7: the row is malformed/.test((e as Error).message));
  }
});
