/**
 * Hosts agent sessions on one engine: the runtime with the `agent_session`
 * workflow registered, plus what the UI needs on top of it (start, approve or
 * deny, retry, cancel, recover). No vscode import: the extension wraps it
 * (sessionService.ts) and the tests drive it directly.
 */
import {
  DurableRuntime,
  ensureError,
  InvalidStateError,
  NotFoundError,
  WorkflowRegistry,
  type DurableEngine,
  type ExecutionHandle,
  type ExecutionId,
  type RecoveryItem,
  type RuntimeEvent,
  type RuntimeLogger,
  type TranscriptMessage,
  type WorkflowDefinition,
} from '../durable';
import { agentSessionWorkflow, AGENT_SESSION_KIND, type AgentDeps, type AgentInput, type ModelAmbiguityPolicy } from './agentWorkflow';
import type { ModelSpec } from './model';
import { UNDO_KIND, undoWorkflow, type UndoInput } from './undoWorkflow';
import { recordedTurns } from './fork';
import type { ApprovalDecision } from './tools';

export interface SessionLimits {
  readonly maxTurns: number;
  readonly tokenBudget: number;
  readonly modelAmbiguity: ModelAmbiguityPolicy;
  /** Money after which a session stops (millionths of `currency`); 0 for none. */
  readonly costBudgetMicros?: number;
  readonly currency?: string;
}

export interface AgentHostOptions {
  readonly engine: DurableEngine;
  readonly deps: Omit<AgentDeps, 'sessions'>;
  readonly ownerId: string;
  readonly limits: () => SessionLimits;
  readonly logger?: RuntimeLogger;
  readonly drainTimeoutMs?: number;
  /** Where this window's command records live (see RuntimeOptions.machine). */
  readonly machine?: string;
}

const MAX_TASK_CHARS = 32_000;

export class AgentHost {
  readonly runtime: DurableRuntime;
  private readonly unsubscribe: () => void;

  private readonly registry = new WorkflowRegistry();

  constructor(private readonly options: AgentHostOptions) {
    const registry = this.registry;
    registry.register(agentSessionWorkflow({ ...options.deps, sessions: () => options.engine.sessions }));
    registry.register(undoWorkflow({ workspace: options.deps.workspace, sessions: () => options.engine.sessions }));
    this.runtime = new DurableRuntime({
      engine: options.engine,
      registry,
      ownerId: options.ownerId,
      logger: options.logger,
      drainTimeoutMs: options.drainTimeoutMs,
      machine: options.machine,
    });
    this.unsubscribe = this.runtime.onEvent((event) => void this.closeTranscript(event));
  }

  get engine(): DurableEngine {
    return this.options.engine;
  }

  /** Start a session; the returned handle's `done` settles when it finishes or parks. */
  async startSession(task: string, model: ModelSpec, limits: Partial<SessionLimits> = {}): Promise<ExecutionHandle> {
    const text = typeof task === 'string' ? task.trim() : '';
    if (text.length === 0) throw new InvalidStateError('the task is empty: say what the agent should do');
    if (text.length > MAX_TASK_CHARS) throw new InvalidStateError(`the task is ${text.length} characters long; the limit is ${MAX_TASK_CHARS}`);
    const input: AgentInput = { task: text, model, ...this.options.limits(), ...limits, recordsTurns: true };
    return this.runtime.start(AGENT_SESSION_KIND, input);
  }

  /** Fork a session after one of its turns: its conversation so far from the journal, then `instruction`, live. */
  async forkSession(parent: ExecutionId, turn: number, instruction: string, model: ModelSpec): Promise<ExecutionHandle> {
    const execution = await this.runtime.get(parent);
    if (!execution) throw new NotFoundError(`session ${parent} does not exist`);
    const text = instruction.trim();
    if (text.length === 0) throw new InvalidStateError('the instruction is empty: say what the fork should do');
    const turns = await recordedTurns(this.engine, execution, turn);
    const input: AgentInput = {
      task: text,
      model,
      ...this.options.limits(),
      recordsTurns: true,
      fork: { parentId: parent, parentTitle: execution.title, turn, turns },
    };
    return this.runtime.start(AGENT_SESSION_KIND, input);
  }

  /** A workflow another extension brings (see the README's "A durable API for other extensions"). */
  registerWorkflow(definition: WorkflowDefinition): void {
    this.registry.register(definition);
  }

