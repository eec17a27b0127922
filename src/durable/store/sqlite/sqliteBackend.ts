/**
 * The durable store on `durable.db`: executions, journal rows, audit records,
 * leases. Rows arrive already sealed (see journalCodec.ts); this class never
 * sees a key or a plaintext payload.
 *
 * Opened with WAL, `foreign_keys=ON`, `synchronous=FULL` and a busy timeout;
 * migrations run at open. Journal appends are multi-row INSERTs, usually one
 * autocommit statement per commit (sqliteAppends.ts), and reads
 * come in keyset segments so memory stays bounded whatever the journal length.
 */
import * as reads from './sqliteReads';
import * as executions from './sqliteExecutions';
import * as appends from './sqliteAppends';
import { flatten, PLACEHOLDERS, ROW_COLUMNS } from './sqliteRows';
import * as marks from './sqliteMarks';
import * as maintenance from './sqliteMaintenance';
import * as waits from './sqliteWaits';
import { FIRST_LEASE_EPOCH, type AuditRecord, type ChildRowCounts, type EntrySummary, type ExecutionFilter, type ImportedExecution, type JournalStore, type LeaseFence, type MarkRow, type MarkState, type NewExecution, type OpenWindow, type PromiseRecord, type StoreHint, type TimerRecord } from '../journalStore';
import * as inspection from './inspectionQueries';
export type { AuditRecord, ChildRowCounts, ExecutionFilter, ImportedExecution, MarkRow, MarkState, NewExecution, PromiseRecord, TimerRecord };
import { InvalidStateError, StorageError } from '../../model/errors';
import type { ExecutionId, IdempotencyKey, JournalSeq } from '../../model/ids';
import { type ExecutionRecord, type JournalRecord, type StoredRow, type TerminalStatus } from '../../model/journal';
import { migrate, type Migration } from './migrations';
import { SqliteConnection } from './sqliteConnection';
import type { BindingCandidate, SqliteBinding } from './sqliteBinding';
import { segmentedRows } from '../segments';

/**
 * Readers never block the writer, and a crash loses no committed transaction,
 * only in write-ahead logging. SQLite keeps the old mode and says so when it
 * cannot switch (some network file systems): refuse rather than run without it.
 */
async function requireWal(conn: SqliteConnection): Promise<void> {
  const [row] = await conn.rawAll('PRAGMA journal_mode=WAL');
  const mode = String(row?.journal_mode ?? '').toLowerCase();
  if (mode !== 'wal') {
    throw new StorageError(
      'cannot_open',
      `durable.db (${conn.file}): SQLite kept the journal mode '${mode || 'unknown'}' instead of write-ahead logging, which the journal needs; the folder may be on a network file system: move the workspace storage to a local disk, or share the journal on PostgreSQL`,
    );
  }
}

export interface BackendOptions {
  readonly file: string;
  readonly migrations: readonly Migration[];
  readonly busyTimeoutMs: number;
  readonly readOnly?: boolean;
  readonly clock?: () => number;
  /** Where to load `@vscode/sqlite3` from, in order (see sqliteBinding.ts). */
  readonly binding?: readonly BindingCandidate[];
}

export class SqliteBackend implements JournalStore {
  private readonly clock: () => number;

  private constructor(
    private readonly conn: SqliteConnection,
    clock: () => number,
  ) {
    this.clock = clock;
  }

  /** Open (creating if needed), configure and migrate. Throws StorageError / MigrationError with advice. */
  static async open(options: BackendOptions): Promise<SqliteBackend> {
    const clock = options.clock ?? Date.now;
    const conn = await SqliteConnection.open(options.file, { readOnly: options.readOnly, busyTimeoutMs: options.busyTimeoutMs, binding: options.binding });
    try {
      await conn.exclusive('configure', async () => {
        // The first read of the file: a damaged header fails here with SQLITE_NOTADB.
        await conn.rawAll('PRAGMA schema_version');
        if (!options.readOnly) await requireWal(conn);
        await conn.execScript('PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;');
      });
      if (!options.readOnly) await migrate(conn, options.migrations, clock);
      return new SqliteBackend(conn, clock);
    } catch (error) {
      await conn.close().catch(() => undefined);
      throw error;
    }
  }

  get file(): string {
    return this.conn.file;
  }

  /** The `@vscode/sqlite3` this file is open with. */
  get binding(): SqliteBinding {
    return this.conn.binding;
  }

  readonly flavor = 'sqlite';

  /** One file, one machine: other processes' changes show up on the next read; nothing to announce. */
  watch(listener: (hint: StoreHint) => void): { dispose(): void } {
    void listener;
    return { dispose: () => undefined };
  }

