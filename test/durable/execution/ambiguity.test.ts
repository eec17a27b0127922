// Ambiguous windows: a guarded step whose intent is committed but whose result is not.
// The "crash" is a shutdown while the op is running: the op is aborted, the intent stays.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AmbiguityPolicy, IntentClass } from '../../../src/durable/model/effect';
import { isDurableError } from '../../../src/durable/model/errors';
import type { ExecutionId } from '../../../src/durable/model/ids';
import type { ProbeFallback, ProbeOutcome } from '../../../src/durable/execution/stepContext';
import { isSkipped } from '../../../src/durable/execution/stepValue';
import type { WorkflowDefinition } from '../../../src/durable/execution/workflow';
import { gate, makeRuntime, type Gate, type RuntimeFixture } from '../../helpers';

interface World {
  /** Effects that actually happened, by idempotency key (the outside world). */
  ledger: Map<string, number>;
  calls: number;
  crashNext: boolean;
  started: Gate;
  /** Set: the probe cannot tell, and says why. */
  unknown?: string;
}

function effectWorkflow(world: World, policy: AmbiguityPolicy, intent: IntentClass = 'destructive', fallback?: ProbeFallback): WorkflowDefinition<null, unknown> {
  return {
    kind: 'effect', version: 1,
    async run(ctx) {
      const result = await ctx.step(
        {
          name: 'write', effect: 'exactly_once', intent, policy, ...(fallback ? { fallback } : {}),
          probe: async (h): Promise<ProbeOutcome<string>> => {
            if (world.unknown) return { done: 'unknown', detail: world.unknown };
            const key = Buffer.from(h.idempotencyKey).toString('hex');
            return world.ledger.has(key) ? { done: true, value: `already ${world.ledger.get(key)}` } : { done: false };
          },
        },
        async (h) => {
          world.calls++;
          const key = Buffer.from(h.idempotencyKey).toString('hex');
          world.ledger.set(key, (world.ledger.get(key) ?? 0) + 1);
          if (world.crashNext) {
            world.crashNext = false;
            world.started.open();
            await new Promise((_, reject) => h.signal.addEventListener('abort', () => reject(h.signal.reason), { once: true }));
          }
          return `wrote ${world.ledger.get(key)}`;
        },
      );
      return isSkipped(result) ? { skipped: result.reason } : result;
    },
  };
}

/** Start, let the op take effect, then "crash" (shutdown) before its result commits. */
async function crashInWindow(
  t: Parameters<typeof makeRuntime>[0],
  policy: AmbiguityPolicy,
  world: World,
  fallback?: ProbeFallback,
): Promise<{ fx: RuntimeFixture; id: ExecutionId }> {
  const fx = await makeRuntime(t, { workflows: [effectWorkflow(world, policy, 'destructive', fallback)] });
  const h = await fx.runtime.start('effect', null);
  await world.started.promise;
  await fx.runtime.dispose();
  assert.equal((await h.done).status, 'interrupted');
  return { fx, id: h.id };
}

function newWorld(): World {
  return { ledger: new Map(), calls: 0, crashNext: true, started: gate() };
}

async function auditsOf(fx: RuntimeFixture, id: ExecutionId) {
  return (await fx.engine.backend.listAudit(id)).map((a) => ({ step: a.stepId, policy: a.policy, decision: a.decision, by: a.decidedBy }));
}

test('the recovery plan lists the ambiguous window with its policy before anything runs', async (t) => {
  const world = newWorld();
  const { fx, id } = await crashInWindow(t, 'verify', world);
  const [item] = await fx.another('w2').plan();
  assert.equal(item.execution.id, id);
  assert.equal(item.decision.action, 'resume');
  assert.deepEqual(item.ambiguousWindows, [{ stepId: 0, stepName: 'write', intent: 'destructive', policy: 'verify', decision: undefined }]);
});

test('policy fail: the step throws AmbiguousEffectError, the op does not run, one audit record', async (t) => {
  const world = newWorld();
  const { fx, id } = await crashInWindow(t, 'fail', world);
  const outcome = await (await fx.another('w2').resume(id)).done;
  assert.ok(outcome.status === 'failed' && isDurableError(outcome.error, 'ambiguous_effect'));
  assert.equal(world.calls, 1);
  assert.deepEqual(await auditsOf(fx, id), [{ step: 0, policy: 'fail', decision: 'failed', by: 'policy' }]);
});

test('policy rerun: the op runs again with the same idempotency key, one audit record', async (t) => {
  const world = newWorld();
  const { fx, id } = await crashInWindow(t, 'rerun', world);
  const outcome = await (await fx.another('w2').resume(id)).done;
  assert.deepEqual(outcome, { status: 'completed', output: 'wrote 2' });
  assert.equal(world.ledger.size, 1, 'same key both times');
  assert.equal(world.calls, 2);
  assert.deepEqual(await auditsOf(fx, id), [{ step: 0, policy: 'rerun', decision: 'reran', by: 'policy' }]);
});

