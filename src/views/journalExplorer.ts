/**
 * The journal explorer (webview): one execution's timeline, virtualized (the
 * page asks for the rows it shows), entry details with payloads opened only on
 * explicit reveal, the ambiguous-window audit records, promises, timers and
 * divergences; interrupted steps and approvals can be decided from it.
 *
 * Panels come back after a window reload through a WebviewPanelSerializer; the
 * page keeps its filter, selection and scroll position in its webview state.
 */
import { DisposableStore } from './disposableStore';
import { AGENT_SESSION_KIND } from '../agent/agentWorkflow';
import { UNDO_KIND } from '../agent/undoWorkflow';
import * as vscode from 'vscode';
import { ensureError, isPayloadKind, isTerminal, listTimers, needsAttention, toHex, type ExecutionId, type Timeline, type TimelineRow } from '../durable';
import type { JournalService } from './journalService';
import {
  EMPTY_FILTER,
  parseExplorerMessage,
  rowMatches,
  type EntryView,
  type ExplorerFilter,
  type ExplorerOverview,
  type HostMessage,
  type PageMessage,
  type RowView,
} from '../shared/explorerProtocol';
import { webviewHtml, webviewOptions } from './webviewHtml';
import { shortTitle } from './explorerTreeModel';
import { idFromState, PanelHost, type HostedPanel } from './panelHost';

export const EXPLORER_VIEW_TYPE = 'durableSessions.journal';
const REFRESH_DEBOUNCE_MS = 300;

function rowView(row: TimelineRow): RowView {
  return {
    index: row.index,
    attempt: row.attempt,
    stepId: row.stepId,
    name: row.name,
    effect: row.effect,
    status: row.status,
    startedAt: row.startedAt,
    endedAt: row.endedAt,
    entries: row.entryIndexes.length,
    retries: row.retries,
    lane: row.lane,
    keyPrefix: row.keyPrefix,
    bytes: row.bytes,
    kinds: row.kinds,
  };
}

