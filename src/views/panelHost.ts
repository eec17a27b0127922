/**
 * One host for both webview panels (sessions and journal explorers): it keeps
 * the open panels of its view type, restores them after a reload (the
 * WebviewPanelSerializer), remembers what is open in workspace state, reveals
 * an existing panel instead of opening a second one (also a tab VS Code
 * restored in the background), replaces the tabs a crashed extension host left
 * behind, and disposes everything once.
 */
import * as vscode from 'vscode';
import { ensureError, type ExecutionId } from '../durable';
import { DisposableStore } from './disposableStore';
import { replaceDeadTabs, revealRestoredTab, takeOverTab, unbackedTabs } from './panelTabs';
import { webviewOptions } from './webviewHtml';

/** A panel the host keeps: what it shows (`key`; undefined: a blank panel) and how to make it look again. */
export interface HostedPanel extends vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  readonly key: ExecutionId | undefined;
  refresh(): void;
}

/** What differs between the two kinds of panel. */
export interface PanelKind<P extends HostedPanel> {
  readonly viewType: string;
  /** Workspace-state key of the list of what is open. */
  readonly mementoKey: string;
  /** For log lines and errors ("session panel"). */
  readonly name: string;
  /** Whether a panel may show nothing yet (a new session's composer); a dead tab of nothing known is closed otherwise. */
  readonly blankAllowed: boolean;
  /** The title a new panel starts with, before its page says more. */
  initialTitle(key: ExecutionId | undefined): string;
  /** The tab label the panel of `key` has once shown (restored and dead tabs are recognised by it). */
  tabLabel(key: ExecutionId): Promise<string | undefined>;
  /** Build the panel object around a webview panel; `events.changed` when it shows something else. */
  make(panel: vscode.WebviewPanel, key: ExecutionId | undefined, events: { gone(p: P): void; changed(): void }): P;
  /**
   * What a panel restored after a reload shows, from its page's saved state (and the keys this
   * window had open but not restored yet); 'close' when there is nothing to show.
   */
  restoredKey(state: unknown, unrestored: readonly ExecutionId[]): ExecutionId | undefined | 'close';
}

const ID = /^[0-9a-f-]{36}$/;

export class PanelHost<P extends HostedPanel> implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private readonly panels = new Set<P>();
  private readonly disposables = new DisposableStore();
  private disposing = false;

  constructor(
    private readonly kind: PanelKind<P>,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly memento: vscode.Memento,
  ) {
    this.disposables.add(vscode.window.registerWebviewPanelSerializer(kind.viewType, this));
  }

  /** What the open panels show (undefined: a blank one). */
  get keys(): Array<ExecutionId | undefined> {
    return [...this.panels].map((p) => p.key);
  }

  /** Show `key` (revealing its panel if one is open), or a blank panel. */
  open(key?: ExecutionId): void {
    this.show(key).catch((error) => this.log.error(`${this.kind.name}: could not open ${key ?? 'a new one'}: ${ensureError(error).message}`));
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const open = new Set(this.keys);
    const key = this.kind.restoredKey(state, this.remembered().filter((k) => !open.has(k)));
    if (key === 'close') {
      // Nothing to show: a panel without content is closed rather than left blank.
      panel.dispose();
      return;
    }
    this.log.info(`${this.kind.name} restored${key ? ` for ${key}` : ''}`);
    this.track(panel, key);
  }

  /**
   * After the previous extension host crashed: its tabs are still on screen but dead. Each is
   * replaced by a live panel of what it showed (recognised by its label among what this window
   * had open), in the same editor group. Returns how many were replaced.
   */
  async replaceDeadTabs(): Promise<number> {
    const byLabel = new Map<string, ExecutionId>();
    for (const key of this.remembered()) {
      const label = await this.kind.tabLabel(key).catch(() => undefined);
      if (label !== undefined) byLabel.set(label, key);
    }
    const replaced = await replaceDeadTabs(this.kind.viewType, this.panels, byLabel, (key) => this.find(key) !== undefined, (key, column, preserveFocus) => {
      // The dead tab is closed already; it gets a successor only when there is something to show.
      if (key !== undefined || this.kind.blankAllowed) this.create(key, column, preserveFocus);
    });
    if (replaced > 0) this.log.info(`replaced ${replaced} ${this.kind.name} tab${replaced === 1 ? '' : 's'} left by the crashed extension host`);
    return replaced;
  }

  dispose(): void {
    this.disposing = true;
    this.disposables.dispose();
    for (const p of [...this.panels]) p.dispose();
  }

  private find(key: ExecutionId | undefined): P | undefined {
    return [...this.panels].find((p) => p.key === key);
  }

  private async show(key: ExecutionId | undefined): Promise<void> {
    const existing = this.find(key);
    if (existing) {
      existing.panel.reveal();
      existing.refresh();
      return;
    }
    // A tab VS Code restored in the background (not yet handed to us) is shown, not doubled.
    const label = key ? await this.kind.tabLabel(key).catch(() => undefined) : undefined;
    const restored = label === undefined ? undefined : unbackedTabs(this.kind.viewType, this.panels).find((tab) => tab.label === label);
    if (restored && (await revealRestoredTab(restored, () => this.find(key) !== undefined))) {
      this.find(key)?.refresh();
      return;
    }
    if (this.find(key)) return; // restored meanwhile
    this.create(key, restored ? await takeOverTab(restored) : vscode.ViewColumn.Active, false);
  }

  private create(key: ExecutionId | undefined, column: vscode.ViewColumn, preserveFocus: boolean): void {
    const panel = vscode.window.createWebviewPanel(this.kind.viewType, this.kind.initialTitle(key), { viewColumn: column, preserveFocus }, webviewOptions(this.extensionUri));
    this.track(panel, key);
  }

  private track(panel: vscode.WebviewPanel, key: ExecutionId | undefined): void {
    const hosted = this.kind.make(panel, key, {
      gone: (p) => {
        this.panels.delete(p);
        // Closed by the user (not by shutdown): forget it, so a reload does not bring it back.
        if (!this.disposing) this.remember();
      },
      changed: () => this.remember(),
    });
    this.panels.add(hosted);
    this.remember();
    hosted.refresh();
  }

  private remembered(): ExecutionId[] {
    const value = this.memento.get<unknown>(this.kind.mementoKey);
    return Array.isArray(value) ? value.filter((v): v is ExecutionId => typeof v === 'string' && ID.test(v)) : [];
  }

  private remember(): void {
    const keys = this.keys.filter((k): k is ExecutionId => k !== undefined);
    void this.memento.update(this.kind.mementoKey, keys).then(undefined, (e) => this.log.warn(`${this.kind.name}: could not remember the open panels: ${ensureError(e).message}`));
  }
}

/** A panel's saved page state names an execution id, or nothing usable. */
export function idFromState(state: unknown, field: string): ExecutionId | undefined {
  const value = typeof state === 'object' && state !== null ? (state as Record<string, unknown>)[field] : undefined;
  return typeof value === 'string' && ID.test(value) ? (value as ExecutionId) : undefined;
}
