import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDurableError, JournalUnavailableError } from '../../../src/durable/model/errors';
import type { ExecutionId } from '../../../src/durable/model/ids';
import type { JournalAppender, NewEntry } from '../../../src/durable/model/journal';
import { StepContext, type DurableContext } from '../../../src/durable/execution/stepContext';
import { isSkipped } from '../../../src/durable/execution/stepValue';
import type { WorkflowDefinition } from '../../../src/durable/execution/workflow';
import { gate, makeRuntime } from '../../helpers';

/** Rejects when the signal aborts: stands for an operation cut short by a crash or shutdown. */
function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
}

async function journalSteps(fx: Awaited<ReturnType<typeof makeRuntime>>, id: ExecutionId, attempt = 1) {
  return (await fx.engine.backend.readSegment(id, attempt, 0, 10_000)).map((r) => ({ kind: r.kind, stepId: r.stepId, name: r.stepName }));
}

test('step ids follow call order even when steps complete in reverse order', async (t) => {
  const wf: WorkflowDefinition<null, string[]> = {
    kind: 'order', version: 1,
    async run(ctx) {
      const delays = [30, 20, 10, 0];
      const names = await Promise.all(delays.map((ms, i) =>
        ctx.step({ name: `s${i}`, effect: 'idempotent' }, async (h) => {
          await new Promise((r) => setTimeout(r, ms));
          return `${h.stepId}:s${i}`;
        })));
      return names;
    },
  };
  const fx = await makeRuntime(t, { workflows: [wf] });
  const h = await fx.runtime.start('order', null);
  const outcome = await h.done;
  assert.deepEqual(outcome, { status: 'completed', output: ['0:s0', '1:s1', '2:s2', '3:s3'] });
  const results = (await journalSteps(fx, h.id)).filter((e) => e.kind === 'step_result');
  assert.deepEqual(results.map((r) => r.name), ['s3', 's2', 's1', 's0'], 'completion order differs from call order');
  assert.deepEqual(results.map((r) => r.stepId), [3, 2, 1, 0]);
});

test('parallel reserves a contiguous block of ids before any child runs', async (t) => {
  const seen: Record<string, number> = {};
  const wf: WorkflowDefinition<null, number> = {
    kind: 'par', version: 1,
    async run(ctx) {
      const before = await ctx.step({ name: 'before', effect: 'idempotent' }, (h) => (seen.before = h.stepId));
      const block = ctx.parallel(['a', 'b', 'c'].map((n) => ({
        descriptor: { name: n, effect: 'idempotent' as const },
        op: async (h: { stepId: number }) => {
          await new Promise((r) => setTimeout(r, n === 'a' ? 20 : 0));
          return (seen[n] = h.stepId);
        },
      })));
      // Called after parallel() but before its children finish: gets the id after the block.
      const after = ctx.step({ name: 'after', effect: 'idempotent' }, (h) => (seen.after = h.stepId));
      await Promise.all([block, after]);
      return before;
    },
  };
  const fx = await makeRuntime(t, { workflows: [wf] });
  assert.equal((await (await fx.runtime.start('par', null)).done).status, 'completed');
  assert.deepEqual(seen, { before: 0, a: 1, b: 2, c: 3, after: 4 });
});

test('a replayed step never calls its op; the recorded values come back', async (t) => {
  const calls = { guarded: 0, idem: 0 };
  const seen: unknown[] = [];
  const wf: WorkflowDefinition<{ n: number }, unknown> = {
    kind: 'replay', version: 1,
    async run(ctx, input) {
      const a = await ctx.step({ name: 'compute', effect: 'idempotent' }, () => (calls.idem++, input.n * 2));
      const b = await ctx.step({ name: 'charge', effect: 'exactly_once', intent: 'money', policy: 'fail' }, () => (calls.guarded++, { paid: a }));
      const when = await ctx.now();
      const rnd = await ctx.random();
      const id = await ctx.uuid();
      seen.push({ a, b, when, rnd, id });
      // Parked, so it can be replayed (a completed execution never is).
      await ctx.sleep(60_000);
      return null;
    },
  };
  const fx = await makeRuntime(t, { workflows: [wf] });
  const first = await (await fx.runtime.start('replay', { n: 21 })).done;
  assert.equal(first.status, 'suspended');
  const id = fx.events.find((e) => e.type === 'execution')!.executionId;
  const again = await (await fx.runtime.resume(id)).done;
  assert.deepEqual(again, first);
  assert.equal(seen.length, 2);
  assert.deepEqual(seen[1], seen[0], 'replay returns exactly the recorded values, journaled clock, random and uuid included');
  assert.deepEqual(calls, { guarded: 1, idem: 1 });
});

