import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import * as sqlite3 from '@vscode/sqlite3';
import { DEFAULT_CONFIG } from '../../../src/durable/model/config';
import { isDurableError } from '../../../src/durable/model/errors';
import { asIdempotencyKey, newExecutionId, stepId, type ExecutionId, type JournalSeq } from '../../../src/durable/model/ids';
import type { NewEntry, StoredRow } from '../../../src/durable/model/journal';
import { JournalWriter, type RowSink } from '../../../src/durable/journal/journalWriter';
import { loadMigrations } from '../../../src/durable/store/sqlite/migrations';
import { SqliteBackend } from '../../../src/durable/store/sqlite/sqliteBackend';
import { MIGRATIONS_DIR, bytes, openBackend, tempDir, testCodec, testKeyring, until } from '../../helpers';

const codec = testCodec();

function entry(exec: ExecutionId, step: number, kind: 'step_result' | 'step_failed' = 'step_result', payload = `v${step}`): NewEntry {
  return { kind, executionId: exec, attempt: 1, stepId: stepId(step), stepName: `s${step}`, effect: 'idempotent', idempotencyKey: asIdempotencyKey(new Uint8Array(32).fill(step % 256)), payload: bytes(payload) };
}

const config = { ...DEFAULT_CONFIG, flushIntervalMs: 5, ackTimeoutMs: 2_000 };

async function setup(t: Parameters<typeof openBackend>[0], overrides: Partial<typeof config> = {}, sinkWrap?: (b: SqliteBackend) => RowSink) {
  const backend = await openBackend(t);
  const exec = newExecutionId();
  await backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  const warnings: string[] = [];
  const writer = new JournalWriter(sinkWrap ? sinkWrap(backend) : backend, codec, { ...config, ...overrides }, { warn: (m) => warnings.push(m) });
  t.after(() => writer.close());
  return { backend, exec, writer, warnings };
}

test('buffered appends are group-committed in few transactions', async (t) => {
  const { backend, exec, writer } = await setup(t);
  for (let i = 0; i < 1000; i++) writer.appendBuffered(entry(exec, i));
  assert.ok(writer.statistics.queueDepth > 0, 'appendBuffered returns before committing');
  await writer.flush();
  const stats = writer.statistics;
  assert.equal(stats.committed, 1000);
  assert.equal(stats.queueDepth, 0);
  assert.ok(stats.flushes <= 10, `expected ≤10 transactions for 1000 rows, got ${stats.flushes}`);
  assert.equal((await backend.readSegment(exec, 1, 0, 2000)).length, 1000);
});

test('buffered appends commit after the flush interval without an explicit flush', async (t) => {
  const { backend, exec, writer } = await setup(t, { flushIntervalMs: 20 });
  writer.appendBuffered(entry(exec, 0));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await backend.readSegment(exec, 1, 0, 10)).length, 1);
  assert.equal(writer.statistics.flushes, 1);
});

test('an acked entry commits after every buffered entry appended before it (causal order)', async (t) => {
  const { backend, exec, writer } = await setup(t, { flushIntervalMs: 10_000 });
  for (let i = 0; i < 300; i++) writer.appendBuffered(entry(exec, i));
  const seq = await writer.appendAcked(entry(exec, 300));
  const rows = await backend.readSegment(exec, 1, 0, 1000);
  assert.equal(rows.length, 301, 'the ack flushed every earlier buffered entry without waiting for the interval');
  for (const row of rows.slice(0, 300)) assert.ok(row.seq < seq, `buffered seq ${row.seq} < acked seq ${seq}`);
  assert.equal(rows[300].seq, seq);
});

test('concurrent acked appends each resolve with their own seq', async (t) => {
  const { backend, exec, writer } = await setup(t);
  const seqs = await Promise.all(Array.from({ length: 64 }, (_, i) => writer.appendAcked(entry(exec, i))));
  assert.equal(new Set(seqs).size, 64);
  const rows = await backend.readSegment(exec, 1, 0, 100);
  for (const row of rows) assert.equal(row.seq, seqs[row.stepId as number]);
  assert.ok(writer.statistics.flushes < 64, 'acks were grouped');
});

test('an acked append times out with JournalUnavailable instead of hanging', async () => {
  const stuck: RowSink = { appendRows: () => new Promise<JournalSeq[]>(() => undefined) };
  const writer = new JournalWriter(stuck, codec, { ...config, ackTimeoutMs: 50 });
  const exec = newExecutionId();
  const started = Date.now();
  await assert.rejects(writer.appendAcked(entry(exec, 0)), (e: unknown) => isDurableError(e, 'journal_unavailable') && /did not confirm the write within 50 ms/.test(e.message));
  assert.ok(Date.now() - started < 1_000);
  assert.equal(writer.statistics.ackTimeouts, 1);
});