test('policy skip: the op does not run; the step returns a Skipped outcome, one audit record', async (t) => {
  const world = newWorld();
  const { fx, id } = await crashInWindow(t, 'skip', world);
  const w2 = fx.another('w2');
  const outcome = await (await w2.resume(id)).done;
  assert.ok(outcome.status === 'completed' && /skipped by policy/.test(String((outcome.output as { skipped: string }).skipped)));
  assert.equal(world.calls, 1);
  assert.deepEqual(await auditsOf(fx, id), [{ step: 0, policy: 'skip', decision: 'skipped', by: 'policy' }]);
  // A completed execution is never replayed again (no second outcome, no second audit record).
  await assert.rejects(w2.resume(id), (e: unknown) => isDurableError(e, 'already_completed'));
  assert.equal((await auditsOf(fx, id)).length, 1);
});

test('policy verify, effect happened: the probe value is recorded, the op does not run again', async (t) => {
  const world = newWorld();
  const { fx, id } = await crashInWindow(t, 'verify', world);
  const outcome = await (await fx.another('w2').resume(id)).done;
  assert.deepEqual(outcome, { status: 'completed', output: 'already 1' });
  assert.equal(world.calls, 1);
  assert.deepEqual(await auditsOf(fx, id), [{ step: 0, policy: 'verify', decision: 'verified_done', by: 'probe' }]);
});

test('policy verify, effect did not happen: the op runs again, one audit record', async (t) => {
  const world = newWorld();
  const { fx, id } = await crashInWindow(t, 'verify', world);
  world.ledger.clear(); // the effect never reached the outside world
  const outcome = await (await fx.another('w2').resume(id)).done;
  assert.deepEqual(outcome, { status: 'completed', output: 'wrote 1' });
  assert.equal(world.calls, 2);
  assert.deepEqual(await auditsOf(fx, id), [{ step: 0, policy: 'verify', decision: 'verified_not_done', by: 'probe' }]);
});

test('policy verify, the probe cannot tell: a person decides, and recovery keeps waiting for them instead of probing again', async (t) => {
  const world = newWorld();
  world.unknown = 'its record was lost';
  const { fx, id } = await crashInWindow(t, 'verify', world);
  const w2 = fx.another('w2');
  assert.equal((await (await w2.resume(id)).done).status, 'suspended');
  assert.equal((await w2.get(id))?.statusDetail, 'step 0 (write) could not be verified (its record was lost); a decision is needed');
  const [item] = await w2.plan();
  assert.deepEqual(item.decision, { action: 'await_decision', stepId: 0 });
  assert.deepEqual(await auditsOf(fx, id), [], 'no decision yet, no audit yet');
  const outcome = await (await w2.resolveAmbiguity(id, 0, 'skip', 'alice'))!.done;
  assert.ok(outcome.status === 'completed' && /skipped by a person/.test(String((outcome.output as { skipped: string }).skipped)));
  assert.deepEqual(await auditsOf(fx, id), [{ step: 0, policy: 'verify', decision: 'decided_skip', by: 'user:alice' }]);
  assert.equal(world.calls, 1);
});

test('policy verify with a declared fallback: a probe that cannot tell settles by the fallback, one audit record', async (t) => {
  for (const [fallback, decision, status] of [['rerun', 'reran', 'completed'], ['skip', 'skipped', 'completed'], ['fail', 'failed', 'failed']] as const) {
    const world = newWorld();
    world.unknown = 'no record';
    const { fx, id } = await crashInWindow(t, 'verify', world, fallback);
    const outcome = await (await fx.another(`w2-${fallback}`).resume(id)).done;
    assert.equal(outcome.status, status, fallback);
    assert.deepEqual(await auditsOf(fx, id), [{ step: 0, policy: 'verify', decision, by: 'policy' }]);
    assert.equal(world.calls, fallback === 'rerun' ? 2 : 1);
  }
});

test('a window started under another policy (before the step could be verified) is settled by the policy it was started under', async (t) => {
  // An older version ran the step with `ask`; this version declares `verify`: its probe knows nothing of that run.
  const world = newWorld();
  const { fx, id } = await crashInWindow(t, 'ask', world);
  let probed = 0;
  const verifying = effectWorkflow(world, 'verify');
  const w2 = fx.another('w2', [{ ...verifying, run: async (ctx) => {
    const r = await ctx.step({ name: 'write', effect: 'exactly_once', intent: 'destructive', policy: 'verify', probe: async () => (probed++, { done: false }) }, async () => 'wrote again');
    return isSkipped(r) ? 'skipped' : r;
  } }]);
  assert.equal((await (await w2.resume(id)).done).status, 'suspended');
  assert.equal(probed, 0, 'the probe was not asked about a run it could not have recorded');
  assert.equal(world.calls, 1, 'and nothing ran again');
  const [item] = await w2.plan();
  assert.deepEqual(item.decision, { action: 'await_decision', stepId: 0 });
});