  /** The connection, for sibling stores of the same file (session events); they queue on it like we do. */
  get connection(): SqliteConnection {
    return this.conn;
  }

  async close(): Promise<void> {
    return this.conn.close();
  }

  /** `PRAGMA quick_check`: 'ok' or the problems SQLite found. Costs a full scan: on demand only. */
  async quickCheck(): Promise<string[]> {
    const rows = await this.conn.exclusive('integrity check', () => this.conn.rawAll<{ quick_check: string }>('PRAGMA quick_check'));
    return rows.map((r) => String(r.quick_check));
  }

  // ---- executions -------------------------------------------------------------------------

  /**
   * Create an execution, with its first journal rows (its recorded input) in the
   * same transaction: an execution never exists without its input.
   */
  async createExecution(exec: NewExecution, firstRows: readonly StoredRow[] = []): Promise<void> {
    const now = this.clock();
    await this.conn.transaction('create execution', async () => {
      await this.conn.run(
        `INSERT INTO executions (id, kind, version, title, status, attempt, created_at, updated_at, lease_owner, lease_expires_at, lease_epoch)
         VALUES (?, ?, ?, ?, 'running', 1, ?, ?, ?, ?, ?)`,
        [exec.id, exec.kind, exec.version, exec.title, now, now, exec.lease?.owner ?? null, exec.lease ? now + exec.lease.leaseMs : null, exec.lease ? FIRST_LEASE_EPOCH : 0],
      );
      if (firstRows.length > 0) await appends.insertRows(this.conn, firstRows);
    });
  }

  getExecution(id: ExecutionId): Promise<ExecutionRecord | undefined> {
    return executions.getExecution(this.conn, id);
  }

  listExecutions(filter: ExecutionFilter = {}): Promise<ExecutionRecord[]> {
    return executions.listExecutions(this.conn, filter);
  }

  /**
   * Move an active execution to a terminal status. The first terminal status
   * wins: returns false (and changes nothing) if it was already terminal.
   */
  finalize(id: ExecutionId, status: TerminalStatus, detail: string | null = null, fence?: LeaseFence): Promise<boolean> {
    return executions.finalize(this.conn, this.clock, id, status, detail, fence);
  }

  /** running → suspended (waiting for a person or an event). */
  suspend(id: ExecutionId, detail: string | null = null, fence?: LeaseFence): Promise<boolean> {
    return executions.suspend(this.conn, this.clock, id, detail, fence);
  }

  /** An unfinished execution whose journal is damaged: suspended with the reason, whatever it was waiting for. */
  markDamaged(id: ExecutionId, detail: string): Promise<boolean> {
    return executions.markDamaged(this.conn, this.clock, id, detail);
  }

  /** Reopen for resume: suspended, failed or aborted goes back to running (never completed or cancelled). */
  reopen(id: ExecutionId): Promise<boolean> {
    return executions.reopen(this.conn, this.clock, id);
  }

  /** Start a new attempt (after a divergence): replay of the old attempt stops, its rows stay for lookups. */
  beginAttempt(id: ExecutionId, detail: string): Promise<number> {
    return executions.beginAttempt(this.conn, this.clock, id, detail);
  }

  /**
   * Take or renew the lease atomically: succeeds when nobody holds it, we hold
   * it, or the holder's lease expired. Returns whether we now own it.
   */
  acquireLease(id: ExecutionId, owner: string, leaseMs: number): Promise<number | undefined> {
    return executions.acquireLease(this.conn, this.clock, id, owner, leaseMs);
  }

  /** Renew only if still ours (a renewal never steals). */
  renewLease(id: ExecutionId, owner: string, leaseMs: number): Promise<boolean> {
    return executions.renewLease(this.conn, this.clock, id, owner, leaseMs);
  }

  releaseLease(id: ExecutionId, owner: string): Promise<void> {
    return executions.releaseLease(this.conn, id, owner);
  }

  // ---- leases ------------------------------------------------------------------------------

  // ---- timers and promises ------------------------------------------------------------------

  /** Arm a timer once (a replay arming it again changes nothing). */
  armTimer(timer: { id: string; executionId: ExecutionId; stepId: number; dueAt: number }): Promise<void> {
    return waits.armTimer(this.conn, timer);
  }

  fireTimer(id: string): Promise<void> {
    return waits.fireTimer(this.conn, this.clock, id);
  }

  /** The earliest due time of an armed timer of a suspended or running execution. */
  nextTimerDue(after?: number): Promise<number | undefined> {
    return waits.nextTimerDue(this.conn, after);
  }

  /** Executions with an armed timer due by `now`. */
  executionsWithDueTimers(now: number): Promise<ExecutionId[]> {
    return waits.executionsWithDueTimers(this.conn, now);
  }

