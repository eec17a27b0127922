// Crash torture: a child process runs a workflow of mixed steps whose guarded
// effects go to an external ledger; we SIGKILL it at random moments and
// restart it until the workflow completes, again and again.
// TORTURE_KILLS (default 200) and TORTURE_SEED reproduce a run; `npm run torture` runs more.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeRuntime, tempDir } from '../../helpers';
import { tortureWorkflow } from './tortureWorkflow';
import {
  assertAuditInvariant,
  assertNoDuplicateEffects,
  assertNothingLost,
  ledgerKeys,
  live,
  prng,
  snapshot,
  tempWorkDir,
  type AuditStats,
} from './tortureHarness';

const KILLS = Number(process.env.TORTURE_KILLS ?? 200);
const SEED = Number(process.env.TORTURE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const N = 24;
const GUARDED_EFFECTS = N + 2 * Math.floor(N / 5);
/** Short leases: each life waits for the killed one's lease to expire (leases belong to runs). */
const TORTURE_LEASE_MS = 300;

test(`crash torture: ${KILLS} SIGKILLs lose no committed result and repeat no guarded effect`, { timeout: 30 * 60_000 }, async (t) => {
  t.diagnostic(`torture seed ${SEED} (reproduce with TORTURE_SEED=${SEED} TORTURE_KILLS=${KILLS})`);
  const reference = await uninterruptedOutput(t);
  const random = prng(SEED);
  const stats: AuditStats = { windows: 0, decisions: {} };
  let kills = 0;
  let executions = 0;
  let lives = 0;

  // Two lanes on two cores, each with its own journal per execution.
  const lane = async (laneId: number): Promise<void> => {
    while (kills < KILLS) {
      const work = tempWorkDir();
      try {
        const file = join(work.dir, 'durable.db');
        const ledger = join(work.dir, 'ledger.txt');
        const notify = join(work.dir, 'notify.txt');
        let before = await snapshot(file);
        for (let life = 0; ; life++) {
          assert.ok(life < 500, 'the workflow never completed');
          // Mostly kill early (inside the first guarded windows), sometimes let it run long.
          const killAfter = kills < KILLS ? Math.floor(random() ** 2 * 120) : undefined;
          const result = await live([file, ledger, notify, String(N), `torture-window-${laneId}`, String(TORTURE_LEASE_MS)], killAfter);
          lives++;
          if (result.killed) {
            kills++;
            const after = await snapshot(file);
            assertNothingLost(before, after);
            assertNoDuplicateEffects(ledger);
            before = after;
            continue;
          }
          // A life that could not take the execution over this time (it said why) is followed by another.
          if (result.code === 4) continue;
          assert.equal(result.code, 0, `child exited ${result.code}: ${result.stdout} ${result.stderr}`);
          const done = result.stdout.split('\n').find((l) => l.startsWith('DONE '));
          assert.ok(done, result.stdout);
          assert.deepEqual(JSON.parse(done.slice(5)), reference, 'the output equals an uninterrupted run');
          assertNoDuplicateEffects(ledger);
          assert.equal(new Set(ledgerKeys(ledger)).size, GUARDED_EFFECTS, 'every guarded effect happened exactly once');
          const final = await snapshot(file);
          assertNothingLost(before, final);
          await assertAuditInvariant(file, final.executionId!, stats);
          executions++;
          break;
        }
      } finally {
        await work.cleanup();
      }
    }
  };
  await Promise.all([lane(1), lane(2)]);
  t.diagnostic(
    `kills ${kills}, lives ${lives}, executions completed ${executions}, ambiguous windows ${stats.windows} ` +
      `(${Object.entries(stats.decisions).map(([d, n]) => `${d} ${n}`).join(', ') || 'none'})`,
  );
  assert.ok(kills >= KILLS);
  assert.ok(stats.windows > 0, 'the kills landed inside at least one ambiguous window');
});

async function uninterruptedOutput(t: Parameters<typeof makeRuntime>[0]): Promise<unknown> {
  const dir = tempDir(t);
  const fx = await makeRuntime(t, { workflows: [tortureWorkflow(join(dir, 'ledger.txt'), join(dir, 'notify.txt'))] });
  const outcome = await (await fx.runtime.start('torture', { n: N })).done;
  assert.equal(outcome.status, 'completed');
  return outcome.status === 'completed' ? outcome.output : undefined;
}