class ExplorerPanel implements HostedPanel {
  private readonly disposables = new DisposableStore();
  private timeline: Timeline | undefined;
  private filter: ExplorerFilter = EMPTY_FILTER;
  /** Timeline row indexes that pass the filter, in order. */
  private visible: number[] = [];
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly executionId: ExecutionId,
    private readonly journal: JournalService,
    extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly onDispose: (panel: ExplorerPanel) => void,
  ) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'durable.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, { title: 'Journal explorer', style: 'explorer.css', script: 'dist/explorerPage.js' });
    this.disposables.add(
      panel.webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
      journal.onDidChange((ids) => (!ids || ids.has(executionId)) && this.scheduleRefresh()),
    );
  }

  private post(message: HostMessage): void {
    if (!this.disposed) void this.panel.webview.postMessage(message).then(undefined, () => undefined);
  }

  get key(): ExecutionId {
    return this.executionId;
  }

  refresh(): void {
    this.scheduleRefresh();
  }

  scheduleRefresh(): void {
    if (this.refreshTimer || this.disposed) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.sendOverview();
    }, REFRESH_DEBOUNCE_MS);
  }

  private applyFilter(): void {
    const rows = this.timeline?.rows ?? [];
    const f = this.filter;
    this.visible = [];
    if (!f.text && !f.kind && !f.status) {
      this.visible = rows.map((r) => r.index);
      return;
    }
    for (const row of rows) if (rowMatches(rowView(row), f)) this.visible.push(row.index);
  }

  private async sendOverview(): Promise<void> {
    if (this.disposed) return;
    try {
      this.post({ type: 'overview', overview: await this.overview() });
    } catch (error) {
      const message = ensureError(error).message;
      this.log.warn(`journal explorer ${this.executionId}: ${message}`);
      this.post({ type: 'error', message });
    }
  }

  private async overview(): Promise<ExplorerOverview> {
    let early: Promise<void> | undefined;
    // A long journal: paint the first screen from its first segment while the rest is read.
    const timeline = await this.journal.timeline(this.executionId, (partial) => {
      this.timeline = partial;
      this.applyFilter();
      early = this.describe(partial).then((o) => this.post({ type: 'overview', overview: o }), () => undefined);
    });
    await early;
    return this.describe(timeline);
  }

  private async describe(timeline: Timeline): Promise<ExplorerOverview> {
    this.timeline = timeline;
    this.applyFilter();
    const engine = await this.journal.engine();
    const live = this.journal.liveness();
    const e = timeline.execution;
    const active = live.isActive(e.id);
    const ownedElsewhere = !active && e.leaseOwner !== null && (e.leaseExpiresAt ?? 0) > live.now;
    const [audit, promises, timers, attention] = await Promise.all([
      engine.backend.listAudit(e.id),
      engine.backend.listPromises({ executionId: e.id }),
      listTimers(engine.backend, e.id),
      needsAttention(engine.backend, engine.codec, { now: live.now, isActive: live.isActive }),
    ]);
    this.panel.title = explorerTabLabel(e);
    const state = active || ownedElsewhere ? 'running' : e.status === 'running' ? 'interrupted' : e.status === 'suspended' ? 'waiting' : e.status;
    const attempts = new Map<number, number>();
    for (const r of timeline.rows) attempts.set(r.attempt, (attempts.get(r.attempt) ?? 0) + 1);
    return {
      execution: {
        id: e.id,
        kind: e.kind,
        title: e.title,
        status: e.status,
        state,
        attempt: e.attempt,
        createdAt: e.createdAt,
        updatedAt: e.updatedAt,
        statusDetail: e.statusDetail,
        entries: timeline.entries.length,
        steps: timeline.rows.filter((r) => r.stepId !== null).length,
        rows: timeline.rows.length,
        complete: timeline.complete,
        lanes: timeline.lanes,
        startedAt: timeline.startedAt,
        endedAt: timeline.endedAt,
        isSession: e.kind === AGENT_SESSION_KIND,
        isUndo: e.kind === UNDO_KIND && e.status === 'completed' && e.title.startsWith('Undo:'),
        decidable: !active && !ownedElsewhere && !isTerminal(e.status),
      },
      audit: audit.map((a) => ({
        seq: a.seq,
        stepId: a.stepId,
        stepName: a.stepName,
        effect: a.effect,
        keyPrefix: toHex(a.idempotencyKey.subarray(0, 4)),
        policy: a.policy,
        decision: a.decision,
        decidedBy: a.decidedBy,
        decidedAt: a.decidedAt,
      })),
      promises: promises.map((p) => ({ id: p.id, stepId: p.stepId, name: p.name, status: p.status, createdAt: p.createdAt, resolvedAt: p.resolvedAt })),
      timers: timers.map((t) => ({ id: t.id, stepId: t.stepId, dueAt: t.dueAt, status: t.status, firedAt: t.firedAt })),
      divergences: e.attempt > 1 ? [...attempts.keys()].filter((a) => a < e.attempt).map((a) => ({ attempt: a, detail: a === e.attempt - 1 && e.statusDetail ? e.statusDetail : `attempt ${a} was abandoned after a replay divergence; attempt ${a + 1} started fresh` })) : [],
      openWindows: attention.flatMap((a) => (a.type === 'ambiguous' && a.execution.id === e.id ? [{ stepId: a.stepId, stepName: a.stepName, policy: a.policy, intent: a.intent }] : [])),
      total: this.visible.length,
      filter: this.filter,
    };
  }

  private rows(start: number, count: number): void {
    const rows = this.timeline?.rows ?? [];
    const slice = this.visible.slice(start, start + count).map((i) => rowView(rows[i]));
    this.post({ type: 'rows', start, rows: slice, total: this.visible.length });
  }

  private details(index: number): void {
    const timeline = this.timeline;
    const rowIndex = this.visible[index];
    if (!timeline || rowIndex === undefined) return;
    const row = timeline.rows[rowIndex];
    const entries: EntryView[] = row.entryIndexes.map((i) => {
      const e = timeline.entries[i];
      return { seq: e.seq, attempt: e.attempt, stepId: e.stepId, kind: e.kind, effect: e.effect, keyPrefix: e.keyPrefix, size: e.size, createdAt: e.createdAt, payloadBearing: isPayloadKind(e.kind) };
    });
    this.post({ type: 'details', row: rowView(row), entries });
  }

  private async entry(seq: number, reveal: boolean): Promise<void> {
    const detail = await this.journal.entry(this.executionId, seq, reveal);
    this.post({
      type: 'entry',
      seq,
      integrity: detail.integrity,
      ...(detail.integrityMessage ? { message: detail.integrityMessage } : {}),
      ...(detail.meta !== undefined ? { meta: JSON.stringify(detail.meta, null, 2) } : {}),
      ...(detail.payload ? { payload: detail.payload } : {}),
    });
  }

  private async receive(raw: unknown): Promise<void> {
    const message = parseExplorerMessage(raw);
    if (!message) {
      this.log.warn(`journal explorer: rejected a malformed message (${typeof raw === 'object' && raw !== null ? JSON.stringify(Object.keys(raw)).slice(0, 100) : typeof raw})`);
      return;
    }
    try {
      await this.handle(message);
    } catch (error) {
      const text = ensureError(error).message;
      this.log.error(`journal explorer: ${message.type} failed: ${text}`);
      this.post({ type: 'notice', message: `${message.type === 'resolve' ? 'Resolving' : message.type === 'decide' ? 'Deciding' : message.type} failed: ${text}` });
    }
  }

  private async handle(message: PageMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        await this.sendOverview();
        return;
      case 'rows':
        this.rows(message.start, message.count);
        return;
      case 'filter':
        this.filter = message.filter;
        this.applyFilter();
        await this.sendOverview();
        return;
      case 'select':
        this.details(message.index);
        return;
      case 'entry':
        await this.entry(message.seq, message.reveal);
        return;
      case 'resolve':
        await this.journal.resolveWindow(this.executionId, message.stepId, message.decision);
        this.post({ type: 'notice', message: `Step ${message.stepId}: ${message.decision} recorded in the journal.` });
        this.scheduleRefresh();
        return;
      case 'decide':
        await this.journal.decide(message.promiseId, message.approved);
        this.post({ type: 'notice', message: message.approved ? 'Approved.' : 'Denied.' });
        this.scheduleRefresh();
        return;
      case 'command': {
        const command = {
          resume: 'durableSessions.resume',
          cancel: 'durableSessions.cancel',
          export: 'durableSessions.export',
          openSession: 'durableSessions.openSession',
          undoEdits: 'durableSessions.undoEdits',
          redoEdits: 'durableSessions.redoEdits',
          refresh: undefined,
        }[message.command];
        if (command) await vscode.commands.executeCommand(command, this.executionId);
        this.scheduleRefresh();
        return;
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.disposables.dispose();
    this.panel.dispose();
    this.onDispose(this);
  }
}

