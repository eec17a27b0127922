// Exactly-once under races inside one window, a journal that cannot confirm,
// and a journal that was damaged: each case as a person would meet it.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DurableConfig } from '../../../src/durable/model/config';
import { DurableEngine } from '../../../src/durable/runtime/engine';
import { isDurableError, StorageError } from '../../../src/durable/model/errors';
import { exportExecutions, importExecutions } from '../../../src/durable/journal/exportArtifact';
import type { ExecutionId } from '../../../src/durable/model/ids';
import { JournalWriter } from '../../../src/durable/journal/journalWriter';
import { loadMigrations } from '../../../src/durable/store/sqlite/migrations';
import { cutTitle } from '../../../src/durable/execution/workflow';
import { SqliteBackend } from '../../../src/durable/store/sqlite/sqliteBackend';
import type { PromiseHandle } from '../../../src/durable/execution/stepContext';
import type { WorkflowDefinition } from '../../../src/durable/execution/workflow';
import { needsAttention } from '../../../src/durable/inspection/inspection';
import { KeyStore } from '../../../src/extension/keyStore';
import { attentionLabel } from '../../../src/views/explorerTreeModel';
import { holdWriteLock, makeRuntime, MIGRATIONS_DIR, openBackend, rawSql, TEST_MASTER_KEY, testCodec, until, type RuntimeFixture, SQLITE_ONLY } from '../../helpers';

const HOUR = 3_600_000;

interface World {
  charges: number;
  ledger: Set<string>;
}

/**
 * Park first (a long sleep), then charge once (guarded, verified against the
 * world's ledger), then park again: resumable at every point.
 */
function payment(world: World, options: { beforeCharge?: () => Promise<void> } = {}): WorkflowDefinition<null, string> {
  return {
    kind: 'payment', version: 1,
    async run(ctx) {
      await ctx.sleep(HOUR);
      await ctx.step({ name: 'prepare', effect: 'idempotent' }, async () => (await options.beforeCharge?.(), 'ready'));
      const receipt = await ctx.step(
        {
          name: 'charge', effect: 'exactly_once', intent: 'money', policy: 'verify', fingerprint: 'order-7',
          probe: async (h) => (world.ledger.has(Buffer.from(h.idempotencyKey).toString('hex')) ? { done: true, value: 'charged' } : { done: false }),
        },
        (h) => {
          world.charges++;
          world.ledger.add(Buffer.from(h.idempotencyKey).toString('hex'));
          return 'charged';
        },
      );
      await ctx.sleep(HOUR);
      return String(receipt);
    },
  };
}

function clock(start = 1_800_000_000_000) {
  const c = { now: start, read: () => c.now };
  return c;
}

async function parkedPayment(t: Parameters<typeof makeRuntime>[0], options: Parameters<typeof payment>[1] & { config?: Partial<DurableConfig> } = {}) {
  const world: World = { charges: 0, ledger: new Set() };
  const c = clock();
  const fx = await makeRuntime(t, { workflows: [payment(world, options)], clock: c.read, config: options.config });
  const h = await fx.runtime.start('payment', null);
  assert.equal((await h.done).status, 'suspended');
  return { fx, id: h.id, world, c };
}

/** Parked after the charge (the second sleep). */
async function chargedAndParked(t: Parameters<typeof makeRuntime>[0]) {
  const p = await parkedPayment(t);
  p.c.now += HOUR + 1;
  const outcome = await (await p.fx.runtime.resume(p.id)).done;
  assert.equal(outcome.status, 'suspended');
  assert.equal(p.world.charges, 1);
  return p;
}

async function rowsOf(fx: RuntimeFixture, id: ExecutionId) {
  return fx.engine.backend.readExecutionSegment(id, 0, 10_000);
}

// ---- one window, many triggers ---------------------------------------------------------------

