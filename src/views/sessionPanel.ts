/**
 * The session panel (webview): start a session, follow its transcript live,
 * approve or deny what waits for a person, cancel or resume, see tokens used.
 * Panels are restored after a window reload by a WebviewPanelSerializer, bound
 * to the session they showed, which meanwhile resumes from the journal.
 *
 * Security: strict CSP (`default-src 'none'`, script by CSPRNG nonce), local
 * resources limited to `media/`, every page message validated (protocol file).
 */
import { DisposableStore } from './disposableStore';
import * as vscode from 'vscode';
import { ensureError, type ExecutionId } from '../durable';
import type { AgentHost } from '../agent/agentHost';
import { modelDisplayName, type ModelSpec } from '../agent/model';
import type { ApprovalDecision } from '../agent/tools';
import type { SessionActivity } from './journalService';

/** What the session panel needs of the extension's session service. */
export interface SessionPanelService extends SessionActivity {
  readonly onDidStream: vscode.Event<{ threadId: string; text: string }>;
  readonly isDisposed: boolean;
  host(): Promise<AgentHost>;
  settings(): { readonly tokenBudget: number };
  modelFromSettings(): ModelSpec;
  start(task: string): Promise<ExecutionId>;
  decide(promiseId: string, decision: ApprovalDecision): Promise<void>;
  resume(id: ExecutionId): Promise<void>;
  cancel(id: ExecutionId): Promise<boolean>;
  titleOf(id: ExecutionId): Promise<string | undefined>;
  list(limit: number): Promise<ReadonlyArray<{ id: ExecutionId; title: string; status: string }>>;
}
import { webviewHtml, webviewOptions } from './webviewHtml';
import { parsePageMessage, type HostMessage, type MessageView, type SessionState } from '../shared/sessionProtocol';
import { groupOf, shortTitle } from './explorerTreeModel';
import { replaceDeadTabs, revealRestoredTab, takeOverTab, unbackedTabs } from './panelTabs';

export const SESSION_VIEW_TYPE = 'durableSessions.session';
const MAX_MESSAGES = 2_000;
const PUSH_DEBOUNCE_MS = 40;
const OPEN_PANELS_KEY = 'durableSessions.openSessionPanels';
const BLANK_TITLE = 'New agent session';

/** The tab label of a session's panel (what a restored tab is recognised by). */
export function sessionTabLabel(title: string): string {
  return `Session: ${shortTitle(title)}`;
}

interface PanelState {
  readonly threadId?: string;
}

