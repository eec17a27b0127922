/**
 * The inspection reads of the SQLite adapter: entry headers packed by
 * `group_concat` into one string per segment (one round trip instead of a
 * row per entry), open ambiguous windows found by one grouped scan, and the
 * small lookups the attention list needs.
 */
import type { ExecutionId } from '../../model/ids';
import type { EntryKind } from '../../model/journal';
import type { EntrySummary, OpenWindow } from '../journalStore';
import type { SqliteConnection } from './sqliteConnection';

const PACKED_SQL = `
SELECT group_concat(seq || ',' || attempt || ',' || ifnull(step_id, '') || ',' || kind || ',' || ifnull(effect, '') || ',' ||
       ifnull(lower(hex(substr(idem_key, 1, 4))), '') || ',' || size || ',' || created_at || ',' ||
       ifnull(replace(step_name, char(30), ' '), char(31)), char(30)) AS packed
FROM (SELECT * FROM journal WHERE execution_id = ? AND attempt = ? AND seq > ? ORDER BY seq LIMIT ?)`;
const RS = String.fromCharCode(30);
const NO_NAME = String.fromCharCode(31);

function unpack(packed: string | null): EntrySummary[] {
  if (!packed) return [];
  return packed.split(RS).map((line) => {
    let at = 0;
    const next = (): string => {
      const comma = line.indexOf(',', at);
      const field = line.slice(at, comma);
      at = comma + 1;
      return field;
    };
    const seq = Number(next());
    const attempt = Number(next());
    const step = next();
    const kind = next() as EntryKind;
    const effect = next();
    const key = next();
    const size = Number(next());
    const createdAt = Number(next());
    const name = line.slice(at);
    return {
      seq,
      attempt,
      stepId: step === '' ? null : Number(step),
      kind,
      stepName: name === NO_NAME ? null : name,
      effect: effect === '' ? null : effect,
      keyPrefix: key === '' ? null : key,
      size,
      createdAt,
    };
  });
}

const OPEN_WINDOWS_SQL = `
SELECT j.execution_id AS execution_id, j.step_id AS step_id,
       max(CASE WHEN j.kind = 'step_intent' THEN j.seq END) AS intent_seq,
       max(CASE WHEN j.kind IN ('step_result', 'step_failed') THEN j.seq END) AS done_seq,
       max(CASE WHEN j.kind = 'ambiguity_resolved' THEN j.seq END) AS audit_seq
FROM journal j JOIN executions e ON e.id = j.execution_id AND j.attempt = e.attempt
WHERE e.status IN ('running', 'suspended') AND (e.lease_expires_at IS NULL OR e.lease_expires_at <= ?)
  AND j.step_id IS NOT NULL AND j.kind IN ('step_intent', 'step_result', 'step_failed', 'ambiguity_resolved')
GROUP BY j.execution_id, j.step_id
HAVING intent_seq IS NOT NULL AND (done_seq IS NULL OR done_seq < intent_seq) AND (audit_seq IS NULL OR audit_seq < intent_seq)
ORDER BY intent_seq LIMIT ?`;

export async function entrySummaries(conn: SqliteConnection, executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<EntrySummary[]> {
  const row = await conn.exclusive('read entry headers', () => conn.get(PACKED_SQL, [executionId, attempt, afterSeq, limit]));
  return unpack((row?.packed as string | null | undefined) ?? null);
}

export async function openWindows(conn: SqliteConnection, now: number, limit: number): Promise<OpenWindow[]> {
  const rows = await conn.exclusive('find open ambiguous windows', () => conn.all(OPEN_WINDOWS_SQL, [now, limit]));
  return rows.map((r) => ({ executionId: r.execution_id as ExecutionId, stepId: r.step_id as number, intentSeq: r.intent_seq as number }));
}

export async function restartedExecutions(conn: SqliteConnection, limit: number): Promise<ExecutionId[]> {
  const rows = await conn.exclusive('find divergences', () =>
    conn.all(`SELECT id FROM executions WHERE attempt > 1 AND status IN ('running', 'suspended', 'failed', 'aborted') ORDER BY updated_at DESC LIMIT ?`, [limit]),
  );
  return rows.map((r) => r.id as ExecutionId);
}

export async function suspendedWithDetail(conn: SqliteConnection, prefixes: readonly string[], limit: number): Promise<ExecutionId[]> {
  if (prefixes.length === 0) return [];
  // LIKE with the prefixes escaped, so a % or _ in a detail prefix matches only itself.
  const like = prefixes.map(() => "status_detail LIKE ? ESCAPE '\\'").join(' OR ');
  const rows = await conn.exclusive('find journal stops', () =>
    conn.all(`SELECT id FROM executions WHERE status = 'suspended' AND (${like}) ORDER BY updated_at DESC LIMIT ?`, [
      ...prefixes.map((p) => `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}%`),
      limit,
    ]),
  );
  return rows.map((r) => r.id as ExecutionId);
}

export async function lastEntrySeq(conn: SqliteConnection, executionId: ExecutionId, attempt: number): Promise<number | undefined> {
  const row = await conn.exclusive('read last entry', () =>
    conn.get('SELECT seq FROM journal WHERE execution_id = ? AND attempt = ? ORDER BY seq DESC LIMIT 1', [executionId, attempt]),
  );
  return row?.seq as number | undefined;
}