test('three resumes and a timer wake in the same tick run the guarded op once; the others are told it is already running', async (t) => {
  const { fx, id, world, c } = await parkedPayment(t);
  c.now += HOUR + 1;
  fx.runtime.startTimers(); // the timer service races the clicks
  const attempts = [fx.runtime.resume(id), fx.runtime.resume(id), fx.runtime.resume(id)];
  assert.equal(fx.runtime.isActive(id), true, 'claimed in the same tick: Resume buttons can disable at once');
  const settled = await Promise.allSettled(attempts);
  const winners = settled.filter((s) => s.status === 'fulfilled');
  const losers = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  assert.ok(winners.length <= 1, 'at most one launch wins (the timer may have won)');
  for (const l of losers) {
    assert.ok(isDurableError(l.reason, 'already_running'), String(l.reason));
    assert.match(l.reason.message, /is already running \(or starting\) in this window/);
  }
  await until(async () => !fx.runtime.isActive(id) && (await fx.runtime.get(id))?.statusDetail?.startsWith('sleeping') === true);
  assert.equal(world.charges, 1);
  const intents = (await rowsOf(fx, id)).filter((r) => r.kind === 'step_intent');
  assert.equal(intents.length, 1, 'one intent: nothing ran twice, nothing raced into a second window');
});

test('a person decision racing a resume of the same execution: one of them runs it, once', async (t) => {
  const { fx, id, world, c } = await parkedPayment(t);
  c.now += HOUR + 1;
  const resumed = fx.runtime.resume(id);
  await assert.rejects(fx.runtime.resolveAmbiguity(id, 2, 'rerun', 'alice'), (e: unknown) => isDurableError(e, 'already_running'));
  await (await resumed).done;
  assert.equal(world.charges, 1);
});

test('resuming a completed execution is refused with a typed error and writes nothing', async (t) => {
  const wf: WorkflowDefinition<null, string> = { kind: 'done', version: 1, run: async (ctx) => ctx.step({ name: 'x', effect: 'idempotent' }, () => 'x') };
  const fx = await makeRuntime(t, { workflows: [wf] });
  const h = await fx.runtime.start('done', null);
  assert.deepEqual(await h.done, { status: 'completed', output: 'x' });
  const before = (await rowsOf(fx, h.id)).length;
  await assert.rejects(fx.runtime.resume(h.id), (e: unknown) => isDurableError(e, 'already_completed') && /already completed; a completed execution is never resumed/.test((e as Error).message));
  assert.equal((await rowsOf(fx, h.id)).length, before, 'no second outcome row');
  assert.equal(fx.runtime.isActive(h.id), false, 'a refused launch gives its claim back');
  assert.deepEqual(await fx.runtime.outcome(h.id), { status: 'completed', output: 'x' });
});

