/**
 * Executions and their leases on SQLite: reading and listing records, the
 * guarded status transitions (each only from the statuses it may leave), new
 * attempts, and one lease per execution that only its owner renews.
 */
import { InvalidStateError, StorageError } from '../../model/errors';
import type { ExecutionId } from '../../model/ids';
import { TERMINAL_STATUSES, type ExecutionRecord, type TerminalStatus } from '../../model/journal';
import type { ExecutionFilter, LeaseFence } from '../journalStore';
import type { SqliteConnection } from './sqliteConnection';
import { ACTIVE, rowToExecution } from './sqliteRows';

export async function getExecution(conn: SqliteConnection, id: ExecutionId): Promise<ExecutionRecord | undefined> {
  const row = await conn.exclusive('read execution', () => conn.get('SELECT * FROM executions WHERE id = ?', [id]));
  return row ? rowToExecution(row) : undefined;
}

export async function listExecutions(conn: SqliteConnection, filter: ExecutionFilter = {}): Promise<ExecutionRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.statuses && filter.statuses.length > 0) {
    where.push(`status IN (${filter.statuses.map(() => '?').join(',')})`);
    params.push(...filter.statuses);
  }
  if (filter.kind !== undefined) {
    where.push('kind = ?');
    params.push(filter.kind);
  }
  params.push(filter.limit ?? -1);
  const sql = `SELECT * FROM executions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  const rows = await conn.exclusive('list executions', () => conn.all(sql, params));
  return rows.map(rowToExecution);
}

/**
 * Move an active execution to a terminal status. The first terminal status
 * wins: returns false (and changes nothing) if it was already terminal.
 */
export async function finalize(
  conn: SqliteConnection,
  clock: () => number,
  id: ExecutionId,
  status: TerminalStatus,
  detail: string | null = null,
  fence?: LeaseFence,
): Promise<boolean> {
  if (!TERMINAL_STATUSES.includes(status)) throw new InvalidStateError(`finalize needs a terminal status, got ${status}`);
  const now = clock();
  const update = async (): Promise<boolean> => {
    const outcome = await conn.run(
      `UPDATE executions SET status = ?, status_detail = ?, finished_at = ?, updated_at = ?, lease_owner = NULL, lease_expires_at = NULL
       WHERE id = ? AND status IN ${ACTIVE}`,
      [status, detail, now, now, id],
    );
    return outcome.changes === 1;
  };
  if (!fence) return conn.exclusive('finalize execution', update);
  return conn.transaction('finalize execution', async () => {
    await checkFences(conn, [[id, fence]]);
    return update();
  });
}

/**
 * Inside a write transaction: every (execution, fence) pair must still hold its
 * lease with that epoch, else the transaction fails with 'fenced'. The write
 * lock keeps a takeover out until the transaction ends.
 */
export async function checkFences(conn: SqliteConnection, fences: ReadonlyArray<readonly [string, LeaseFence]>): Promise<void> {
  for (const [id, fence] of fences) {
    const held = await conn.get('SELECT 1 AS ok FROM executions WHERE id = ? AND lease_owner = ? AND lease_epoch = ?', [id, fence.owner, fence.epoch]);
    if (!held) throw fencedError(conn.file, id, fence);
  }
}

export function fencedError(where: string, id: string, fence: LeaseFence): StorageError {
  return new StorageError(
    'fenced',
    `${where}: execution ${id}: the lease of ${fence.owner} (epoch ${fence.epoch}) passed to another owner; this run's write was refused and it stops`,
  );
}

/** running → suspended (waiting for a person or an event). */
export async function suspend(conn: SqliteConnection, clock: () => number, id: ExecutionId, detail: string | null = null, fence?: LeaseFence): Promise<boolean> {
  const update = async (): Promise<boolean> => {
    const outcome = await conn.run(`UPDATE executions SET status = 'suspended', status_detail = ?, updated_at = ? WHERE id = ? AND status = 'running'`, [detail, clock(), id]);
    return outcome.changes === 1;
  };
  if (!fence) return conn.exclusive('suspend execution', update);
  return conn.transaction('suspend execution', async () => {
    await checkFences(conn, [[id, fence]]);
    return update();
  });
}

/** An unfinished execution whose journal is damaged: suspended with the reason, whatever it was waiting for. */
export async function markDamaged(conn: SqliteConnection, clock: () => number, id: ExecutionId, detail: string): Promise<boolean> {
  const outcome = await conn.exclusive('mark execution damaged', () =>
    conn.run(`UPDATE executions SET status = 'suspended', status_detail = ?, updated_at = ? WHERE id = ? AND status IN ${ACTIVE}`, [detail, clock(), id]),
  );
  return outcome.changes === 1;
}

/** Reopen for resume: suspended, failed or aborted goes back to running (never completed or cancelled). */
export async function reopen(conn: SqliteConnection, clock: () => number, id: ExecutionId): Promise<boolean> {
  const outcome = await conn.exclusive('reopen execution', () =>
    conn.run(
      `UPDATE executions SET status = 'running', status_detail = NULL, finished_at = NULL, updated_at = ?
       WHERE id = ? AND status IN ('running','suspended','failed','aborted')`,
      [clock(), id],
    ),
  );
  return outcome.changes === 1;
}

/** Start a new attempt (after a divergence): replay of the old attempt stops, its rows stay for lookups. */
export async function beginAttempt(conn: SqliteConnection, clock: () => number, id: ExecutionId, detail: string): Promise<number> {
  return conn.transaction('begin attempt', async () => {
    await conn.run(`UPDATE executions SET attempt = attempt + 1, step_count = 0, status_detail = ?, updated_at = ? WHERE id = ?`, [
      detail,
      clock(),
      id,
    ]);
    const row = await conn.get('SELECT attempt FROM executions WHERE id = ?', [id]);
    if (!row) throw new InvalidStateError(`execution ${id} not found`);
    return row.attempt as number;
  });
}

/**
 * Take or renew the lease atomically: succeeds when nobody holds it, we hold
 * it, or the holder's lease expired. Returns whether we now own it.
 */
export async function acquireLease(conn: SqliteConnection, clock: () => number, id: ExecutionId, owner: string, leaseMs: number): Promise<number | undefined> {
  const now = clock();
  // A different owner gets the next epoch: whatever the previous one still tries to write is refused.
  const row = await conn.exclusive('acquire lease', () =>
    conn.get(
      `UPDATE executions SET lease_epoch = CASE WHEN lease_owner = ? THEN lease_epoch ELSE lease_epoch + 1 END, lease_owner = ?, lease_expires_at = ?
       WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ?) RETURNING lease_epoch`,
      [owner, owner, now + leaseMs, id, owner, now],
    ),
  );
  return row ? (row.lease_epoch as number) : undefined;
}

/** Renew only if still ours (a renewal never steals). */
export async function renewLease(conn: SqliteConnection, clock: () => number, id: ExecutionId, owner: string, leaseMs: number): Promise<boolean> {
  const outcome = await conn.exclusive('renew lease', () =>
    conn.run(`UPDATE executions SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?`, [clock() + leaseMs, id, owner]),
  );
  return outcome.changes === 1;
}

export async function releaseLease(conn: SqliteConnection, id: ExecutionId, owner: string): Promise<void> {
  await conn.exclusive('release lease', () =>
    conn.run(`UPDATE executions SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?`, [id, owner]),
  );
}