test('a guarded step commits its intent before its op runs and its result after', async (t) => {
  let id!: ExecutionId;
  const observed: string[][] = [];
  const wf: WorkflowDefinition<null, string> = {
    kind: 'protocol', version: 1,
    async run(ctx) {
      id = ctx.executionId;
      return ctx.step({ name: 'effect', effect: 'exactly_once', policy: 'rerun' }, async () => {
        observed.push((await journalSteps(fx, id)).map((e) => e.kind));
        return 'done';
      }) as Promise<string>;
    },
  };
  const fx = await makeRuntime(t, { workflows: [wf] });
  await (await fx.runtime.start('protocol', null)).done;
  assert.deepEqual(observed, [['execution_started', 'step_intent']], 'the intent was durable when the op ran');
  assert.deepEqual((await journalSteps(fx, id)).map((e) => e.kind), ['execution_started', 'step_intent', 'step_result', 'execution_finished']);
});

test('declaring a destructive guarded step without a policy throws before anything runs', async (t) => {
  let ran = false;
  const wf: WorkflowDefinition<null, unknown> = {
    kind: 'decl', version: 1,
    async run(ctx) {
      return ctx.step({ name: 'rm', effect: 'exactly_once', intent: 'destructive' }, () => (ran = true));
    },
  };
  const fx = await makeRuntime(t, { workflows: [wf] });
  const outcome = await (await fx.runtime.start('decl', null)).done;
  assert.equal(outcome.status, 'failed');
  assert.ok(outcome.status === 'failed' && isDurableError(outcome.error, 'invalid_declaration'));
  assert.equal(ran, false);
});

test('verify without a probe is a declaration error', async (t) => {
  const wf: WorkflowDefinition<null, unknown> = {
    kind: 'noprobe', version: 1,
    run: (ctx) => ctx.step({ name: 'w', effect: 'exactly_once', intent: 'destructive', policy: 'verify' }, () => 1),
  };
  const fx = await makeRuntime(t, { workflows: [wf] });
  const outcome = await (await fx.runtime.start('noprobe', null)).done;
  assert.ok(outcome.status === 'failed' && /needs a probe/.test(outcome.error.message));
});

test('a failing op is retried with backoff; the final failure is journaled and replayed without calling op', async (t) => {
  let tries = 0;
  const wf: WorkflowDefinition<{ failTimes: number }, unknown> = {
    kind: 'retry', version: 1,
    async run(ctx, input) {
      return ctx.step({ name: 'flaky', effect: 'at_least_once', retry: { attempts: 3, initialDelayMs: 1 } }, (h) => {
        tries++;
        if (h.tryNumber <= input.failTimes) throw new TypeError(`try ${h.tryNumber} failed`);
        return h.tryNumber;
      });
    },
  };
  const fx = await makeRuntime(t, { workflows: [wf] });
  assert.deepEqual(await (await fx.runtime.start('retry', { failTimes: 2 })).done, { status: 'completed', output: 3 });
  tries = 0;
  const failing = await fx.runtime.start('retry', { failTimes: 5 });
  const outcome = await failing.done;
  assert.equal(tries, 3);
  assert.ok(outcome.status === 'failed' && outcome.error.message === 'try 3 failed');
  tries = 0;
  const replayed = await (await fx.runtime.resume(failing.id)).done;
  assert.equal(tries, 0, 'the recorded failure is rethrown without calling op');
  assert.ok(replayed.status === 'failed' && replayed.error.message === 'try 3 failed' && isDurableError(replayed.error, 'step_failed'));
  const execution = await fx.runtime.get(failing.id);
  assert.equal(execution?.status, 'failed');
  assert.match(execution?.statusDetail ?? '', /step_failed: try 3 failed/);
});

