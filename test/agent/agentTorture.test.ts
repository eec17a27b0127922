// Crash torture for agent sessions: a child runs a session that writes, edits
// and runs a command; we SIGKILL it at random moments and restart it until the
// session completes. No model call is charged twice unless the audit trail
// shows an interrupted call that was rerun; no edit or command lands twice.
// AGENT_TORTURE_RUNS (default 6) and TORTURE_SEED reproduce a run.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DurableEngine } from '../../src/durable/runtime/engine';
import { MIGRATIONS_DIR, TEST_MASTER_KEY, repoRoot, tempDir } from '../helpers';
import { live, prng } from '../durable/torture/tortureHarness';
import { SCRIPT, TORTURE_PRICE } from './agentTortureScript';
import { costOf } from '../../src/agent/pricing';

const CHILD = join(repoRoot(), 'out', 'test', 'agent', 'agentTorture.child.js');
const RUNS = Number(process.env.AGENT_TORTURE_RUNS ?? 6);
const SEED = Number(process.env.TORTURE_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** One life of the child: the claim window of an orphaned launch plus the session's own time. */
const LIFE_TIMEOUT_MS = 75_000;

test(`agent crash torture: ${RUNS} sessions killed at random points finish with every effect exactly once`, { timeout: 10 * 60_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (reproduce with TORTURE_SEED=${SEED} AGENT_TORTURE_RUNS=${RUNS})`);
  const random = prng(SEED);
  let kills = 0;
  let reruns = 0;
  let spentOnReruns = 0;
  for (let run = 0; run < RUNS; run++) {
    const dir = tempDir(t, 'das-agent-torture-');
    const workspace = join(dir, 'ws');
    mkdirSync(workspace);
    const scriptFile = join(dir, 'script.json');
    writeFileSync(scriptFile, JSON.stringify(SCRIPT));
    const file = join(dir, 'durable.db');
    let done = false;
    for (let lives = 0; !done && lives < 60; lives++) {
      const kill = lives < 8 ? Math.floor(random() * 120) : undefined;
      // A life killed between preparing a command's launch and starting its supervisor leaves a
      // launch nobody will claim; the next life waits out its claim window (30 s, CLAIM_TIMEOUT_MS
      // in supervisedCommands.ts) before it may run the command. A life's limit must outlast that
      // wait, or the safe wait reads as a hang (ci-27, seed 1575944588).
      const r = await live([file, workspace, scriptFile], kill, LIFE_TIMEOUT_MS, CHILD);
      if (r.killed) kills++;
      else {
        assert.equal(r.code, 0, `child failed: ${r.stderr}`);
        done = r.stdout.includes('DONE');
      }
    }
    assert.ok(done, 'the session completed');
    assert.equal(readFileSync(join(workspace, 'a.txt'), 'utf8'), 'A\nB\nC\n', 'each edit applied exactly once');
    assert.equal(readFileSync(join(workspace, 'cmd.log'), 'utf8'), 'once\n', 'the command ran exactly once');

    const engine = await DurableEngine.open({ file, migrationsDir: MIGRATIONS_DIR, masterKey: TEST_MASTER_KEY });
    try {
      const [execution] = await engine.backend.listExecutions({ kind: 'agent_session' });
      assert.equal(execution.status, 'completed');
      const rows = await engine.backend.readExecutionSegment(execution.id, 0, 100_000);
      const committedCalls = rows.filter((r) => r.kind === 'step_result' && r.stepName === 'model.call').length;
      const audit = await engine.backend.listAudit(execution.id);
      const modelReruns = audit.filter((a) => a.stepName === 'model.call' && a.decision === 'reran').length;
      reruns += modelReruns;
      const charges = existsSync(join(dir, 'charges.log')) ? readFileSync(join(dir, 'charges.log'), 'utf8').trim().split('\n').length : 0;
      assert.equal(committedCalls, 5, 'one committed reply per turn');
      assert.ok(charges <= committedCalls + modelReruns, `${charges} charged calls for ${committedCalls} replies and ${modelReruns} reruns of interrupted calls`);
      const thread = (await engine.sessions.thread(execution.id))!;
      assert.equal(thread.outcome, 'answered');
      // Money, counted once: the total is what an uninterrupted run costs; each audited rerun is counted
      // apart, with what its second call cost (what the provider may have charged on top).
      const costs = SCRIPT.turns.map((turn) => costOf(turn.usage, TORTURE_PRICE, false).micros);
      const uninterrupted = costs.reduce((a, b) => a + b, 0);
      assert.equal(thread.costMicros, uninterrupted, 'the session cost what an uninterrupted run costs');
      assert.equal(thread.unpricedCalls, 0);
      // A call interrupted twice has two audit records and one reply made after an interruption.
      const rerunSteps = new Set(audit.filter((a) => a.stepName === 'model.call' && a.decision === 'reran').map((a) => a.stepId)).size;
      assert.equal(thread.rerunCalls, rerunSteps, 'every model call the audit trail shows made again, and no other, is counted');
      const rerunCosts = [...new Set(audit.filter((a) => a.stepName === 'model.call' && a.decision === 'reran').map((a) => a.stepId))];
      assert.equal(rerunCosts.length === 0, thread.rerunCostMicros === 0, `reruns cost ${thread.rerunCostMicros}`);
      assert.ok(thread.rerunCostMicros <= Math.max(...costs) * rerunSteps);
      // What a person reads: one line per call made again, saying the first try may have been charged.
      const told = (await engine.sessions.messages(execution.id)).filter((m) => m.role === 'status' && m.text.startsWith('This model call was interrupted and made again'));
      assert.equal(told.length, rerunSteps);
      spentOnReruns += thread.rerunCostMicros;
      const messages = await engine.sessions.messages(execution.id);
      assert.equal(messages.filter((m) => m.role === 'assistant').length, 5, 'the transcript shows each reply once');
    } finally {
      await engine.dispose();
    }
  }
  t.diagnostic(`${kills} kills, ${reruns} interrupted model calls rerun, costing ${spentOnReruns} micro-units on top of the runs' own`);
  assert.ok(kills > 0);
});
