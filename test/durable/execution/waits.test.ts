// Durable timers and promises (issue 5): a controllable clock drives due times.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDurableError } from '../../../src/durable/model/errors';
import type { ExecutionId } from '../../../src/durable/model/ids';
import type { PromiseHandle } from '../../../src/durable/execution/stepContext';
import type { WorkflowDefinition } from '../../../src/durable/execution/workflow';
import { makeRuntime, until } from '../../helpers';

const HOUR = 3_600_000;

function clock(start = 1_800_000_000_000) {
  const c = { now: start, read: () => c.now };
  return c;
}

function sleeper(ms: number, calls: { after: number }): WorkflowDefinition<null, string> {
  return {
    kind: 'sleeper', version: 1,
    async run(ctx) {
      await ctx.step({ name: 'before', effect: 'idempotent' }, () => 'x');
      await ctx.sleep(ms);
      return ctx.step({ name: 'after', effect: 'idempotent' }, () => (calls.after++, 'woke'));
    },
  };
}

test('a short sleep waits in process; its replay returns at once', async (t) => {
  const calls = { after: 0 };
  // Long enough that a replay which waited again could not pass for one that did not, even on a loaded machine.
  const short = sleeper(1_000, calls);
  // Parked on a long sleep afterwards, so the short one can be replayed (a completed execution never is).
  const thenPark: WorkflowDefinition<null, string> = { kind: 'sleeper', version: 1, run: async (ctx, input) => (await short.run(ctx, input), await ctx.sleep(HOUR), 'done') };
  const fx = await makeRuntime(t, { workflows: [thenPark] });
  const t0 = Date.now();
  const h = await fx.runtime.start('sleeper', null);
  assert.equal((await h.done).status, 'suspended');
  assert.ok(Date.now() - t0 >= 990);
  const t1 = Date.now();
  assert.equal((await (await fx.runtime.resume(h.id)).done).status, 'suspended');
  assert.ok(Date.now() - t1 < 900, 'the fired timer was not waited for again');
  assert.equal(calls.after, 1);
  const kinds = (await fx.engine.backend.readSegment(h.id, 1, 0, 100)).map((r) => r.kind);
  assert.equal(kinds.filter((k) => k === 'timer_armed').length, 2, 'the short and the parking sleep, each armed once');
  assert.equal(kinds.filter((k) => k === 'timer_fired').length, 1);
});

test('a long sleep parks the execution without its lease and fires once when due', async (t) => {
  const c = clock();
  const calls = { after: 0 };
  const fx = await makeRuntime(t, { workflows: [sleeper(HOUR, calls)], clock: c.read });
  const h = await fx.runtime.start('sleeper', null);
  const parked = await h.done;
  assert.equal(parked.status, 'suspended');
  const execution = await fx.runtime.get(h.id);
  assert.equal(execution?.status, 'suspended');
  assert.equal(execution?.leaseOwner, null, 'a parked execution holds no lease');
  assert.equal((await fx.runtime.plan())[0].decision.action, 'await_event');
  c.now += HOUR;
  fx.runtime.startTimers();
  await until(async () => (await fx.runtime.get(h.id))?.status === 'completed');
  assert.equal(calls.after, 1);
  const fired = (await fx.engine.backend.readSegment(h.id, 1, 0, 100)).filter((r) => r.kind === 'timer_fired');
  assert.equal(fired.length, 1, 'fired once');
});

test('a timer that came due while nothing ran fires on the first start', async (t) => {
  const c = clock();
  const calls = { after: 0 };
  const fx = await makeRuntime(t, { workflows: [sleeper(2 * HOUR, calls)], clock: c.read });
  const h = await fx.runtime.start('sleeper', null);
  assert.equal((await h.done).status, 'suspended');
  await fx.runtime.dispose(); // VS Code closes
  c.now += 3 * HOUR; // ... and opens again three hours later
  const next = fx.another('window-2');
  const plan = await next.plan();
  assert.equal(plan[0].decision.action, 'resume', 'the wait is over');
  await next.applyPlan(plan, () => true);
  await until(async () => (await next.get(h.id))?.status === 'completed');
  assert.equal(calls.after, 1);
});

function approval(seen: { token?: Uint8Array; replays: number }, timeoutMs?: number): WorkflowDefinition<null, unknown> {
  return {
    kind: 'approval', version: 1,
    async run(ctx) {
      const p: PromiseHandle = await ctx.promise('run `rm -rf build`?');
      if (p.token) seen.token = p.token;
      else seen.replays++;
      const decision = await ctx.awaitPromise<{ approved: boolean }>(p, { timeoutMs });
      return ctx.step({ name: 'act', effect: 'idempotent' }, () => (decision.approved ? 'ran' : 'skipped'));
    },
  };
}

async function parkedApproval(t: Parameters<typeof makeRuntime>[0], timeoutMs?: number, c = clock()) {
  const seen: { token?: Uint8Array; replays: number } = { replays: 0 };
  const fx = await makeRuntime(t, { workflows: [approval(seen, timeoutMs)], clock: c.read });
  const h = await fx.runtime.start('approval', null);
  assert.equal((await h.done).status, 'suspended');
  const [promise] = await fx.engine.backend.listPromises({ executionId: h.id });
  return { fx, id: h.id as ExecutionId, seen, promise, c };
}

test('the token is returned only on first creation; only its hash is stored', async (t) => {
  const { fx, seen, promise } = await parkedApproval(t);
  assert.equal(seen.token?.length, 32);
  assert.equal(promise.status, 'pending');
  assert.ok(!Buffer.from(promise.tokenHash).equals(Buffer.from(seen.token!)), 'the row holds a hash, not the token');
  assert.deepEqual(await fx.runtime.promiseToken(promise.id), seen.token, 'the UI can read it from the sealed journal');
});

