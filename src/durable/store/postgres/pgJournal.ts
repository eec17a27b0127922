/**
 * Journal rows on PostgreSQL: fenced appends, segment reads, idempotency-key
 * lookups, the audit projection, completeness marks and database facts.
 *
 * An append is one statement whatever the batch size: the rows travel as
 * arrays and `unnest` turns them into rows (no statement per row, no
 * placeholder limit). The fence check rides in the same statement: the rows go
 * in only if every lease they name still holds its epoch, and the executions
 * are locked FOR UPDATE until commit so no takeover slips in between.
 */
import type { AuditMeta, JournalRecord, StoredRow } from '../../model/journal';
import type { ExecutionId, IdempotencyKey, JournalSeq } from '../../model/ids';
import { ownBytes } from '../../model/bytes';
import type { AuditRecord, MarkRow, MarkState } from '../journalStore';
import { fencedError, type PgScope } from './pgExecutions';
import { bytesOrNull, JOURNAL_COLUMNS, num, numOrNull, strOrNull, toRecord } from './pgRows';

const INSERT_COLUMNS = 'execution_id, attempt, step_id, kind, step_name, effect, idem_key, body, mac, size, created_at';
const UNNEST = `unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bytea[], $9::bytea[], $10::bigint[], $11::bigint[])`;

function columns(rows: readonly StoredRow[]): unknown[][] {
  return [
    rows.map((r) => r.executionId), rows.map((r) => r.attempt), rows.map((r) => r.stepId), rows.map((r) => r.kind),
    rows.map((r) => r.stepName), rows.map((r) => r.effect), rows.map((r) => r.idempotencyKey), rows.map((r) => r.body),
    rows.map((r) => r.mac), rows.map((r) => r.size), rows.map((r) => r.createdAt),
  ];
}

function distinctFences(rows: readonly StoredRow[]): Array<{ id: string; owner: string; epoch: number }> {
  const seen = new Map<string, { id: string; owner: string; epoch: number }>();
  for (const r of rows) if (r.fence) seen.set(`${r.executionId}\u0000${r.fence.owner}\u0000${r.fence.epoch}`, { id: r.executionId, ...r.fence });
  return [...seen.values()];
}

/**
 * One row (an acknowledged append: most guarded steps) goes as scalars. Arrays
 * cost the driver an escaped text literal per column and the server a parse of
 * each; for one row that was half the statement's time.
 */
async function insertOne(s: PgScope, r: StoredRow): Promise<Array<Record<string, unknown>>> {
  return s.conn.query(
    'append 1 journal row',
    `WITH held AS (
       SELECT e.id FROM executions e WHERE e.id = $1 AND e.lease_owner = $12 AND e.lease_epoch = $13 FOR UPDATE OF e
     )
     INSERT INTO journal (${INSERT_COLUMNS})
     SELECT $1::text, $2::bigint, $3::bigint, $4::text, $5::text, $6::text, $7::bytea, $8::bytea, $9::bytea, $10::bigint, $11::bigint
     WHERE (SELECT count(*) FROM held) = $14
     RETURNING seq`,
    [
      r.executionId, r.attempt, r.stepId, r.kind, r.stepName, r.effect, r.idempotencyKey, r.body, r.mac, r.size, r.createdAt,
      r.fence?.owner ?? null, r.fence?.epoch ?? null, r.fence ? 1 : 0,
    ],
  );
}

/** Insert rows in order; their seqs ascending in row order. Runs inside the caller's transaction when there is one. */
export async function insertRows(s: PgScope, rows: readonly StoredRow[]): Promise<JournalSeq[]> {
  const fences = distinctFences(rows);
  const inserted = rows.length === 1 ? await insertOne(s, rows[0]) : await insertMany(s, rows, fences);
  if (inserted.length !== rows.length) {
    const stale = fences[0] ?? { id: rows[0].executionId, owner: '?', epoch: 0 };
    throw fencedError(s.conn.where, stale.id, stale);
  }
  // nextval runs in row order; sorting keeps that whatever order RETURNING reports.
  const seqs = inserted.map((r) => num(r.seq)).sort((a, b) => a - b) as JournalSeq[];
  await projectAudit(s, rows, seqs);
  return seqs;
}

async function insertMany(s: PgScope, rows: readonly StoredRow[], fences: ReadonlyArray<{ id: string; owner: string; epoch: number }>): Promise<Array<Record<string, unknown>>> {
  const params = [...columns(rows), fences.map((f) => f.id), fences.map((f) => f.owner), fences.map((f) => f.epoch), fences.length];
  return s.conn.query(
    `append ${rows.length} journal rows`,
    `WITH held AS (
       SELECT e.id FROM executions e JOIN unnest($12::text[], $13::text[], $14::bigint[]) AS f(id, owner, epoch)
         ON e.id = f.id AND e.lease_owner = f.owner AND e.lease_epoch = f.epoch
       FOR UPDATE OF e
     )
     INSERT INTO journal (${INSERT_COLUMNS})
     SELECT * FROM ${UNNEST} WHERE (SELECT count(*) FROM held) = $15
     RETURNING seq`,
    params,
  );
}