test('policy ask: the execution suspends until a person decides; the decision is audited with who decided', async (t) => {
  for (const [decision, expected] of [['skip', 'completed'], ['rerun', 'completed'], ['fail', 'failed']] as const) {
    const world = newWorld();
    const { fx, id } = await crashInWindow(t, 'ask', world);
    const w2 = fx.another(`w2-${decision}`);
    const parked = await (await w2.resume(id)).done;
    assert.equal(parked.status, 'suspended');
    assert.equal((await w2.get(id))?.status, 'suspended');
    const [item] = await w2.plan();
    assert.deepEqual(item.decision, { action: 'await_decision', stepId: 0 });
    assert.deepEqual(await auditsOf(fx, id), [], 'no decision yet, no audit yet');
    const handle = await w2.resolveAmbiguity(id, 0, decision, 'alice');
    const outcome = await handle!.done;
    assert.equal(outcome.status, expected, decision);
    assert.deepEqual(await auditsOf(fx, id), [{ step: 0, policy: 'ask', decision: `decided_${decision}`, by: 'user:alice' }]);
    assert.equal(world.calls, decision === 'rerun' ? 2 : 1);
    await assert.rejects(w2.resolveAmbiguity(id, 0, 'skip', 'bob'), /no open ambiguous window|already decided/);
  }
});

test('a crash during a rerun opens a new window with its own single audit record', async (t) => {
  const world = newWorld();
  const { fx, id } = await crashInWindow(t, 'rerun', world);
  world.crashNext = true;
  world.started = gate();
  const w2 = fx.another('w2');
  const second = await w2.resume(id);
  await world.started.promise;
  await w2.dispose();
  assert.equal((await second.done).status, 'interrupted');
  const outcome = await (await fx.another('w3').resume(id)).done;
  assert.deepEqual(outcome, { status: 'completed', output: 'wrote 3' });
  assert.deepEqual(await auditsOf(fx, id), [
    { step: 0, policy: 'rerun', decision: 'reran', by: 'policy' },
    { step: 0, policy: 'rerun', decision: 'reran', by: 'policy' },
  ]);
  const kinds = (await fx.engine.backend.readSegment(id, 1, 0, 100)).filter((r) => r.stepId === 0).map((r) => r.kind);
  assert.deepEqual(kinds, ['step_intent', 'ambiguity_resolved', 'step_intent', 'ambiguity_resolved', 'step_intent', 'step_result']);
});

test('a cost-bearing step defaults to skip', async (t) => {
  const world = newWorld();
  const fx = await makeRuntime(t, { workflows: [{ ...effectWorkflow(world, 'skip', 'cost_bearing'), run: async (ctx) => {
    const r = await ctx.step({ name: 'model', effect: 'exactly_once' }, async (h) => {
      world.calls++;
      world.started.open();
      return new Promise((_, reject) => h.signal.addEventListener('abort', () => reject(h.signal.reason)));
    });
    return isSkipped(r) ? 'skipped' : r;
  } }] });
  const h = await fx.runtime.start('effect', null);
  await world.started.promise;
  await fx.runtime.dispose();
  const outcome = await (await fx.another('w2').resume(h.id)).done;
  assert.deepEqual(outcome, { status: 'completed', output: 'skipped' });
  assert.equal(world.calls, 1, 'a model call is never paid for twice');
});

test('a probe learns whether the interrupted attempt ran on this machine: the intent records where it ran', async (t) => {
  const seen: Array<boolean | undefined> = [];
  const world = newWorld();
  const workflow = (): WorkflowDefinition<null, unknown> => {
    const base = effectWorkflow(world, 'verify');
    return {
      ...base,
      async run(ctx, input) {
        // The same step, its probe noting what it was told before answering.
        const wrapped = new Proxy(ctx, {
          get: (target, prop, receiver) =>
            prop === 'step'
              ? (descriptor: { probe?: (h: { startedHere?: boolean }) => unknown }, op: unknown) =>
                  target.step({ ...descriptor, probe: async (h: { startedHere?: boolean }) => (seen.push(h.startedHere), descriptor.probe!(h)) } as never, op as never)
              : Reflect.get(target, prop, receiver),
        });
        return base.run(wrapped, input);
      },
    };
  };
  const fx = await makeRuntime(t, { workflows: [workflow()], machine: 'laptop:1' });
  const h = await fx.runtime.start('effect', null);
  await world.started.promise;
  await fx.runtime.dispose();
  const [intent] = (await fx.engine.backend.readSegment(h.id, 1, 0, 100)).filter((r) => r.kind === 'step_intent');
  assert.equal(fx.engine.codec.readMeta(intent as typeof intent & { kind: 'step_intent' }).machine, 'laptop:1', 'the intent names its machine');
  // Resumed on another machine: the probe is told it cannot see what the laptop left behind.
  const devBox = fx.another('dev-box', [workflow()], 'devbox:2');
  const resumed = await (await devBox.resume(h.id)).done;
  assert.equal(resumed.status, 'completed');
  assert.deepEqual(seen, [false]);
  assert.equal(world.calls, 1, 'the ledger had it: verified, not run again');
});
