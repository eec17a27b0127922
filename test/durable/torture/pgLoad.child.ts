// One of the two processes of the load test: resume every interrupted
// execution of the project, as fast as it can, until all are completed; the
// other process does the same at the same time. Prints how many it ran.
import { DurableEngine } from '../../../src/durable/runtime/engine';
import { DurableRuntime } from '../../../src/durable/runtime/runtime';
import { WorkflowRegistry } from '../../../src/durable/execution/workflow';
import { engineStore, TEST_MASTER_KEY } from '../../helpers';
import { loadWorkflow } from './loadWorkflow';

async function main(): Promise<void> {
  const [file, ledger, owner, startAt, order] = process.argv.slice(2);
  const engine = await DurableEngine.open({ file, ...engineStore(file), masterKey: TEST_MASTER_KEY, config: { leaseMs: 5_000 } });
  const registry = new WorkflowRegistry();
  registry.register(loadWorkflow(ledger));
  const runtime = new DurableRuntime({ engine, registry, ownerId: owner, logger: { info: () => undefined, warn: () => undefined } });
  let ran = 0;
  let refused = 0;
  const deadline = Date.now() + 60_000;
  // Both processes begin at the same moment, from opposite ends of the list: they meet, and race, in the middle.
  await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
  for (;;) {
    const listed = await runtime.list({ kind: 'load', statuses: ['running', 'suspended'] });
    const open = order === 'reverse' ? listed.reverse() : listed;
    if (open.length === 0) break;
    if (Date.now() > deadline) throw new Error(`${open.length} executions still open after 60 s`);
    // A few at a time, like a window resuming what it finds: the other process races for the same rows.
    for (let i = 0; i < open.length; i += 4) {
      const attempts = await Promise.allSettled(open.slice(i, i + 4).map(async (e) => (await runtime.resume(e.id)).done));
      for (const a of attempts) {
        if (a.status === 'fulfilled' && a.value.status === 'completed') ran++;
        else refused++;
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await runtime.dispose();
  await engine.dispose();
  process.stdout.write(`RAN ${ran} REFUSED ${refused}\n`);
}

main().catch((error) => {
  process.stderr.write(`child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(2);
});
