/**
 * What the journal views (tree, status bar, explorer) read and do, in one
 * place: executions with their liveness, what needs attention, timelines
 * (cached per execution and rebuilt only when that execution changed), entry
 * details, decisions, export and import. It tells the views when the journal
 * changed: on every commit of the journal writer, runtime event, session event
 * or database reopen.
 */
import { costLines, workspaceSpend } from './costView';
import { DisposableStore } from './disposableStore';
import * as vscode from 'vscode';
import {
  buildTimeline,
  ensureError,
  entryDetail,
  exportExecutions,
  importExecutions,
  needsAttention,
  type AttentionItem,
  type DurableEngine,
  type EntryDetail,
  type ExecutionId,
  type ExecutionRecord,
  type Timeline,
} from '../durable';
import { nextLeaseExpiry, type Liveness } from './explorerTreeModel';
import type { ApprovalDecision } from '../agent/tools';

/** The workspace's journal as the views see it (the extension's DurableDatabase). */
export interface JournalDatabase {
  /** Folder of durable.db; undefined without a workspace. */
  readonly folder: string | undefined;
  readonly onDidOpen: vscode.Event<DurableEngine>;
  get(): Promise<DurableEngine>;
}

/** What the views need of the session service: liveness, and the decisions that go through it. */
export interface SessionActivity {
  readonly onDidChange: vscode.Event<ExecutionId | undefined>;
  isActive(id: ExecutionId): boolean;
  resolveWindow(id: ExecutionId, stepId: number, decision: 'rerun' | 'skip' | 'fail'): Promise<void>;
  decide(promiseId: string, decision: ApprovalDecision): Promise<void>;
  /** The price table's currency, for the amounts the views show. */
  currency(): string;
}

/** Thrown where a journal is needed and no folder is open (the views show the welcome text instead). */
export class NoWorkspaceError extends Error {
  constructor() {
    super('Durable Sessions keeps one journal per workspace: open a folder or workspace first.');
    this.name = 'NoWorkspaceError';
  }
}

const TIMELINE_CACHE = 8;

export interface Snapshot {
  readonly executions: readonly ExecutionRecord[];
  readonly attention: readonly AttentionItem[];
  /** Per session: tokens, and what its model calls cost ("$0.0123", null when nothing is priced). */
  readonly tokens: ReadonlyMap<string, { in: number; out: number; cost: string | null }>;
  /** The listed sessions' total spend ("$0.4200 on models in 5 sessions"), or null. */
  readonly spend: string | null;
  readonly live: Liveness;
}

export class JournalService implements vscode.Disposable {
  private leaseTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly _onDidChange = new vscode.EventEmitter<ReadonlySet<string> | undefined>();
  /** Executions whose journal changed (undefined: anything may have). */
  readonly onDidChange = this._onDidChange.event;
  private readonly timelines = new Map<string, { signature: string; timeline: Promise<Timeline> }>();
  private unsubscribeWriter: (() => void) | undefined;
  private readonly disposables = new DisposableStore();

  constructor(
    private readonly database: JournalDatabase,
    private readonly sessions: SessionActivity,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.add(
      database.onDidOpen((engine) => this.watch(engine)),
      sessions.onDidChange((id) => this._onDidChange.fire(id === undefined ? undefined : new Set([id]))),
    );
  }

  private watch(engine: DurableEngine): void {
    this.unsubscribeWriter?.();
    const fromWriter = engine.writer.onCommit((ids) => this._onDidChange.fire(ids));
    // A shared store tells what other machines changed (a hint: the views also refresh on their own).
    const fromOthers = engine.backend.watch((hint) => {
      this.timelines.delete(hint.executionId);
      this._onDidChange.fire(new Set([hint.executionId]));
    });
    this.unsubscribeWriter = () => {
      fromWriter();
      fromOthers.dispose();
    };
    this.timelines.clear();
    this._onDidChange.fire(undefined);
  }

  /** Tell every view to re-read (the Refresh command; writes that bypass the writer, such as an import). */
  notifyChanged(): void {
    this._onDidChange.fire(undefined);
  }

  get hasWorkspace(): boolean {
    return this.database.folder !== undefined;
  }

  engine(): Promise<DurableEngine> {
    return this.database.get();
  }

  liveness(): Liveness {
    return { now: Date.now(), isActive: (id) => this.sessions.isActive(id as ExecutionId) };
  }

  /** Executions (newest first), what needs attention, session tokens: one small read each. */
  async snapshot(limit = 500): Promise<Snapshot> {
    const engine = await this.database.get();
    const live = this.liveness();
    const [executions, attention, threads] = await Promise.all([
      engine.backend.listExecutions({ limit }),
      needsAttention(engine.backend, engine.codec, { now: live.now, isActive: live.isActive }),
      engine.sessions.listThreads(limit),
    ]);
    const currency = this.sessions.currency();
    const tokens = new Map(threads.map((t) => [t.threadId as string, { in: t.tokensIn, out: t.tokensOut, cost: costLines(t, currency).cost }]));
    this.refreshAtLeaseExpiry(executions, live);
    // A person approves what they can read: the command in full, not the promise's name.
    const withPrompts = await Promise.all(
      attention.map(async (item) =>
        item.type === 'approval' ? { ...item, prompt: await engine.sessions.messageText(item.execution.id, item.promiseId).catch(() => undefined) } : item,
      ),
    );
    return { executions, attention: withPrompts, tokens, spend: workspaceSpend(threads, currency), live };
  }

