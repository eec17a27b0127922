/**
 * Durable timers and promises on PostgreSQL. Arming and creating are
 * idempotent (a replay changes nothing); firing and settling happen once.
 * Each change that another window should react to at once (a promise settled,
 * a timer armed or fired) announces itself on the hint channel.
 */
import { ownBytes } from '../../model/bytes';
import type { ExecutionId } from '../../model/ids';
import type { PromiseRecord, TimerRecord } from '../journalStore';
import { announce, type PgScope } from './pgExecutions';
import { bytesOrNull, num, numOrNull, type PgRow } from './pgRows';

function toPromise(row: PgRow): PromiseRecord {
  return {
    id: String(row.id),
    executionId: String(row.execution_id) as ExecutionId,
    stepId: num(row.step_id),
    name: String(row.name),
    tokenHash: ownBytes(row.token_hash as Buffer),
    status: row.status as PromiseRecord['status'],
    createdAt: num(row.created_at),
    resolvedAt: numOrNull(row.resolved_at),
    value: bytesOrNull(row.value),
  };
}

const IN_PROJECT = `execution_id IN (SELECT id FROM executions WHERE project = $1)`;

export async function armTimer(s: PgScope, timer: { id: string; executionId: ExecutionId; stepId: number; dueAt: number }): Promise<void> {
  await s.conn.query(
    'arm timer',
    `WITH changed AS (INSERT INTO timers (id, execution_id, step_id, due_at, status) VALUES ($1, $2, $3, $4, 'armed') ON CONFLICT (id) DO NOTHING
       RETURNING execution_id AS id, $5::text AS project) ${announce('timer')}`,
    [timer.id, timer.executionId, timer.stepId, timer.dueAt, s.project],
  );
}

export async function fireTimer(s: PgScope, id: string): Promise<void> {
  await s.conn.query(
    'fire timer',
    `WITH changed AS (UPDATE timers SET status = 'fired', fired_at = $1 WHERE id = $2 AND status = 'armed' RETURNING execution_id AS id, $3::text AS project)
     ${announce('timer')}`,
    [s.clock(), id, s.project],
  );
}

export async function nextTimerDue(s: PgScope, after?: number): Promise<number | undefined> {
  const [row] = await s.conn.query(
    'read next timer',
    `SELECT min(t.due_at) AS due FROM timers t JOIN executions e ON e.id = t.execution_id
     WHERE t.status = 'armed' AND e.status IN ('running','suspended') AND e.project = $1 AND t.due_at > $2`,
    [s.project, after ?? Number.MIN_SAFE_INTEGER],
  );
  return numOrNull(row?.due) ?? undefined;
}

export async function executionsWithDueTimers(s: PgScope, now: number): Promise<ExecutionId[]> {
  const rows = await s.conn.query(
    'read due timers',
    `SELECT DISTINCT t.execution_id AS id FROM timers t JOIN executions e ON e.id = t.execution_id
     WHERE t.status = 'armed' AND t.due_at <= $1 AND e.status IN ('running','suspended') AND e.project = $2`,
    [now, s.project],
  );
  return rows.map((r) => String(r.id) as ExecutionId);
}

export async function createPromise(s: PgScope, p: { id: string; executionId: ExecutionId; stepId: number; name: string; tokenHash: Uint8Array }): Promise<void> {
  await s.conn.query(
    'create promise',
    `INSERT INTO promises (id, execution_id, step_id, name, token_hash, status, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT (id) DO NOTHING`,
    [p.id, p.executionId, p.stepId, p.name, p.tokenHash, s.clock()],
  );
}

export async function getPromise(s: PgScope, id: string): Promise<PromiseRecord | undefined> {
  const [row] = await s.conn.query('read promise', `SELECT * FROM promises WHERE id = $2 AND ${IN_PROJECT}`, [s.project, id]);
  return row ? toPromise(row) : undefined;
}

export async function listPromises(s: PgScope, filter: { executionId?: ExecutionId; status?: PromiseRecord['status'] } = {}): Promise<PromiseRecord[]> {
  const rows = await s.conn.query(
    'list promises',
    `SELECT * FROM promises WHERE ${IN_PROJECT} AND ($2::text IS NULL OR execution_id = $2) AND ($3::text IS NULL OR status = $3) ORDER BY created_at, id`,
    [s.project, filter.executionId ?? null, filter.status ?? null],
  );
  return rows.map(toPromise);
}

export async function settlePromise(s: PgScope, id: string, status: 'resolved' | 'rejected', sealedValue: Uint8Array): Promise<boolean> {
  const rows = await s.conn.query(
    'settle promise',
    `WITH changed AS (UPDATE promises SET status = $1, value = $2, resolved_at = $3 WHERE id = $4 AND status = 'pending' AND ${IN_PROJECT.replace('$1', '$5')}
       RETURNING execution_id AS id, $5::text AS project) ${announce('promise')}`,
    [status, sealedValue, s.clock(), id, s.project],
  );
  return rows.length === 1;
}

export async function timersOf(s: PgScope, executionId: ExecutionId): Promise<TimerRecord[]> {
  const rows = await s.conn.query('list timers', 'SELECT * FROM timers WHERE execution_id = $1 ORDER BY due_at, id', [executionId]);
  return rows.map((r) => ({
    id: String(r.id),
    executionId: String(r.execution_id),
    stepId: num(r.step_id),
    dueAt: num(r.due_at),
    status: r.status as TimerRecord['status'],
    firedAt: numOrNull(r.fired_at),
  }));
}