test('a wrong token is rejected and leaves the promise untouched', async (t) => {
  const { fx, promise } = await parkedApproval(t);
  await assert.rejects(fx.runtime.resolvePromise(promise.id, new Uint8Array(32).fill(7), { status: 'resolved', value: { approved: true } }), /resolver token is not valid/);
  await assert.rejects(fx.runtime.resolvePromise('no-such-promise', new Uint8Array(32), { status: 'resolved', value: 1 }), /resolver token is not valid/);
  await assert.rejects(fx.runtime.resolvePromise(promise.id, new Uint8Array(5), { status: 'resolved', value: 1 }), /resolver token is not valid/);
  const row = await fx.engine.backend.getPromise(promise.id);
  assert.equal(row?.status, 'pending');
  assert.equal(row?.value, null);
});

test('resolving wakes the execution at once; a promise resolves once', async (t) => {
  const { fx, id, seen, promise } = await parkedApproval(t);
  assert.equal(await fx.runtime.resolvePromise(promise.id, seen.token!, { status: 'resolved', value: { approved: true } }), 'settled');
  await until(async () => (await fx.runtime.get(id))?.status === 'completed', 2_000);
  assert.equal(await fx.runtime.resolvePromise(promise.id, seen.token!, { status: 'resolved', value: { approved: false } }), 'already_settled');
  assert.equal(seen.replays, 1, 'the resumed run replayed the creation without a token');
  const finished = await fx.engine.backend.readSegment(id, 1, 0, 100);
  const sealedValue = (await fx.engine.backend.getPromise(promise.id))!.value!;
  assert.ok(!Buffer.from(sealedValue).includes(Buffer.from('approved')), 'the value is sealed at rest');
  assert.ok(finished.some((r) => r.kind === 'promise_created'));
});

test('a promise is resolved across a process restart', async (t) => {
  const { fx, id, promise } = await parkedApproval(t);
  await fx.runtime.dispose();
  const next = fx.another('window-2');
  assert.equal((await next.plan())[0].decision.action, 'await_event');
  const token = await next.promiseToken(promise.id);
  await next.resolvePromise(promise.id, token, { status: 'resolved', value: { approved: false } });
  await until(async () => (await next.get(id))?.status === 'completed');
  assert.deepEqual(await next.outcome(id), { status: 'completed', output: 'skipped' });
});

test('awaitPromise times out durably with a TimeoutError', async (t) => {
  const c = clock();
  const { fx, id } = await parkedApproval(t, HOUR, c);
  c.now += HOUR + 1;
  fx.runtime.startTimers();
  await until(async () => (await fx.runtime.get(id))?.status === 'failed');
  const execution = await fx.runtime.get(id);
  assert.match(execution?.statusDetail ?? '', /timeout: promise "run `rm -rf build`\?" was not settled within 3600000 ms/);
});

test('the number of pending promises is capped', async (t) => {
  const fx = await makeRuntime(t);
  const ctxCap = 3;
  // The cap is a context setting; exercise it through a context with a small cap.
  const { StepContext } = await import('../../../src/durable/execution/stepContext');
  const id = '01900000-0000-7000-8000-0000000000aa' as ExecutionId;
  await fx.engine.backend.createExecution({ id, kind: 'many', version: 1, title: '' });
  const ctx = new StepContext({
    executionId: id, attempt: 1, journal: fx.engine.writer, reader: fx.engine.backend, codec: fx.engine.codec, cursor: undefined,
    config: { maxStepsPerExecution: 100 }, signal: new AbortController().signal, clock: Date.now, warn: () => undefined,
    waits: fx.engine.backend, maxParkedPromises: ctxCap,
  });
  for (let i = 0; i < ctxCap; i++) await ctx.promise(`p${i}`);
  await assert.rejects(ctx.promise('one too many'), (e: unknown) => isDurableError(e, 'invalid_state') && /too many pending promises \(3\)/.test(e.message));
});

/** Close everything, then open the same durable.db again as a new process would. */
async function restart(t: Parameters<typeof makeRuntime>[0], fx: Awaited<ReturnType<typeof makeRuntime>>, workflows: WorkflowDefinition[], clockFn: () => number) {
  await fx.runtime.dispose();
  await fx.engine.dispose();
  return makeRuntime(t, { workflows, clock: clockFn, file: fx.file, ownerId: 'after-restart' });
}

test('across a full restart: a timer due during the downtime fires once, a promise resolves', async (t) => {
  const c = clock();
  const calls = { after: 0 };
  const seen: { token?: Uint8Array; replays: number } = { replays: 0 };
  const workflows = [sleeper(HOUR, calls), approval(seen)];
  const fx = await makeRuntime(t, { workflows, clock: c.read });
  const sleeping = await fx.runtime.start('sleeper', null);
  const waiting = await fx.runtime.start('approval', null);
  assert.equal((await sleeping.done).status, 'suspended');
  assert.equal((await waiting.done).status, 'suspended');
  c.now += 2 * HOUR;
  const next = await restart(t, fx, workflows, c.read);
  await next.runtime.applyPlan(await next.runtime.plan(), () => true);
  await until(async () => (await next.runtime.get(sleeping.id))?.status === 'completed');
  const [promise] = await next.engine.backend.listPromises({ executionId: waiting.id });
  await next.runtime.resolvePromise(promise.id, await next.runtime.promiseToken(promise.id), { status: 'resolved', value: { approved: true } });
  await until(async () => (await next.runtime.get(waiting.id))?.status === 'completed');
  assert.equal(calls.after, 1);
  const fired = (await next.engine.backend.readSegment(sleeping.id, 1, 0, 100)).filter((r) => r.kind === 'timer_fired');
  assert.equal(fired.length, 1);
});
