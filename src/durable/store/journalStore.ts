/**
 * The storage port: everything the durable core needs from a database, as
 * interfaces and plain records. The core depends on these types only; an
 * adapter (store/sqlite/, next store/postgres/) implements them, and the
 * conformance suite (test/durable/store/conformance.ts) holds every adapter to
 * the same behaviour. See docs/ARCHITECTURE.md.
 */
import type { ExecutionId, IdempotencyKey, JournalSeq } from '../model/ids';
import type { EntryKind, ExecutionRecord, ExecutionStatus, JournalReader, JournalRecord, LeaseFence, StoredRow, TerminalStatus } from '../model/journal';
export type { LeaseFence };

export interface NewExecution {
  readonly id: ExecutionId;
  readonly kind: string;
  readonly version: number;
  readonly title: string;
  /**
   * The run that will drive it holds its lease from the creation on, with epoch
   * 1 (what a first acquireLease gives): no other owner can slip in between, and
   * the run needs no claim and no status check of its own.
   */
  readonly lease?: { readonly owner: string; readonly leaseMs: number };
}
/** The epoch of a lease given at creation (NewExecution.lease): what a first acquireLease gives. */
export const FIRST_LEASE_EPOCH = 1;

export interface ExecutionFilter {
  readonly statuses?: readonly ExecutionStatus[];
  readonly kind?: string;
  readonly limit?: number;
}
export interface AuditRecord {
  readonly seq: number;
  readonly executionId: string;
  readonly stepId: number;
  readonly stepName: string | null;
  readonly effect: string;
  readonly idempotencyKey: Uint8Array;
  readonly policy: string;
  readonly decision: string;
  readonly decidedBy: string;
  readonly decidedAt: number;
}
export interface PromiseRecord {
  readonly id: string;
  readonly executionId: ExecutionId;
  readonly stepId: number;
  readonly name: string;
  readonly tokenHash: Uint8Array;
  readonly status: 'pending' | 'resolved' | 'rejected';
  readonly createdAt: number;
  readonly resolvedAt: number | null;
  /** Sealed value (see promises.ts), null while pending. */
  readonly value: Uint8Array | null;
}
export interface TimerRecord {
  readonly id: string;
  readonly executionId: string;
  readonly stepId: number;
  readonly dueAt: number;
  readonly status: 'armed' | 'fired' | 'cancelled';
  readonly firedAt: number | null;
}
/** An execution as an import brings it: its record, journal rows, promises and timers. */
export interface ImportedExecution {
  readonly execution: ExecutionRecord;
  readonly rows: readonly StoredRow[];
  readonly promises?: readonly PromiseRecord[];
  readonly timers?: readonly TimerRecord[];
}
/** What the completeness check of an execution's journal reads (see journalMark.ts). */
export interface MarkState {
  /** Rows the database counted as they were inserted (a trigger, in the same statement). */
  readonly rowCount: number;
  readonly markedCount: number;
  readonly markedSeq: number;
  readonly mark: Uint8Array | null;
}
/** One row's header and authentication tag (the MAC, or the seal's last 16 bytes): what the mark digests. */
export interface MarkRow {
  readonly seq: number;
  readonly attempt: number;
  readonly stepId: number | null;
  readonly kind: string;
  readonly stepName: string | null;
  readonly effect: string | null;
  readonly idempotencyKey: Uint8Array | null;
  readonly tag: Uint8Array;
}
/** One journal entry's header, for views (no payload). */
export interface EntrySummary {
  readonly seq: number;
  readonly attempt: number;
  readonly stepId: number | null;
  readonly kind: EntryKind;
  readonly stepName: string | null;
  readonly effect: string | null;
  /** First 4 bytes of the idempotency key, hex (enough to tell keys apart by eye). */
  readonly keyPrefix: string | null;
  /** Plaintext payload size (0 for control entries). */
  readonly size: number;
  readonly createdAt: number;
}

/** A step whose latest intent has neither a result nor an audit record after it, in an execution nobody leases. */
export interface OpenWindow {
  readonly executionId: ExecutionId;
  readonly stepId: number;
  readonly intentSeq: number;
}

/** What a prune removes (or would remove) with a set of executions. */
export interface ChildRowCounts {
  readonly journal: number;
  readonly audit: number;
  readonly promises: number;
  readonly timers: number;
  readonly bytes: number;
}

