// One life of the crash-torture workload: open the journal, recover (resume
// what was interrupted, or start the workflow), print DONE with the output.
// The parent kills this process with SIGKILL at random moments.
import { DurableEngine } from '../../../src/durable/runtime/engine';
import { AlreadyCompletedError, isDurableError, type StorageError } from '../../../src/durable/model/errors';
import { DurableRuntime, type ExecutionOutcome } from '../../../src/durable/runtime/runtime';
import { WorkflowRegistry } from '../../../src/durable/execution/workflow';
import { engineStore, TEST_MASTER_KEY } from '../../helpers';
import { tortureWorkflow } from './tortureWorkflow';

async function main(): Promise<void> {
  const [file, ledger, notify, n, owner, leaseMs, mode, slowMs, gate] = process.argv.slice(2);
  const engine = await DurableEngine.open({
    file,
    ...engineStore(file),
    masterKey: TEST_MASTER_KEY,
    config: leaseMs ? { leaseMs: Number(leaseMs) } : {},
  });
  const registry = new WorkflowRegistry();
  registry.register(tortureWorkflow(ledger, notify, Number(slowMs ?? 0), gate || undefined));
  const runtime = new DurableRuntime({ engine, registry, ownerId: owner, logger: { info: () => undefined, warn: (m) => process.stderr.write(`warn: ${m}\n`) } });
  const ops = { ran: 0 };
  runtime.onEvent((e) => e.type === 'step' && ops.ran++);
  if (mode === 'contend') {
    await contend(runtime, Number(n));
    await runtime.dispose();
    await engine.dispose();
    return;
  }
  // Leases belong to runs: the killed life's lease must expire before this life may take over.
  let plan = await runtime.plan();
  for (let waited = 0; plan.some((p) => p.decision.action === 'owned_elsewhere') && waited < 50; waited++) {
    const until = Math.max(...plan.map((p) => (p.decision.action === 'owned_elsewhere' ? p.decision.until : 0)));
    await new Promise((r) => setTimeout(r, Math.max(10, until - Date.now() + 10)));
    plan = await runtime.plan();
  }
  process.stdout.write('READY\n');
  let handle = (await runtime.applyPlan(plan, () => true))[0];
  if (!handle) {
    const done = (await runtime.list({ kind: 'torture' })).find((e) => e.status === 'completed');
    if (done) {
      // Finished in an earlier life: its recorded output (a completed execution is never replayed).
      const recorded = await runtime.outcome(done.id);
      handle = { id: done.id, done: Promise.resolve(recorded?.status === 'completed' ? recorded : { status: 'interrupted', reason: 'no recorded output' }) };
    } else if (plan.some((p) => p.decision.action === 'owned_elsewhere') || (await runtime.list({ kind: 'torture' })).length > 0) {
      // Owned elsewhere, or its resume did not go through this time (see the warning): never a second execution.
      process.stdout.write('OWNED_ELSEWHERE\n');
      await runtime.dispose();
      await engine.dispose();
      process.exit(4);
    } else handle = await runtime.start('torture', { n: Number(n) });
  }
  const outcome = await handle.done;
  await runtime.dispose();
  await engine.dispose();
  if (outcome.status === 'completed') {
    process.stdout.write(`DONE ${JSON.stringify(outcome.output)}\n`);
    process.exit(0);
  }
  process.stdout.write(`OUTCOME ${JSON.stringify(outcome.status === 'failed' ? { status: 'failed', message: outcome.error.message } : outcome)}\n`);
  process.exit(3);
}

/**
 * Two processes on one journal: start the execution if nobody has, else wait
 * for whoever owns it; run it only when the lease is ours. Prints what happened.
 */
async function contend(runtime: DurableRuntime, n: number): Promise<void> {
  process.stdout.write('READY\n');
  for (;;) {
    try {
      const done = await contendOnce(runtime, n);
      if (done) return;
    } catch (error) {
      // A frozen owner can hold SQLite's write lock: wait for it instead of giving up.
      if (!(isDurableError(error, 'storage') && (error as StorageError).reason === 'locked')) throw error;
      process.stdout.write('LOCKED\n');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function contendOnce(runtime: DurableRuntime, n: number): Promise<boolean> {
  {
    const [execution] = await runtime.list({ kind: 'torture' });
    if (!execution) {
      const handle = await runtime.start('torture', { n });
      process.stdout.write(`STARTED\n`);
      report(await handle.done);
      return true;
    }
    if (execution.status === 'completed') {
      const recorded = await runtime.outcome(execution.id);
      report(recorded?.status === 'completed' ? recorded : { status: 'interrupted', reason: 'no recorded output' });
      return true;
    }
    const [item] = await runtime.plan([execution.id]);
    const decision = item?.decision;
    if (decision?.action === 'owned_elsewhere') {
      process.stdout.write(`WAITING until ${decision.until}\n`);
      await new Promise((r) => setTimeout(r, Math.max(20, decision.until - Date.now() + 20)));
      return false;
    }
    let handle;
    try {
      handle = await runtime.resume(execution.id);
    } catch (error) {
      // The frozen owner's last transaction (lease checked under the write lock) completed it:
      // no takeover; the next round reports the recorded output.
      if (error instanceof AlreadyCompletedError) return false;
      throw error;
    }
    process.stdout.write(`TOOK_OVER ${Date.now()}\n`);
    report(await handle.done);
    return true;
  }
}

function report(outcome: ExecutionOutcome): void {
  if (outcome.status === 'completed') process.stdout.write(`DONE ${JSON.stringify(outcome.output)}\n`);
  else process.stdout.write(`OUTCOME ${outcome.status}${'reason' in outcome ? ` ${outcome.reason}` : ''}\n`);
}

main().catch((error) => {
  process.stderr.write(`child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(2);
});
