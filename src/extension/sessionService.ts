/**
 * Agent sessions inside VS Code: builds the AgentHost on the workspace's
 * engine (rebuilt if the database is reopened), adapts settings, secrets,
 * models and tools, recovers interrupted sessions when the window opens, and
 * tells the views what changed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import { ensureError, isDurableError, isInterrupted, type ExecutionHandle, type ExecutionId, type RecoveryItem, type StoreHint, type WorkflowDefinition } from '../durable';
import { AgentHost } from '../agent/agentHost';
import { AGENT_SESSION_KIND } from '../agent/agentWorkflow';
import type { ModelClient, ModelSpec } from '../agent/model';
import { OpenAiCompatibleModel } from '../agent/openAiModel';
import { toMicros } from '../agent/pricing';
import { ScriptedModel } from '../agent/scriptedModel';
import { SupervisedCommands } from '../agent/supervisedCommands';
import { BUILTIN_TOOLS, DEFAULT_TOOL_POLICY, type ApprovalDecision } from '../agent/tools';
import { VsCodeLanguageModel } from './agent/vscodeModel';
import { externalTools } from './agent/vscodeTools';
import { VsCodeWorkspace } from './agent/vscodeWorkspace';
import { NoWorkspaceError, type DurableDatabase } from './database';
import { readAgentSettings, type AgentSettings } from './settings';

/** Who decided, for audit records: the OS account name (the journal is per machine anyway). */
function personName(): string {
  try {
    return userInfo().username || 'user';
  } catch {
    return 'user';
  }
}

export const API_KEY_SECRET = 'durableSessions.openai.apiKey';
const RECOVERY_DELAY_MS = 300;

