/**
 * The durable store on a shared PostgreSQL database: the same port as the
 * SQLite adapter, for many machines and many projects at once. Rows arrive
 * sealed; this class never sees a key or a plaintext payload.
 *
 * What differs from SQLite, on purpose: ownership is a lease row with a
 * fencing epoch that every write of a run is checked against inside its own
 * statement (no session advisory locks, which vanish with a connection and
 * break behind a transaction-mode pooler); claims skip rows another
 * transaction holds; changes announce themselves with NOTIFY as hints; each
 * store sees one project. See docs/ARCHITECTURE.md.
 */
import { InvalidStateError } from '../../model/errors';
import type { ExecutionId, IdempotencyKey, JournalSeq } from '../../model/ids';
import type { ExecutionRecord, JournalRecord, LeaseFence, StoredRow, TerminalStatus } from '../../model/journal';
import type { Migration } from '../migrationFiles';
import type {
  AuditRecord, ChildRowCounts, EntrySummary, ExecutionFilter, ImportedExecution, JournalStore, MarkRow, MarkState, NewExecution, OpenWindow, PromiseRecord, StoreHint, TimerRecord,
} from '../journalStore';
import { segmentedRows } from '../segments';
import { PgConnection, type PgConnectionOptions } from './pgConnection';
import * as executions from './pgExecutions';
import { HintListener } from './pgHints';
import * as journal from './pgJournal';
import * as maintenance from './pgMaintenance';
import { migratePostgres } from './pgMigrations';
import { num } from './pgRows';
import { PgSessionStorage } from './pgSessionStorage';
import * as waits from './pgWaits';

export interface PostgresStoreOptions extends PgConnectionOptions {
  /** The project (workspace) this store serves; executions of other projects are invisible to it. */
  readonly project: string;
  readonly migrations: readonly Migration[];
  readonly clock?: () => number;
}

export class PostgresStore implements JournalStore {
  readonly flavor = 'postgres';
  readonly sessions: PgSessionStorage;
  private readonly scope: executions.PgScope;
  private readonly hints: HintListener;

  private constructor(
    private readonly conn: PgConnection,
    project: string,
    private readonly clock: () => number,
    warn: (message: string) => void,
  ) {
    this.scope = { conn, project, clock };
    this.sessions = new PgSessionStorage(this.scope);
    this.hints = new HintListener(conn, project, warn);
  }

  /** Connect, migrate (several machines may race: see pgMigrations.ts). Throws StorageError / MigrationError with advice. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const conn = await PgConnection.open(options);
    try {
      const clock = options.clock ?? Date.now;
      await migratePostgres(conn, options.migrations, clock);
      return new PostgresStore(conn, options.project, clock, options.warn ?? (() => undefined));
    } catch (error) {
      await conn.close();
      throw error;
    }
  }

  get file(): string {
    return this.conn.where;
  }

  get project(): string {
    return this.scope.project;
  }

  watch(listener: (hint: StoreHint) => void): { dispose(): void } {
    return this.hints.watch(listener);
  }

  async close(): Promise<void> {
    await this.hints.close();
    await this.conn.close();
  }

  /**
   * PostgreSQL checks its own pages; what we can check is our invariant: every
   * execution's counted rows equal the rows present.
   */
  async quickCheck(): Promise<string[]> {
    const rows = await this.conn.query(
      'integrity check',
      `SELECT e.id, e.row_count, (SELECT count(*) FROM journal j WHERE j.execution_id = e.id) AS present FROM executions e WHERE e.project = $1`,
      [this.scope.project],
    );
    const problems = rows.filter((r) => num(r.row_count) !== num(r.present)).map((r) => `execution ${String(r.id)}: ${num(r.row_count)} rows counted, ${num(r.present)} present`);
    return problems.length === 0 ? ['ok'] : problems;
  }

  // ---- executions and leases ----
  async createExecution(exec: NewExecution, firstRows: readonly StoredRow[] = []): Promise<void> {
    if (firstRows.length === 0) return executions.createExecution(this.scope, exec, this.clock());
    await this.conn.transaction('create execution', async () => {
      await executions.createExecution(this.scope, exec, this.clock());
      await journal.insertRows(this.scope, firstRows);
    });
  }