  createPromise(p: { id: string; executionId: ExecutionId; stepId: number; name: string; tokenHash: Uint8Array }): Promise<void> {
    return waits.createPromise(this.conn, this.clock, p);
  }

  getPromise(id: string): Promise<PromiseRecord | undefined> {
    return waits.getPromise(this.conn, id);
  }

  listPromises(filter: { executionId?: ExecutionId; status?: PromiseRecord['status'] } = {}): Promise<PromiseRecord[]> {
    return waits.listPromises(this.conn, filter);
  }

  /** Settle a pending promise with its sealed value; false if it was not pending (it settles once). */
  settlePromise(id: string, status: 'resolved' | 'rejected', sealedValue: Uint8Array): Promise<boolean> {
    return waits.settlePromise(this.conn, this.clock, id, status, sealedValue);
  }

  timersOf(executionId: ExecutionId): Promise<TimerRecord[]> {
    return waits.timersOf(this.conn, executionId);
  }

  // ---- retention ---------------------------------------------------------------------------

  /**
   * Replace journal rows by one checkpoint row that takes the first row's
   * sequence number, in one transaction (see checkpoint.ts).
   */
  async replaceWithCheckpoint(seqs: readonly number[], checkpoint: StoredRow, leaseOwner: string): Promise<void> {
    const first = Math.min(...seqs);
    await this.conn.transaction(`fold ${seqs.length} rows`, async () => {
      // Folding rewrites rows: only the lease holder may, checked inside the transaction.
      const held = await this.conn.get(`SELECT 1 AS ok FROM executions WHERE id = ? AND lease_owner = ? AND lease_expires_at > ?`, [
        checkpoint.executionId, leaseOwner, this.clock(),
      ]);
      if (!held) throw new InvalidStateError(`execution ${checkpoint.executionId}: folding needs its lease; nothing was folded`);
      const marks = seqs.map(() => '?').join(',');
      const removed = ((await this.conn.get(`SELECT coalesce(sum(length(body)), 0) AS b FROM journal WHERE seq IN (${marks})`, seqs))?.b as number) ?? 0;
      const deleted = await this.conn.run(`DELETE FROM journal WHERE seq IN (${marks}) AND kind = 'step_result'`, seqs);
      if (deleted.changes !== seqs.length) throw new InvalidStateError('the rows to fold changed while folding; nothing was folded');
      await this.conn.run(`INSERT INTO journal (seq, ${ROW_COLUMNS}) VALUES (?, ${PLACEHOLDERS.slice(1)}`, [first, ...flatten(checkpoint)]);
      // The insert trigger counted the checkpoint row; take the folded rows off.
      await this.conn.run(`UPDATE executions SET journal_bytes = journal_bytes - ?, row_count = row_count - ? WHERE id = ?`, [
        removed, seqs.length, checkpoint.executionId,
      ]);
    });
  }

