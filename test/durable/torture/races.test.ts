// In-process torture: many triggers on the same execution at once (resumes,
// timer wakes, promise settlements, plans, cancels), storage faults injected
// under them (locked, I/O errors, ack timeouts), and rows deleted from parked
// executions. Invariants: no guarded effect twice, none without its committed
// intent, damage always detected. Reports what it did.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDurableError, StorageError } from '../../../src/durable/model/errors';
import type { ExecutionId } from '../../../src/durable/model/ids';
import type { DurableRuntime } from '../../../src/durable/runtime/runtime';
import type { JournalStore } from '../../../src/durable/store/journalStore';
import type { PromiseHandle } from '../../../src/durable/execution/stepContext';
import type { WorkflowDefinition } from '../../../src/durable/execution/workflow';
import { makeRuntime, rawSql, type RuntimeFixture } from '../../helpers';
import { prng } from './tortureHarness';

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 30);
const SEED = Number(process.env.RACE_SEED ?? Date.now() % 1_000_000);
const EFFECTS = 8;

interface Report {
  rounds: number;
  races: number;
  faults: Record<string, number>;
  windows: number;
  deletions: number;
  detected: number;
  violations: string[];
}

interface World {
  /** Idempotency keys of effects that happened (hex), in order. */
  effects: string[];
  tokens: Map<string, Uint8Array>;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Guarded effects (verified against the world), short sleeps, and one approval in the middle. */
function raceWorkflow(world: World, report: Report, intentCommitted: (id: ExecutionId, key: Uint8Array) => Promise<boolean>): WorkflowDefinition<null, number> {
  return {
    kind: 'race', version: 1,
    async run(ctx) {
      let sum = 0;
      for (let i = 0; i < EFFECTS; i++) {
        const value = await ctx.step(
          {
            name: `effect-${i}`, effect: 'exactly_once', intent: 'destructive', policy: 'verify', fingerprint: String(i),
            probe: async (h) => (world.effects.includes(hex(h.idempotencyKey)) ? { done: true, value: i } : { done: false }),
          },
          async (h) => {
            if (!(await intentCommitted(ctx.executionId, h.idempotencyKey))) report.violations.push(`effect ${i} ran without its committed intent`);
            world.effects.push(hex(h.idempotencyKey));
            return i;
          },
        );
        sum += typeof value === 'number' ? value : 0;
        if (i % 3 === 2) await ctx.sleep(5);
        if (i === EFFECTS / 2) {
          const p: PromiseHandle = await ctx.promise(`approve ${i}`);
          if (p.token) world.tokens.set(p.id, p.token);
          await ctx.awaitPromise(p);
        }
      }
      return sum;
    },
  };
}

/** Wrap backend methods so they fail now and then, as a locked, failing or stalled disk would. */
function injectFaults(backend: JournalStore, random: () => number, report: Report): { enabled: boolean } {
  const state = { enabled: true };
  const count = (what: string): void => void (report.faults[what] = (report.faults[what] ?? 0) + 1);
  const append = backend.appendRows.bind(backend);
  backend.appendRows = async (rows) => {
    if (state.enabled) {
      const r = random();
      if (r < 0.04) {
        count('busy');
        throw new StorageError('locked', 'database is locked (injected)');
      }
      if (r < 0.06) {
        count('io error');
        throw new StorageError('io', 'disk I/O error (injected)');
      }
      if (r < 0.08) {
        count('ack timeout');
        await new Promise((res) => setTimeout(res, 300));
      }
    }
    return append(rows);
  };
  const read = backend.getExecution.bind(backend);
  backend.getExecution = async (id) => {
    if (state.enabled && random() < 0.02) {
      count('read error');
      throw new StorageError('io', 'disk I/O error on read (injected)');
    }
    return read(id);
  };
  return state;
}

async function settle(promise: Promise<unknown>): Promise<void> {
  await promise.catch(() => undefined);
}

/** Fire a random burst of triggers at one execution in the same tick; wait for what they started. */
async function burst(fx: RuntimeFixture, runtime: DurableRuntime, id: ExecutionId, world: World, random: () => number, report: Report): Promise<void> {
  const actions: Array<Promise<unknown>> = [];
  const n = 2 + Math.floor(random() * 4);
  for (let k = 0; k < n; k++) {
    const pick = random();
    if (pick < 0.4) actions.push(runtime.resume(id).then((h) => h.done));
    else if (pick < 0.55) actions.push(Promise.resolve().then(() => runtime.startTimers()));
    else if (pick < 0.75) {
      for (const [promiseId, token] of world.tokens) actions.push(runtime.resolvePromise(promiseId, token, { status: 'resolved', value: true }));
    } else if (pick < 0.95) actions.push(runtime.plan([id]).then((items) => runtime.applyPlan(items, () => true)).then((hs) => Promise.all(hs.map((h) => h.done))));
    else if (pick < 0.97) actions.push(runtime.cancel(id));
    else actions.push(fx.engine.writer.flush());
  }
  report.races += actions.length;
  await Promise.all(actions.map(settle));
}

test(`race torture: ${ROUNDS} rounds of concurrent triggers and injected storage faults repeat no guarded effect`, { timeout: 10 * 60_000 }, async (t) => {
  t.diagnostic(`race seed ${SEED} (reproduce with RACE_SEED=${SEED} RACE_ROUNDS=${ROUNDS})`);
  const random = prng(SEED);
  const report: Report = { rounds: 0, races: 0, faults: {}, windows: 0, deletions: 0, detected: 0, violations: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const world: World = { effects: [], tokens: new Map() };
    let faults = { enabled: false };
    const box: { fx?: RuntimeFixture } = {};
    const intentCommitted = async (id: ExecutionId, key: Uint8Array): Promise<boolean> => {
      const was = faults.enabled;
      faults.enabled = false; // the invariant check itself reads a healthy journal
      try {
        const rows = await box.fx!.engine.backend.readExecutionSegment(id, 0, 100_000);
        return rows.some((r) => r.kind === 'step_intent' && r.idempotencyKey !== null && hex(r.idempotencyKey) === hex(key));
      } finally {
        faults.enabled = was;
      }
    };
    const fx = await makeRuntime(t, { workflows: [raceWorkflow(world, report, intentCommitted)], config: { ackTimeoutMs: 250, busyTimeoutMs: 50 } });
    box.fx = fx;
    const windows = [fx.runtime, fx.another('window-2')];
    faults = injectFaults(fx.engine.backend, random, report);
    const first = await fx.runtime.start('race', null).catch(() => undefined);
    if (!first) continue;
    const id = first.id;
    await settle(first.done);
    for (let step = 0; step < 300; step++) {
      const execution = await fx.engine.backend.getExecution(id).catch(() => undefined);
      if (execution && (execution.status === 'completed' || execution.status === 'cancelled')) break;
      if (step === 250) faults.enabled = false; // let every round finish
      await burst(fx, windows[Math.floor(random() * windows.length)], id, world, random, report);
    }
    faults.enabled = false;
    const final = await fx.engine.backend.getExecution(id);
    assert.ok(final?.status === 'completed' || final?.status === 'cancelled', `round ${round} did not finish: ${final?.status} ${final?.statusDetail}`);
    if (new Set(world.effects).size !== world.effects.length) report.violations.push(`round ${round}: a guarded effect happened twice`);
    if (final.status === 'completed') {
      const outcome = await fx.runtime.outcome(id);
      if (outcome?.status !== 'completed' || outcome.output !== (EFFECTS * (EFFECTS - 1)) / 2) report.violations.push(`round ${round}: wrong output ${JSON.stringify(outcome)}`);
      if (world.effects.length !== EFFECTS) report.violations.push(`round ${round}: ${world.effects.length} effects for ${EFFECTS} steps`);
    }
    report.windows += (await fx.engine.backend.listAudit(id)).length;
    report.rounds++;
    for (const w of windows) await w.dispose();
  }
  t.diagnostic(
    `rounds ${report.rounds}, races ${report.races}, injected faults ${Object.values(report.faults).reduce((a, b) => a + b, 0)} ` +
      `(${Object.entries(report.faults).map(([k, v]) => `${k} ${v}`).join(', ')}), ambiguous windows ${report.windows}, violations ${report.violations.length}`,
  );
  assert.deepEqual(report.violations, []);
  assert.ok(report.races > ROUNDS * 2);
});

test('row deletion torture: any row deleted from a parked execution is found before anything runs again', async (t) => {
  const random = prng(SEED + 1);
  const report: Report = { rounds: 0, races: 0, faults: {}, windows: 0, deletions: 0, detected: 0, violations: [] };
  for (let round = 0; round < 12; round++) {
    const world: World = { effects: [], tokens: new Map() };
    const fx = await makeRuntime(t, { workflows: [raceWorkflow(world, report, async () => true)] });
    const h = await fx.runtime.start('race', null);
    assert.equal((await h.done).status, 'suspended', 'parked on its approval');
    const before = world.effects.length;
    const rows = await fx.engine.backend.readExecutionSegment(h.id, 0, 10_000);
    const victim = rows[Math.floor(random() * rows.length)];
    await rawSql(fx.file, 'DELETE FROM journal WHERE seq = ?', [victim.seq]);
    report.deletions++;
    const [item] = await fx.runtime.plan([h.id]);
    if (item.decision.action === 'damaged') report.detected++;
    else report.violations.push(`round ${round}: deleting ${victim.kind} (seq ${victim.seq}) was planned as ${item.decision.action}`);
    const resumed = await fx.runtime.resume(h.id).then(
      () => 'resumed',
      (e: unknown) => (isDurableError(e, 'integrity') ? 'refused' : String(e)),
    );
    if (resumed !== 'refused') report.violations.push(`round ${round}: resume after deleting ${victim.kind} was ${resumed}`);
    if (world.effects.length !== before) report.violations.push(`round ${round}: an effect ran again after a deletion`);
    report.rounds++;
  }
  t.diagnostic(`deletions ${report.deletions}, detected ${report.detected}, violations ${report.violations.length}`);
  assert.deepEqual(report.violations, []);
});
