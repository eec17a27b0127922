import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpointSteps, decodeCheckpoint, foldExecution } from '../../../src/durable/journal/checkpoint';
import { writeJournalMark } from '../../../src/durable/journal/journalMark';
import { legacyCheckpoint } from '../../fixtures/legacyCheckpoint';
import { ReplayCursor } from '../../../src/durable/execution/replayCursor';
import type { WorkflowDefinition } from '../../../src/durable/execution/workflow';
import { makeRuntime, rawSql } from '../../helpers';

function long(calls: { n: number }, rename = -1): WorkflowDefinition<null, number> {
  return {
    kind: 'long', version: 1,
    async run(ctx) {
      let sum = 0;
      for (let i = 0; i < 1_200; i++) {
        sum += (await ctx.step({ name: i === rename ? 'renamed' : 'add', effect: i % 2 ? 'idempotent' : 'at_least_once', fingerprint: String(i) }, () => (calls.n++, i))) as number;
      }
      const paid = await ctx.step({ name: 'pay', effect: 'exactly_once', intent: 'money', policy: 'fail' }, () => (calls.n++, 1));
      // Parked at the end: folding works on parked executions only.
      await ctx.sleep(60_000);
      return sum + (paid as number);
    },
  };
}

const FOLD_LEASE = { owner: 'test-fold', leaseMs: 30_000 };

/** A parked 1,201-step execution whose older results were folded. */
async function foldedLong(t: Parameters<typeof makeRuntime>[0], calls: { n: number }, clock?: () => number) {
  const fx = await makeRuntime(t, { workflows: [long(calls)], clock });
  const h = await fx.runtime.start('long', null);
  await h.done;
  await fx.engine.writer.flush();
  await foldExecution(fx.engine.backend, fx.engine.codec, h.id, FOLD_LEASE, { keepRecent: 100 });
  return { fx, id: h.id };
}

test('a folded execution replays to the same result from checkpoints, without calling any op', async (t) => {
  const calls = { n: 0 };
  const fx = await makeRuntime(t, { workflows: [long(calls)] });
  const h = await fx.runtime.start('long', null);
  const first = await h.done;
  await fx.engine.writer.flush();
  const rowsBefore = (await fx.engine.backend.readExecutionSegment(h.id, 0, 100_000)).length;
  assert.equal(first.status, 'suspended');
  const report = await foldExecution(fx.engine.backend, fx.engine.codec, h.id, FOLD_LEASE, { keepRecent: 100, maxStepsPerCheckpoint: 250 });
  assert.equal(report.foldedRows, 1_202 - 100, 'all unguarded steps but the newest 100 (of 1,202 step ids, the last a sleep)');
  assert.equal(report.checkpoints, Math.ceil(report.foldedRows / 250));
  const rows = await fx.engine.backend.readExecutionSegment(h.id, 0, 100_000);
  assert.equal(rows.length, rowsBefore - report.foldedRows + report.checkpoints);
  assert.ok(rows.some((r) => r.kind === 'step_intent' && r.stepName === 'pay'), 'guarded evidence is never folded');
  assert.deepEqual((await fx.engine.checkIntegrity([h.id])).failures, []);
  calls.n = 0;
  const replayed = await (await fx.runtime.resume(h.id)).done;
  assert.deepEqual(replayed, first);
  assert.equal(calls.n, 0, 'replay took every folded result from the checkpoints');
});

test('a changed step inside a checkpoint is still a divergence', async (t) => {
  const calls = { n: 0 };
  const { fx, id } = await foldedLong(t, calls);
  const h = { id };
  const changed = fx.another('w2', [long(calls, 10)]);
  const messages: string[] = [];
  changed.onEvent((e) => e.type === 'divergence' && messages.push(e.message));
  await (await changed.resume(h.id)).done;
  assert.equal(messages.length, 1);
  assert.match(messages[0], /step 10: journal recorded `add`.*code asked for `renamed`/);
});

test('the recovery plan counts folded steps as committed', async (t) => {
  let now = Date.now();
  const { fx } = await foldedLong(t, { n: 0 }, () => now);
  now += 120_000; // the final sleep is due: the plan resumes after every committed step
  const [item] = await fx.runtime.plan();
  assert.equal(item.decision.action, 'resume');
  assert.equal(item.decision.action === 'resume' && item.decision.committedSteps, 1_201, 'folded steps count as committed');
});