  /** Insert whole executions (record and journal rows) in one transaction: all or nothing. */
  /** Insert imported executions in one transaction; `within` adds what other stores keep (session events) to it. */
  async importExecutions(items: readonly ImportedExecution[], within?: () => Promise<void>): Promise<void> {
    await this.conn.transaction(`import ${items.length} executions`, async () => {
      for (const { execution: e, rows, promises = [], timers = [] } of items) {
        await this.conn.run(
          `INSERT INTO executions (id, kind, version, title, status, attempt, created_at, updated_at, finished_at, status_detail)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [e.id, e.kind, e.version, e.title, e.status === 'running' ? 'suspended' : e.status, e.attempt, e.createdAt, e.updatedAt, e.finishedAt, e.statusDetail],
        );
        if (rows.length > 0) await appends.insertRows(this.conn, rows);
        for (const p of promises) {
          await this.conn.run(
            'INSERT INTO promises (id, execution_id, step_id, name, token_hash, status, created_at, resolved_at, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [p.id, e.id, p.stepId, p.name, p.tokenHash, p.status, p.createdAt, p.resolvedAt, p.value],
          );
        }
        for (const t of timers) {
          await this.conn.run('INSERT INTO timers (id, execution_id, step_id, due_at, status, fired_at) VALUES (?, ?, ?, ?, ?, ?)', [t.id, e.id, t.stepId, t.dueAt, t.status, t.firedAt]);
        }
      }
      await within?.();
    });
  }

  /** Finished executions, oldest first (the order retention removes them in). */
  terminalByAge(): Promise<Array<{ id: ExecutionId; finishedAt: number; completed: boolean; bytes: number }>> {
    return maintenance.terminalByAge(this.conn);
  }

  /** Running executions that nobody owns (or whose lease expired) and that have not moved since `before`. */
  staleRunning(before: number): Promise<ExecutionId[]> {
    return maintenance.staleRunning(this.conn, this.clock, before);
  }

  totals(): Promise<{ executions: number; journalBytes: number }> {
    return maintenance.totals(this.conn);
  }

  countChildRows(ids: readonly string[]): Promise<ChildRowCounts> {
    return maintenance.countChildRows(this.conn, ids);
  }

  /** Delete executions with every child row (foreign keys cascade), in one transaction; returns what went. */
  deleteExecutions(ids: readonly string[]): Promise<ChildRowCounts> {
    return maintenance.deleteExecutions(this.conn, ids);
  }

  /** VACUUM when at least a quarter of the file is free pages, so the file actually shrinks. */
  vacuumIfWorthIt(): Promise<boolean> {
    return maintenance.vacuumIfWorthIt(this.conn);
  }

  // ---- journal -----------------------------------------------------------------------------

  /** Insert rows in order, all or none; returns their sequence numbers (see sqliteAppends.ts). */
  appendRows(rows: readonly StoredRow[]): Promise<JournalSeq[]> {
    return appends.appendRows(this.conn, rows);
  }

  // ---- completeness marks and file facts -----------------------------------------------------

  markState(id: ExecutionId): Promise<MarkState | undefined> {
    return marks.markState(this.conn, id);
  }

  /** Rows present for an execution, whatever the counters say, and the last one's seq. */
  countRows(id: ExecutionId): Promise<{ count: number; lastSeq: number }> {
    return marks.countRows(this.conn, id);
  }

  /** Headers and tags of an execution's rows after `afterSeq`, every attempt, in sequence order (no payloads). */
  readMarkRows(id: ExecutionId, afterSeq: number, limit: number): Promise<MarkRow[]> {
    return marks.readMarkRows(this.conn, id, afterSeq, limit);
  }

  /** Record a completeness mark (see journalMark.ts). */
  setMark(id: ExecutionId, markedCount: number, markedSeq: number, mark: Uint8Array): Promise<void> {
    return marks.setMark(this.conn, id, markedCount, markedSeq, mark);
  }

  getMeta(name: string): Promise<Uint8Array | undefined> {
    return marks.getMeta(this.conn, name);
  }

  setMeta(name: string, value: Uint8Array): Promise<void> {
    return marks.setMeta(this.conn, name, value);
  }

  /** Any payload row, to tell which key sealed a journal that predates the key check. */
  anySealedRow(): Promise<JournalRecord | undefined> {
    return marks.anySealedRow(this.conn);
  }

  readSegment(executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<JournalRecord[]> {
    return reads.readSegment(this.conn, executionId, attempt, afterSeq, limit);
  }

  /** Every attempt of an execution, in segments: for views and export. */
  readExecutionSegment(executionId: ExecutionId, afterSeq: number, limit: number): Promise<JournalRecord[]> {
    return reads.readExecutionSegment(this.conn, executionId, afterSeq, limit);
  }

  findResultByKey(executionId: ExecutionId, key: IdempotencyKey): Promise<JournalRecord | undefined> {
    return reads.findResultByKey(this.conn, executionId, key);
  }

  /** SQLite's AUTOINCREMENT counter of the journal: it only grows, whatever is deleted (see journalAnchor.ts). */
  sequenceHighWater(): Promise<number> {
    return reads.sequenceHighWater(this.conn);
  }

  maxSeq(): Promise<number> {
    return reads.maxSeq(this.conn);
  }

  listAudit(executionId?: ExecutionId): Promise<AuditRecord[]> {
    return reads.listAudit(this.conn, executionId);
  }

  /**
   * Every journal row of an execution (one attempt, or all), in sequence order,
   * read in keyset segments: memory holds one segment whatever the journal length.
   */
  journalRows(executionId: ExecutionId, options: { attempt?: number; segmentSize?: number } = {}): AsyncGenerator<JournalRecord> {
    return segmentedRows(this, executionId, options);
  }

  // ---- inspection reads (inspectionQueries.ts) ----
  entrySummaries(executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<EntrySummary[]> {
    return inspection.entrySummaries(this.conn, executionId, attempt, afterSeq, limit);
  }

  openWindows(now: number, limit: number): Promise<OpenWindow[]> {
    return inspection.openWindows(this.conn, now, limit);
  }

  restartedExecutions(limit: number): Promise<ExecutionId[]> {
    return inspection.restartedExecutions(this.conn, limit);
  }

  suspendedWithDetail(prefixes: readonly string[], limit: number): Promise<ExecutionId[]> {
    return inspection.suspendedWithDetail(this.conn, prefixes, limit);
  }

  lastEntrySeq(executionId: ExecutionId, attempt: number): Promise<number | undefined> {
    return inspection.lastEntrySeq(this.conn, executionId, attempt);
  }
}