  getExecution(id: ExecutionId): Promise<ExecutionRecord | undefined> {
    return executions.getExecution(this.scope, id);
  }
  listExecutions(filter: ExecutionFilter = {}): Promise<ExecutionRecord[]> {
    return executions.listExecutions(this.scope, filter);
  }
  finalize(id: ExecutionId, status: TerminalStatus, detail: string | null = null, fence?: LeaseFence): Promise<boolean> {
    return executions.finalize(this.scope, id, status, detail, fence);
  }
  suspend(id: ExecutionId, detail: string | null = null, fence?: LeaseFence): Promise<boolean> {
    return executions.suspend(this.scope, id, detail, fence);
  }
  markDamaged(id: ExecutionId, detail: string): Promise<boolean> {
    return executions.markDamaged(this.scope, id, detail);
  }
  reopen(id: ExecutionId): Promise<boolean> {
    return executions.reopen(this.scope, id);
  }
  beginAttempt(id: ExecutionId, detail: string): Promise<number> {
    return executions.beginAttempt(this.scope, id, detail);
  }
  acquireLease(id: ExecutionId, owner: string, leaseMs: number): Promise<number | undefined> {
    return executions.acquireLease(this.scope, id, owner, leaseMs);
  }
  renewLease(id: ExecutionId, owner: string, leaseMs: number): Promise<boolean> {
    return executions.renewLease(this.scope, id, owner, leaseMs);
  }
  releaseLease(id: ExecutionId, owner: string): Promise<void> {
    return executions.releaseLease(this.scope, id, owner);
  }

  // ---- timers and promises ----
  armTimer(timer: { id: string; executionId: ExecutionId; stepId: number; dueAt: number }): Promise<void> {
    return waits.armTimer(this.scope, timer);
  }
  fireTimer(id: string): Promise<void> {
    return waits.fireTimer(this.scope, id);
  }
  nextTimerDue(after?: number): Promise<number | undefined> {
    return waits.nextTimerDue(this.scope, after);
  }
  executionsWithDueTimers(now: number): Promise<ExecutionId[]> {
    return waits.executionsWithDueTimers(this.scope, now);
  }
  createPromise(p: { id: string; executionId: ExecutionId; stepId: number; name: string; tokenHash: Uint8Array }): Promise<void> {
    return waits.createPromise(this.scope, p);
  }
  getPromise(id: string): Promise<PromiseRecord | undefined> {
    return waits.getPromise(this.scope, id);
  }
  listPromises(filter: { executionId?: ExecutionId; status?: PromiseRecord['status'] } = {}): Promise<PromiseRecord[]> {
    return waits.listPromises(this.scope, filter);
  }
  settlePromise(id: string, status: 'resolved' | 'rejected', sealedValue: Uint8Array): Promise<boolean> {
    return waits.settlePromise(this.scope, id, status, sealedValue);
  }
  timersOf(executionId: ExecutionId): Promise<TimerRecord[]> {
    return waits.timersOf(this.scope, executionId);
  }

