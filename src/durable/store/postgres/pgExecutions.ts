/**
 * Executions and their leases on PostgreSQL, scoped to one project: reading
 * and listing, the guarded status transitions, new attempts, and leases with a
 * fencing epoch. Claims skip rows another transaction holds (FOR UPDATE SKIP
 * LOCKED) instead of queueing behind it. Status changes announce themselves on
 * the hint channel, delivered by the server only when they commit.
 */
import { InvalidStateError, StorageError } from '../../model/errors';
import type { ExecutionId } from '../../model/ids';
import { TERMINAL_STATUSES, type ExecutionRecord, type LeaseFence, type TerminalStatus } from '../../model/journal';
import { FIRST_LEASE_EPOCH, type ExecutionFilter, type NewExecution } from '../journalStore';
import type { PgConnection } from './pgConnection';
import { num, toExecution } from './pgRows';

export interface PgScope {
  readonly conn: PgConnection;
  /** Every execution this store reads or writes belongs to this project. */
  readonly project: string;
  readonly clock: () => number;
}

export const HINT_CHANNEL = 'durable_hints';
const ACTIVE = `('running','suspended')`;

/** `SELECT pg_notify(...)` over the ids a CTE named `changed` returned. */
export function announce(kind: 'execution' | 'promise' | 'timer'): string {
  return `SELECT pg_notify('${HINT_CHANNEL}', json_build_object('k', '${kind}', 'id', changed.id, 'p', changed.project)::text), changed.* FROM changed`;
}

export function fencedError(where: string, id: string, fence: LeaseFence): StorageError {
  return new StorageError(
    'fenced',
    `${where}: execution ${id}: the lease of ${fence.owner} (epoch ${fence.epoch}) passed to another owner; this run's write was refused and it stops`,
  );
}

export async function createExecution(s: PgScope, exec: NewExecution, now: number): Promise<void> {
  await s.conn.query(
    'create execution',
    `WITH changed AS (INSERT INTO executions (id, kind, version, title, status, attempt, created_at, updated_at, project, lease_owner, lease_expires_at, lease_epoch)
       VALUES ($1, $2, $3, $4, 'running', 1, $5, $5, $6, $7, $8, $9) RETURNING id, project) ${announce('execution')}`,
    [exec.id, exec.kind, exec.version, exec.title, now, s.project, exec.lease?.owner ?? null, exec.lease ? now + exec.lease.leaseMs : null, exec.lease ? FIRST_LEASE_EPOCH : 0],
  );
}

export async function getExecution(s: PgScope, id: ExecutionId): Promise<ExecutionRecord | undefined> {
  const [row] = await s.conn.query('read execution', 'SELECT * FROM executions WHERE id = $1 AND project = $2', [id, s.project]);
  return row ? toExecution(row) : undefined;
}

export async function listExecutions(s: PgScope, filter: ExecutionFilter = {}): Promise<ExecutionRecord[]> {
  const rows = await s.conn.query(
    'list executions',
    `SELECT * FROM executions WHERE project = $1 AND ($2::text[] IS NULL OR status = ANY($2)) AND ($3::text IS NULL OR kind = $3)
     ORDER BY id DESC LIMIT $4`,
    [s.project, filter.statuses && filter.statuses.length > 0 ? [...filter.statuses] : null, filter.kind ?? null, filter.limit ?? null],
  );
  return rows.map(toExecution);
}

/** One guarded UPDATE of an execution, fenced when asked; true when it changed the row. */
async function transition(s: PgScope, operation: string, set: string, where: string, params: unknown[], id: ExecutionId, fence?: LeaseFence): Promise<boolean> {
  const base = params.length;
  const fenceClause = fence ? ` AND lease_owner = $${base + 3} AND lease_epoch = $${base + 4}` : '';
  const rows = await s.conn.query(
    operation,
    `WITH changed AS (UPDATE executions SET ${set} WHERE id = $${base + 1} AND project = $${base + 2} AND ${where}${fenceClause} RETURNING id, project)
     ${announce('execution')}`,
    fence ? [...params, id, s.project, fence.owner, fence.epoch] : [...params, id, s.project],
  );
  if (rows.length === 1) return true;
  if (fence) {
    // Nothing changed: the status did not allow it, or the lease is no longer this run's.
    const current = await getExecution(s, id);
    if (current && (current.leaseOwner !== fence.owner || current.leaseEpoch !== fence.epoch)) throw fencedError(s.conn.where, id, fence);
  }
  return false;
}

