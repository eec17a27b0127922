/**
 * The "Executions" tree of the Durable Sessions view container: executions of
 * this workspace's journal grouped by status, newest first. It reads only the
 * executions table (never the journal) and refreshes debounced.
 */
import * as vscode from 'vscode';
import type { ExecutionRecord, ExecutionStatus } from '../durable';
import type { DurableDatabase } from '../extension/database';
import { NoWorkspaceError } from '../extension/database';

type Node =
  | { readonly type: 'group'; readonly status: GroupId; readonly executions: readonly ExecutionRecord[] }
  | { readonly type: 'execution'; readonly execution: ExecutionRecord }
  | { readonly type: 'error'; readonly message: string };

type GroupId = 'running' | 'suspended' | 'failed' | 'cancelled' | 'completed';

const GROUPS: ReadonlyArray<{ id: GroupId; label: string; icon: string; statuses: readonly ExecutionStatus[] }> = [
  { id: 'running', label: 'Running', icon: 'sync', statuses: ['running'] },
  { id: 'suspended', label: 'Suspended', icon: 'debug-pause', statuses: ['suspended'] },
  { id: 'failed', label: 'Failed', icon: 'error', statuses: ['failed', 'aborted'] },
  { id: 'cancelled', label: 'Cancelled', icon: 'circle-slash', statuses: ['cancelled'] },
  { id: 'completed', label: 'Completed', icon: 'pass', statuses: ['completed'] },
];

const LIST_LIMIT = 500;
const REFRESH_DEBOUNCE_MS = 200;

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
}

export class ExecutionsTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly _onDidChangeTreeData = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly database: DurableDatabase,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Refresh soon; bursts of changes become one re-read. */
  refresh(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this._onDidChangeTreeData.fire(undefined);
    }, REFRESH_DEBOUNCE_MS);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.type) {
      case 'group': {
        const group = GROUPS.find((g) => g.id === node.status)!;
        const item = new vscode.TreeItem(group.label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `group:${group.id}`;
        item.description = String(node.executions.length);
        item.iconPath = new vscode.ThemeIcon(group.icon);
        item.contextValue = `group.${group.id}`;
        return item;
      }
      case 'execution': {
        const e = node.execution;
        const item = new vscode.TreeItem(e.title || e.kind, vscode.TreeItemCollapsibleState.None);
        item.id = `execution:${e.id}`;
        item.description = `${e.kind} · ${e.stepCount} steps · ${formatAge(this.clock() - e.updatedAt)}`;
        const tooltip = new vscode.MarkdownString(undefined, true);
        tooltip.appendMarkdown(`**${e.title || e.kind}**\n\n`);
        tooltip.appendMarkdown(`- id: \`${e.id}\`\n- kind: ${e.kind} v${e.version}\n- status: ${e.status}\n- attempt: ${e.attempt}\n- steps: ${e.stepCount}\n`);
        tooltip.appendMarkdown(`- started: ${new Date(e.createdAt).toLocaleString()}\n`);
        if (e.statusDetail) tooltip.appendMarkdown(`\n${e.statusDetail.replace(/[\\`*_{}[\]()#+\-.!|]/g, '\\$&')}`);
        item.tooltip = tooltip;
        const session = e.kind === 'agent_session';
        item.contextValue = `execution.${e.status}.${session ? 'session' : 'other'}`;
        if (session) item.command = { command: 'durableSessions.openSession', title: 'Open Session', arguments: [e.id] };
        item.iconPath = new vscode.ThemeIcon(GROUPS.find((g) => g.statuses.includes(e.status))?.icon ?? 'circle-outline');
        return item;
      }
      case 'error': {
        const item = new vscode.TreeItem('Journal unavailable', vscode.TreeItemCollapsibleState.None);
        item.description = node.message;
        item.tooltip = node.message;
        item.iconPath = new vscode.ThemeIcon('warning');
        item.command = { command: 'durableSessions.showLog', title: 'Show Log' };
        return item;
      }
    }
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node?.type === 'group') return [...node.executions].map((execution) => ({ type: 'execution', execution }));
    if (node) return [];
    if (this.database.folder === undefined) return []; // the welcome view explains why
    try {
      const engine = await this.database.get();
      const executions = await engine.backend.listExecutions({ limit: LIST_LIMIT });
      return GROUPS.map((g) => ({ type: 'group' as const, status: g.id, executions: executions.filter((e) => g.statuses.includes(e.status)) })).filter(
        (g) => g.executions.length > 0,
      );
    } catch (error) {
      if (error instanceof NoWorkspaceError) return [];
      return [{ type: 'error', message: error instanceof Error ? error.message : String(error) }];
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this._onDidChangeTreeData.dispose();
  }
}
