// An agent host on a temp database and a temp workspace, driven by a scripted model.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DurableEngine } from '../../src/durable/runtime/engine';
import type { ExecutionId } from '../../src/durable/model/ids';
import { AgentHost, type SessionLimits } from '../../src/agent/agentHost';
import type { CommandRunner } from '../../src/agent/commandRunner';
import type { ModelClient, ModelSpec } from '../../src/agent/model';
import { OpenAiCompatibleModel } from '../../src/agent/openAiModel';
import { ScriptedModel } from '../../src/agent/scriptedModel';
import { SupervisedCommands } from '../../src/agent/supervisedCommands';
import { BUILTIN_TOOLS, DEFAULT_TOOL_POLICY, type ToolPolicy } from '../../src/agent/tools';
import { NodeWorkspace, type WorkspaceAccess } from '../../src/agent/workspaceAccess';
import type { PriceTable } from '../../src/agent/pricing';
import { MIGRATIONS_DIR, SUPERVISOR_SCRIPT, TEST_MASTER_KEY, tempDir, until } from '../helpers';

export interface AgentFixture {
  readonly host: AgentHost;
  readonly engine: DurableEngine;
  readonly workspace: string;
  readonly scriptFile: string;
  readonly spec: ModelSpec;
  readonly warnings: string[];
  script(turns: unknown[], extra?: Record<string, unknown>): void;
  /** Approve (or answer) the next pending approval of a session, as a person would. */
  decideNext(id: ExecutionId, approved: boolean, answer?: string): Promise<void>;
}

export async function agentFixture(
  t: { after(fn: () => void | Promise<void>): void },
  options: {
    policy?: Partial<ToolPolicy>;
    limits?: Partial<SessionLimits>;
    runCommand?: CommandRunner;
    file?: string;
    apiKey?: string;
    machine?: string;
    commandsRoot?: string;
    prices?: PriceTable;
    /** Use this workspace folder (a second window on the same checkout). */
    workspace?: string;
    /** Wrap the workspace access (to stall or count writes). */
    wrapWorkspace?: (inner: WorkspaceAccess) => WorkspaceAccess;
  } = {},
): Promise<AgentFixture> {
  const dir = tempDir(t, 'das-agent-');
  const workspace = options.workspace ?? join(dir, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const scriptFile = join(dir, 'script.json');
  const warnings: string[] = [];
  const file = options.file ?? join(dir, 'durable.db');
  const engine = await DurableEngine.open({ file, migrationsDir: MIGRATIONS_DIR, masterKey: TEST_MASTER_KEY, config: { ackTimeoutMs: 2_000 } });
  const host = new AgentHost({
    engine,
    ownerId: 'test-window',
    machine: options.machine,
    logger: { info: () => undefined, warn: (m) => warnings.push(m) },
    drainTimeoutMs: 1_000,
    limits: () => ({ maxTurns: 10, tokenBudget: 0, modelAmbiguity: 'rerun', ...options.limits }),
    deps: {
      createModel: async (spec): Promise<ModelClient> =>
        spec.provider === 'scripted'
          ? new ScriptedModel(spec.scriptFile)
          : new OpenAiCompatibleModel({ baseUrl: (spec as { baseUrl: string }).baseUrl, model: (spec as { model: string }).model, apiKey: async () => options.apiKey, timeoutMs: 1_000, maxRetryWaitMs: 50 }),
      workspace: () => (options.wrapWorkspace ?? ((w) => w))(new NodeWorkspace(workspace)),
      tools: () => BUILTIN_TOOLS,
      runCommand: options.runCommand ?? new SupervisedCommands({ root: options.commandsRoot ?? `${file}-commands`, script: SUPERVISOR_SCRIPT, pollMs: 20 }),
      policy: () => ({ ...DEFAULT_TOOL_POLICY, ...options.policy }),
      prices: () => options.prices ?? {},
    },
  });
  t.after(async () => {
    await host.dispose();
    await engine.dispose();
  });
  return {
    host,
    engine,
    workspace,
    scriptFile,
    spec: { provider: 'scripted', scriptFile },
    warnings,
    script(turns, extra = {}) {
      writeFileSync(scriptFile, JSON.stringify({ turns, ...extra }));
    },
    async decideNext(id, approved, answer) {
      let ref: string | undefined;
      await until(async () => {
        const [pending] = await host.pendingApprovals(id);
        ref = pending?.ref ?? undefined;
        return ref !== undefined;
      });
      await host.decide(ref!, { approved, decidedBy: 'tester', ...(answer !== undefined ? { answer } : {}) });
    },
  };
}

/** Wait until a session has finished (and nothing runs it here); returns its status. */
export async function settled(f: AgentFixture, id: ExecutionId, ms = 10_000): Promise<string> {
  let status = '';
  await until(async () => {
    status = (await f.host.runtime.get(id))?.status ?? '';
    return ['completed', 'failed', 'cancelled', 'aborted'].includes(status) && !f.host.runtime.isActive(id);
  }, ms);
  return status;
}
