/**
 * What the Executions tree shows, as plain data (no `vscode` import, so it is
 * unit-tested in Node): the "Needs attention" node, executions grouped by what
 * a person can do with them, their steps and journal entries. The provider
 * (executionsTree.ts) only turns these nodes into TreeItems.
 */
import { AGENT_SESSION_KIND } from '../agent/agentWorkflow';
import { isInterrupted, isPayloadKind, type AttentionItem, type EntrySummary, type ExecutionRecord, type Timeline, type TimelineRow } from '../durable';

export type GroupId = 'running' | 'interrupted' | 'suspended' | 'failed' | 'cancelled' | 'completed';

export const GROUPS: ReadonlyArray<{ readonly id: GroupId; readonly label: string; readonly icon: string; readonly color?: string }> = [
  { id: 'running', label: 'Running', icon: 'sync', color: 'charts.blue' },
  { id: 'interrupted', label: 'Interrupted', icon: 'debug-disconnect', color: 'charts.orange' },
  { id: 'suspended', label: 'Waiting', icon: 'debug-pause', color: 'charts.yellow' },
  { id: 'failed', label: 'Failed', icon: 'error', color: 'charts.red' },
  { id: 'cancelled', label: 'Cancelled', icon: 'circle-slash' },
  { id: 'completed', label: 'Completed', icon: 'pass', color: 'charts.green' },
];

/** Steps listed under an execution before a "show all in the explorer" node. */
export const TREE_STEP_LIMIT = 200;

export type NodeRef =
  | { readonly type: 'attention-root'; readonly items: readonly AttentionItem[] }
  | { readonly type: 'attention'; readonly item: AttentionItem }
  | { readonly type: 'group'; readonly group: GroupId; readonly executions: readonly ExecutionRecord[] }
  | { readonly type: 'execution'; readonly execution: ExecutionRecord }
  | { readonly type: 'step'; readonly executionId: string; readonly row: TimelineRow }
  | { readonly type: 'entry'; readonly executionId: string; readonly entry: EntrySummary }
  | { readonly type: 'more'; readonly executionId: string; readonly hidden: number }
  | { readonly type: 'error'; readonly message: string };

export interface NodeModel {
  readonly id: string;
  readonly label: string;
  readonly description?: string;
  /** Markdown. */
  readonly tooltip?: string;
  /** A codicon id. */
  readonly icon: string;
  /** A theme color id for the icon. */
  readonly color?: string;
  readonly contextValue: string;
  readonly collapsible: 'none' | 'collapsed' | 'expanded';
  readonly command?: { readonly id: string; readonly title: string; readonly args: readonly unknown[] };
  readonly ref: NodeRef;
}

export interface Liveness {
  readonly now: number;
  /** Is the execution running in this window? */
  readonly isActive: (id: string) => boolean;
}

/** A tab title: at most `max` characters, cut at a word boundary with an ellipsis, never inside a word or a character. */
export function shortTitle(text: string, max = 40): string {
  const chars = Array.from(text.trim());
  if (chars.length <= max) return chars.join('');
  const head = chars.slice(0, max - 1).join('');
  const space = head.lastIndexOf(' ');
  return `${(space >= max / 2 ? head.slice(0, space) : head).trimEnd()}…`;
}

/**
 * When the earliest of these executions turns from "running" to "interrupted" with no commit to
 * say so: a live lease held by another (or a crashed) host. An expired lease already reads
 * "interrupted", so it is not waited for (waiting for it would look again forever).
 */
export function nextLeaseExpiry(executions: readonly ExecutionRecord[], live: Liveness): number | undefined {
  let next: number | undefined;
  for (const e of executions) {
    if (e.status !== 'running' || live.isActive(e.id) || e.leaseExpiresAt === null || e.leaseExpiresAt <= live.now) continue;
    if (next === undefined || e.leaseExpiresAt < next) next = e.leaseExpiresAt;
  }
  return next;
}