export class SessionService implements vscode.Disposable {
  private current: AgentHost | undefined;
  private building: Promise<AgentHost> | undefined;
  private readonly _onDidChange = new vscode.EventEmitter<ExecutionId | undefined>();
  /** A session's transcript or status changed (undefined: anything may have). */
  readonly onDidChange = this._onDidChange.event;
  private readonly _onDidStream = new vscode.EventEmitter<{ threadId: string; text: string }>();
  /** Model text as it streams (not journaled; the final reply is). */
  readonly onDidStream = this._onDidStream.event;
  /** This window, in leases: a reload is a new owner, and the old one releases its leases on shutdown. */
  readonly ownerId = `window-${vscode.env.sessionId.slice(0, 12)}-${randomUUID().slice(0, 8)}`;
  private readonly unsubscribers: Array<() => void> = [];
  /** Sessions owned elsewhere whose lease expiry is already being waited for (one offer each, not one per hint). */
  private readonly watchedElsewhere = new Set<string>();
  private onInspect: ((id: ExecutionId) => void) | undefined;
  private recoveryTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    private readonly database: DurableDatabase,
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
    /** The bundled command supervisor (dist/commandSupervisor.js). */
    private readonly supervisorScript: string,
    /** The built-in tour the scripted model plays when no script file is set (media/demo/tour.json). */
    private readonly tourScript: string,
  ) {}

  /** Commands run under supervisors whose records sit next to the journal (per workspace). */
  private commandRunner(): SupervisedCommands {
    const folder = this.database.folder;
    if (folder === undefined) throw new NoWorkspaceError();
    return new SupervisedCommands({ root: join(folder, 'commands'), script: this.supervisorScript, log: (m) => this.log.info(m) });
  }

  /** This host and the folder its command records live in: what a probe on another machine cannot see. */
  private machine(): string | undefined {
    const folder = this.database.folder;
    return folder === undefined ? undefined : `${hostname()}:${createHash('sha256').update(join(folder, 'commands')).digest('hex').slice(0, 12)}`;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  settings(): AgentSettings {
    return readAgentSettings((m) => this.log.warn(m));
  }

  private folder(): vscode.Uri {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (!folder) throw new NoWorkspaceError();
    return folder;
  }

  /** The host on the current engine; a reopened database gets a new host. */
  async host(): Promise<AgentHost> {
    if (this.disposed) throw new Error('Durable Sessions is shutting down');
    const engine = await this.database.get();
    if (this.current?.engine === engine) return this.current;
    if (this.building) return this.building;
    this.building = (async () => {
      await this.shutdownHost();
      const settings = (): AgentSettings => this.settings();
      const commands = this.commandRunner();
      const host = new AgentHost({
        engine,
        ownerId: this.ownerId,
        machine: this.machine(),
        logger: { info: (m) => this.log.info(m), warn: (m) => this.log.warn(m) },
        limits: () => {
          const s = settings();
          return { maxTurns: s.maxTurns, tokenBudget: s.tokenBudget, modelAmbiguity: s.interruptedModelCall, costBudgetMicros: toMicros(s.costBudget), currency: s.currency };
        },
        deps: {
          createModel: (spec) => this.createModel(spec),
          workspace: () => new VsCodeWorkspace(this.folder()),
          tools: () => {
            const s = settings();
            const own = new Set(BUILTIN_TOOLS.map((t) => t.schema.name));
            return s.offerExternalTools ? [...BUILTIN_TOOLS, ...externalTools(own, s.externalToolEffects)] : BUILTIN_TOOLS;
          },
          runCommand: commands,
          policy: () => {
            const s = settings();
            return { ...DEFAULT_TOOL_POLICY, requireCommandApproval: s.requireCommandApproval, commandAmbiguity: s.interruptedCommand, commandTimeoutMs: s.commandTimeoutSeconds * 1000 };
          },
          onText: (threadId, text) => this._onDidStream.fire({ threadId, text }),
          prices: () => settings().prices,
        },
      });
      const hints = engine.backend.watch((hint) => this.onStoreHint(host, hint));
      this.unsubscribers.push(
        () => hints.dispose(),
        engine.sessions.onAppended((threadId) => this._onDidChange.fire(threadId)),
        host.runtime.onEvent((event) => {
          if (event.type === 'execution' || event.type === 'ambiguity' || event.type === 'promise') this._onDidChange.fire(event.executionId);
          if (event.type === 'execution') this.log.info(`session ${event.executionId}: ${event.status}`);
          if (event.type === 'ambiguity') this.log.info(`session ${event.executionId} step ${event.stepId} (${event.name}): interrupted; ${event.policy} → ${event.decision}`);
          if (event.type === 'degraded') this.log.warn(`session ${event.executionId} step ${event.stepId}: ${event.message}`);
          if (event.type === 'divergence') this.log.warn(`session ${event.executionId}: ${event.message}`);
        }),
      );
      for (const definition of this.external.values()) host.registerWorkflow(definition);
      this.current = host;
      // Records of commands whose sessions ended (or were pruned) are dropped; running ones stay.
      void commands
        .sweep(async (id) => {
          try {
            const execution = await engine.backend.getExecution(id as ExecutionId);
            return execution !== undefined && (execution.status === 'running' || execution.status === 'suspended');
          } catch (error) {
            this.log.warn(`command records of ${id} kept: its session could not be read (${ensureError(error).message})`);
            return true;
          }
        })
        .then((n) => n > 0 && this.log.info(`dropped the command records of ${n} finished session${n === 1 ? '' : 's'}`))
        .catch((e) => this.log.warn(`could not tidy the command records: ${ensureError(e).message}`));
      return host;
    })().finally(() => (this.building = undefined));
    return this.building;
  }

  /** The model a new session would use, from settings; throws with what to fix. */
  modelFromSettings(): ModelSpec {
    const s = this.settings();
    switch (s.provider) {
      case 'scripted': {
        if (!s.scriptFile) return { provider: 'scripted', scriptFile: this.tourScript };
        const file = isAbsolute(s.scriptFile) ? s.scriptFile : join(this.folder().fsPath, s.scriptFile);
        return { provider: 'scripted', scriptFile: file };
      }
      case 'openai':
        if (!s.openaiModel) throw new Error('set durableSessions.agent.openai.model to the model name the endpoint serves');
        return { provider: 'openai', baseUrl: s.openaiBaseUrl, model: s.openaiModel };
      default:
        return { provider: 'vscode-lm', ...(s.vscodeLmFamily ? { family: s.vscodeLmFamily } : {}) };
    }
  }

  private async createModel(spec: ModelSpec): Promise<ModelClient> {
    switch (spec.provider) {
      case 'scripted':
        return new ScriptedModel(spec.scriptFile);
      case 'openai':
        return new OpenAiCompatibleModel({ baseUrl: spec.baseUrl, model: spec.model, apiKey: async () => this.secrets.get(API_KEY_SECRET) });
      case 'vscode-lm':
        return new VsCodeLanguageModel({ vendor: spec.vendor, family: spec.family, id: spec.id });
    }
  }

  /** Start a session; resolves with its id once it is journaled (it runs on in the background). */
  async start(task: string, model: ModelSpec = this.modelFromSettings()): Promise<ExecutionId> {
    const host = await this.host();
    const handle = await host.startSession(task, model);
    this.watch(handle.id, handle.done);
    return handle.id;
  }

  private watch(id: ExecutionId, done: Promise<{ status: string; reason?: string }>): void {
    void done.then((o) => this.log.info(`session ${id} stopped: ${o.status}${o.reason ? ` (${o.reason})` : ''}`));
  }

  /** Workflows other extensions registered through the API, kept across hosts (a new engine builds a new host). */
  private readonly external = new Map<string, WorkflowDefinition>();

  /** Register another extension's workflow kind; disposing it takes the kind away again. */
  registerWorkflow(definition: WorkflowDefinition): vscode.Disposable {
    if (!/^[a-z][a-z0-9_-]*\.[a-z0-9_.-]+$/.test(definition.kind)) {
      throw new Error(`workflow kind ${JSON.stringify(definition.kind)} must be namespaced by its extension, e.g. "acme.deploy"`);
    }
    if (this.external.has(definition.kind)) throw new Error(`workflow kind ${definition.kind} is already registered`);
    this.current?.registerWorkflow(definition);
    this.external.set(definition.kind, definition);
    this.log.info(`workflow kind ${definition.kind} v${definition.version} registered by another extension`);
    return new vscode.Disposable(() => {
      this.external.delete(definition.kind);
      this.current?.unregisterWorkflow(definition.kind);
    });
  }

  isExternalKind(kind: string): boolean {
    return this.external.has(kind);
  }

  /** Start an execution of a kind another extension registered. */
  async startExternal(kind: string, input: unknown): Promise<ExecutionHandle> {
    if (!this.external.has(kind)) throw new Error(`no workflow of kind ${kind} is registered (register it first, in this window)`);
    return (await this.host()).runtime.start(kind, input);
  }

  /** Resume an interrupted or parked execution of another extension's kind (its extension decides when). */
  async resumeExternal(id: ExecutionId): Promise<ExecutionHandle> {
    const host = await this.host();
    const execution = await host.runtime.get(id);
    if (!execution) throw new Error(`execution ${id} does not exist (it may have been pruned)`);
    if (!this.external.has(execution.kind)) throw new Error(`execution ${id} is of kind ${execution.kind}, which no extension registered in this window`);
    return host.runtime.resume(id);
  }

  /** The workspace as the agent's tools see it (undo reads and restores files through it). */
  workspace(): VsCodeWorkspace {
    return new VsCodeWorkspace(this.folder());
  }

  /** The currency the price table is in (durableSessions.agent.currency). */
  currency(): string {
    return this.settings().currency;
  }

  /** Is the execution running in this window right now? (False before the host exists.) */
  isActive(id: ExecutionId): boolean {
    return this.current?.runtime.isActive(id) ?? false;
  }

  async decide(promiseId: string, decision: ApprovalDecision): Promise<void> {
    const outcome = await (await this.host()).decide(promiseId, decision);
    if (outcome === 'already_settled') this.log.info(`approval ${promiseId} was already decided`);
  }

  async resolveWindow(id: ExecutionId, stepId: number, decision: 'rerun' | 'skip' | 'fail'): Promise<void> {
    const handle = await (await this.host()).runtime.resolveAmbiguity(id, stepId, decision, personName());
    if (handle) this.watch(id, handle.done);
  }

  /** Resume; a second click while it is already launching or running here is answered quietly (logged, no error). */
  async resume(id: ExecutionId): Promise<void> {
    try {
      const handle = await (await this.host()).resume(id);
      if (handle) this.watch(id, handle.done);
    } catch (error) {
      if (!isDurableError(error, 'already_running')) throw error;
      this.log.info(`session ${id} is already running in this window`);
    }
  }

  async cancel(id: ExecutionId): Promise<boolean> {
    return (await this.host()).cancel(id);
  }

  /** After activation: find interrupted sessions and act on the resume setting. Never on the activation path. */
  scheduleRecovery(onInspect: (id: ExecutionId) => void): void {
    this.recoveryTimer = setTimeout(() => {
      this.recoveryTimer = undefined;
      void this.recover(onInspect).catch((error) => this.log.warn(`recovery failed: ${ensureError(error).message}`));
    }, RECOVERY_DELAY_MS);
  }

  private async recover(onInspect: (id: ExecutionId) => void): Promise<void> {
    this.onInspect = onInspect;
    // No journal yet: nothing to recover, and no reason to create one.
    if (!this.database.hasJournal || this.disposed) return;
    const host = await this.host();
    const items = await host.plan();
    const runnable = (i: RecoveryItem): boolean => i.decision.action === 'resume' || i.decision.action === 're_execute';
    const interrupted = items.filter(runnable);
    this.log.info(`recovery: ${items.length} unfinished sessions, ${interrupted.length} interrupted; resumeOnStartup=${this.settings().resumeOnStartup}`);
    for (const item of items) if (item.decision.action === 'owned_elsewhere') this.watchedElsewhere.add(item.execution.id);
    // Outcomes already recorded are finalized whatever the setting; nothing re-runs for them. What may
    // resume is the user's setting, on every path: now, and later when a crashed host's lease expires.
    const collected: RecoveryItem[] = [];
    let collecting = true;
    const consent = this.consent((item) => {
      if (collecting) collected.push(item);
      else void this.offer([item], onInspect).catch((e) => this.log.warn(`recovery offer failed: ${ensureError(e).message}`));
    });
    for (const handle of await host.applyPlan(items, consent)) this.watch(handle.id, handle.done);
    collecting = false;
    if (collected.length > 0) await this.offer(collected, onInspect);
  }

  /** The user's resumeOnStartup setting as a plan's consent: `ask` hands the item to `ask` and declines for now. */
  private consent(ask: (item: RecoveryItem) => void): (item: RecoveryItem) => boolean {
    return (item) => {
      const mode = this.settings().resumeOnStartup;
      if (this.disposed || mode === 'never') {
        this.log.info(`recovery: ${item.execution.id} left alone (resumeOnStartup=${mode})`);
        return false;
      }
      if (mode === 'automatic') return true;
      ask(item);
      return false;
    };
  }

  /**
   * Another machine (or window) changed an execution of this project. A
   * session it runs is watched once: if its owner dies, the lease expires and
   * the user's resume setting decides here, as after a crash of our own host.
   */
  private onStoreHint(host: AgentHost, hint: StoreHint): void {
    const id = hint.executionId as ExecutionId;
    this._onDidChange.fire(id);
    if (hint.kind === 'timer') host.runtime.startTimers();
    const onInspect = this.onInspect;
    if (hint.kind !== 'execution' || !onInspect || host.runtime.isActive(id) || this.watchedElsewhere.has(id) || this.disposed) return;
    void (async () => {
      const items = (await host.runtime.plan([id])).filter((i) => i.execution.kind === AGENT_SESSION_KIND && i.decision.action === 'owned_elsewhere');
      if (items.length === 0 || this.watchedElsewhere.has(id)) return;
      this.watchedElsewhere.add(id);
      const consent = this.consent((item) => void this.offer([item], onInspect).catch((e) => this.log.warn(`recovery offer failed: ${ensureError(e).message}`)));
      for (const handle of await host.applyPlan(items, consent)) this.watch(handle.id, handle.done);
    })().catch((error) => this.log.warn(`could not follow session ${id} of another window: ${ensureError(error).message}`));
  }

  /** Ask the person whether to resume interrupted sessions (resumeOnStartup = ask). */
  private async offer(interrupted: readonly RecoveryItem[], onInspect: (id: ExecutionId) => void): Promise<void> {
    const first = interrupted[0].execution;
    const what = interrupted.length === 1 ? `"${first.title}" was interrupted` : `${interrupted.length} agent sessions were interrupted`;
    const windows = interrupted.reduce((n, i) => n + i.ambiguousWindows.length, 0);
    const choice = await vscode.window.showInformationMessage(
      `Durable Sessions: ${what}. Resume from the journal?${windows ? ` (${windows} interrupted step${windows === 1 ? '' : 's'} ${windows === 1 ? 'will be settled by its policy' : 'will each be settled by its policy'} first)` : ''}`,
      'Resume',
      'Inspect',
      'Discard',
    );
    if (this.disposed) return;
    if (choice === 'Resume') {
      const current = await this.host();
      for (const handle of await current.applyPlan(interrupted, () => true)) this.watch(handle.id, handle.done);
    } else if (choice === 'Inspect') onInspect(first.id);
    else if (choice === 'Discard') {
      for (const item of interrupted) await this.cancel(item.execution.id).catch((e) => this.log.warn(`discard ${item.execution.id}: ${ensureError(e).message}`));
    }
  }

  /** A session's title, or undefined when it does not exist (any more). */
  async titleOf(id: ExecutionId): Promise<string | undefined> {
    return (await (await this.host()).runtime.get(id))?.title;
  }

  /** Recent sessions for pickers and the panel's list. */
  async list(limit = 50): Promise<Array<{ id: ExecutionId; title: string; status: string; updatedAt: number }>> {
    const host = await this.host();
    const executions = await host.runtime.list({ kind: AGENT_SESSION_KIND, limit });
    const now = Date.now();
    const status = (e: (typeof executions)[number]): string => (isInterrupted(e, now, (x) => host.runtime.isActive(x)) ? 'interrupted' : e.status);
    return executions.map((e) => ({ id: e.id, title: e.title, status: status(e), updatedAt: e.updatedAt }));
  }

  /** Interrupt running sessions (they stay resumable); used before the database closes. */
  async shutdownHost(): Promise<void> {
    const host = this.current;
    this.current = undefined;
    for (const u of this.unsubscribers.splice(0)) u();
    await host?.dispose();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.recoveryTimer) clearTimeout(this.recoveryTimer);
    await this.building?.catch(() => undefined);
    await this.shutdownHost();
    this._onDidChange.dispose();
    this._onDidStream.dispose();
  }
}
