/**
 * The journal explorer's message protocol, typed once and shared by the host
 * (journalExplorer.ts) and the page (media/src/explorerPage.ts). The page asks
 * for windows of timeline rows (it renders only what is visible), so an
 * execution of any length costs the page a few hundred rows at a time.
 *
 * Every message from the page goes through `parseExplorerMessage` before the
 * host acts on it: anything unknown or malformed is rejected and logged.
 */
import { messageShape } from './pageMessage';

export interface ExecutionSummaryView {
  readonly id: string;
  readonly kind: string;
  readonly title: string;
  readonly status: string;
  /** running here, interrupted (nobody runs it), waiting, or the terminal status. */
  readonly state: string;
  readonly attempt: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly statusDetail: string | null;
  readonly entries: number;
  readonly steps: number;
  /** Timeline rows: steps plus execution-level entries (started, finished). */
  readonly rows: number;
  /** False while a long journal is still being read (the counts grow). */
  readonly complete: boolean;
  readonly lanes: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly isSession: boolean;
  /** An undo of a session's edits that finished: it can be redone. */
  readonly isUndo: boolean;
  /** Can a person decide open windows and approvals now (nobody is running it)? */
  readonly decidable: boolean;
}

export interface RowView {
  readonly index: number;
  readonly attempt: number;
  readonly stepId: number | null;
  readonly name: string;
  readonly effect: string | null;
  readonly status: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly entries: number;
  readonly retries: number;
  readonly lane: number;
  readonly keyPrefix: string | null;
  readonly bytes: number;
  readonly kinds: readonly string[];
}

export interface EntryView {
  readonly seq: number;
  readonly attempt: number;
  readonly stepId: number | null;
  readonly kind: string;
  readonly effect: string | null;
  readonly keyPrefix: string | null;
  readonly size: number;
  readonly createdAt: number;
  readonly payloadBearing: boolean;
}

export interface AuditView {
  readonly seq: number;
  readonly stepId: number;
  readonly stepName: string | null;
  readonly effect: string;
  readonly keyPrefix: string;
  readonly policy: string;
  readonly decision: string;
  readonly decidedBy: string;
  readonly decidedAt: number;
}

export interface PromiseView {
  readonly id: string;
  readonly stepId: number;
  readonly name: string;
  readonly status: string;
  readonly createdAt: number;
  readonly resolvedAt: number | null;
}

export interface TimerView {
  readonly id: string;
  readonly stepId: number;
  readonly dueAt: number;
  readonly status: string;
  readonly firedAt: number | null;
}

export interface DivergenceView {
  readonly attempt: number;
  readonly detail: string;
}

export interface OpenWindowView {
  readonly stepId: number;
  readonly stepName: string;
  readonly policy: string;
  readonly intent: string;
}

export interface ExplorerFilter {
  readonly text: string;
  /** An entry kind the row must contain, or '' for any. */
  readonly kind: string;
  /** A row status, or '' for any. */
  readonly status: string;
}

export const EMPTY_FILTER: ExplorerFilter = { text: '', kind: '', status: '' };

export interface ExplorerOverview {
  readonly execution: ExecutionSummaryView;
  readonly audit: readonly AuditView[];
  readonly promises: readonly PromiseView[];
  readonly timers: readonly TimerView[];
  readonly divergences: readonly DivergenceView[];
  readonly openWindows: readonly OpenWindowView[];
  /** Rows matching the current filter. */
  readonly total: number;
  readonly filter: ExplorerFilter;
}

export type HostMessage =
  | { readonly type: 'overview'; readonly overview: ExplorerOverview }
  | { readonly type: 'rows'; readonly start: number; readonly rows: readonly RowView[]; readonly total: number }
  | { readonly type: 'details'; readonly row: RowView; readonly entries: readonly EntryView[] }
  | { readonly type: 'entry'; readonly seq: number; readonly integrity: 'ok' | 'failed'; readonly message?: string; readonly meta?: string; readonly payload?: { readonly text: string; readonly truncated: boolean; readonly bytes: number } }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'notice'; readonly message: string };

export type Decision = 'rerun' | 'skip' | 'fail';