  unregisterWorkflow(kind: string): void {
    this.registry.unregister(kind);
  }

  /** Undo (or redo) edits of a session as an execution of its own; its `done` settles when every file is settled. */
  startUndo(input: UndoInput): Promise<ExecutionHandle> {
    return this.runtime.start(UNDO_KIND, input);
  }

  /** Approvals, questions and retry prompts still waiting for a person, oldest first. */
  async pendingApprovals(threadId: ExecutionId): Promise<TranscriptMessage[]> {
    const messages = await this.engine.sessions.messages(threadId);
    const pending: TranscriptMessage[] = [];
    for (const m of messages) {
      if (m.role !== 'approval' || m.state !== 'pending' || !m.ref) continue;
      // The transcript learns of a decision only when the session runs on: the promise row is the truth.
      if ((await this.engine.backend.getPromise(m.ref))?.status === 'pending') pending.push(m);
    }
    return pending;
  }

  /**
   * Settle an approval (or a question, or a retry prompt) as a person. The
   * resolver token is read from the sealed journal here, in the extension; it
   * never reaches the model or the webview.
   */
  async decide(promiseId: string, decision: ApprovalDecision): Promise<'settled' | 'already_settled'> {
    const token = await this.runtime.promiseToken(promiseId);
    try {
      return await this.runtime.resolvePromise(promiseId, token, { status: 'resolved', value: decision });
    } finally {
      token.fill(0);
    }
  }

  /**
   * Resume a session: one parked on a failed model call is retried (its retry
   * prompt is approved); otherwise the journal is replayed and the session goes on.
   */
  async resume(id: ExecutionId, decidedBy = 'user'): Promise<ExecutionHandle | undefined> {
    const execution = await this.runtime.get(id);
    if (!execution) throw new NotFoundError(`session ${id} does not exist`);
    const retry = (await this.pendingApprovals(id)).find((m) => m.kind === 'retry');
    if (retry?.ref) {
      await this.decide(retry.ref, { approved: true, decidedBy });
      return undefined;
    }
    return this.runtime.resume(id);
  }

  cancel(id: ExecutionId): Promise<boolean> {
    return this.runtime.cancel(id);
  }

  /** Interrupted agent sessions and what recovery would do with each. */
  async plan(): Promise<RecoveryItem[]> {
    // An undo a crash interrupted is the person's own action: it is offered like a session.
    return (await this.runtime.plan()).filter((item) => item.execution.kind === AGENT_SESSION_KIND || item.execution.kind === UNDO_KIND);
  }

  /** Act on a plan; `shouldResume` decides for every interrupted session (also ones found later, when a lease expires). */
  applyPlan(items: readonly RecoveryItem[], shouldResume: (item: RecoveryItem) => boolean): Promise<ExecutionHandle[]> {
    return this.runtime.applyPlan(items, shouldResume);
  }

  /**
   * A session that failed or was cancelled outside the workflow still gets a closing line in its
   * transcript; a cancelled one also stops its commands that still run (started before a crash).
   */
  private async closeTranscript(event: RuntimeEvent): Promise<void> {
    if (event.type !== 'execution' || (event.status !== 'failed' && event.status !== 'cancelled' && event.status !== 'aborted')) return;
    if (event.status === 'cancelled') await this.stopCommands(event.executionId);
    try {
      const thread = await this.engine.sessions.thread(event.executionId);
      if (!thread || thread.outcome !== null) return;
      const execution = await this.runtime.get(event.executionId);
      const summary = event.status === 'cancelled' ? 'Cancelled.' : `Failed: ${execution?.statusDetail ?? 'see the log'}`;
      await this.engine.sessions.append(event.executionId, [{ key: 'finished', event: { type: 'session_finished', outcome: event.status, summary } }]);
    } catch (error) {
      this.options.logger?.warn(`session ${event.executionId}: could not close the transcript: ${ensureError(error).message}`);
    }
  }

  private async stopCommands(id: ExecutionId): Promise<void> {
    try {
      const stopped = await this.options.deps.runCommand.stopExecution(id);
      if (stopped > 0) this.options.logger?.info(`session ${id}: stopped ${stopped} command${stopped === 1 ? '' : 's'} still running`);
    } catch (error) {
      this.options.logger?.warn(`session ${id}: could not stop its commands: ${ensureError(error).message}`);
    }
  }

  async dispose(): Promise<void> {
    this.unsubscribe();
    await this.runtime.dispose();
  }
}
