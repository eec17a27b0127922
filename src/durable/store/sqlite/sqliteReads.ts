/**
 * Journal reads on SQLite: an attempt's rows or every attempt's in keyset
 * segments, a committed result by idempotency key, the sequence counters, and
 * the audit records projected from ambiguity rows.
 */
import { ownedView } from '../../model/bytes';
import type { ExecutionId, IdempotencyKey } from '../../model/ids';
import type { JournalRecord } from '../../model/journal';
import type { AuditRecord } from '../journalStore';
import type { SqliteConnection } from './sqliteConnection';
import { packedRowToRecord, rowToRecord, SELECT_PACKED_ROW, SELECT_ROW } from './sqliteRows';

export async function readSegment(conn: SqliteConnection, executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<JournalRecord[]> {
  const rows = await conn.exclusive('read journal segment', () =>
    conn.all(`${SELECT_PACKED_ROW} WHERE execution_id = ? AND attempt = ? AND seq > ? ORDER BY seq LIMIT ?`, [executionId, attempt, afterSeq, limit]),
  );
  return rows.map((row) => packedRowToRecord(executionId, row));
}

/** Every attempt of an execution, in segments: for views and export. */
export async function readExecutionSegment(conn: SqliteConnection, executionId: ExecutionId, afterSeq: number, limit: number): Promise<JournalRecord[]> {
  const rows = await conn.exclusive('read journal segment', () =>
    conn.all(`${SELECT_PACKED_ROW} WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?`, [executionId, afterSeq, limit]),
  );
  return rows.map((row) => packedRowToRecord(executionId, row));
}

export async function findResultByKey(conn: SqliteConnection, executionId: ExecutionId, key: IdempotencyKey): Promise<JournalRecord | undefined> {
  const row = await conn.exclusive('look up idempotency key', () =>
    conn.get(`${SELECT_ROW} WHERE idem_key = ? AND kind = 'step_result' AND execution_id = ? ORDER BY seq DESC LIMIT 1`, [key, executionId]),
  );
  return row ? rowToRecord(row) : undefined;
}

/** SQLite's AUTOINCREMENT counter of the journal: it only grows, whatever is deleted (see journalAnchor.ts). */
export async function sequenceHighWater(conn: SqliteConnection): Promise<number> {
  const row = await conn.exclusive('read journal high water', () => conn.get(`SELECT coalesce(max(seq), 0) AS seq FROM sqlite_sequence WHERE name = 'journal'`));
  return (row?.seq as number | undefined) ?? 0;
}

export async function maxSeq(conn: SqliteConnection): Promise<number> {
  const row = await conn.exclusive('read max seq', () => conn.get('SELECT coalesce(max(seq), 0) AS seq FROM journal'));
  return (row?.seq as number | undefined) ?? 0;
}

export async function listAudit(conn: SqliteConnection, executionId?: ExecutionId): Promise<AuditRecord[]> {
  const rows = await conn.exclusive('list audit records', () =>
    executionId === undefined
      ? conn.all('SELECT * FROM audit ORDER BY seq')
      : conn.all('SELECT * FROM audit WHERE execution_id = ? ORDER BY seq', [executionId]),
  );
  return rows.map((r) => ({
    seq: r.seq as number,
    executionId: r.execution_id as string,
    stepId: r.step_id as number,
    stepName: r.step_name as string | null,
    effect: r.effect as string,
    idempotencyKey: ownedView(r.idem_key as Buffer),
    policy: r.policy as string,
    decision: r.decision as string,
    decidedBy: r.decided_by as string,
    decidedAt: r.decided_at as number,
  }));
}