export type PageMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'rows'; readonly start: number; readonly count: number }
  | { readonly type: 'filter'; readonly filter: ExplorerFilter }
  | { readonly type: 'select'; readonly index: number }
  | { readonly type: 'entry'; readonly seq: number; readonly reveal: boolean }
  | { readonly type: 'resolve'; readonly stepId: number; readonly decision: Decision }
  | { readonly type: 'decide'; readonly promiseId: string; readonly approved: boolean }
  | { readonly type: 'command'; readonly command: 'resume' | 'cancel' | 'export' | 'openSession' | 'undoEdits' | 'redoEdits' | 'refresh' };

/** Most rows one request may ask for (a screen is ~40; the page prefetches a few screens). */
export const MAX_ROWS_PER_REQUEST = 500;
const MAX_INDEX = 100_000_000;
const ID = /^[0-9a-zA-Z-]{1,100}$/;
const KINDS = /^[a-z_]{0,40}$/;
const COMMANDS = ['resume', 'cancel', 'export', 'openSession', 'undoEdits', 'redoEdits', 'refresh'] as const;

function isIndex(value: unknown, max = MAX_INDEX): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max;
}

/** Validate a message from the page; undefined for anything that is not exactly one of ours. */
export function parseExplorerMessage(value: unknown): PageMessage | undefined {
  const shape = messageShape(value);
  if (!shape) return undefined;
  const { m, only } = shape;
  switch (m.type) {
    case 'ready':
      return only() ? { type: 'ready' } : undefined;
    case 'rows':
      return only('start', 'count') && isIndex(m.start) && isIndex(m.count, MAX_ROWS_PER_REQUEST) && (m.count as number) > 0
        ? { type: 'rows', start: m.start, count: m.count }
        : undefined;
    case 'filter': {
      if (!only('filter') || typeof m.filter !== 'object' || m.filter === null || Array.isArray(m.filter)) return undefined;
      const f = m.filter as Record<string, unknown>;
      if (!Object.keys(f).every((k) => k === 'text' || k === 'kind' || k === 'status')) return undefined;
      if (typeof f.text !== 'string' || f.text.length > 200 || typeof f.kind !== 'string' || !KINDS.test(f.kind) || typeof f.status !== 'string' || !KINDS.test(f.status)) return undefined;
      return { type: 'filter', filter: { text: f.text, kind: f.kind, status: f.status } };
    }
    case 'select':
      return only('index') && isIndex(m.index) ? { type: 'select', index: m.index } : undefined;
    case 'entry':
      return only('seq', 'reveal') && isIndex(m.seq, Number.MAX_SAFE_INTEGER) && (m.seq as number) > 0 && typeof m.reveal === 'boolean'
        ? { type: 'entry', seq: m.seq, reveal: m.reveal }
        : undefined;
    case 'resolve':
      if (!only('stepId', 'decision') || !isIndex(m.stepId, 4_294_967_295)) return undefined;
      return m.decision === 'rerun' || m.decision === 'skip' || m.decision === 'fail' ? { type: 'resolve', stepId: m.stepId, decision: m.decision } : undefined;
    case 'decide':
      return only('promiseId', 'approved') && typeof m.promiseId === 'string' && ID.test(m.promiseId) && typeof m.approved === 'boolean'
        ? { type: 'decide', promiseId: m.promiseId, approved: m.approved }
        : undefined;
    case 'command':
      return only('command') && (COMMANDS as readonly unknown[]).includes(m.command) ? { type: 'command', command: m.command as (typeof COMMANDS)[number] } : undefined;
    default:
      return undefined;
  }
}

/** Does a timeline row pass the filter? Text matches name, step id, effect, status, key prefix or an entry kind. */
export function rowMatches(row: RowView, filter: ExplorerFilter): boolean {
  if (filter.status && row.status !== filter.status) return false;
  if (filter.kind && !row.kinds.includes(filter.kind)) return false;
  const text = filter.text.trim().toLowerCase();
  if (!text) return true;
  return (
    row.name.toLowerCase().includes(text) ||
    (row.stepId !== null && String(row.stepId) === text) ||
    (row.effect ?? '').includes(text) ||
    row.status.includes(text) ||
    (row.keyPrefix ?? '').startsWith(text) ||
    row.kinds.some((k) => k.includes(text))
  );
}
