import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { resolveConfig } from '../../../src/durable/model/config';
import { asIdempotencyKey, newExecutionId, stepId, type ExecutionId } from '../../../src/durable/model/ids';
import { prune } from '../../../src/durable/journal/retention';
import type { JournalStore } from '../../../src/durable/store/journalStore';
import type { JournalCodec } from '../../../src/durable/crypto/journalCodec';
import { makeRuntime, SQLITE_ONLY } from '../../helpers';

const DAY = 86_400_000;

async function seed(backend: JournalStore, codec: JournalCodec, status: 'completed' | 'failed' | 'running' | 'suspended', rows = 3, payload = 64): Promise<ExecutionId> {
  const id = newExecutionId();
  await backend.createExecution({ id, kind: 'k', version: 1, title: status });
  await backend.appendRows(Array.from({ length: rows }, (_, i) => codec.encode({
    kind: 'step_result', executionId: id, attempt: 1, stepId: stepId(i), stepName: 's', effect: 'idempotent',
    idempotencyKey: asIdempotencyKey(new Uint8Array(32).fill(i)), payload: new Uint8Array(payload),
  })));
  await backend.createPromise({ id: `p-${id}`, executionId: id, stepId: 0, name: 'p', tokenHash: new Uint8Array(32) });
  await backend.armTimer({ id: `t-${id}`, executionId: id, stepId: 1, dueAt: 1 });
  if (status === 'completed' || status === 'failed') await backend.finalize(id, status);
  if (status === 'suspended') await backend.suspend(id);
  return id;
}

test('prune removes exactly the expired executions and their child rows; a dry run only counts', async (t) => {
  const c = { now: 1_000 * DAY };
  const fx = await makeRuntime(t, { clock: () => c.now });
  const { backend, codec } = fx.engine;
  const oldDone = await seed(backend, codec, 'completed');
  const oldFailed = await seed(backend, codec, 'failed');
  c.now += 10 * DAY; // old completed (7 d TTL) expired; old failed (30 d TTL) not yet
  const freshDone = await seed(backend, codec, 'completed');
  const running = await seed(backend, codec, 'running');
  const parked = await seed(backend, codec, 'suspended');
  const config = resolveConfig({});
  const preview = await prune(backend, config, c.now, { dryRun: true });
  assert.equal(preview.executionsRemoved, 1);
  assert.deepEqual(preview.rowsRemoved, { journal: 3, audit: 0, promises: 1, timers: 1 });
  assert.ok(await backend.getExecution(oldDone), 'a dry run deletes nothing');
  const report = await prune(backend, config, c.now);
  assert.deepEqual({ ...report, vacuumed: undefined, dryRun: undefined }, { ...preview, vacuumed: undefined, dryRun: undefined });
  assert.equal(await backend.getExecution(oldDone), undefined);
  for (const id of [oldFailed, freshDone, running, parked]) assert.ok(await backend.getExecution(id), `${id} kept`);
  assert.equal((await backend.readExecutionSegment(oldDone, 0, 10)).length, 0, 'journal rows went with it');
  assert.equal(await backend.getPromise(`p-${oldDone}`), undefined, 'promise rows went with it');
  c.now += 25 * DAY;
  await prune(backend, config, c.now);
  assert.equal(await backend.getExecution(oldFailed), undefined, 'failed ones age out after 30 days');
  assert.ok(await backend.getExecution(running) && (await backend.getExecution(parked)), 'active executions are never pruned');
});

test('the execution cap holds after a burst: the oldest finished go first', async (t) => {
  const c = { now: 2_000 * DAY };
  const fx = await makeRuntime(t, { clock: () => c.now });
  const ids: ExecutionId[] = [];
  for (let i = 0; i < 30; i++) {
    c.now += 1_000;
    ids.push(await seed(fx.engine.backend, fx.engine.codec, 'completed', 1));
  }
  const active = await seed(fx.engine.backend, fx.engine.codec, 'running', 1);
  const report = await prune(fx.engine.backend, resolveConfig({ maxExecutions: 10 }), c.now, { batchSize: 7 });
  assert.equal(report.overExecutionCap, 21);
  const left = (await fx.engine.backend.listExecutions()).map((e) => e.id);
  assert.equal(left.length, 10);
  assert.ok(left.includes(active));
  assert.deepEqual(left.filter((id) => id !== active).sort(), ids.slice(21).sort(), 'the newest nine finished ones stay');
});

test('the journal byte cap is enforced', async (t) => {
  const c = { now: 3_000 * DAY };
  const fx = await makeRuntime(t, { clock: () => c.now });
  for (let i = 0; i < 12; i++) {
    c.now += 1_000;
    await seed(fx.engine.backend, fx.engine.codec, 'completed', 4, 64 * 1024);
  }
  const cap = 1024 * 1024;
  const report = await prune(fx.engine.backend, resolveConfig({ maxJournalBytes: cap }), c.now);
  assert.ok(report.overByteCap > 0);
  assert.ok((await fx.engine.backend.totals()).journalBytes <= cap);
  // SQLite gives the freed pages back by VACUUM; PostgreSQL's autovacuum does it on its own.
  if (fx.engine.backend.flavor === 'sqlite') assert.ok(report.vacuumed, 'the freed pages were given back');
});

test('the stale sweep aborts only running executions that no live owner holds', async (t) => {
  const c = { now: 4_000 * DAY };
  const fx = await makeRuntime(t, { clock: () => c.now });
  const abandoned = await seed(fx.engine.backend, fx.engine.codec, 'running');
  const owned = await seed(fx.engine.backend, fx.engine.codec, 'running');
  c.now += 31 * DAY;
  assert.ok(await fx.engine.backend.acquireLease(owned, 'live-window', 60_000));
  const report = await prune(fx.engine.backend, resolveConfig({}), c.now);
  assert.equal(report.staleAborted, 1);
  assert.equal((await fx.engine.backend.getExecution(abandoned))?.status, 'aborted');
  assert.equal((await fx.engine.backend.getExecution(owned))?.status, 'running');
});

test('the file actually shrinks after pruning', { skip: SQLITE_ONLY }, async (t) => {
  const c = { now: 5_000 * DAY };
  const fx = await makeRuntime(t, { clock: () => c.now });
  for (let i = 0; i < 20; i++) await seed(fx.engine.backend, fx.engine.codec, 'completed', 8, 32 * 1024);
  await fx.engine.writer.flush();
  const before = statSync(fx.file).size + (statSync(`${fx.file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  c.now += 8 * DAY;
  const report = await prune(fx.engine.backend, resolveConfig({}), c.now);
  assert.equal(report.executionsRemoved, 20);
  assert.ok(report.vacuumed);
  const after = statSync(fx.file).size + (statSync(`${fx.file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  assert.ok(after < before / 4, `${after} < ${before / 4}`);
});