/** What another process changed, as a store that can tell (PostgreSQL's LISTEN/NOTIFY) announces it. */
export interface StoreHint {
  readonly kind: 'execution' | 'promise' | 'timer';
  readonly executionId: string;
}

/** The journal's database: executions, journal rows, leases, timers, promises, audit, marks, maintenance. */
export interface JournalStore extends JournalReader {
  /** Where the journal lives (a file path, a server without its password), for messages. */
  readonly file: string;
  /** 'sqlite' or 'postgres': for messages and the few settings that differ (a shared store must be sealed). */
  readonly flavor: 'sqlite' | 'postgres';
  /**
   * Hints that another process changed something (so views refresh and timers
   * re-arm at once). Only a hint: correctness never depends on one arriving.
   * Stores that cannot tell return a no-op subscription.
   */
  watch(listener: (hint: StoreHint) => void): { dispose(): void };
  close(): Promise<void>;
  /** The database's own consistency check ('ok' when healthy; SQLite's quick_check). Costs a full scan: on demand only. */
  quickCheck(): Promise<string[]>;
  /**
   * Create an execution, with its first journal rows (its recorded input) in the
   * same transaction: an execution never exists without its input.
   */
  createExecution(exec: NewExecution, firstRows?: readonly StoredRow[]): Promise<void>;
  getExecution(id: ExecutionId): Promise<ExecutionRecord | undefined>;
  listExecutions(filter?: ExecutionFilter): Promise<ExecutionRecord[]>;
  /**
   * Move an active execution to a terminal status. The first terminal status
   * wins: returns false (and changes nothing) if it was already terminal.
   * With a fence, refused (StorageError 'fenced') unless that lease still holds.
   */
  finalize(id: ExecutionId, status: TerminalStatus, detail?: string | null, fence?: LeaseFence): Promise<boolean>;
  /** running → suspended (waiting for a person or an event); fenced like finalize. */
  suspend(id: ExecutionId, detail?: string | null, fence?: LeaseFence): Promise<boolean>;
  /** An unfinished execution whose journal is damaged: suspended with the reason, whatever it was waiting for. */
  markDamaged(id: ExecutionId, detail: string): Promise<boolean>;
  /** Reopen for resume: suspended, failed or aborted goes back to running (never completed or cancelled). */
  reopen(id: ExecutionId): Promise<boolean>;
  /** Start a new attempt (after a divergence): replay of the old attempt stops, its rows stay for lookups. */
  beginAttempt(id: ExecutionId, detail: string): Promise<number>;
  /**
   * Take or renew the lease atomically: succeeds when nobody holds it, we hold
   * it, or the holder's lease expired. Returns the fencing epoch we now hold
   * (it grows each time the lease changes hands), or undefined if a live owner
   * holds it or is claiming it right now.
   */
  acquireLease(id: ExecutionId, owner: string, leaseMs: number): Promise<number | undefined>;
  /** Renew only if still ours (a renewal never steals). */
  renewLease(id: ExecutionId, owner: string, leaseMs: number): Promise<boolean>;
  releaseLease(id: ExecutionId, owner: string): Promise<void>;
  /** Arm a timer once (a replay arming it again changes nothing). */
  armTimer(timer: {
    id: string;
    executionId: ExecutionId;
    stepId: number;
    dueAt: number;
  }): Promise<void>;
  fireTimer(id: string): Promise<void>;
  /** The earliest due time of an armed timer of a suspended or running execution (only those due after `after`, when given). */
  nextTimerDue(after?: number): Promise<number | undefined>;
  /** Executions with an armed timer due by `now`. */
  executionsWithDueTimers(now: number): Promise<ExecutionId[]>;
  createPromise(p: {
    id: string;
    executionId: ExecutionId;
    stepId: number;
    name: string;
    tokenHash: Uint8Array;
  }): Promise<void>;
  getPromise(id: string): Promise<PromiseRecord | undefined>;
  listPromises(filter?: {
    executionId?: ExecutionId;
    status?: PromiseRecord['status'];
  }): Promise<PromiseRecord[]>;
  /** Settle a pending promise with its sealed value; false if it was not pending (it settles once). */
  settlePromise(id: string, status: 'resolved' | 'rejected', sealedValue: Uint8Array): Promise<boolean>;
  /**
   * Replace journal rows by one checkpoint row that takes the first row's
   * sequence number, in one transaction (see checkpoint.ts).
   */
  replaceWithCheckpoint(seqs: readonly number[], checkpoint: StoredRow, leaseOwner: string): Promise<void>;
  /** Insert whole executions (record and journal rows) in one transaction: all or nothing. */
  /** Insert imported executions in one transaction; `within` adds what other stores keep (session events) to it. */
  importExecutions(items: readonly ImportedExecution[], within?: () => Promise<void>): Promise<void>;
  timersOf(executionId: ExecutionId): Promise<TimerRecord[]>;
  /** Finished executions, oldest first (the order retention removes them in). */
  terminalByAge(): Promise<Array<{
    id: ExecutionId;
    finishedAt: number;
    completed: boolean;
    bytes: number;
  }>>;
  /** Running executions that nobody owns (or whose lease expired) and that have not moved since `before`. */
  staleRunning(before: number): Promise<ExecutionId[]>;
  totals(): Promise<{
    executions: number;
    journalBytes: number;
  }>;
  countChildRows(ids: readonly string[]): Promise<ChildRowCounts>;
  /** Delete executions with every child row (foreign keys cascade), in one transaction; returns what went. */
  deleteExecutions(ids: readonly string[]): Promise<ChildRowCounts>;
  /** VACUUM when at least a quarter of the file is free pages, so the file actually shrinks. */
  vacuumIfWorthIt(): Promise<boolean>;
  /**
   * Insert rows in order in one transaction; returns their sequence numbers,
   * ascending in row order. A row with a fence is refused, with the whole
   * transaction (StorageError 'fenced'), unless its lease still holds.
   */
  appendRows(rows: readonly StoredRow[]): Promise<JournalSeq[]>;
  markState(id: ExecutionId): Promise<MarkState | undefined>;
  /** Rows present for an execution, whatever the counters say, and the last one's seq. */
  countRows(id: ExecutionId): Promise<{
    count: number;
    lastSeq: number;
  }>;
  /** Headers and tags of an execution's rows after `afterSeq`, every attempt, in sequence order (no payloads). */
  readMarkRows(id: ExecutionId, afterSeq: number, limit: number): Promise<MarkRow[]>;
  /** Record a completeness mark (see journalMark.ts). */
  setMark(id: ExecutionId, markedCount: number, markedSeq: number, mark: Uint8Array): Promise<void>;
  getMeta(name: string): Promise<Uint8Array | undefined>;
  setMeta(name: string, value: Uint8Array): Promise<void>;
  /** Any payload row, to tell which key sealed a journal that predates the key check. */
  anySealedRow(): Promise<JournalRecord | undefined>;
  readSegment(executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<JournalRecord[]>;
  /** Every attempt of an execution, in segments: for views and export. */
  readExecutionSegment(executionId: ExecutionId, afterSeq: number, limit: number): Promise<JournalRecord[]>;
  /**
   * Every journal row of an execution (one attempt, or all), in sequence order,
   * read in keyset segments: memory holds one segment whatever the journal length.
   */
  journalRows(executionId: ExecutionId, options?: {
    attempt?: number;
    segmentSize?: number;
  }): AsyncGenerator<JournalRecord>;
  findResultByKey(executionId: ExecutionId, key: IdempotencyKey): Promise<JournalRecord | undefined>;
  /** The journal's sequence counter: it only grows, whatever is deleted (see journalAnchor.ts). */
  sequenceHighWater(): Promise<number>;
  maxSeq(): Promise<number>;
  listAudit(executionId?: ExecutionId): Promise<AuditRecord[]>;
  // ---- inspection reads (views and the attention list) ----
  /** Entry headers of one attempt after `afterSeq`, in journal order, at most `limit`. */
  entrySummaries(executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<EntrySummary[]>;
  /** Open ambiguous windows of running or suspended executions whose lease is free at `now`, oldest intent first. */
  openWindows(now: number, limit: number): Promise<OpenWindow[]>;
  /** Unfinished or failed executions restarted after a divergence (attempt > 1), most recent first. */
  restartedExecutions(limit: number): Promise<ExecutionId[]>;
  /** Suspended executions whose status detail starts with one of `prefixes`, most recent first. */
  suspendedWithDetail(prefixes: readonly string[], limit: number): Promise<ExecutionId[]>;
  /** The last entry's seq of one attempt (for cache signatures), undefined without entries. */
  lastEntrySeq(executionId: ExecutionId, attempt: number): Promise<number | undefined>;
}
