// One life of the agent crash test: open the journal, act as the user (approve
// commands; decide an interrupted command by looking at its visible effect),
// resume or start the session, print DONE. The parent SIGKILLs it at random.
import { existsSync, readFileSync } from 'node:fs';
import { DurableEngine } from '../../src/durable/runtime/engine';
import type { ExecutionId } from '../../src/durable/model/ids';
import { AgentHost } from '../../src/agent/agentHost';
import { ScriptedModel } from '../../src/agent/scriptedModel';
import { SupervisedCommands } from '../../src/agent/supervisedCommands';
import { BUILTIN_TOOLS, DEFAULT_TOOL_POLICY } from '../../src/agent/tools';
import { NodeWorkspace } from '../../src/agent/workspaceAccess';
import { join } from 'node:path';
import { MIGRATIONS_DIR, SUPERVISOR_SCRIPT, TEST_MASTER_KEY } from '../helpers';
import { TORTURE_PRICE } from './agentTortureScript';

async function main(): Promise<void> {
  const [file, workspace, scriptFile] = process.argv.slice(2);
  const engine = await DurableEngine.open({ file, migrationsDir: MIGRATIONS_DIR, masterKey: TEST_MASTER_KEY, config: { leaseMs: 300 } });
  const host = new AgentHost({
    engine,
    // The same window restarting: its own stale lease is taken back at once.
    ownerId: 'torture-window',
    limits: () => ({ maxTurns: 10, tokenBudget: 0, modelAmbiguity: 'rerun' }),
    logger: { info: () => undefined, warn: (m) => process.stderr.write(`warn: ${m}\n`) },
    deps: {
      createModel: async (spec) => new ScriptedModel((spec as { scriptFile: string }).scriptFile),
      workspace: () => new NodeWorkspace(workspace),
      tools: () => BUILTIN_TOOLS,
      runCommand: new SupervisedCommands({ root: join(file, '..', 'commands'), script: SUPERVISOR_SCRIPT, pollMs: 20 }),
      policy: () => DEFAULT_TOOL_POLICY,
      // Every call of the scripted model is priced: what a session costs must survive the kills.
      prices: () => ({ [`scripted: ${scriptFile.split(/[\\/]/).pop()}`]: TORTURE_PRICE }),
    },
  });
  process.stdout.write('READY\n');
  const cmdLog = `${workspace}/cmd.log`;
  let finished = false;
  for (let round = 0; round < 2000; round++) {
    const [execution] = await host.runtime.list({ kind: 'agent_session' });
    if (!execution) {
      await (await host.startSession('Build the file and run the command', { provider: 'scripted', scriptFile })).done;
      continue;
    }
    if (execution.status === 'completed') {
      finished = true;
      break;
    }
    const id = execution.id as ExecutionId;
    if (host.runtime.isActive(id)) {
      // A decision woke it in the background: let it run.
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    const pending = await host.pendingApprovals(id);
    if (pending[0]?.ref) {
      await host.decide(pending[0].ref, { approved: true, decidedBy: 'torture-user' });
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    const [item] = await host.plan();
    if (item?.decision.action === 'await_decision') {
      // The person looks at the world: the command's line is there, or it is not.
      const ran = existsSync(cmdLog) && readFileSync(cmdLog, 'utf8').includes('once');
      await host.runtime.resolveAmbiguity(id, item.decision.stepId, ran ? 'skip' : 'rerun', 'torture-user');
      continue;
    }
    if (item?.decision.action === 'owned_elsewhere') {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const handles = item ? await host.applyPlan([item], () => true) : [];
    await Promise.all(handles.map((h) => h.done));
    if (handles.length === 0) await new Promise((r) => setTimeout(r, 10));
  }
  await host.dispose();
  await engine.dispose();
  process.stdout.write(finished ? 'DONE\n' : 'GAVE_UP\n');
  if (!finished) process.exit(5);
}

main().catch((error) => {
  process.stderr.write(`child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(2);
});
