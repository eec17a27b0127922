import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDurableError } from '../../../src/durable/model/errors';
import type { ExecutionId } from '../../../src/durable/model/ids';
import { ReplayCursor } from '../../../src/durable/execution/replayCursor';
import type { WorkflowDefinition } from '../../../src/durable/execution/workflow';
import { gate, makeRuntime, rawSql, until, type Gate, type RuntimeFixture } from '../../helpers';

const sql = rawSql;

/** A workflow that stops (via shutdown) when it reaches `stopAt`, counting each op's calls. */
function threeSteps(calls: Record<string, number>, options: { middleName?: string; stopAt?: Gate } = {}): WorkflowDefinition<null, string> {
  return {
    kind: 'three', version: 1,
    async run(ctx) {
      const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
      const a = await ctx.step({ name: 'charge', effect: 'exactly_once', intent: 'money', policy: 'fail', fingerprint: 'order-1' }, () => (count('charge'), 'charged'));
      const b = await ctx.step({ name: options.middleName ?? 'read', effect: 'idempotent' }, () => (count(options.middleName ?? 'read'), 'read'));
      const c = await ctx.step({ name: 'finish', effect: 'at_least_once' }, async (h) => {
        count('finish');
        if (options.stopAt) {
          options.stopAt.open();
          await new Promise((_, reject) => h.signal.addEventListener('abort', () => reject(h.signal.reason)));
        }
        return 'finished';
      });
      return `${a}/${b}/${c}`;
    },
  };
}

async function interruptedAtStep2(t: Parameters<typeof makeRuntime>[0], calls: Record<string, number>): Promise<{ fx: RuntimeFixture; id: ExecutionId }> {
  const stopAt = gate();
  const fx = await makeRuntime(t, { workflows: [threeSteps(calls, { stopAt })] });
  const h = await fx.runtime.start('three', null);
  await stopAt.promise;
  await fx.engine.writer.flush();
  await fx.runtime.dispose();
  assert.equal((await h.done).status, 'interrupted');
  return { fx, id: h.id };
}

test('resume after an interruption replays committed steps and continues live', async (t) => {
  const calls: Record<string, number> = {};
  const { fx, id } = await interruptedAtStep2(t, calls);
  const [item] = await fx.another('w2', [threeSteps(calls)]).plan();
  assert.deepEqual(item.decision, { action: 'resume', committedSteps: 2, lastCommittedStep: 1 });
  const w2 = fx.another('w3', [threeSteps(calls)]);
  const outcome = await (await w2.resume(id)).done;
  assert.deepEqual(outcome, { status: 'completed', output: 'charged/read/finished' });
  assert.deepEqual(calls, { charge: 1, read: 1, finish: 2 });
});

test('a divergence aborts the attempt, restarts fresh, and never fires a committed guarded effect again', async (t) => {
  const calls: Record<string, number> = {};
  const { fx, id } = await interruptedAtStep2(t, calls);
  // The code changed: step 1 is now another step. Step 0 (the charge) is unchanged.
  const changed = fx.another('w2', [threeSteps(calls, { middleName: 'readV2' })]);
  const events: string[] = [];
  changed.onEvent((e) => e.type === 'divergence' && events.push(e.message));
  const outcome = await (await changed.resume(id)).done;
  assert.deepEqual(outcome, { status: 'completed', output: 'charged/read/finished' });
  assert.equal(calls.charge, 1, 'the committed charge was adopted by idempotency key, not re-run');
  assert.equal(calls.readV2, 1);
  assert.equal(events.length, 1);
  assert.match(events[0], /execution .* step 1: journal recorded `read` \(idempotent\), code asked for `readV2` \(idempotent\)/);
  const execution = await changed.get(id);
  assert.equal(execution?.attempt, 2);
  const attempt2 = await fx.engine.backend.readSegment(id, 2, 0, 100);
  assert.deepEqual(attempt2.map((r) => `${r.kind}:${r.stepName}`), ['step_result:charge', 'step_result:readV2', 'step_result:finish', 'execution_finished:null']);
});