export function finalize(s: PgScope, id: ExecutionId, status: TerminalStatus, detail: string | null, fence?: LeaseFence): Promise<boolean> {
  if (!TERMINAL_STATUSES.includes(status)) throw new InvalidStateError(`finalize needs a terminal status, got ${status}`);
  const now = s.clock();
  return transition(
    s, 'finalize execution',
    'status = $1, status_detail = $2, finished_at = $3, updated_at = $3, lease_owner = NULL, lease_expires_at = NULL',
    `status IN ${ACTIVE}`, [status, detail, now], id, fence,
  );
}

export function suspend(s: PgScope, id: ExecutionId, detail: string | null, fence?: LeaseFence): Promise<boolean> {
  return transition(s, 'suspend execution', `status = 'suspended', status_detail = $1, updated_at = $2`, `status = 'running'`, [detail, s.clock()], id, fence);
}

export function markDamaged(s: PgScope, id: ExecutionId, detail: string): Promise<boolean> {
  return transition(s, 'mark execution damaged', `status = 'suspended', status_detail = $1, updated_at = $2`, `status IN ${ACTIVE}`, [detail, s.clock()], id);
}

export function reopen(s: PgScope, id: ExecutionId): Promise<boolean> {
  return transition(
    s, 'reopen execution', `status = 'running', status_detail = NULL, finished_at = NULL, updated_at = $1`,
    `status IN ('running','suspended','failed','aborted')`, [s.clock()], id,
  );
}

export async function beginAttempt(s: PgScope, id: ExecutionId, detail: string): Promise<number> {
  const [row] = await s.conn.query(
    'begin attempt',
    `UPDATE executions SET attempt = attempt + 1, step_count = 0, status_detail = $1, updated_at = $2 WHERE id = $3 AND project = $4 RETURNING attempt`,
    [detail, s.clock(), id, s.project],
  );
  if (!row) throw new InvalidStateError(`execution ${id} not found`);
  return num(row.attempt);
}

/**
 * Claim the lease: free, ours, or expired. A row another transaction is
 * writing right now is skipped, not waited for (FOR UPDATE SKIP LOCKED); when
 * the lease itself is claimable, that lock is a brief write (often the last
 * statement of an owner that just died), so the claim is tried again a few
 * times before it reports the execution as held. A different owner gets the
 * next epoch.
 */
export async function acquireLease(s: PgScope, id: ExecutionId, owner: string, leaseMs: number): Promise<number | undefined> {
  for (let attempt = 1; ; attempt++) {
    const now = s.clock();
    const [row] = await s.conn.query(
      'acquire lease',
      `WITH claim AS (
         SELECT id FROM executions WHERE id = $1 AND project = $2 AND (lease_owner IS NULL OR lease_owner = $3 OR lease_expires_at < $4)
         FOR UPDATE SKIP LOCKED
       ), changed AS (
         UPDATE executions e SET lease_epoch = CASE WHEN e.lease_owner = $3 THEN e.lease_epoch ELSE e.lease_epoch + 1 END,
                lease_owner = $3, lease_expires_at = $5
         FROM claim WHERE e.id = claim.id RETURNING e.id, e.project, e.lease_epoch
       ) ${announce('execution')}`,
      [id, s.project, owner, now, now + leaseMs],
    );
    if (row) return num(row.lease_epoch);
    if (attempt >= CLAIM_TRIES) return undefined;
    // Not claimed: a live owner holds the lease (final), or the row was locked for a moment (try again).
    const current = await getExecution(s, id);
    const claimable = current !== undefined && (current.leaseOwner === null || current.leaseOwner === owner || (current.leaseExpiresAt ?? 0) < s.clock());
    if (!claimable) return undefined;
    await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
  }
}

const CLAIM_TRIES = 5;

export async function renewLease(s: PgScope, id: ExecutionId, owner: string, leaseMs: number): Promise<boolean> {
  const rows = await s.conn.query('renew lease', 'UPDATE executions SET lease_expires_at = $1 WHERE id = $2 AND project = $3 AND lease_owner = $4 RETURNING id', [
    s.clock() + leaseMs, id, s.project, owner,
  ]);
  return rows.length === 1;
}

export async function releaseLease(s: PgScope, id: ExecutionId, owner: string): Promise<void> {
  await s.conn.query(
    'release lease',
    `WITH changed AS (UPDATE executions SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND project = $2 AND lease_owner = $3 RETURNING id, project)
     ${announce('execution')}`,
    [id, s.project, owner],
  );
}