class SessionPanel implements vscode.Disposable {
  private readonly disposables = new DisposableStore();
  private pushTimer: ReturnType<typeof setTimeout> | undefined;
  private leaseTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    public threadId: ExecutionId | undefined,
    private readonly service: SessionPanelService,
    extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly onDispose: (panel: SessionPanel) => void,
    private readonly onBind: () => void,
  ) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'durable.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, { title: 'Agent session', style: 'session.css', script: 'dist/sessionPage.js' });
    this.disposables.add(
      panel.webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => panel.visible && this.schedulePush()),
      service.onDidChange((id) => (id === undefined || id === this.threadId) && this.schedulePush()),
      service.onDidStream((s) => s.threadId === this.threadId && this.post({ type: 'stream', threadId: s.threadId, text: s.text })),
    );
  }

  private post(message: HostMessage): void {
    if (!this.disposed) void this.panel.webview.postMessage(message).then(undefined, () => undefined);
  }

  schedulePush(): void {
    if (this.pushTimer || this.disposed) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      void this.push();
    }, PUSH_DEBOUNCE_MS);
  }

  private async push(): Promise<void> {
    if (this.disposed || this.service.isDisposed) return;
    try {
      this.post({ type: 'state', state: await this.state() });
    } catch (error) {
      this.log.warn(`session panel: ${ensureError(error).message}`);
      this.post({ type: 'state', state: { threadId: this.threadId, messages: [], sessions: [], modelLabel: '', error: ensureError(error).message } });
    }
  }

  private async state(): Promise<SessionState> {
    let modelLabel = '';
    let modelProblem: string | undefined;
    try {
      modelLabel = modelDisplayName(this.service.modelFromSettings());
    } catch (error) {
      modelProblem = ensureError(error).message;
    }
    const host = await this.service.host();
    const sessions = (await this.service.list(30)).map((s) => ({ id: s.id, title: s.title, status: s.status }));
    if (!this.threadId) return { messages: [], sessions, modelLabel, modelProblem };
    const id = this.threadId;
    const [execution, thread, all, pending] = await Promise.all([
      host.runtime.get(id),
      host.engine.sessions.thread(id),
      host.engine.sessions.messages(id, 0, MAX_MESSAGES),
      host.pendingApprovals(id),
    ]);
    if (!execution) return { threadId: id, messages: [], sessions, modelLabel, modelProblem, error: `Session ${id} no longer exists (it may have been pruned).` };
    this.panel.title = sessionTabLabel(execution.title);
    this.pushAtLeaseExpiry(execution.status === 'running' && !host.runtime.isActive(id) ? execution.leaseExpiresAt : null);
    const actionable = new Set(pending.map((p) => p.ref));
    const messages: MessageView[] = all.map((m) => ({
      index: m.index,
      turn: m.turn,
      role: m.role,
      state: m.state,
      ref: m.ref,
      text: m.text,
      ...(m.detail !== undefined ? { detail: m.detail } : {}),
      ...(m.kind !== undefined ? { kind: m.kind } : {}),
      ...(m.role === 'approval' ? { actionable: actionable.has(m.ref) && !host.runtime.isActive(id) } : {}),
    }));
    let decision: SessionState['decision'];
    if (execution.status === 'suspended' || (execution.status === 'running' && !host.runtime.isActive(id))) {
      const [item] = await host.runtime.plan([id]);
      if (item?.decision.action === 'await_decision') {
        const stepId = item.decision.stepId;
        const window = item.ambiguousWindows.find((w) => w.stepId === stepId);
        decision = { stepId, stepName: window?.stepName ?? `step ${stepId}`, policy: window?.policy ?? 'ask' };
      }
    }
    const limits = this.service.settings();
    return {
      threadId: id,
      thread: {
        id,
        title: execution.title,
        model: thread?.model ?? '',
        // The same liveness the tree uses: a `running` row that nobody runs was interrupted.
        status: groupOf(execution, { now: Date.now(), isActive: (x) => host.runtime.isActive(x as ExecutionId) }) === 'interrupted' ? 'interrupted' : host.runtime.isActive(id) ? 'running' : execution.status,
        outcome: thread?.outcome ?? null,
        statusDetail: execution.statusDetail,
        turns: thread?.turnCount ?? 0,
        toolCalls: thread?.toolCalls ?? 0,
        tokensIn: thread?.tokensIn ?? 0,
        tokensOut: thread?.tokensOut ?? 0,
        budget: limits.tokenBudget,
      },
      messages,
      decision,
      sessions,
      modelLabel,
      modelProblem,
    };
  }

  /**
   * A session another (possibly dead) host still leases reads "running" until the lease runs out;
   * then it is interrupted. Nothing is committed at that moment, so the panel looks again itself.
   */
  private pushAtLeaseExpiry(expiresAt: number | null): void {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    if (expiresAt === null || this.disposed) return;
    this.leaseTimer = setTimeout(() => {
      this.leaseTimer = undefined;
      this.schedulePush();
    }, Math.min(Math.max(0, expiresAt - Date.now()) + 100, 2 ** 31 - 1));
  }

  private async receive(raw: unknown): Promise<void> {
    const message = parsePageMessage(raw);
    if (!message) {
      this.log.warn(`session panel: rejected a malformed message (${typeof raw === 'object' && raw !== null ? JSON.stringify(Object.keys(raw)).slice(0, 100) : typeof raw})`);
      return;
    }
    try {
      switch (message.type) {
        case 'ready':
          break;
        case 'start':
          this.bind(await this.service.start(message.task));
          break;
        case 'open':
          this.bind(message.threadId as ExecutionId);
          break;
        case 'newSession':
          this.bind(undefined);
          break;
        case 'decide':
          await this.service.decide(message.promiseId, { approved: message.approved, decidedBy: 'user', ...(message.answer !== undefined ? { answer: message.answer } : {}) });
          break;
        case 'resolveWindow':
          if (this.threadId) await this.service.resolveWindow(this.threadId, message.stepId, message.decision);
          break;
        case 'cancel':
          if (this.threadId) await this.service.cancel(this.threadId);
          break;
        case 'resume':
          if (this.threadId) await this.service.resume(this.threadId);
          break;
        case 'inspect':
          if (this.threadId) await vscode.commands.executeCommand('durableSessions.inspect', this.threadId);
          break;
      }
    } catch (error) {
      this.log.error(`session panel: ${message.type} failed: ${ensureError(error).message}`);
      this.post({ type: 'notice', message: `${message.type} failed: ${ensureError(error).message}` });
    }
    this.schedulePush();
  }

  bind(threadId: ExecutionId | undefined): void {
    this.threadId = threadId;
    this.onBind();
    if (!threadId) this.panel.title = BLANK_TITLE;
    this.schedulePush();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.pushTimer) clearTimeout(this.pushTimer);
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.disposables.dispose();
    this.panel.dispose();
    this.onDispose(this);
  }
}