test('the step cap stops an execution with a clear error', async (t) => {
  const wf: WorkflowDefinition<null, unknown> = {
    kind: 'cap', version: 1,
    async run(ctx) {
      for (let i = 0; i < 10; i++) await ctx.step({ name: `s${i}`, effect: 'idempotent' }, () => i);
    },
  };
  const fx = await makeRuntime(t, { workflows: [wf], config: { maxStepsPerExecution: 5 } });
  const outcome = await (await fx.runtime.start('cap', null)).done;
  assert.ok(outcome.status === 'failed' && isDurableError(outcome.error, 'step_limit') && /more than 5 steps/.test(outcome.error.message));
});

test('an unconfirmed intent fails closed: the guarded op never runs, later steps refuse, an unguarded step still runs', async (t) => {
  const fx = await makeRuntime(t);
  const failingAcks: JournalAppender = {
    appendBuffered: (e: NewEntry) => fx.engine.writer.appendBuffered(e),
    appendAcked: () => Promise.reject(new JournalUnavailableError('did not confirm within 5 ms')),
    flush: () => fx.engine.writer.flush(),
  };
  const warnings: string[] = [];
  const degraded: number[] = [];
  const ctx = new StepContext({
    executionId: '0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b' as ExecutionId, attempt: 1, journal: failingAcks, reader: fx.engine.backend,
    codec: fx.engine.codec, cursor: undefined, config: { maxStepsPerExecution: 10 }, signal: new AbortController().signal,
    clock: Date.now, warn: (m) => warnings.push(m), events: { onDegraded: (s) => degraded.push(s) },
  });
  const unguarded = await ctx.step({ name: 'read', effect: 'idempotent' }, () => 'read');
  assert.equal(unguarded, 'read', 'unguarded steps buffer their result and are not stopped by an ack timeout');
  let ran = 0;
  await assert.rejects(
    ctx.step({ name: 'effect', effect: 'exactly_once', policy: 'rerun' }, () => (ran++, 'ran')),
    (e: unknown) => isDurableError(e, 'journal_unavailable'),
  );
  assert.equal(ran, 0, 'an op whose intent was not confirmed never runs');
  assert.ok(ctx.journalFailure, 'the attempt knows the journal failed');
  await assert.rejects(ctx.step({ name: 'next', effect: 'idempotent' }, () => (ran++, 'next')), (e: unknown) => isDurableError(e, 'journal_unavailable'));
  assert.equal(ran, 0, 'nothing runs after the failure in this attempt');
  assert.deepEqual(degraded, [1]);
  assert.match(warnings[0], /step 1 \(effect\): step_intent not confirmed by the journal; its operation was not run and the execution is suspended \(journal unavailable\)/);
});

test('cancellation reaches the running op; the execution is terminal and never resumed', async (t) => {
  const started = gate();
  let sawAbort = false;
  const wf: WorkflowDefinition<null, unknown> = {
    kind: 'cancel', version: 1,
    async run(ctx) {
      await ctx.step({ name: 'long', effect: 'idempotent' }, async (h) => {
        started.open();
        try {
          await hang(h.signal);
        } finally {
          sawAbort = h.signal.aborted;
        }
      });
    },
  };
  const fx = await makeRuntime(t, { workflows: [wf] });
  const h = await fx.runtime.start('cancel', null);
  await started.promise;
  assert.equal(await fx.runtime.cancel(h.id), true);
  assert.deepEqual(await h.done, { status: 'cancelled' });
  assert.equal(sawAbort, true);
  assert.equal((await fx.runtime.get(h.id))?.status, 'cancelled');
  await assert.rejects(fx.runtime.resume(h.id), /never resumed/);
  assert.equal(await fx.runtime.cancel(h.id), false);
});

test('Skipped is part of the return type of steps whose policy can skip', () => {
  // Compile-time check (the file must type-check) plus a runtime guard check.
  const typed = async (ctx: DurableContext): Promise<number> => {
    const r = await ctx.step({ name: 'model', effect: 'exactly_once' }, () => 1);
    if (isSkipped(r)) return -1;
    const exact: number = await ctx.step({ name: 'pay', effect: 'exactly_once', intent: 'money', policy: 'fail' }, () => 2);
    return r + exact;
  };
  void typed;
  assert.equal(isSkipped({ skipped: true, stepId: 1, stepName: 'x', reason: 'r' }), true);
  assert.equal(isSkipped({ skipped: true }), false);
  assert.equal(isSkipped(null), false);
});