test('a changed fingerprint of the same step is a divergence that says the inputs changed', async (t) => {
  const calls: Record<string, number> = {};
  const { fx, id } = await interruptedAtStep2(t, calls);
  const changed = fx.another('w2', [{
    ...threeSteps(calls),
    run: async (ctx) => ctx.step({ name: 'charge', effect: 'exactly_once', intent: 'money', policy: 'fail', fingerprint: 'order-2' }, () => 'charged again'),
  }]);
  const messages: string[] = [];
  changed.onEvent((e) => e.type === 'divergence' && messages.push(e.message));
  const outcome = await (await changed.resume(id)).done;
  assert.deepEqual(outcome, { status: 'completed', output: 'charged again' });
  assert.match(messages[0], /step 0: journal recorded `charge` \(exactly_once, key [0-9a-f]{12}…\), code asked for `charge` \(exactly_once, key [0-9a-f]{12}…; the step's inputs changed\)/);
});

test('recovery plan: reuse a recorded result, preserve a recorded failure, re-execute when nothing was committed', async (t) => {
  const fx = await makeRuntime(t, {
    workflows: [
      { kind: 'ok', version: 1, run: async () => 'fine' },
      { kind: 'bad', version: 1, run: async () => { throw new Error('broken'); } },
      { kind: 'empty', version: 1, run: async (ctx) => ctx.step({ name: 's', effect: 'idempotent' }, () => 'ran') },
    ],
  });
  const ok = await fx.runtime.start('ok', null);
  await ok.done;
  const bad = await fx.runtime.start('bad', null);
  await bad.done;
  // Crash between journaling the outcome and the status update: the row still says running.
  await sql(fx.file, `UPDATE executions SET status = 'running', finished_at = NULL WHERE id IN (?, ?)`, [ok.id, bad.id]);
  // An execution created but never run.
  const emptyId = '01900000-0000-7000-8000-000000000001' as ExecutionId;
  await fx.engine.backend.createExecution({ id: emptyId, kind: 'empty', version: 1, title: 'e' }, [
    fx.engine.codec.encode({ executionId: emptyId, attempt: 1, stepId: null, stepName: null, effect: null, idempotencyKey: null, kind: 'execution_started', payload: new TextEncoder().encode('{"v":null}') }),
  ]);
  const plan = await fx.runtime.plan();
  const byId = new Map(plan.map((p) => [p.execution.id, p.decision]));
  assert.deepEqual(byId.get(ok.id), { action: 'reuse', outcome: { status: 'completed', output: 'fine' } });
  assert.equal(byId.get(bad.id)?.action, 'preserve');
  assert.deepEqual(byId.get(emptyId), { action: 're_execute' });
  const handles = await fx.runtime.applyPlan(plan, () => true);
  assert.equal(handles.length, 1);
  assert.deepEqual(await handles[0].done, { status: 'completed', output: 'ran' });
  assert.equal((await fx.runtime.get(ok.id))?.status, 'completed');
  assert.equal((await fx.runtime.get(bad.id))?.status, 'failed');
});

test('an unknown workflow kind or version leaves the execution untouched and says why', async (t) => {
  const calls: Record<string, number> = {};
  const { fx, id } = await interruptedAtStep2(t, calls);
  const newer = fx.another('w2', [{ ...threeSteps(calls), version: 2 }]);
  const [item] = await newer.plan();
  assert.deepEqual(item.decision, { action: 'unknown_workflow', reason: 'it was recorded by version 1 of workflow "three", but this extension has version 2' });
  await newer.applyPlan([item], () => true);
  assert.equal((await newer.get(id))?.status, 'running');
  await assert.rejects(newer.resume(id), /cannot be resumed: it was recorded by version 1/);
  const none = fx.another('w3', []);
  const [missing] = await none.plan();
  assert.equal(missing.decision.action, 'unknown_workflow');
});

test('a live lease keeps a second owner out; an expired one is taken over', async (t) => {
  let now = 1_700_000_000_000;
  const calls: Record<string, number> = {};
  const stopAt = gate();
  const fx = await makeRuntime(t, { workflows: [threeSteps(calls, { stopAt })], clock: () => now, config: { leaseMs: 10_000 } });
  const h = await fx.runtime.start('three', null);
  await stopAt.promise;
  await fx.runtime.dispose();
  assert.equal((await h.done).status, 'interrupted');
  assert.notEqual(await fx.engine.backend.acquireLease(h.id, 'crashed-window', 10_000), undefined);
  const other = fx.another('w2', [threeSteps(calls)]);
  await assert.rejects(other.resume(h.id), (e: unknown) => isDurableError(e, 'lease_held') && /crashed-window/.test(e.message));
  const [item] = await other.plan();
  assert.equal(item.decision.action, 'owned_elsewhere');
  now += 10_001;
  assert.deepEqual(await (await other.resume(h.id)).done, { status: 'completed', output: 'charged/read/finished' });
});

test('a started execution is leased from its first commit, and a finished run leaves no lease and no "lease lost"', async (t) => {
  const inside = gate();
  const goOn = gate();
  const leased: WorkflowDefinition<null, string> = {
    kind: 'leased', version: 1,
    run: async (ctx) => {
      await ctx.step({ name: 'hold', effect: 'idempotent' }, async () => {
        inside.open();
        await goOn.promise;
      });
      return ctx.step({ name: 'last', effect: 'exactly_once', policy: 'rerun' }, () => 'done');
    },
  };
  // Heartbeats every 100 ms: some fall after the run finished.
  const fx = await makeRuntime(t, { config: { leaseMs: 300 }, workflows: [leased] });
  const backend = fx.engine.backend;
  const calls = { acquire: 0, release: 0 };
  const acquire = backend.acquireLease.bind(backend);
  const release = backend.releaseLease.bind(backend);
  backend.acquireLease = (...args) => (calls.acquire++, acquire(...args));
  backend.releaseLease = (...args) => (calls.release++, release(...args));
  const h = await fx.runtime.start('leased', null);
  const first = await backend.getExecution(h.id);
  assert.match(String(first?.leaseOwner), /^test-owner#/, 'held by this run from the commit that created it');
  assert.equal(first?.leaseEpoch, 1);
  await inside.promise;
  const other = fx.another('w2', [leased]);
  await assert.rejects(other.resume(h.id), (e: unknown) => isDurableError(e, 'lease_held'), 'another window cannot claim it');
  await new Promise((r) => setTimeout(r, 250));
  goOn.open();
  assert.deepEqual(await h.done, { status: 'completed', output: 'done' });
  await new Promise((r) => setTimeout(r, 350)); // past a few more heartbeat periods
  const done = await backend.getExecution(h.id);
  assert.deepEqual([done?.status, done?.leaseOwner], ['completed', null]);
  assert.deepEqual(calls, { acquire: 1, release: 0 }, "this run claimed nothing and released nothing (the one claim is the other window's try)");
  assert.deepEqual(fx.warnings.filter((w) => /lease/.test(w)), [], 'no "lease lost" after finishing cleared it');
});

test('a run whose lease is taken over stops without writing another outcome', async (t) => {
  const started = gate();
  const fx = await makeRuntime(t, {
    config: { leaseMs: 1_000 },
    workflows: [{
      kind: 'slow', version: 1,
      run: async (ctx) => ctx.step({ name: 'wait', effect: 'idempotent' }, async (h) => {
        started.open();
        await new Promise((_, reject) => h.signal.addEventListener('abort', () => reject(h.signal.reason)));
      }),
    }],
  });
  const h = await fx.runtime.start('slow', null);
  await started.promise;
  // Another owner steals the row (as if our heartbeat had stalled past expiry).
  await sql(fx.file, `UPDATE executions SET lease_owner = 'thief', lease_expires_at = ? WHERE id = ?`, [Date.now() + 60_000, h.id]);
  const outcome = await h.done;
  assert.deepEqual(outcome, { status: 'interrupted', reason: 'another window took over' });
  const execution = await fx.runtime.get(h.id);
  assert.equal(execution?.status, 'running');
  assert.equal(execution?.leaseOwner, 'thief', 'the lost lease was not released over the new owner');
});

test('replay reads in segments: memory holds a segment, not the journal', async (t) => {
  const fx = await makeRuntime(t, {
    config: { replaySegmentSize: 64 },
    workflows: [{
      kind: 'long', version: 1,
      run: async (ctx) => {
        let sum = 0;
        for (let i = 0; i < 3_000; i++) sum += await ctx.step({ name: 'add', effect: 'idempotent' }, () => i);
        return sum;
      },
    }],
  });
  const h = await fx.runtime.start('long', null);
  await h.done;
  await fx.engine.writer.flush();
  const cursor = new ReplayCursor(fx.engine.backend, h.id, 1, 64);
  for (let i = 0; i < 3_000; i++) assert.ok((await cursor.take(i))?.result, `step ${i}`);
  assert.ok(cursor.peakHeld <= 64, `held at most one segment (${cursor.peakHeld})`);
  assert.equal(cursor.replaying, false);
});

test('dispose interrupts runs; they stay running and resumable', async (t) => {
  const calls: Record<string, number> = {};
  const { fx, id } = await interruptedAtStep2(t, calls);
  const execution = await fx.engine.backend.getExecution(id);
  assert.equal(execution?.status, 'running');
  assert.equal(execution?.leaseOwner, null, 'the lease was released on shutdown');
  await assert.rejects(fx.runtime.start('three', null), /shutting down/);
});

test('an execution whose host crashed is resumed after its lease expires only if the caller consents (resumeOnStartup)', async (t) => {
  const calls: Record<string, number> = {};
  const stopAt = gate();
  const fx = await makeRuntime(t, { workflows: [threeSteps(calls, { stopAt })], config: { leaseMs: 300 } });
  const h = await fx.runtime.start('three', null);
  await stopAt.promise;
  await fx.runtime.dispose();
  await h.done;
  // The crashed host's run still holds a live lease.
  assert.ok(await fx.engine.backend.acquireLease(h.id, 'crashed-host#1', 300));
  const later = fx.another('new-host', [threeSteps(calls)]);
  const asked: string[] = [];
  const [item] = await later.plan([h.id]);
  assert.equal(item.decision.action, 'owned_elsewhere');
  await later.applyPlan([item], (i) => (asked.push(i.decision.action), false));
  await until(() => asked.length > 0, 3_000);
  assert.deepEqual(asked, ['resume'], 'asked once, when the lease expired');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(later.isActive(h.id), false, 'no consent, no resume');
  assert.equal(calls.finish, 1, 'nothing ran again');
  const again = await later.plan([h.id]);
  const [handle] = await later.applyPlan(again, () => true);
  assert.deepEqual(await handle.done, { status: 'completed', output: 'charged/read/finished' });
});

test('the recovery plan reads headers, and in full only the rows that decide', async (t) => {
  const long: WorkflowDefinition = {
    kind: 'long', version: 1,
    run: async (ctx) => {
      for (let i = 0; i < 2_000; i++) await ctx.step({ name: 'add', effect: 'idempotent' }, () => i);
      await ctx.step({ name: 'send', effect: 'exactly_once', intent: 'destructive', policy: 'ask' }, async (h) => {
        await new Promise((_, reject) => h.signal.addEventListener('abort', () => reject(h.signal.reason)));
      });
    },
  };
  const fx = await makeRuntime(t, { workflows: [long] });
  const h = await fx.runtime.start('long', null);
  await until(async () => (await fx.engine.backend.readExecutionSegment(h.id, 0, 5_000)).some((r) => r.kind === 'step_intent'));
  await fx.runtime.dispose();
  const backend = fx.engine.backend;
  let fullRows = 0;
  const readExecutionSegment = backend.readExecutionSegment.bind(backend);
  const readSegment = backend.readSegment.bind(backend);
  backend.readExecutionSegment = async (...args) => {
    const rows = await readExecutionSegment(...args);
    fullRows += rows.length;
    return rows;
  };
  backend.readSegment = async (...args) => {
    const rows = await readSegment(...args);
    fullRows += rows.length;
    return rows;
  };
  const [item] = await fx.another('w2', [long]).plan([h.id]);
  assert.equal(item.decision.action, 'await_decision');
  assert.deepEqual(item.ambiguousWindows.map((w) => `${w.stepId} ${w.stepName} ${w.policy}`), ['2000 send ask']);
  assert.ok(fullRows <= 32, `read ${fullRows} full rows of ${2_002}: the open intent's short run, not the journal`);
});