  // ---- folding, import, retention ----
  async replaceWithCheckpoint(seqs: readonly number[], checkpoint: StoredRow, leaseOwner: string): Promise<void> {
    const first = Math.min(...seqs);
    await this.conn.transaction(`fold ${seqs.length} rows`, async () => {
      // Folding rewrites rows: only the lease holder may, checked (and the row locked) inside the transaction.
      const held = await this.conn.query('check the lease', 'SELECT 1 FROM executions WHERE id = $1 AND lease_owner = $2 AND lease_expires_at > $3 FOR UPDATE', [
        checkpoint.executionId, leaseOwner, this.clock(),
      ]);
      if (held.length === 0) throw new InvalidStateError(`execution ${checkpoint.executionId}: folding needs its lease; nothing was folded`);
      const deleted = await this.conn.query('fold rows', `DELETE FROM journal WHERE seq = ANY($1::bigint[]) AND kind = 'step_result' RETURNING length(body) AS bytes`, [[...seqs]]);
      if (deleted.length !== seqs.length) throw new InvalidStateError('the rows to fold changed while folding; nothing was folded');
      const removed = deleted.reduce((n, r) => n + num(r.bytes), 0);
      const c = checkpoint;
      await this.conn.query(
        'write the checkpoint',
        `INSERT INTO journal (seq, execution_id, attempt, step_id, kind, step_name, effect, idem_key, body, mac, size, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [first, c.executionId, c.attempt, c.stepId, c.kind, c.stepName, c.effect, c.idempotencyKey, c.body, c.mac, c.size, c.createdAt],
      );
      // The insert trigger counted the checkpoint row; take the folded rows off.
      await this.conn.query('adjust counters', 'UPDATE executions SET journal_bytes = journal_bytes - $1, row_count = row_count - $2 WHERE id = $3', [removed, seqs.length, c.executionId]);
    });
  }

  async importExecutions(items: readonly ImportedExecution[], within?: () => Promise<void>): Promise<void> {
    await this.conn.transaction(`import ${items.length} executions`, async () => {
      for (const { execution: e, rows, promises = [], timers = [] } of items) {
        await this.conn.query(
          'import an execution',
          `INSERT INTO executions (id, kind, version, title, status, attempt, created_at, updated_at, finished_at, status_detail, project)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [e.id, e.kind, e.version, e.title, e.status === 'running' ? 'suspended' : e.status, e.attempt, e.createdAt, e.updatedAt, e.finishedAt, e.statusDetail, this.scope.project],
        );
        if (rows.length > 0) await journal.insertRows(this.scope, rows);
        for (const p of promises) {
          await this.conn.query(
            'import a promise',
            'INSERT INTO promises (id, execution_id, step_id, name, token_hash, status, created_at, resolved_at, value) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
            [p.id, e.id, p.stepId, p.name, p.tokenHash, p.status, p.createdAt, p.resolvedAt, p.value],
          );
        }
        for (const t of timers) {
          await this.conn.query('import a timer', 'INSERT INTO timers (id, execution_id, step_id, due_at, status, fired_at) VALUES ($1, $2, $3, $4, $5, $6)', [
            t.id, e.id, t.stepId, t.dueAt, t.status, t.firedAt,
          ]);
        }
      }
      await within?.();
    });
  }

  terminalByAge(): Promise<Array<{ id: ExecutionId; finishedAt: number; completed: boolean; bytes: number }>> {
    return maintenance.terminalByAge(this.scope);
  }
  staleRunning(before: number): Promise<ExecutionId[]> {
    return maintenance.staleRunning(this.scope, before);
  }
  totals(): Promise<{ executions: number; journalBytes: number }> {
    return maintenance.totals(this.scope);
  }
  countChildRows(ids: readonly string[]): Promise<ChildRowCounts> {
    return maintenance.countChildRows(this.scope, ids);
  }
  deleteExecutions(ids: readonly string[]): Promise<ChildRowCounts> {
    return maintenance.deleteExecutions(this.scope, ids);
  }
  /** The server's autovacuum reclaims space; nothing to do from here. */
  vacuumIfWorthIt(): Promise<boolean> {
    return Promise.resolve(false);
  }

  // ---- journal ----
  appendRows(rows: readonly StoredRow[]): Promise<JournalSeq[]> {
    if (rows.length === 0) return Promise.resolve([]);
    // One statement carries the rows and their fence check; an audit record needs its projection in the same transaction.
    if (!rows.some((r) => r.kind === 'ambiguity_resolved')) return journal.insertRows(this.scope, rows);
    return this.conn.transaction(`append ${rows.length} journal rows`, () => journal.insertRows(this.scope, rows));
  }
  markState(id: ExecutionId): Promise<MarkState | undefined> {
    return journal.markState(this.scope, id);
  }
  countRows(id: ExecutionId): Promise<{ count: number; lastSeq: number }> {
    return journal.countRows(this.scope, id);
  }
  readMarkRows(id: ExecutionId, afterSeq: number, limit: number): Promise<MarkRow[]> {
    return journal.readMarkRows(this.scope, id, afterSeq, limit);
  }
  setMark(id: ExecutionId, markedCount: number, markedSeq: number, mark: Uint8Array): Promise<void> {
    return journal.setMark(this.scope, id, markedCount, markedSeq, mark);
  }
  getMeta(name: string): Promise<Uint8Array | undefined> {
    return journal.getMeta(this.scope, name);
  }
  setMeta(name: string, value: Uint8Array): Promise<void> {
    return journal.setMeta(this.scope, name, value);
  }
  anySealedRow(): Promise<JournalRecord | undefined> {
    return journal.anySealedRow(this.scope);
  }
  readSegment(executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<JournalRecord[]> {
    return journal.readSegment(this.scope, executionId, attempt, afterSeq, limit);
  }
  readExecutionSegment(executionId: ExecutionId, afterSeq: number, limit: number): Promise<JournalRecord[]> {
    return journal.readExecutionSegment(this.scope, executionId, afterSeq, limit);
  }
  journalRows(executionId: ExecutionId, options: { attempt?: number; segmentSize?: number } = {}): AsyncGenerator<JournalRecord> {
    return segmentedRows(this, executionId, options);
  }
  findResultByKey(executionId: ExecutionId, key: IdempotencyKey): Promise<JournalRecord | undefined> {
    return journal.findResultByKey(this.scope, executionId, key);
  }
  sequenceHighWater(): Promise<number> {
    return journal.sequenceHighWater(this.scope);
  }
  maxSeq(): Promise<number> {
    return journal.maxSeq(this.scope);
  }
  listAudit(executionId?: ExecutionId): Promise<AuditRecord[]> {
    return journal.listAudit(this.scope, executionId);
  }

  // ---- inspection reads ----
  entrySummaries(executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<EntrySummary[]> {
    return maintenance.entrySummaries(this.scope, executionId, attempt, afterSeq, limit);
  }
  openWindows(now: number, limit: number): Promise<OpenWindow[]> {
    return maintenance.openWindows(this.scope, now, limit);
  }
  restartedExecutions(limit: number): Promise<ExecutionId[]> {
    return maintenance.restartedExecutions(this.scope, limit);
  }
  suspendedWithDetail(prefixes: readonly string[], limit: number): Promise<ExecutionId[]> {
    return maintenance.suspendedWithDetail(this.scope, prefixes, limit);
  }
  lastEntrySeq(executionId: ExecutionId, attempt: number): Promise<number | undefined> {
    return maintenance.lastEntrySeq(this.scope, executionId, attempt);
  }
}
