/**
 * The "Executions" tree of the Durable Sessions view container. What it shows
 * is decided in explorerTreeModel.ts (plain data, unit-tested); this provider
 * turns nodes into TreeItems and refreshes, debounced, when the journal
 * changes. A refresh reads the executions table and the control rows of
 * unfinished executions; an expanded execution's timeline is rebuilt only if
 * that execution changed (JournalService caches it).
 */
import * as vscode from 'vscode';
import { ensureError, type ExecutionId } from '../durable';
import { NoWorkspaceError } from './journalService';
import type { JournalService, Snapshot } from './journalService';
import { attentionNodes, entryNodes, executionNode, rootNodes, stepNodes, type NodeModel } from './explorerTreeModel';

const REFRESH_DEBOUNCE_MS = 200;

export class ExecutionsTreeProvider implements vscode.TreeDataProvider<NodeModel>, vscode.Disposable {
  private readonly _onDidChangeTreeData = new vscode.EventEmitter<NodeModel | undefined>();
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  private readonly _onDidLoad = new vscode.EventEmitter<Snapshot>();
  /** A fresh snapshot was read (the status bar counts from it). */
  readonly onDidLoad = this._onDidLoad.event;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private snapshot: Snapshot | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly journal: JournalService) {
    this.subscription = journal.onDidChange(() => this.refresh());
  }

  /** Refresh soon; a burst of changes becomes one re-read. */
  refresh(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this._onDidChangeTreeData.fire(undefined);
    }, REFRESH_DEBOUNCE_MS);
  }

  getTreeItem(node: NodeModel): vscode.TreeItem {
    const state =
      node.collapsible === 'none'
        ? vscode.TreeItemCollapsibleState.None
        : node.collapsible === 'expanded'
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(node.label, state);
    item.id = node.id;
    item.description = node.description;
    if (node.tooltip) item.tooltip = new vscode.MarkdownString(node.tooltip);
    item.iconPath = new vscode.ThemeIcon(node.icon, node.color ? new vscode.ThemeColor(node.color) : undefined);
    item.contextValue = node.contextValue;
    if (node.command) item.command = { command: node.command.id, title: node.command.title, arguments: [...node.command.args] };
    return item;
  }

  async getChildren(node?: NodeModel): Promise<NodeModel[]> {
    if (!this.journal.hasWorkspace) return []; // the welcome view explains why
    try {
      if (!node) {
        this.snapshot = await this.journal.snapshot();
        this._onDidLoad.fire(this.snapshot);
        return rootNodes(this.snapshot.executions, this.snapshot.attention, this.snapshot.live);
      }
      const ref = node.ref;
      const live = this.snapshot?.live ?? this.journal.liveness();
      switch (ref.type) {
        case 'attention-root':
          return attentionNodes(ref.items, live);
        case 'group':
          return ref.executions.map((e) => executionNode(e, live, this.snapshot?.tokens.get(e.id)));
        case 'execution':
          return stepNodes(await this.journal.timeline(ref.execution.id));
        case 'step':
          return entryNodes(await this.journal.timeline(ref.executionId as ExecutionId), ref.row);
        default:
          return [];
      }
    } catch (error) {
      if (error instanceof NoWorkspaceError) return [];
      const message = ensureError(error).message;
      return [
        {
          id: `error:${node?.id ?? 'root'}`,
          label: 'Journal unavailable',
          description: message,
          tooltip: message,
          icon: 'warning',
          contextValue: 'error',
          collapsible: 'none',
          command: { id: 'durableSessions.showLog', title: 'Show Log', args: [] },
          ref: { type: 'error', message },
        },
      ];
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.subscription.dispose();
    this._onDidChangeTreeData.dispose();
    this._onDidLoad.dispose();
  }
}
