/**
 * The status-bar item: how many executions run and how many things need a
 * person, from the tree's snapshots (or its own, debounced, when the tree is
 * closed). It appears once the workspace has a journal; a click opens the
 * Durable Sessions view.
 */
import { DisposableStore } from './disposableStore';
import * as vscode from 'vscode';
import { ensureError } from '../durable';
import type { JournalService, Snapshot } from './journalService';
import { groupOf } from './explorerTreeModel';

const REFRESH_DEBOUNCE_MS = 500;

export function statusText(snapshot: Pick<Snapshot, 'executions' | 'attention' | 'live'>): { text: string; tooltip: string; attention: number; running: number } {
  const running = snapshot.executions.filter((e) => groupOf(e, snapshot.live) === 'running').length;
  const interrupted = snapshot.executions.filter((e) => groupOf(e, snapshot.live) === 'interrupted').length;
  const attention = snapshot.attention.length;
  const parts = [`$(${running > 0 ? 'sync~spin' : 'history'}) ${running}`];
  if (attention > 0) parts.push(`$(warning) ${attention}`);
  const tooltip = [
    `Durable Sessions: ${running} running`,
    interrupted > 0 ? `${interrupted} interrupted` : '',
    `${attention} need${attention === 1 ? 's' : ''} attention`,
  ].filter(Boolean).join(', ');
  return { text: parts.join(' '), tooltip: `${tooltip}. Click to open the Durable Sessions view.`, attention, running };
}

export class DurableStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly disposables = new DisposableStore();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastLoad = 0;
  private visible = false;

  constructor(
    private readonly journal: JournalService,
    onTreeLoad: vscode.Event<Snapshot>,
    private readonly hasJournal: () => boolean,
    private readonly log: vscode.LogOutputChannel,
    /** Where the journal lives (a file, or a shared server and project), for the tooltip. */
    private readonly where: () => string = () => '',
  ) {
    this.item = vscode.window.createStatusBarItem('durableSessions.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Durable Sessions';
    this.item.command = 'workbench.view.extension.durableSessions';
    this.disposables.add(
      this.item,
      onTreeLoad((s) => this.show(s)),
      journal.onDidChange(() => this.schedule()),
    );
  }

  /** Read a snapshot soon, unless the tree just did. Never opens a journal that does not exist yet. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (Date.now() - this.lastLoad < REFRESH_DEBOUNCE_MS || !this.hasJournal()) return;
      this.journal.snapshot().then(
        (s) => this.show(s),
        (error) => this.log.debug(`status bar: ${ensureError(error).message}`),
      );
    }, REFRESH_DEBOUNCE_MS);
  }

  private show(snapshot: Snapshot): void {
    this.lastLoad = Date.now();
    const { text, tooltip: counts, attention } = statusText(snapshot);
    const where = this.where();
    const tooltip = [counts, ...(snapshot.spend ? [`Spent: ${snapshot.spend}`] : []), ...(where ? [`Journal: ${where}`] : [])].join('\n');
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.backgroundColor = attention > 0 ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.accessibilityInformation = { label: tooltip };
    this.item.show();
    this.visible = true;
  }

  /** What the item shows now (for the tests). */
  get current(): { text: string; tooltip: string; visible: boolean } {
    return { text: this.item.text, tooltip: typeof this.item.tooltip === 'string' ? this.item.tooltip : '', visible: this.visible };
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.disposables.dispose();
  }
}