test('an error while verifying ownership before the outcome leaves the execution resumable, never finished', async (t) => {
  const c = clock();
  let failVerification = false;
  const wf: WorkflowDefinition<null, string> = {
    kind: 'fenced', version: 1,
    run: async (ctx) =>
      ctx.step({ name: 'slow', effect: 'idempotent' }, () => {
        c.now += 60_000; // long enough that the lease must be re-read from the database
        failVerification = true;
        return 'done';
      }),
  };
  const fx = await makeRuntime(t, { workflows: [wf], clock: c.read });
  const backend = fx.engine.backend;
  const read = backend.getExecution.bind(backend);
  backend.getExecution = async (id) => {
    if (failVerification) {
      failVerification = false;
      throw new StorageError('io', 'disk I/O error while reading execution');
    }
    return read(id);
  };
  const h = await fx.runtime.start('fenced', null);
  const outcome = await h.done;
  assert.equal(outcome.status, 'interrupted');
  assert.match(outcome.status === 'interrupted' ? outcome.reason : '', /ownership could not be verified before writing the outcome \(disk I\/O error/);
  assert.equal((await fx.runtime.get(h.id))?.status, 'running', 'no outcome was written');
  assert.ok(!(await rowsOf(fx, h.id)).some((r) => r.kind === 'execution_finished'));
  assert.deepEqual(await (await fx.runtime.resume(h.id)).done, { status: 'completed', output: 'done' });
});

// ---- the timer service and promise settlement under storage errors --------------------------

test('the timer service survives storage errors: the failed read is logged, retried, and the due execution wakes', async (t) => {
  const { fx, id, world, c } = await parkedPayment(t);
  const backend = fx.engine.backend;
  const due = backend.executionsWithDueTimers.bind(backend);
  let failures = 2;
  backend.executionsWithDueTimers = async (now) => {
    if (failures-- > 0) throw new StorageError('locked', 'database is locked');
    return due(now);
  };
  c.now += HOUR + 1;
  fx.runtime.startTimers();
  await until(async () => world.charges === 1 && !fx.runtime.isActive(id), 5_000);
  assert.ok(fx.warnings.some((w) => /timer service: could not read due timers \(database is locked\); retrying/.test(w)), fx.warnings.join('\n'));
});

test('settling a promise answers "settled" once the settlement committed, even when the wake after it fails; the wake retries', async (t) => {
  const seen: { token?: Uint8Array } = {};
  const wf: WorkflowDefinition<null, unknown> = {
    kind: 'approval', version: 1,
    async run(ctx) {
      const p: PromiseHandle = await ctx.promise('deploy?');
      if (p.token) seen.token = p.token;
      return ctx.awaitPromise(p);
    },
  };
  const fx = await makeRuntime(t, { workflows: [wf] });
  const h = await fx.runtime.start('approval', null);
  assert.equal((await h.done).status, 'suspended');
  const [promise] = await fx.engine.backend.listPromises({ executionId: h.id });
  const backend = fx.engine.backend;
  const read = backend.getExecution.bind(backend);
  let failOnce = true;
  backend.getExecution = async (id) => {
    if (failOnce) {
      failOnce = false;
      throw new StorageError('io', 'disk I/O error');
    }
    return read(id);
  };
  assert.equal(await fx.runtime.resolvePromise(promise.id, seen.token!, { status: 'resolved', value: 'yes' }), 'settled');
  await until(async () => (await fx.runtime.get(h.id))?.status === 'completed', 5_000);
  assert.deepEqual(await fx.runtime.outcome(h.id), { status: 'completed', output: 'yes' });
});

// ---- a journal that cannot confirm ----------------------------------------------------------

test('an intent the journal cannot confirm fails closed: the op never runs, the execution suspends "journal unavailable", a later resume charges once', async (t) => {
  let release: (() => Promise<void>) | undefined;
  const file = { path: '' };
  const { fx, id, world, c } = await parkedPayment(t, {
    config: { ackTimeoutMs: 300, busyTimeoutMs: 20 },
    // Right before the charge, another process takes the write lock and holds it.
    beforeCharge: async () => {
      if (!release) release = await holdWriteLock(file.path);
    },
  });
  file.path = fx.file;
  fx.runtime.onEvent((e) => {
    if (e.type === 'degraded') void release?.(); // the lock goes away once the step gave up
  });
  c.now += HOUR + 1;
  const outcome = await (await fx.runtime.resume(id)).done;
  assert.equal(world.charges, 0, 'the charge never ran without its committed intent');
  assert.equal(outcome.status, 'suspended', JSON.stringify(outcome));
  assert.match(outcome.status === 'suspended' ? outcome.reason : '', /^journal unavailable: .*step_intent.*did not confirm the write within 300 ms/);
  const parked = await fx.runtime.get(id);
  assert.match(parked?.statusDetail ?? '', /^journal unavailable: /, 'the tree and the panel can say why it stopped');
  const [stop] = (await needsAttention(fx.engine.backend, fx.engine.codec, { now: c.now })).filter((a) => a.type === 'journal');
  assert.equal(attentionLabel(stop).label, 'Stopped: the journal was unavailable');
  const [item] = await fx.runtime.plan([id]);
  assert.equal(item.decision.action, 'resume', 'resumable, as the user decides');
  const again = await (await fx.runtime.resume(id)).done;
  assert.equal(again.status, 'suspended');
  assert.equal(world.charges, 1, 'charged exactly once after the journal came back');
});

test('an acknowledged entry that times out while still queued is withdrawn: it is never written later', async (t) => {
  const backend = await openBackend(t);
  const codec = testCodec();
  let locked = true;
  const written: string[] = [];
  const sink = {
    appendRows: async (rows: Parameters<SqliteBackend['appendRows']>[0]) => {
      if (locked) throw new StorageError('locked', 'database is locked');
      written.push(...rows.map((r) => r.kind));
      return backend.appendRows(rows);
    },
  };
  const writer = new JournalWriter(sink, codec, { flushIntervalMs: 5, batchSize: 16, ackTimeoutMs: 150, maxQueuedAppends: 100 });
  const id = '01900000-0000-7000-8000-0000000000ee' as ExecutionId;
  await backend.createExecution({ id, kind: 'k', version: 1, title: '' });
  const entry = { executionId: id, attempt: 1, stepId: 0 as never, stepName: 'charge', effect: 'exactly_once' as const, idempotencyKey: new Uint8Array(32) as never, kind: 'step_intent' as const, meta: { intent: 'money' as const, policy: 'fail' as const } };
  await assert.rejects(writer.appendAcked(entry), (e: unknown) => isDurableError(e, 'journal_unavailable') && /it was not written/.test((e as Error).message));
  locked = false;
  await writer.flush();
  await writer.close();
  assert.deepEqual(written, [], 'the withdrawn intent never reached the database');
  assert.equal((await backend.readExecutionSegment(id, 0, 10)).length, 0);
});

test('counters are crash-safe: another process sees the step count and bytes of a lone acknowledged append at once', async (t) => {
  const a = await openBackend(t);
  const codec = testCodec();
  const id = '01900000-0000-7000-8000-0000000000ef' as ExecutionId;
  await a.createExecution({ id, kind: 'k', version: 1, title: '' });
  const row = codec.encode({ executionId: id, attempt: 1, stepId: 41 as never, stepName: 's', effect: 'idempotent', idempotencyKey: null, kind: 'step_result', payload: new Uint8Array(100) });
  await a.appendRows([row]); // one row: a single autocommit statement
  // The first process dies here; the second opens the file.
  const b = await SqliteBackend.open({ file: a.file, migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 200 });
  t.after(() => b.close());
  const seen = await b.getExecution(id);
  assert.equal(seen?.stepCount, 42);
  assert.deepEqual(await b.totals(), { executions: 1, journalBytes: row.body.length });
  assert.equal((await b.markState(id))?.rowCount, 1);
});

// ---- damage ----------------------------------------------------------------------------------

test('the rows of a committed guarded step deleted: resume refuses "journal incomplete", the plan says damaged, nothing is charged again', async (t) => {
  const { fx, id, world, c } = await chargedAndParked(t);
  await rawSql(fx.file, `DELETE FROM journal WHERE execution_id = ? AND step_name = 'charge'`, [id]);
  c.now += HOUR + 1;
  await assert.rejects(fx.runtime.resume(id), (e: unknown) => isDurableError(e, 'integrity') && /journal incomplete: \d+ of the \d+ entries written are present/.test((e as Error).message));
  const [item] = await fx.runtime.plan([id]);
  assert.equal(item.decision.action, 'damaged');
  assert.match(item.decision.action === 'damaged' ? item.decision.reason : '', /journal incomplete/);
  assert.equal((await fx.runtime.applyPlan([item], () => true)).length, 0, 'recovery runs nothing');
  assert.equal(world.charges, 1);
  const marked = await fx.runtime.get(id);
  assert.equal(marked?.status, 'suspended');
  assert.match(marked?.statusDetail ?? '', /^damaged: journal integrity check failed at execution .*: journal incomplete/, 'recorded for the tree');
  const [shown] = (await needsAttention(fx.engine.backend, fx.engine.codec, { now: c.now })).filter((a) => a.type === 'journal');
  assert.equal(attentionLabel(shown).label, 'Journal damaged: needs a person');
});

test('rows deleted and the count rewound to match: the mark still finds them missing', async (t) => {
  const { fx, id, world } = await chargedAndParked(t);
  await rawSql(fx.file, `DELETE FROM journal WHERE execution_id = ? AND step_name = 'charge'`, [id]);
  await rawSql(fx.file, `UPDATE executions SET row_count = (SELECT count(*) FROM journal WHERE execution_id = ?) WHERE id = ?`, [id, id]);
  await assert.rejects(fx.runtime.resume(id), (e: unknown) => isDurableError(e, 'integrity') && /recorded by its last mark/.test((e as Error).message));
  assert.equal(world.charges, 1);
});

test('the last rows of an execution lost: the journal is incomplete', async (t) => {
  const { fx, id } = await chargedAndParked(t);
  await rawSql(fx.file, `DELETE FROM journal WHERE seq = (SELECT max(seq) FROM journal WHERE execution_id = ?)`, [id]);
  const [item] = await fx.runtime.plan([id]);
  assert.equal(item.decision.action, 'damaged');
});

test('an edited header is planned as damaged, not as resume', async (t) => {
  const { fx, id } = await chargedAndParked(t);
  await rawSql(fx.file, `UPDATE journal SET step_name = 'refund' WHERE execution_id = ? AND kind = 'step_intent'`, [id]);
  const [item] = await fx.runtime.plan([id]);
  assert.equal(item.decision.action, 'damaged');
  assert.match(item.decision.action === 'damaged' ? item.decision.reason : '', /journal altered: its entries do not match its last mark/);
});

test('an entry that fails to open on replay suspends the execution as damaged (not failed); after the repair it resumes', async (t) => {
  const { fx, id, world, c } = await chargedAndParked(t);
  const result = (await rowsOf(fx, id)).find((r) => r.kind === 'step_result' && r.stepName === 'charge')!;
  const damaged = Buffer.from(result.body);
  damaged[30] ^= 0x40; // inside the ciphertext, not the tag the mark digests
  await rawSql(fx.file, 'UPDATE journal SET body = ? WHERE seq = ?', [damaged, result.seq]);
  c.now += HOUR + 1;
  const outcome = await (await fx.runtime.resume(id)).done;
  assert.equal(outcome.status, 'suspended');
  assert.match(outcome.status === 'suspended' ? outcome.reason : '', /^damaged: journal integrity check failed at execution .* step 2 step_result/);
  assert.equal((await fx.runtime.get(id))?.status, 'suspended', 'still resumable, never failed');
  const [item] = await fx.runtime.plan([id]);
  assert.equal(item.decision.action, 'damaged');
  // The tree's "Needs attention" says so, in words.
  const attention = (await needsAttention(fx.engine.backend, fx.engine.codec, { now: c.now })).filter((a) => a.type === 'journal');
  assert.equal(attention.length, 1);
  assert.deepEqual(attentionLabel(attention[0]), { label: 'Journal damaged: needs a person', description: 'payment', icon: 'shield', color: 'charts.red' });
  fx.runtime.startTimers(); // a due timer does not wake a damaged execution
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(world.charges, 1);
  await rawSql(fx.file, 'UPDATE journal SET body = ? WHERE seq = ?', [Buffer.from(result.body), result.seq]);
  assert.deepEqual(await (await fx.runtime.resume(id)).done, { status: 'completed', output: 'charged' });
  assert.equal(world.charges, 1);
});

// ---- keys and limits -------------------------------------------------------------------------

test('a master key that went missing is never replaced for an existing journal', async () => {
  const stored = new Map<string, string>();
  const secrets = { get: async (k: string) => stored.get(k), store: async (k: string, v: string) => void stored.set(k, v) };
  const keys = new KeyStore(secrets as never);
  await assert.rejects(keys.load({ createIfMissing: false }), /master key of this workspace's journal is missing .* no new key was made and nothing was written/);
  assert.equal(stored.size, 0);
  const first = await keys.load({ createIfMissing: true });
  assert.deepEqual((await keys.load()).current, first.current);
});

test('limits agree: a 1,000-character step name and a long emoji title export and import; 1,001 characters or a NUL is refused when declared', async (t) => {
  const name = 'n'.repeat(1_000);
  const wf: WorkflowDefinition<null, string> = {
    kind: 'limits', version: 1,
    title: () => '\u0000' + '🦀'.repeat(150) + 'é'.repeat(3),
    async run(ctx) {
      await ctx.step({ name, effect: 'idempotent' }, () => 'ok');
      await assert.rejects(ctx.step({ name: `${name}x`, effect: 'idempotent' }, () => 'no'), (e: unknown) => isDurableError(e, 'invalid_declaration') && /at most 1000 characters/.test((e as Error).message));
      await assert.rejects(ctx.step({ name: 'a\u0000b', effect: 'idempotent' }, () => 'no'), (e: unknown) => isDurableError(e, 'invalid_declaration') && /cannot contain NUL/.test((e as Error).message));
      return 'ok';
    },
  };
  const fx = await makeRuntime(t, { workflows: [wf] });
  const h = await fx.runtime.start('limits', null);
  assert.deepEqual(await h.done, { status: 'completed', output: 'ok' });
  const title = (await fx.runtime.get(h.id))!.title;
  assert.ok(title.length <= 200 && title === '\uFFFD' + '🦀'.repeat(99), `cut between characters, NUL replaced: ${JSON.stringify(title.slice(0, 4))} ${title.length}`);
  await fx.engine.writer.flush();
  const bytes = await exportExecutions(fx.engine, { executions: [h.id] });
  const other = await makeRuntime(t, { file: join(fx.file, '..', 'other.db') });
  assert.equal((await importExecutions(other.engine, bytes)).imported, 1);
  assert.equal(cutTitle('e\u0301'.repeat(150)), 'e\u0301'.repeat(100), 'a combining accent stays with its letter');
});

test('a journal rolled back to an older copy is refused at open by the anchor outside the file; a person can accept it', { skip: SQLITE_ONLY }, async (t) => {
  const { fx, id } = await chargedAndParked(t);
  const anchorValue = { seq: undefined as number | undefined };
  const anchor = { read: () => anchorValue.seq, write: (seq: number) => void (anchorValue.seq = seq) };
  await fx.engine.writer.flush();
  await fx.runtime.dispose();
  await fx.engine.dispose();
  const older = join(fx.file, '..', 'older.db');
  // Take a copy now, then let the journal move on.
  const open = (file: string, accept = false) => DurableEngine.open({ file, migrationsDir: MIGRATIONS_DIR, masterKey: TEST_MASTER_KEY, anchor, acceptRolledBack: accept });
  let engine = await open(fx.file);
  await engine.writer.flush();
  await engine.dispose();
  copyFileSync(fx.file, older);
  engine = await open(fx.file);
  await engine.writer.appendAcked({ executionId: id, attempt: 1, stepId: 90 as never, stepName: 'later', effect: 'idempotent', idempotencyKey: null, kind: 'step_result', payload: new Uint8Array(1) });
  await engine.dispose();
  const reached = anchorValue.seq!;
  // "Restore" the older copy over the journal.
  copyFileSync(older, fx.file);
  await assert.rejects(open(fx.file), (e: unknown) => isDurableError(e, 'integrity') && /the journal is older than this workspace last saw it \(entry \d+ < \d+\)/.test((e as Error).message));
  const accepted = await open(fx.file, true);
  assert.ok(anchorValue.seq! < reached, 'accepting records the older file as the new anchor');
  await accepted.dispose();
  const again = await open(fx.file);
  await again.dispose();
});

test('a cancel that read "running" just before a run elsewhere finished writes no cancelled outcome; a resume that read "suspended" before a cancel does not run', async (t) => {
  const wf: WorkflowDefinition<null, string> = { kind: 'quick', version: 1, run: async (ctx) => ctx.step({ name: 'x', effect: 'idempotent' }, () => 'x') };
  const fx = await makeRuntime(t, { workflows: [wf] });
  const h = await fx.runtime.start('quick', null);
  const stale = await fx.runtime.get(h.id); // read while it was still running
  await h.done;
  const backend = fx.engine.backend;
  const read = backend.getExecution.bind(backend);
  let staleReads = 1;
  backend.getExecution = async (id) => (staleReads-- > 0 ? stale : read(id));
  assert.equal(await fx.another('window-2').cancel(h.id), false, 'it had finished: nothing to cancel');
  assert.equal((await read(h.id))?.status, 'completed');
  assert.deepEqual(await fx.runtime.outcome(h.id), { status: 'completed', output: 'x' }, 'no cancelled outcome after the completed one');

  const { fx: fx2, id } = await parkedPayment(t);
  const parked = await fx2.runtime.get(id);
  await fx2.another('window-2').cancel(id);
  const backend2 = fx2.engine.backend;
  const read2 = backend2.getExecution.bind(backend2);
  let stale2 = 1;
  backend2.getExecution = async (x) => (stale2-- > 0 ? parked : read2(x));
  await assert.rejects(fx2.runtime.resume(id), /is cancelled; it was not resumed/);
  assert.equal((await read2(id))?.status, 'cancelled');
  assert.equal(fx2.runtime.isActive(id), false);
});