test('buffered appends never block and are dropped under back-pressure with a warning', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { backend, exec, writer, warnings } = await setup(t, { maxQueuedAppends: 10, batchSize: 4 }, (b) => ({
    appendRows: async (rows) => {
      await gate;
      return b.appendRows(rows);
    },
  }));
  for (let i = 0; i < 30; i++) writer.appendBuffered(entry(exec, i));
  assert.ok(writer.statistics.droppedBuffered >= 16, `dropped ${writer.statistics.droppedBuffered}`);
  assert.equal(warnings.filter((w) => /being dropped/.test(w)).length, 1, 'one warning, not one per drop');
  release();
  await writer.flush();
  const stored = (await backend.readSegment(exec, 1, 0, 100)).length;
  assert.equal(stored + writer.statistics.droppedBuffered, 30, 'every entry was either committed or counted as dropped');
});

test('acked appends are never dropped for back-pressure', async (t) => {
  const { exec, writer } = await setup(t, { maxQueuedAppends: 1 });
  const seqs = await Promise.all([writer.appendAcked(entry(exec, 0)), writer.appendAcked(entry(exec, 1)), writer.appendAcked(entry(exec, 2))]);
  assert.equal(seqs.length, 3);
  assert.equal(writer.statistics.droppedBuffered, 0);
});

test('one bad row does not take its batch down: the rest commit, the bad acked one is rejected', async (t) => {
  const { backend, exec, writer, warnings } = await setup(t, { flushIntervalMs: 10_000 });
  await writer.appendAcked(entry(exec, 5));
  writer.appendBuffered(entry(exec, 1));
  writer.appendBuffered(entry(exec, 5)); // duplicate result for step 5: the unique index refuses it
  writer.appendBuffered(entry(exec, 2));
  const dup = writer.appendAcked(entry(exec, 5, 'step_result', 'dup'));
  const good = writer.appendAcked(entry(exec, 3));
  await assert.rejects(dup, (e: unknown) => isDurableError(e, 'journal_unavailable') && /already exists.*UNIQUE constraint failed/.test(e.message));
  assert.ok((await good) > 0);
  const steps = (await backend.readSegment(exec, 1, 0, 100)).map((r) => r.stepId);
  assert.deepEqual(steps, [5, 1, 2, 3]);
  assert.equal(writer.statistics.droppedBuffered, 1);
  assert.ok(warnings.some((w) => /dropped a buffered entry/.test(w)));
});

test('a locked database is retried: entries commit once the lock is released', async (t) => {
  const { backend, exec, writer } = await setup(t);
  const other = await new Promise<sqlite3.Database>((resolve, reject) => {
    const db = new sqlite3.Database(backend.file, (err) => (err ? reject(err) : resolve(db)));
  });
  await new Promise<void>((resolve, reject) => other.exec("BEGIN EXCLUSIVE; INSERT INTO schema_migrations VALUES (77,'l','x',0);", (e) => (e ? reject(e) : resolve())));
  const acked = writer.appendAcked(entry(exec, 0));
  writer.appendBuffered(entry(exec, 1));
  await until(() => writer.statistics.flushFailures >= 1); // the 200 ms busy timeout ran out at least once
  await new Promise<void>((resolve) => other.exec('ROLLBACK', () => other.close(() => resolve())));
  assert.ok((await acked) > 0);
  await writer.flush();
  assert.equal((await backend.readSegment(exec, 1, 0, 10)).length, 2);
});

test('a too-large payload is rejected synchronously and nothing is queued', async (t) => {
  const backend = await openBackend(t);
  const writer = new JournalWriter(backend, testCodec(testKeyring({ maxPayloadBytes: 4 })), config);
  t.after(() => writer.close());
  const exec = newExecutionId();
  assert.throws(() => writer.appendBuffered(entry(exec, 0, 'step_result', 'too large')), (e: unknown) => isDurableError(e, 'payload_too_large'));
  await assert.rejects(writer.appendAcked(entry(exec, 0, 'step_result', 'too large')), (e: unknown) => isDurableError(e, 'payload_too_large'));
  assert.equal(writer.statistics.queueDepth, 0);
});

test('a restarted writer continues after the highest seq: no gap, no duplicate', async (t) => {
  const file = join(tempDir(t), 'durable.db');
  const open = () => SqliteBackend.open({ file, migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 100 });
  const first = await open();
  const exec = newExecutionId();
  await first.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  const w1 = new JournalWriter(first, codec, config);
  for (let i = 0; i < 10; i++) w1.appendBuffered(entry(exec, i));
  const last = await w1.appendAcked(entry(exec, 10));
  await w1.close();
  await first.close();
  const second = await open();
  t.after(() => second.close());
  assert.equal(await second.maxSeq(), last);
  const w2 = new JournalWriter(second, codec, config);
  const next = await w2.appendAcked(entry(exec, 11));
  await w2.close();
  assert.equal(next, last + 1);
  const seqs = (await second.readSegment(exec, 1, 0, 100)).map((r) => r.seq);
  assert.deepEqual(seqs, Array.from({ length: 12 }, (_, i) => seqs[0] + i));
});