/** Which group an execution belongs to. A `running` row nobody runs (no live lease, not here) was interrupted. */
export function groupOf(e: ExecutionRecord, live: Liveness): GroupId {
  switch (e.status) {
    case 'running':
      return isInterrupted(e, live.now, live.isActive) ? 'interrupted' : 'running';
    case 'suspended':
      return 'suspended';
    case 'failed':
    case 'aborted':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    case 'completed':
      return 'completed';
  }
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Markdown-escape text that comes from the journal (titles, details). */
export function md(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

const SESSION_KIND = AGENT_SESSION_KIND;

function kindLabel(e: ExecutionRecord): string {
  return e.kind === SESSION_KIND ? 'session' : e.kind;
}

export function attentionLabel(item: AttentionItem): { label: string; description: string; icon: string; color: string } {
  switch (item.type) {
    case 'ambiguous':
      return {
        label: `Interrupted step ${item.stepId}: ${item.stepName}`,
        description: `${item.execution.title || item.execution.kind} · policy ${item.policy}`,
        icon: 'question',
        color: 'charts.orange',
      };
    case 'approval':
      return {
        label: item.prompt ? `Approve: ${item.prompt.split('\n')[0]}` : `Approval: ${item.name}`,
        description: item.execution.title || item.execution.kind,
        icon: 'bell-dot',
        color: 'charts.yellow',
      };
    case 'divergence':
      return { label: `Divergence: restarted as attempt ${item.attempt}`, description: item.execution.title || item.execution.kind, icon: 'git-compare', color: 'charts.red' };
    case 'journal':
      return item.damaged
        ? { label: 'Journal damaged: needs a person', description: item.execution.title || item.execution.kind, icon: 'shield', color: 'charts.red' }
        : { label: 'Stopped: the journal was unavailable', description: item.execution.title || item.execution.kind, icon: 'database', color: 'charts.orange' };
  }
}

/** The top level: "Needs attention" (when anything does), then the non-empty groups in a fixed order. */
export function rootNodes(executions: readonly ExecutionRecord[], attention: readonly AttentionItem[], live: Liveness): NodeModel[] {
  const nodes: NodeModel[] = [];
  if (attention.length > 0) {
    nodes.push({
      id: 'attention',
      label: 'Needs attention',
      description: String(attention.length),
      tooltip: 'Interrupted steps waiting for a decision, approvals, and executions restarted after a divergence.',
      icon: 'warning',
      color: 'list.warningForeground',
      contextValue: 'attention-root',
      collapsible: 'expanded',
      ref: { type: 'attention-root', items: attention },
    });
  }
  for (const group of GROUPS) {
    const members = executions.filter((e) => groupOf(e, live) === group.id);
    if (members.length === 0) continue;
    nodes.push({
      id: `group:${group.id}`,
      label: group.label,
      description: String(members.length),
      icon: group.icon,
      color: group.color,
      contextValue: `group.${group.id}`,
      // Finished executions pile up: keep those groups closed until asked.
      collapsible: group.id === 'completed' || group.id === 'cancelled' ? 'collapsed' : 'expanded',
      ref: { type: 'group', group: group.id, executions: members },
    });
  }
  return nodes;
}

export function attentionNodes(items: readonly AttentionItem[], live: Liveness): NodeModel[] {
  return items.map((item) => {
    const { label, description, icon, color } = attentionLabel(item);
    const e = item.execution;
    const lines = [`**${md(label)}**`, '', `- execution: ${md(e.title || e.kind)} (\`${e.id}\`)`, `- since: ${formatAge(live.now - item.since)}`];
    if (item.type === 'ambiguous') {
      lines.push(`- effect: ${item.effect ?? '?'} (${item.intent}), policy: ${item.policy}`);
      lines.push('', 'The step started but its result was never recorded: it may or may not have happened. Resolve it to re-run, skip or fail it; the decision is journaled.');
    } else if (item.type === 'approval') {
      if (item.prompt) lines.push('', '```', item.prompt.replace(/```/g, "'''"), '```');
      lines.push('', 'Waiting for a person to approve or deny.');
    }
    else if (item.type === 'journal') {
      lines.push('', md(item.detail), '');
      lines.push(
        item.damaged
          ? 'Entries of this execution are missing or failed to authenticate, so nothing runs by itself. Restore durable.db from a backup, or run Check Journal Integrity; Resume only once it is repaired.'
          : 'A guarded step could not be recorded before it would run, so it did not run. Resume when the journal is writable again.',
      );
    } else lines.push('', md(item.detail));
    const key =
      item.type === 'ambiguous' ? `step:${item.stepId}` : item.type === 'approval' ? `promise:${item.promiseId}` : item.type === 'journal' ? 'journal' : `attempt:${item.attempt}`;
    return {
      id: `attention:${e.id}:${key}`,
      label,
      description,
      tooltip: lines.join('\n'),
      icon,
      color,
      contextValue: `attention.${item.type}${e.kind === SESSION_KIND ? '.session' : ''}`,
      collapsible: 'none',
      command: { id: 'durableSessions.inspect', title: 'Inspect', args: [e.id] },
      ref: { type: 'attention', item },
    };
  });
}

export function executionNode(e: ExecutionRecord, live: Liveness, tokens?: { readonly in: number; readonly out: number; readonly cost?: string | null }): NodeModel {
  const group = groupOf(e, live);
  const parts = [kindLabel(e), `${e.stepCount} step${e.stepCount === 1 ? '' : 's'}`];
  if (tokens && tokens.in + tokens.out > 0) parts.push(`${(tokens.in + tokens.out).toLocaleString('en-US')} tokens`);
  if (tokens?.cost) parts.push(tokens.cost);
  parts.push(formatAge(live.now - e.updatedAt));
  const lines = [
    `**${md(e.title || e.kind)}**`,
    '',
    `- id: \`${e.id}\``,
    `- kind: ${md(e.kind)} v${e.version}`,
    `- status: ${e.status}${group === 'interrupted' ? ' (interrupted: nobody is running it)' : ''}`,
    `- attempt: ${e.attempt}`,
    `- steps: ${e.stepCount}`,
    `- started: ${new Date(e.createdAt).toISOString()}`,
  ];
  if (tokens) lines.push(`- tokens: ${tokens.in} in, ${tokens.out} out`);
  if (tokens?.cost) lines.push(`- model calls cost: ${tokens.cost}`);
  if (e.statusDetail) lines.push('', md(e.statusDetail));
  const info = GROUPS.find((g) => g.id === group)!;
  return {
    id: `execution:${e.id}`,
    label: e.title || e.kind,
    description: parts.join(' · '),
    tooltip: lines.join('\n'),
    icon: info.icon,
    color: info.color,
    contextValue: `execution.${group}.${e.kind === SESSION_KIND ? 'session' : 'other'}`,
    collapsible: 'collapsed',
    command: { id: e.kind === SESSION_KIND ? 'durableSessions.openSession' : 'durableSessions.inspect', title: 'Open', args: [e.id] },
    ref: { type: 'execution', execution: e },
  };
}

const STEP_ICONS: Record<string, { icon: string; color?: string }> = {
  done: { icon: 'pass', color: 'charts.green' },
  failed: { icon: 'error', color: 'charts.red' },
  open: { icon: 'question', color: 'charts.orange' },
  running: { icon: 'loading~spin' },
  skipped: { icon: 'debug-step-over' },
  decided: { icon: 'law', color: 'charts.yellow' },
  event: { icon: 'circle-small-filled' },
};

/** An execution's children: its timeline rows (steps), capped, then a node that opens the rest in the explorer. */
export function stepNodes(timeline: Timeline, limit = TREE_STEP_LIMIT): NodeModel[] {
  const id = timeline.execution.id;
  const nodes: NodeModel[] = timeline.rows.slice(0, limit).map((row) => {
    const look = STEP_ICONS[row.status] ?? STEP_ICONS.event;
    const label = row.stepId === null ? row.name : `${row.stepId} ${row.name}`;
    const parts = [row.status, row.effect ?? '', row.endedAt > row.startedAt ? formatDuration(row.endedAt - row.startedAt) : '', row.retries ? `${row.retries} retr${row.retries === 1 ? 'y' : 'ies'}` : ''];
    if (timeline.execution.attempt > 1) parts.unshift(`attempt ${row.attempt}`);
    return {
      id: `step:${id}:${row.attempt}:${row.stepId ?? `s${row.firstSeq}`}`,
      label,
      description: parts.filter(Boolean).join(' · '),
      tooltip: [`**${md(label)}**`, '', `- status: ${row.status}`, `- effect: ${row.effect ?? 'none'}`, `- entries: ${row.entryIndexes.length} (seq ${row.firstSeq}–${row.lastSeq})`, `- key: ${row.keyPrefix ?? '—'}…`, `- payload bytes: ${row.bytes}`].join('\n'),
      icon: look.icon,
      color: look.color,
      contextValue: `step.${row.status}`,
      collapsible: 'collapsed',
      ref: { type: 'step', executionId: id, row },
    };
  });
  if (timeline.rows.length > limit) {
    const hidden = timeline.rows.length - limit;
    nodes.push({
      id: `more:${id}`,
      label: `${hidden.toLocaleString('en-US')} more steps…`,
      description: 'open the journal explorer',
      icon: 'ellipsis',
      contextValue: 'more',
      collapsible: 'none',
      command: { id: 'durableSessions.inspect', title: 'Inspect', args: [id] },
      ref: { type: 'more', executionId: id, hidden },
    });
  }
  return nodes;
}

/** A step's journal entries: kind, seq, effect, payload size, key prefix, time. */
export function entryNodes(timeline: Timeline, row: TimelineRow): NodeModel[] {
  const id = timeline.execution.id;
  return row.entryIndexes.map((i) => {
    const e = timeline.entries[i];
    const payload = e.size > 0 || isPayloadKind(e.kind);
    const time = new Date(e.createdAt).toISOString().slice(11, 23);
    return {
      id: `entry:${id}:${e.seq}`,
      label: e.kind.replace(/_/g, ' '),
      description: [`#${e.seq}`, e.stepId === null ? '' : `step ${e.stepId}`, e.effect ?? '', payload ? formatBytes(e.size) : 'control', e.keyPrefix ? `key ${e.keyPrefix}…` : '', time].filter(Boolean).join(' · '),
      tooltip: [`**${e.kind}** #${e.seq}`, '', `- attempt ${e.attempt}`, `- ${new Date(e.createdAt).toISOString()}`, payload ? '- sealed payload: reveal it from the context menu' : '- control entry (MAC-authenticated metadata)'].join('\n'),
      icon: payload ? 'lock' : 'symbol-key',
      contextValue: payload ? 'entry.payload' : 'entry.control',
      collapsible: 'none',
      ref: { type: 'entry', executionId: id, entry: e },
    };
  });
}

/** The execution id a command was invoked on: an id string, `{executionId}`, or a tree node. */
export function executionIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return /^[0-9a-f-]{36}$/.test(arg) ? arg : undefined;
  if (typeof arg !== 'object' || arg === null) return undefined;
  const a = arg as { executionId?: unknown; ref?: NodeRef; execution?: { id?: unknown } };
  if (typeof a.executionId === 'string') return executionIdOf(a.executionId);
  if (typeof a.execution?.id === 'string') return executionIdOf(a.execution.id);
  const ref = a.ref;
  if (!ref || typeof ref !== 'object') return undefined;
  switch (ref.type) {
    case 'execution':
      return ref.execution.id;
    case 'attention':
      return ref.item.execution.id;
    case 'step':
    case 'entry':
    case 'more':
      return ref.executionId;
    default:
      return undefined;
  }
}
