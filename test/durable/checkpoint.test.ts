import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldExecution } from '../../src/durable/checkpoint';
import type { WorkflowDefinition } from '../../src/durable/workflow';
import { makeRuntime } from '../helpers';

function long(calls: { n: number }, rename = -1): WorkflowDefinition<null, number> {
  return {
    kind: 'long', version: 1,
    async run(ctx) {
      let sum = 0;
      for (let i = 0; i < 1_200; i++) {
        sum += (await ctx.step({ name: i === rename ? 'renamed' : 'add', effect: i % 2 ? 'idempotent' : 'at_least_once', fingerprint: String(i) }, () => (calls.n++, i))) as number;
      }
      const paid = await ctx.step({ name: 'pay', effect: 'exactly_once', intent: 'money', policy: 'fail' }, () => (calls.n++, 1));
      return sum + (paid as number);
    },
  };
}

/** A finished 1,201-step execution whose older results were folded. */
async function foldedLong(t: Parameters<typeof makeRuntime>[0], calls: { n: number }) {
  const fx = await makeRuntime(t, { workflows: [long(calls)] });
  const h = await fx.runtime.start('long', null);
  await h.done;
  await fx.engine.writer.flush();
  await foldExecution(fx.engine.backend, fx.engine.codec, h.id, { keepRecent: 100 });
  return { fx, id: h.id };
}

test('a folded execution replays to the same result from checkpoints, without calling any op', async (t) => {
  const calls = { n: 0 };
  const fx = await makeRuntime(t, { workflows: [long(calls)] });
  const h = await fx.runtime.start('long', null);
  const first = await h.done;
  await fx.engine.writer.flush();
  const rowsBefore = (await fx.engine.backend.readExecutionSegment(h.id, 0, 100_000)).length;
  const report = await foldExecution(fx.engine.backend, fx.engine.codec, h.id, { keepRecent: 100, maxStepsPerCheckpoint: 250 });
  assert.equal(report.foldedRows, 1_201 - 100, 'all unguarded steps but the newest 100 (of 1,201)');
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
  const { fx, id } = await foldedLong(t, { n: 0 });
  await fx.engine.backend.reopen(id);
  await fx.engine.backend.suspend(id, 'test');
  const [item] = await fx.runtime.plan();
  assert.equal(item.decision.action, 'reuse', 'the recorded outcome after the checkpoints still stands');
});
