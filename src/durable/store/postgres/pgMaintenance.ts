/**
 * Retention, totals and the inspection reads on PostgreSQL, all within one
 * project. Deleting an execution cascades to its rows (foreign keys); space
 * comes back through the server's autovacuum, so there is no VACUUM here.
 */
import type { ExecutionId } from '../../model/ids';
import type { EntryKind } from '../../model/journal';
import type { ChildRowCounts, EntrySummary, OpenWindow } from '../journalStore';
import type { PgScope } from './pgExecutions';
import { num, numOrNull, strOrNull } from './pgRows';

export async function terminalByAge(s: PgScope): Promise<Array<{ id: ExecutionId; finishedAt: number; completed: boolean; bytes: number }>> {
  const rows = await s.conn.query(
    'list finished executions',
    `SELECT id, coalesce(finished_at, updated_at) AS finished, status, journal_bytes FROM executions
     WHERE project = $1 AND status IN ('completed','failed','cancelled','aborted') ORDER BY finished, id`,
    [s.project],
  );
  return rows.map((r) => ({ id: String(r.id) as ExecutionId, finishedAt: num(r.finished), completed: r.status === 'completed', bytes: num(r.journal_bytes) }));
}

export async function staleRunning(s: PgScope, before: number): Promise<ExecutionId[]> {
  const rows = await s.conn.query(
    'list stale executions',
    `SELECT id FROM executions WHERE project = $1 AND status = 'running' AND updated_at < $2 AND (lease_owner IS NULL OR lease_expires_at < $3)`,
    [s.project, before, s.clock()],
  );
  return rows.map((r) => String(r.id) as ExecutionId);
}

export async function totals(s: PgScope): Promise<{ executions: number; journalBytes: number }> {
  const [row] = await s.conn.query('read totals', 'SELECT count(*) AS n, coalesce(sum(journal_bytes), 0) AS bytes FROM executions WHERE project = $1', [s.project]);
  return { executions: num(row?.n ?? 0), journalBytes: num(row?.bytes ?? 0) };
}

/** Ids of the given executions that belong to this project (nothing else is counted or deleted). */
async function own(s: PgScope, ids: readonly string[]): Promise<string[]> {
  const rows = await s.conn.query('scope executions', 'SELECT id FROM executions WHERE project = $1 AND id = ANY($2::text[])', [s.project, [...ids]]);
  return rows.map((r) => String(r.id));
}

async function childRows(s: PgScope, ids: readonly string[]): Promise<ChildRowCounts> {
  const [row] = await s.conn.query(
    'count rows to prune',
    `SELECT (SELECT count(*) FROM journal WHERE execution_id = ANY($1::text[])) AS journal,
            (SELECT count(*) FROM audit WHERE execution_id = ANY($1::text[])) AS audit,
            (SELECT count(*) FROM promises WHERE execution_id = ANY($1::text[])) AS promises,
            (SELECT count(*) FROM timers WHERE execution_id = ANY($1::text[])) AS timers,
            (SELECT coalesce(sum(journal_bytes), 0) FROM executions WHERE id = ANY($1::text[])) AS bytes`,
    [[...ids]],
  );
  return { journal: num(row.journal), audit: num(row.audit), promises: num(row.promises), timers: num(row.timers), bytes: num(row.bytes) };
}

export async function countChildRows(s: PgScope, ids: readonly string[]): Promise<ChildRowCounts> {
  return childRows(s, await own(s, ids));
}

export function deleteExecutions(s: PgScope, ids: readonly string[]): Promise<ChildRowCounts> {
  return s.conn.transaction(`prune ${ids.length} executions`, async () => {
    const mine = await own(s, ids);
    const counted = await childRows(s, mine);
    await s.conn.query('prune executions', 'DELETE FROM executions WHERE project = $1 AND id = ANY($2::text[])', [s.project, mine]);
    return counted;
  });
}

export async function entrySummaries(s: PgScope, executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<EntrySummary[]> {
  const rows = await s.conn.query(
    'read entry headers',
    `SELECT seq, attempt, step_id, kind, step_name, effect, encode(substring(idem_key FROM 1 FOR 4), 'hex') AS key_prefix, size, created_at
     FROM journal WHERE execution_id = $1 AND attempt = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
    [executionId, attempt, afterSeq, limit],
  );
  return rows.map((r) => ({
    seq: num(r.seq),
    attempt: num(r.attempt),
    stepId: numOrNull(r.step_id),
    kind: r.kind as EntryKind,
    stepName: strOrNull(r.step_name),
    effect: strOrNull(r.effect),
    keyPrefix: strOrNull(r.key_prefix),
    size: num(r.size),
    createdAt: num(r.created_at),
  }));
}

export async function openWindows(s: PgScope, now: number, limit: number): Promise<OpenWindow[]> {
  const rows = await s.conn.query(
    'find open ambiguous windows',
    `SELECT * FROM (
       SELECT j.execution_id, j.step_id,
              max(CASE WHEN j.kind = 'step_intent' THEN j.seq END) AS intent_seq,
              max(CASE WHEN j.kind IN ('step_result', 'step_failed') THEN j.seq END) AS done_seq,
              max(CASE WHEN j.kind = 'ambiguity_resolved' THEN j.seq END) AS audit_seq
       FROM journal j JOIN executions e ON e.id = j.execution_id AND j.attempt = e.attempt
       WHERE e.project = $1 AND e.status IN ('running', 'suspended') AND (e.lease_expires_at IS NULL OR e.lease_expires_at <= $2)
         AND j.step_id IS NOT NULL AND j.kind IN ('step_intent', 'step_result', 'step_failed', 'ambiguity_resolved')
       GROUP BY j.execution_id, j.step_id
     ) w
     WHERE intent_seq IS NOT NULL AND (done_seq IS NULL OR done_seq < intent_seq) AND (audit_seq IS NULL OR audit_seq < intent_seq)
     ORDER BY intent_seq LIMIT $3`,
    [s.project, now, limit],
  );
  return rows.map((r) => ({ executionId: String(r.execution_id) as ExecutionId, stepId: num(r.step_id), intentSeq: num(r.intent_seq) }));
}

export async function restartedExecutions(s: PgScope, limit: number): Promise<ExecutionId[]> {
  const rows = await s.conn.query(
    'find divergences',
    `SELECT id FROM executions WHERE project = $1 AND attempt > 1 AND status IN ('running', 'suspended', 'failed', 'aborted') ORDER BY updated_at DESC LIMIT $2`,
    [s.project, limit],
  );
  return rows.map((r) => String(r.id) as ExecutionId);
}

export async function suspendedWithDetail(s: PgScope, prefixes: readonly string[], limit: number): Promise<ExecutionId[]> {
  if (prefixes.length === 0) return [];
  // starts_with compares literally: a % or _ in a prefix matches only itself.
  const rows = await s.conn.query(
    'find journal stops',
    `SELECT id FROM executions WHERE project = $1 AND status = 'suspended'
       AND EXISTS (SELECT 1 FROM unnest($2::text[]) AS p(prefix) WHERE starts_with(status_detail, p.prefix))
     ORDER BY updated_at DESC LIMIT $3`,
    [s.project, [...prefixes], limit],
  );
  return rows.map((r) => String(r.id) as ExecutionId);
}

export async function lastEntrySeq(s: PgScope, executionId: ExecutionId, attempt: number): Promise<number | undefined> {
  const [row] = await s.conn.query('read last entry', 'SELECT max(seq) AS seq FROM journal WHERE execution_id = $1 AND attempt = $2', [executionId, attempt]);
  return numOrNull(row?.seq) ?? undefined;
}