test('close commits what is queued, then refuses appends', async (t) => {
  const { backend, exec, writer } = await setup(t, { flushIntervalMs: 10_000 });
  writer.appendBuffered(entry(exec, 0));
  await writer.close();
  await writer.close();
  assert.equal((await backend.readSegment(exec, 1, 0, 10)).length, 1);
  assert.throws(() => writer.appendBuffered(entry(exec, 1)), (e: unknown) => isDurableError(e, 'journal_unavailable'));
  await assert.rejects(writer.appendAcked(entry(exec, 1)), (e: unknown) => isDurableError(e, 'journal_unavailable'));
});

test('close on a stuck database returns within the ack timeout and counts what it dropped', async () => {
  const stuck: RowSink = { appendRows: () => new Promise<JournalSeq[]>(() => undefined) };
  const writer = new JournalWriter(stuck, codec, { ...config, ackTimeoutMs: 50, flushIntervalMs: 10_000 });
  const exec = newExecutionId();
  writer.appendBuffered(entry(exec, 0));
  const started = Date.now();
  await writer.close();
  assert.ok(Date.now() - started < 1_000);
});

test('an aborted signal stops the wait with a cancellation, not a failure', async (t) => {
  const { exec, writer } = await setup(t);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(writer.appendAcked(entry(exec, 0), controller.signal), (e: unknown) => isDurableError(e, 'cancelled'));
});


test('an abort while waiting cancels the waits of that signal only; the entries stay queued for the journal', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const written: StoredRow[] = [];
  const sink: RowSink = {
    appendRows: async (rows) => {
      await gate;
      written.push(...rows);
      return rows.map((_, i) => (written.length - rows.length + i + 1) as JournalSeq);
    },
  };
  const writer = new JournalWriter(sink, codec, { ...config, ackTimeoutMs: 5_000 });
  const exec = newExecutionId();
  const stopping = new AbortController();
  const staying = new AbortController();
  const stopped = [writer.appendAcked(entry(exec, 0), stopping.signal), writer.appendAcked(entry(exec, 1), stopping.signal)];
  const kept = writer.appendAcked(entry(exec, 2), staying.signal);
  await new Promise((r) => setTimeout(r, 20));
  stopping.abort();
  for (const wait of stopped) await assert.rejects(wait, (e: unknown) => isDurableError(e, 'cancelled') && /stopped waiting for the journal/.test((e as Error).message));
  release();
  assert.equal(await kept, 3, 'the other signal still gets its seq');
  await writer.close();
  assert.deepEqual(written.map((r) => r.stepId), [0, 1, 2], 'abort stops the waiting, not the write');
  assert.equal(writer.statistics.ackTimeouts, 0);
});

test('each acked append times out at its own deadline, and one still queued is withdrawn, never written', async () => {
  let calls = 0;
  const written: StoredRow[] = [];
  // The first commit hangs; everything queued behind it waits in the queue.
  const sink: RowSink = {
    appendRows: (rows) => {
      calls++;
      if (calls === 1) return new Promise<JournalSeq[]>(() => undefined);
      written.push(...rows);
      return Promise.resolve(rows.map((_, i) => (i + 1) as JournalSeq));
    },
  };
  const writer = new JournalWriter(sink, codec, { ...config, ackTimeoutMs: 120 });
  const exec = newExecutionId();
  const started = performance.now();
  const timedOut = (e: unknown, what: RegExp) => isDurableError(e, 'journal_unavailable') && /did not confirm the write within 120 ms/.test((e as Error).message) && what.test((e as Error).message);
  const first = writer.appendAcked(entry(exec, 0));
  await new Promise((r) => setTimeout(r, 60));
  const second = writer.appendAcked(entry(exec, 1));
  await assert.rejects(first, (e: unknown) => timedOut(e, /it may still be written/));
  const firstAt = performance.now() - started;
  await assert.rejects(second, (e: unknown) => timedOut(e, /it was not written/));
  const secondAt = performance.now() - started;
  assert.ok(firstAt >= 110 && firstAt < 1_000, `the first waited its own 120 ms (${firstAt.toFixed(0)} ms)`);
  assert.ok(secondAt - firstAt >= 40, `the second waited from its own start (${(secondAt - firstAt).toFixed(0)} ms later)`);
  assert.equal(writer.statistics.ackTimeouts, 2);
  assert.deepEqual(written, [], 'the withdrawn entry never reached the store');
});