async function projectAudit(s: PgScope, rows: readonly StoredRow[], seqs: readonly JournalSeq[]): Promise<void> {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row.kind !== 'ambiguity_resolved' || row.stepId === null || row.idempotencyKey === null || row.effect === null) continue;
    // The body is our own JSON (authenticated by its MAC on read); the projection is only an index.
    const meta = JSON.parse(Buffer.from(row.body).toString('utf8')) as AuditMeta;
    await s.conn.query(
      'record an audit record',
      `INSERT INTO audit (seq, execution_id, step_id, step_name, effect, idem_key, policy, decision, decided_by, decided_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [seqs[i], row.executionId, row.stepId, row.stepName, row.effect, row.idempotencyKey, meta.policy, meta.decision, meta.decidedBy, meta.decidedAt],
    );
  }
}

export async function readSegment(s: PgScope, executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<JournalRecord[]> {
  const rows = await s.conn.query('read journal segment', `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE execution_id = $1 AND attempt = $2 AND seq > $3 ORDER BY seq LIMIT $4`, [
    executionId, attempt, afterSeq, limit,
  ]);
  return rows.map(toRecord);
}

export async function readExecutionSegment(s: PgScope, executionId: ExecutionId, afterSeq: number, limit: number): Promise<JournalRecord[]> {
  const rows = await s.conn.query('read journal segment', `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE execution_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [executionId, afterSeq, limit]);
  return rows.map(toRecord);
}

export async function findResultByKey(s: PgScope, executionId: ExecutionId, key: IdempotencyKey): Promise<JournalRecord | undefined> {
  const [row] = await s.conn.query(
    'look up idempotency key',
    `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE idem_key = $1 AND kind = 'step_result' AND execution_id = $2 ORDER BY seq DESC LIMIT 1`,
    [key, executionId],
  );
  return row ? toRecord(row) : undefined;
}

/** The identity sequence's last value: it only grows, whatever is deleted. */
export async function sequenceHighWater(s: PgScope): Promise<number> {
  const [row] = await s.conn.query('read journal high water', `SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('journal', 'seq')), 0) AS seq`);
  return num(row?.seq ?? 0);
}

export async function maxSeq(s: PgScope): Promise<number> {
  const [row] = await s.conn.query('read max seq', `SELECT coalesce(max(j.seq), 0) AS seq FROM journal j JOIN executions e ON e.id = j.execution_id WHERE e.project = $1`, [s.project]);
  return num(row?.seq ?? 0);
}

export async function listAudit(s: PgScope, executionId?: ExecutionId): Promise<AuditRecord[]> {
  const rows = await s.conn.query(
    'list audit records',
    `SELECT a.* FROM audit a JOIN executions e ON e.id = a.execution_id WHERE e.project = $1 AND ($2::text IS NULL OR a.execution_id = $2) ORDER BY a.seq`,
    [s.project, executionId ?? null],
  );
  return rows.map((r) => ({
    seq: num(r.seq),
    executionId: String(r.execution_id),
    stepId: num(r.step_id),
    stepName: strOrNull(r.step_name),
    effect: String(r.effect),
    idempotencyKey: ownBytes(r.idem_key as Buffer),
    policy: String(r.policy),
    decision: String(r.decision),
    decidedBy: String(r.decided_by),
    decidedAt: num(r.decided_at),
  }));
}

export async function markState(s: PgScope, id: ExecutionId): Promise<MarkState | undefined> {
  const [row] = await s.conn.query('read journal mark', 'SELECT row_count, marked_count, marked_seq, mark FROM executions WHERE id = $1 AND project = $2', [id, s.project]);
  if (!row) return undefined;
  return { rowCount: num(row.row_count), markedCount: num(row.marked_count), markedSeq: num(row.marked_seq), mark: bytesOrNull(row.mark) };
}

export async function countRows(s: PgScope, id: ExecutionId): Promise<{ count: number; lastSeq: number }> {
  const [row] = await s.conn.query('count journal rows', 'SELECT count(*) AS n, coalesce(max(seq), 0) AS s FROM journal WHERE execution_id = $1', [id]);
  return { count: num(row?.n ?? 0), lastSeq: num(row?.s ?? 0) };
}

export async function readMarkRows(s: PgScope, id: ExecutionId, afterSeq: number, limit: number): Promise<MarkRow[]> {
  const rows = await s.conn.query(
    'read journal headers',
    `SELECT seq, attempt, step_id, kind, step_name, effect, idem_key,
            coalesce(mac, substring(body FROM greatest(length(body) - 15, 1))) AS tag
     FROM journal WHERE execution_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [id, afterSeq, limit],
  );
  return rows.map((r) => ({
    seq: num(r.seq),
    attempt: num(r.attempt),
    stepId: numOrNull(r.step_id),
    kind: String(r.kind),
    stepName: strOrNull(r.step_name),
    effect: strOrNull(r.effect),
    idempotencyKey: bytesOrNull(r.idem_key),
    tag: ownBytes(r.tag as Buffer),
  }));
}

export async function setMark(s: PgScope, id: ExecutionId, markedCount: number, markedSeq: number, mark: Uint8Array): Promise<void> {
  await s.conn.query('write journal mark', 'UPDATE executions SET marked_count = $1, marked_seq = $2, mark = $3 WHERE id = $4 AND project = $5', [
    markedCount, markedSeq, mark, id, s.project,
  ]);
}

export async function getMeta(s: PgScope, name: string): Promise<Uint8Array | undefined> {
  const [row] = await s.conn.query('read database facts', 'SELECT value FROM durable_meta WHERE name = $1', [name]);
  return row ? ownBytes(row.value as Buffer) : undefined;
}

export async function setMeta(s: PgScope, name: string, value: Uint8Array): Promise<void> {
  await s.conn.query('write database facts', 'INSERT INTO durable_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
}

export async function anySealedRow(s: PgScope): Promise<JournalRecord | undefined> {
  const [row] = await s.conn.query('read a sealed row', `SELECT ${JOURNAL_COLUMNS} FROM journal WHERE mac IS NULL ORDER BY seq DESC LIMIT 1`);
  return row ? toRecord(row) : undefined;
}