test('a journal folded by an earlier build (JSON checkpoints) still plans with every folded step committed and replays without calling any op', async (t) => {
  let now = Date.now();
  const calls = { n: 0 };
  const { fx, id } = await foldedLong(t, calls, () => now);
  // Rewrite each checkpoint in the old layout, as a journal folded before the binary one would hold it.
  const { backend, codec } = fx.engine;
  const checkpoints = (await backend.readExecutionSegment(id, 0, 100_000)).filter((r) => r.kind === 'checkpoint');
  assert.ok(checkpoints.length >= 2);
  for (const row of checkpoints) {
    const legacy = codec.encode({ executionId: id, attempt: row.attempt, stepId: null, stepName: null, effect: null, idempotencyKey: null, kind: 'checkpoint', payload: legacyCheckpoint(decodeCheckpoint(codec.openPayload(row))) });
    await rawSql(fx.file, 'UPDATE journal SET body = ?, size = ? WHERE seq = ?', [Buffer.from(legacy.body), legacy.size, row.seq]);
  }
  await writeJournalMark(backend, codec, id);
  const rewritten = (await backend.readExecutionSegment(id, 0, 100_000)).filter((r) => r.kind === 'checkpoint');
  assert.equal(rewritten.length, checkpoints.length);
  assert.ok(rewritten.every((r) => codec.openPayload(r)[0] === 0x7b), 'every checkpoint is JSON now');

  now += 120_000;
  const [item] = await fx.runtime.plan();
  assert.equal(item.decision.action === 'resume' && item.decision.committedSteps, 1_201);
  calls.n = 0;
  const outcome = await (await fx.runtime.resume(id)).done;
  assert.equal(outcome.status, 'completed');
  assert.equal(calls.n, 0, 'every folded result came from the old checkpoints');
});

test('checkpoints stay under the payload limit however low it is set, and the execution still replays from them', async (t) => {
  const calls = { n: 0 };
  const fx = await makeRuntime(t, { workflows: [long(calls)], config: { maxPayloadBytes: 4_096 } });
  const h = await fx.runtime.start('long', null);
  const first = await h.done;
  await fx.engine.writer.flush();
  const report = await foldExecution(fx.engine.backend, fx.engine.codec, h.id, FOLD_LEASE, { keepRecent: 100 });
  assert.equal(report.foldedRows, 1_102, 'every foldable step folded, none left out by an oversized checkpoint');
  const sizes = (await fx.engine.backend.readExecutionSegment(h.id, 0, 100_000)).filter((r) => r.kind === 'checkpoint').map((r) => fx.engine.codec.openPayload(r).length);
  assert.equal(sizes.length, report.checkpoints);
  assert.ok(sizes.length > 1_102 / 60, `many small checkpoints (${sizes.length})`);
  assert.ok(Math.max(...sizes) <= 4_096 && Math.max(...sizes) > 3_500, `each as full as the limit allows (largest ${Math.max(...sizes)} B)`);
  calls.n = 0;
  assert.deepEqual(await (await fx.runtime.resume(h.id)).done, first);
  assert.equal(calls.n, 0);
});

test('folding refuses an execution another owner holds, or one that is not parked', async (t) => {
  const calls = { n: 0 };
  const fx = await makeRuntime(t, { workflows: [long(calls)] });
  const h = await fx.runtime.start('long', null);
  await h.done;
  await fx.engine.writer.flush();
  assert.ok(await fx.engine.backend.acquireLease(h.id, 'window-b#run', 30_000));
  const report = await foldExecution(fx.engine.backend, fx.engine.codec, h.id, FOLD_LEASE, { keepRecent: 100 });
  assert.deepEqual(report, { checkpoints: 0, foldedRows: 0, skipped: 'another owner holds its lease' });
  await fx.engine.backend.releaseLease(h.id, 'window-b#run');
  await fx.engine.backend.finalize(h.id, 'cancelled');
  const finished = await foldExecution(fx.engine.backend, fx.engine.codec, h.id, FOLD_LEASE, { keepRecent: 100 });
  assert.equal(finished.skipped, 'it is cancelled, not parked');
});