const OPEN_EXPLORERS_KEY = 'durableSessions.openExplorers';

/** The tab label of an execution's explorer (what a restored tab is recognised by). */
export function explorerTabLabel(e: { readonly title: string; readonly kind: string }): string {
  return `Journal: ${shortTitle(e.title || e.kind)}`;
}

/** The journal explorers: one PanelHost of explorer panels. */
export class JournalExplorers extends PanelHost<ExplorerPanel> {
  constructor(journal: JournalService, extensionUri: vscode.Uri, log: vscode.LogOutputChannel, memento: vscode.Memento) {
    super(
      {
        viewType: EXPLORER_VIEW_TYPE,
        mementoKey: OPEN_EXPLORERS_KEY,
        name: 'journal explorer',
        blankAllowed: false,
        initialTitle: () => 'Journal explorer',
        tabLabel: async (key) => {
          const execution = await journal.execution(key);
          return execution ? explorerTabLabel(execution) : undefined;
        },
        make: (panel, key, events) => new ExplorerPanel(panel, key as ExecutionId, journal, extensionUri, log, events.gone),
        // Nothing to show: a panel without an execution is closed rather than left blank.
        restoredKey: (state) => idFromState(state, 'executionId') ?? 'close',
      },
      extensionUri,
      log,
      memento,
    );
  }

  /** An execution's explorer, revealing its panel if one is open. */
  override open(id: ExecutionId): void {
    super.open(id);
  }

  get openExecutions(): string[] {
    return this.keys.filter((k): k is ExecutionId => k !== undefined);
  }
}
