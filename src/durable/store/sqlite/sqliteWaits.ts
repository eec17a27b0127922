/**
 * Durable timers and promises on SQLite: arming, firing, the next due time,
 * settlement once, and the promise records the views list.
 */
import type { ExecutionId } from '../../model/ids';
import type { PromiseRecord, TimerRecord } from '../journalStore';
import type { SqliteConnection, SqlRow } from './sqliteConnection';
import { ownedView } from '../../model/bytes';

const ACTIVE = `('running','suspended')`;

function toPromiseRecord(row: SqlRow): PromiseRecord {
  return {
    id: row.id as string,
    executionId: row.execution_id as ExecutionId,
    stepId: row.step_id as number,
    name: row.name as string,
    tokenHash: ownedView(row.token_hash as Buffer),
    status: row.status as PromiseRecord['status'],
    createdAt: row.created_at as number,
    resolvedAt: row.resolved_at as number | null,
    value: row.value === null ? null : ownedView(row.value as Buffer),
  };
}

/** Arm a timer once (a replay arming it again changes nothing). */
export async function armTimer(conn: SqliteConnection, timer: { id: string; executionId: ExecutionId; stepId: number; dueAt: number }): Promise<void> {
  await conn.exclusive('arm timer', () =>
    conn.run(`INSERT OR IGNORE INTO timers (id, execution_id, step_id, due_at, status) VALUES (?, ?, ?, ?, 'armed')`, [
      timer.id, timer.executionId, timer.stepId, timer.dueAt,
    ]),
  );
}

export async function fireTimer(conn: SqliteConnection, clock: () => number, id: string): Promise<void> {
  await conn.exclusive('fire timer', () =>
    conn.run(`UPDATE timers SET status = 'fired', fired_at = ? WHERE id = ? AND status = 'armed'`, [clock(), id]),
  );
}

/** The earliest due time of an armed timer of a suspended or running execution (due after `after`, when given). */
export async function nextTimerDue(conn: SqliteConnection, after?: number): Promise<number | undefined> {
  const row = await conn.exclusive('read next timer', () =>
    conn.get(
      `SELECT min(t.due_at) AS due FROM timers t JOIN executions e ON e.id = t.execution_id
       WHERE t.status = 'armed' AND e.status IN ${ACTIVE} AND t.due_at > ?`,
      [after ?? Number.MIN_SAFE_INTEGER],
    ),
  );
  return (row?.due as number | null | undefined) ?? undefined;
}

/** Executions with an armed timer due by `now`. */
export async function executionsWithDueTimers(conn: SqliteConnection, now: number): Promise<ExecutionId[]> {
  const rows = await conn.exclusive('read due timers', () =>
    conn.all(
      `SELECT DISTINCT t.execution_id AS id FROM timers t JOIN executions e ON e.id = t.execution_id
       WHERE t.status = 'armed' AND t.due_at <= ? AND e.status IN ${ACTIVE}`,
      [now],
    ),
  );
  return rows.map((r) => r.id as ExecutionId);
}

export async function createPromise(conn: SqliteConnection, clock: () => number, p: { id: string; executionId: ExecutionId; stepId: number; name: string; tokenHash: Uint8Array }): Promise<void> {
  await conn.exclusive('create promise', () =>
    conn.run(
      `INSERT OR IGNORE INTO promises (id, execution_id, step_id, name, token_hash, status, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)`,
      [p.id, p.executionId, p.stepId, p.name, p.tokenHash, clock()],
    ),
  );
}

export async function getPromise(conn: SqliteConnection, id: string): Promise<PromiseRecord | undefined> {
  const row = await conn.exclusive('read promise', () => conn.get('SELECT * FROM promises WHERE id = ?', [id]));
  return row ? toPromiseRecord(row) : undefined;
}

export async function listPromises(conn: SqliteConnection, filter: { executionId?: ExecutionId; status?: PromiseRecord['status'] } = {}): Promise<PromiseRecord[]> {
  const rows = await conn.exclusive('list promises', () =>
    conn.all(
      `SELECT * FROM promises WHERE (? IS NULL OR execution_id = ?) AND (? IS NULL OR status = ?) ORDER BY created_at`,
      [filter.executionId ?? null, filter.executionId ?? null, filter.status ?? null, filter.status ?? null],
    ),
  );
  return rows.map(toPromiseRecord);
}

/** Settle a pending promise with its sealed value; false if it was not pending (it settles once). */
export async function settlePromise(conn: SqliteConnection, clock: () => number, id: string, status: 'resolved' | 'rejected', sealedValue: Uint8Array): Promise<boolean> {
  const outcome = await conn.exclusive('settle promise', () =>
    conn.run(`UPDATE promises SET status = ?, value = ?, resolved_at = ? WHERE id = ? AND status = 'pending'`, [status, sealedValue, clock(), id]),
  );
  return outcome.changes === 1;
}

export async function timersOf(conn: SqliteConnection, executionId: ExecutionId): Promise<TimerRecord[]> {
  const rows = await conn.exclusive('list timers', () => conn.all('SELECT * FROM timers WHERE execution_id = ? ORDER BY due_at, id', [executionId]));
  return rows.map((r) => ({
    id: r.id as string,
    executionId: r.execution_id as string,
    stepId: r.step_id as number,
    dueAt: r.due_at as number,
    status: r.status as TimerRecord['status'],
    firedAt: r.fired_at as number | null,
  }));
}