export class SessionPanels implements vscode.Disposable, vscode.WebviewPanelSerializer<PanelState> {
  private readonly panels = new Set<SessionPanel>();
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly service: SessionPanelService,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly memento: vscode.Memento,
  ) {
    this.registration = vscode.window.registerWebviewPanelSerializer(SESSION_VIEW_TYPE, this);
  }

  private remembered(): ExecutionId[] {
    const value = this.memento.get<unknown>(OPEN_PANELS_KEY);
    return Array.isArray(value) ? value.filter((v): v is ExecutionId => typeof v === 'string' && /^[0-9a-f-]{36}$/.test(v)) : [];
  }

  /** Remember which sessions have panels, for the restore after a reload. */
  private remember(): void {
    void this.memento.update(OPEN_PANELS_KEY, this.openThreads.filter((t): t is string => t !== undefined)).then(undefined, () => undefined);
  }

  /** Show a session (revealing its panel if one is open), or a blank panel to start one. */
  open(threadId?: ExecutionId): void {
    this.show(threadId).catch((error) => this.log.error(`session panel: could not open ${threadId ?? 'a new session'}: ${ensureError(error).message}`));
  }

  private async show(threadId: ExecutionId | undefined): Promise<void> {
    const existing = [...this.panels].find((p) => p.threadId === threadId);
    if (existing) {
      existing.panel.reveal();
      existing.schedulePush();
      return;
    }
    // A tab VS Code restored in the background (not yet handed to us) is shown, not doubled.
    const title = threadId ? await this.service.titleOf(threadId).catch(() => undefined) : undefined;
    const restored = title === undefined ? undefined : unbackedTabs(SESSION_VIEW_TYPE, this.panels).find((tab) => tab.label === sessionTabLabel(title));
    const live = (): SessionPanel | undefined => [...this.panels].find((p) => p.threadId === threadId);
    if (restored && (await revealRestoredTab(restored, () => live() !== undefined))) {
      live()?.schedulePush();
      return;
    }
    if (live()) return; // restored meanwhile
    const column = restored ? await takeOverTab(restored) : vscode.ViewColumn.Active;
    this.create(threadId, column, false);
  }

  private create(threadId: ExecutionId | undefined, column: vscode.ViewColumn, preserveFocus: boolean): void {
    const panel = vscode.window.createWebviewPanel(SESSION_VIEW_TYPE, threadId ? 'Agent session' : BLANK_TITLE, { viewColumn: column, preserveFocus }, webviewOptions(this.extensionUri));
    this.track(panel, threadId);
  }

  /**
   * After the previous extension host crashed: its tabs are still on screen but dead. Each is
   * replaced by a live panel of the session it showed (recognised by its label among the sessions
   * this window had open), in the same editor group. Returns how many were replaced.
   */
  async replaceDeadTabs(): Promise<number> {
    const byLabel = new Map<string, ExecutionId>();
    for (const id of this.remembered()) {
      const title = await this.service.titleOf(id).catch(() => undefined);
      if (title !== undefined) byLabel.set(sessionTabLabel(title), id);
    }
    const replaced = await replaceDeadTabs(SESSION_VIEW_TYPE, this.panels, byLabel, (id) => [...this.panels].some((p) => p.threadId === id), (id, column, preserveFocus) =>
      this.create(id, column, preserveFocus),
    );
    if (replaced > 0) this.log.info(`replaced ${replaced} session tab${replaced === 1 ? '' : 's'} left by the crashed extension host`);
    return replaced;
  }

  /** Called by VS Code after a reload for each panel that was open. */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: PanelState | undefined): Promise<void> {
    let id = typeof state?.threadId === 'string' && /^[0-9a-f-]{36}$/.test(state.threadId) ? (state.threadId as ExecutionId) : undefined;
    // The page's own state can miss the last binding (a reload right after a start): fall back to
    // the sessions this window had open, remembered in workspace state, not yet restored.
    if (!id) {
      const restored = new Set(this.openThreads);
      id = this.remembered().find((t) => !restored.has(t));
    }
    this.log.info(`session panel restored${id ? ` for ${id}` : ''}`);
    this.track(panel, id);
  }

  private track(panel: vscode.WebviewPanel, threadId: ExecutionId | undefined): void {
    const p = new SessionPanel(panel, threadId, this.service, this.extensionUri, this.log, (gone) => {
      this.panels.delete(gone);
      // Closed by the user (not by shutdown): forget it, so a reload does not bring it back.
      if (!this.disposing) this.remember();
    }, () => this.remember());
    this.panels.add(p);
    this.remember();
    p.schedulePush();
  }

  get openThreads(): Array<string | undefined> {
    return [...this.panels].map((p) => p.threadId);
  }

  private disposing = false;

  dispose(): void {
    this.disposing = true;
    this.registration.dispose();
    for (const p of [...this.panels]) p.dispose();
  }
}
