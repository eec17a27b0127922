/**
 * The session panel (webview): start a session, follow its transcript live,
 * approve or deny what waits for a person, cancel or resume, see tokens used.
 * Panels are restored after a window reload by a WebviewPanelSerializer, bound
 * to the session they showed, which meanwhile resumes from the journal.
 *
 * Security: strict CSP (`default-src 'none'`, script by CSPRNG nonce), local
 * resources limited to `media/`, every page message validated (protocol file).
 */
import { honestToolStates } from './transcriptStates';
import { costLines } from './costView';
import { formatMoney, toMicros } from '../agent/pricing';
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
  settings(): { readonly tokenBudget: number; readonly currency: string; readonly costBudget: number };
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
import { groupOf, nextLeaseExpiry, shortTitle } from './explorerTreeModel';
import { idFromState, PanelHost, type HostedPanel } from './panelHost';

export const SESSION_VIEW_TYPE = 'durableSessions.session';
const MAX_MESSAGES = 2_000;
const PUSH_DEBOUNCE_MS = 40;
const OPEN_PANELS_KEY = 'durableSessions.openSessionPanels';
const BLANK_TITLE = 'New agent session';

/** The tab label of a session's panel (what a restored tab is recognised by). */
export function sessionTabLabel(title: string): string {
  return `Session: ${shortTitle(title)}`;
}

class SessionPanel implements HostedPanel {
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

  get key(): ExecutionId | undefined {
    return this.threadId;
  }

  refresh(): void {
    this.schedulePush();
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
    const [execution, thread, all, pending, turns] = await Promise.all([
      host.runtime.get(id),
      host.engine.sessions.thread(id),
      host.engine.sessions.messages(id, 0, MAX_MESSAGES),
      host.pendingApprovals(id),
      host.engine.sessions.turns(id),
    ]);
    if (!execution) return { threadId: id, messages: [], sessions, modelLabel, modelProblem, error: `Session ${id} no longer exists (it may have been pruned).` };
    this.panel.title = sessionTabLabel(execution.title);
    const live = { now: Date.now(), isActive: (x: string) => host.runtime.isActive(x as ExecutionId) };
    this.pushAtLeaseExpiry(nextLeaseExpiry([execution], live) ?? null);
    const actionable = new Set(pending.map((p) => p.ref));
    const currency = this.service.settings().currency;
    const turnCost = new Map(turns.filter((t) => t.costMicros > 0).map((t) => [t.turn, formatMoney(t.costMicros, currency)]));
    const messages: MessageView[] = honestToolStates(all).map((m) => ({
      index: m.index,
      turn: m.turn,
      role: m.role,
      state: m.state,
      ref: m.ref,
      text: m.text,
      ...(m.detail !== undefined ? { detail: m.detail } : {}),
      ...(m.kind !== undefined ? { kind: m.kind } : {}),
      ...(m.role === 'approval' ? { actionable: actionable.has(m.ref) && !host.runtime.isActive(id) } : {}),
      ...(m.role === 'assistant' && turnCost.has(m.turn) ? { cost: turnCost.get(m.turn) } : {}),
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
        status: groupOf(execution, live) === 'interrupted' ? 'interrupted' : host.runtime.isActive(id) ? 'running' : execution.status,
        outcome: thread?.outcome ?? null,
        statusDetail: execution.statusDetail,
        turns: thread?.turnCount ?? 0,
        toolCalls: thread?.toolCalls ?? 0,
        tokensIn: thread?.tokensIn ?? 0,
        tokensOut: thread?.tokensOut ?? 0,
        budget: limits.tokenBudget,
        ...((): { cost: string | null; costNote: string | null } => {
          const lines = thread ? costLines(thread, limits.currency, toMicros(limits.costBudget)) : { cost: null, note: null };
          return { cost: lines.cost, costNote: lines.note };
        })(),
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
   * Only a live lease is waited for (`nextLeaseExpiry`): looking again at an expired one every
   * 100 ms rebuilt the page's buttons under the person's pointer.
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
        case 'fork':
          if (this.threadId) await vscode.commands.executeCommand('durableSessions.forkSession', { executionId: this.threadId, turn: message.turn });
          break;
        case 'undo':
          if (this.threadId) await vscode.commands.executeCommand('durableSessions.undoEdits', { executionId: this.threadId });
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

/** The session panels: one PanelHost of session panels. */
export class SessionPanels extends PanelHost<SessionPanel> {
  constructor(service: SessionPanelService, extensionUri: vscode.Uri, log: vscode.LogOutputChannel, memento: vscode.Memento) {
    super(
      {
        viewType: SESSION_VIEW_TYPE,
        mementoKey: OPEN_PANELS_KEY,
        name: 'session panel',
        blankAllowed: true,
        initialTitle: (key) => (key ? 'Agent session' : BLANK_TITLE),
        tabLabel: async (key) => {
          const title = await service.titleOf(key);
          return title === undefined ? undefined : sessionTabLabel(title);
        },
        make: (panel, key, events) => new SessionPanel(panel, key, service, extensionUri, log, events.gone, events.changed),
        // The page's own state can miss the last binding (a reload right after a start): fall back to
        // a session this window had open, remembered in workspace state, not yet restored.
        restoredKey: (state, unrestored) => idFromState(state, 'threadId') ?? unrestored[0],
      },
      extensionUri,
      log,
      memento,
    );
  }

  get openThreads(): Array<string | undefined> {
    return this.keys;
  }
}