  /**
   * A run owned by another (or a crashed) host turns "interrupted" when its
   * lease expires, with no commit to say so: refresh the views at that moment.
   */
  private refreshAtLeaseExpiry(executions: readonly ExecutionRecord[], live: Liveness): void {
    const expiry = nextLeaseExpiry(executions, live);
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    if (expiry === undefined) return;
    this.leaseTimer = setTimeout(() => {
      this.leaseTimer = undefined;
      this._onDidChange.fire(undefined);
    }, expiry - live.now + 250);
  }

  async execution(id: ExecutionId): Promise<ExecutionRecord | undefined> {
    return (await this.database.get()).backend.getExecution(id);
  }

  /**
   * The timeline of an execution, rebuilt only when the execution row or its
   * last entry changed since the cached one was built.
   */
  async timeline(id: ExecutionId, onFirstSegment?: (partial: Timeline) => void): Promise<Timeline> {
    const engine = await this.database.get();
    const execution = await engine.backend.getExecution(id);
    const last = execution ? await engine.backend.lastEntrySeq(id, execution.attempt) : undefined;
    const active = this.sessions.isActive(id);
    const signature = execution ? `${execution.status}:${execution.attempt}:${execution.updatedAt}:${String(last)}:${active}` : 'missing';
    const cached = this.timelines.get(id);
    if (cached && cached.signature === signature) return cached.timeline;
    const timeline = buildTimeline(engine.backend, id, { active, onFirstSegment });
    this.timelines.delete(id);
    this.timelines.set(id, { signature, timeline });
    timeline.catch(() => this.timelines.get(id)?.timeline === timeline && this.timelines.delete(id));
    while (this.timelines.size > TIMELINE_CACHE) this.timelines.delete(this.timelines.keys().next().value as string);
    return timeline;
  }

  async entry(id: ExecutionId, seq: number, reveal: boolean): Promise<EntryDetail> {
    const engine = await this.database.get();
    const detail = await entryDetail(engine.backend, engine.codec, id, seq, reveal);
    if (reveal && detail.payload) this.log.info(`payload of entry ${seq} of execution ${id} revealed by the user`);
    if (detail.integrity === 'failed') this.log.error(`entry ${seq} of execution ${id}: ${detail.integrityMessage ?? 'authentication failed'}`);
    return detail;
  }

  /** A person's decision on an interrupted step; journaled with who decided, then the execution resumes. */
  async resolveWindow(id: ExecutionId, stepId: number, decision: 'rerun' | 'skip' | 'fail'): Promise<void> {
    await this.sessions.resolveWindow(id, stepId, decision);
    this.log.info(`execution ${id} step ${stepId}: interrupted window resolved by the user: ${decision}`);
    this._onDidChange.fire(new Set([id]));
  }

  async decide(promiseId: string, approved: boolean): Promise<void> {
    await this.sessions.decide(promiseId, { approved, decidedBy: 'user' });
    this._onDidChange.fire(undefined);
  }

  /** Export executions (all when `ids` is undefined) to a versioned artifact. */
  async exportTo(target: vscode.Uri, ids: readonly ExecutionId[] | undefined, reveal: boolean, signal?: AbortSignal): Promise<number> {
    const engine = await this.database.get();
    const bytes = await exportExecutions(engine, { executions: ids, reveal, segmentSize: engine.config.replaySegmentSize, signal });
    await vscode.workspace.fs.writeFile(target, bytes);
    this.log.info(`exported ${ids ? ids.length : 'all'} execution(s) to ${target.fsPath} (${bytes.length} bytes${reveal ? ', payloads revealed' : ''})`);
    return bytes.length;
  }

  /** Import a file; `untrusted` only after a person agreed to bring it in as read-only history. */
  async importFrom(source: vscode.Uri, untrusted = false): Promise<{ imported: number; rows: number; trusted: boolean; events: number; promises: number }> {
    const engine = await this.database.get();
    let bytes: Uint8Array;
    try {
      bytes = await vscode.workspace.fs.readFile(source);
    } catch (error) {
      throw new Error(`cannot read ${source.fsPath}: ${ensureError(error).message}`);
    }
    const report = await importExecutions(engine, bytes, { untrusted });
    this.log.info(
      `imported ${report.imported} execution(s), ${report.rows} entries, ${report.events} transcript events and ${report.promises} approvals from ${source.fsPath}` +
        (report.trusted ? '' : ' as untrusted read-only history'),
    );
    this._onDidChange.fire(undefined);
    return report;
  }

  dispose(): void {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.unsubscribeWriter?.();
    this.timelines.clear();
    this.disposables.dispose();
    this._onDidChange.dispose();
  }
}