test('replay opens checkpoints one at a time, as their first step is asked for', async (t) => {
  const calls = { n: 0 };
  const fx = await makeRuntime(t, { workflows: [long(calls)] });
  const h = await fx.runtime.start('long', null);
  await h.done;
  await fx.engine.writer.flush();
  const report = await foldExecution(fx.engine.backend, fx.engine.codec, h.id, FOLD_LEASE, { keepRecent: 100, maxStepsPerCheckpoint: 100 });
  assert.ok(report.checkpoints >= 11, `1,102 folded steps in checkpoints of at most 100 (${report.checkpoints})`);
  const execution = await fx.engine.backend.getExecution(h.id);
  const opened: number[] = [];
  const cursor = new ReplayCursor(fx.engine.backend, h.id, execution?.attempt ?? 1, 512, (row) => {
    opened.push(row.seq);
    return checkpointSteps(fx.engine.codec.openPayload(row));
  });
  // One segment holds every checkpoint; asking for step 0 opens only the first of them.
  assert.equal((await cursor.take(0))?.folded?.stepId, 0);
  assert.equal(opened.length, 1);
  for (let step = 1; step <= 1_201; step++) {
    const before = opened.length;
    assert.ok(await cursor.take(step), `step ${step}`);
    assert.ok(opened.length - before <= 1, `step ${step} opened at most the next checkpoint`);
  }
  assert.equal(opened.length, report.checkpoints, 'every checkpoint opened once');
  // Folded steps asked for in order are made one at a time: beside the unfolded tail (read in the
  // same segment), at most the one being handed out is held.
  assert.ok(cursor.peakHeld <= 100 + 2, `held the unfolded tail and one folded step at most (${cursor.peakHeld})`);
  assert.equal(cursor.replaying, false);
});


test('large checkpoints are read one or two at a time, by the recovery plan and by replay, and still replay every step', async (t) => {
  const calls = { n: 0 };
  // 96 steps of 12 KB each, folded four to a checkpoint: 22 checkpoints of ≈ 48 KB.
  const wide: WorkflowDefinition<null, number> = {
    kind: 'wide', version: 1,
    async run(ctx) {
      let length = 0;
      for (let i = 0; i < 96; i++) length += ((await ctx.step({ name: 'page', effect: 'idempotent' }, () => (calls.n++, `${i}:`.padEnd(12_000, 'x')))) as string).length;
      await ctx.sleep(60_000);
      return length;
    },
  };
  let now = Date.now();
  const fx = await makeRuntime(t, { workflows: [wide], clock: () => now });
  const h = await fx.runtime.start('wide', null);
  await h.done;
  await fx.engine.writer.flush();
  const report = await foldExecution(fx.engine.backend, fx.engine.codec, h.id, FOLD_LEASE, { keepRecent: 8, maxStepsPerCheckpoint: 4 });
  assert.equal(report.checkpoints, 22);
  await fx.runtime.dispose();

  const backend = fx.engine.backend;
  const mostPerRead = { plan: 0, replay: 0 };
  let phase: keyof typeof mostPerRead = 'plan';
  const count = (rows: readonly { kind: string }[]): void => {
    mostPerRead[phase] = Math.max(mostPerRead[phase], rows.filter((r) => r.kind === 'checkpoint').length);
  };
  const readExecutionSegment = backend.readExecutionSegment.bind(backend);
  const readSegment = backend.readSegment.bind(backend);
  backend.readExecutionSegment = async (...args) => {
    const rows = await readExecutionSegment(...args);
    count(rows);
    return rows;
  };
  backend.readSegment = async (...args) => {
    const rows = await readSegment(...args);
    count(rows);
    return rows;
  };
  now += 120_000;
  const second = fx.another('w2', [wide]);
  const [item] = await second.plan([h.id]);
  assert.equal(item.decision.action === 'resume' && item.decision.committedSteps, 96, 'the plan counted every folded step');
  phase = 'replay';
  const before = calls.n;
  const outcome = await (await second.resume(h.id)).done;
  assert.deepEqual(outcome, { status: 'completed', output: 96 * 12_000 });
  assert.equal(calls.n, before, 'no step ran again');
  assert.ok(mostPerRead.plan <= 2, `the plan read at most two checkpoints at a time (${mostPerRead.plan})`);
  assert.ok(mostPerRead.replay <= 2, `replay read at most two checkpoints at a time (${mostPerRead.replay})`);
});
