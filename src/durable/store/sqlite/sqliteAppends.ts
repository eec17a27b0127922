/**
 * How journal rows reach durable.db (docs/ARCHITECTURE.md, "Writing the
 * journal").
 *
 * A commit of the writer is usually one statement: up to ONE_STATEMENT_ROWS
 * rows of at most one lease, none of them an audit record, go in as a single
 * autocommit multi-row INSERT whose lease check is part of the statement. A
 * statement is atomic on its own, so this is the same all-or-nothing commit as
 * BEGIN … COMMIT, in one trip to the pool thread instead of four (begin, lease
 * check, insert, commit): those trips were a third of a 64-step commit.
 * Anything larger or mixed runs in a transaction of chunked inserts.
 */
import { InvalidStateError } from '../../model/errors';
import type { JournalSeq } from '../../model/ids';
import type { AuditMeta, StoredRow } from '../../model/journal';
import type { LeaseFence } from '../journalStore';
import * as executions from './sqliteExecutions';
import type { SqliteConnection } from './sqliteConnection';
import { INSERT_CHUNKS, PLACEHOLDERS, pushFlattened, ROW_COLUMNS } from './sqliteRows';

/**
 * The most rows one autocommit statement takes. Each size is a statement of
 * its own, prepared once and kept: at most 2 × 64 of them, about 6 MB if every
 * size ever occurs (measured), usually a handful.
 */
export const ONE_STATEMENT_ROWS = 64;

/** The distinct (execution, fence) pairs of rows about to be written. */
export function distinctFences(rows: readonly StoredRow[]): Array<readonly [string, LeaseFence]> {
  const seen = new Map<string, readonly [string, LeaseFence]>();
  for (const row of rows) if (row.fence) seen.set(`${row.executionId}\u0000${row.fence.owner}\u0000${row.fence.epoch}`, [row.executionId, row.fence]);
  return [...seen.values()];
}

const LEASE_HELD = 'EXISTS (SELECT 1 FROM executions WHERE id = ? AND lease_owner = ? AND lease_epoch = ?)';

// The SQL text is the key of its cached prepared statement: built once per size, so the lookup
// hashes the same string object every time instead of a freshly concatenated one.
const plainSql: string[] = [];
const fencedSql: string[] = [];

function oneStatementSql(rows: number, fenced: boolean): string {
  const cache = fenced ? fencedSql : plainSql;
  let sql = cache[rows];
  if (sql === undefined) {
    const values = Array<string>(rows).fill(PLACEHOLDERS).join(',');
    if (!fenced) sql = `INSERT INTO journal (${ROW_COLUMNS}) VALUES ${values}`;
    // One row needs no derived table. For more, the VALUES rows are inserted in the order written
    // (checked by the store's tests), which the contiguous seqs below rely on.
    else if (rows === 1) sql = `INSERT INTO journal (${ROW_COLUMNS}) SELECT ${PLACEHOLDERS.slice(1, -1)} WHERE ${LEASE_HELD}`;
    else sql = `INSERT INTO journal (${ROW_COLUMNS}) SELECT * FROM (VALUES ${values}) WHERE ${LEASE_HELD}`;
    cache[rows] = sql;
  }
  return sql;
}

function isAudit(row: StoredRow): boolean {
  return row.kind === 'ambiguity_resolved';
}

/** Append rows in order, all or none; returns their sequence numbers. */
export function appendRows(conn: SqliteConnection, rows: readonly StoredRow[]): Promise<JournalSeq[]> {
  if (rows.length === 0) return Promise.resolve([]);
  const operation = rows.length === 1 ? 'append a journal row' : `append ${rows.length} journal rows`;
  // An audit record needs its projection in the same transaction; several leases need several checks.
  if (rows.length <= ONE_STATEMENT_ROWS && !rows.some(isAudit)) {
    const fences = distinctFences(rows);
    if (fences.length <= 1) return conn.exclusive(operation, () => insertInOneStatement(conn, rows, fences[0]));
  }
  return conn.transaction(operation, () => insertRows(conn, rows));
}

async function insertInOneStatement(conn: SqliteConnection, rows: readonly StoredRow[], fence: (readonly [string, LeaseFence]) | undefined): Promise<JournalSeq[]> {
  const params: unknown[] = [];
  for (const row of rows) pushFlattened(params, row);
  if (fence) params.push(fence[0], fence[1].owner, fence[1].epoch);
  const { lastId, changes } = await conn.run(oneStatementSql(rows.length, fence !== undefined), params);
  if (changes !== rows.length) {
    // The lease check is one condition for the whole statement: it inserted every row or none.
    if (fence && changes === 0) throw executions.fencedError(conn.file, fence[0], fence[1]);
    throw new InvalidStateError(`durable.db (${conn.file}): ${rows.length} journal rows were appended as ${changes}`);
  }
  // AUTOINCREMENT under the write lock makes the seqs of one statement contiguous.
  const seqs: JournalSeq[] = new Array<JournalSeq>(rows.length);
  for (let i = 0; i < rows.length; i++) seqs[i] = (lastId - rows.length + 1 + i) as JournalSeq;
  return seqs;
}

/** Inside a transaction: fences checked, multi-row inserts (counters follow by trigger), audit projection. */
export async function insertRows(conn: SqliteConnection, rows: readonly StoredRow[]): Promise<JournalSeq[]> {
  await executions.checkFences(conn, distinctFences(rows));
  const seqs: JournalSeq[] = [];
  let offset = 0;
  while (offset < rows.length) {
    const remaining = rows.length - offset;
    const chunk = INSERT_CHUNKS.find((n) => n <= remaining) ?? 1;
    // Every chunk of this size goes to the driver at once: one prepared statement runs them in
    // the order given (its queue is FIFO), and the pool thread needs no hop through JavaScript
    // between them. Chunks of another size wait, so rows keep their order in the journal.
    const count = Math.floor(remaining / chunk);
    const sql = oneStatementSql(chunk, false);
    const runs: Array<Promise<{ lastId: number }>> = [];
    for (let c = 0; c < count; c++) {
      const params: unknown[] = [];
      for (let i = offset + c * chunk, end = i + chunk; i < end; i++) pushFlattened(params, rows[i]);
      runs.push(conn.run(sql, params));
    }
    // Wait for all of them even when one fails: the rollback must not overtake a queued insert,
    // which would then run outside the transaction.
    const settled = await Promise.allSettled(runs);
    for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
    for (const outcome of settled) {
      const { lastId } = (outcome as PromiseFulfilledResult<{ lastId: number }>).value;
      for (let i = 0; i < chunk; i++) seqs.push((lastId - chunk + 1 + i) as JournalSeq);
    }
    offset += count * chunk;
  }
  await projectAudit(conn, rows, seqs);
  return seqs;
}

async function projectAudit(conn: SqliteConnection, rows: readonly StoredRow[], seqs: readonly JournalSeq[]): Promise<void> {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row.kind !== 'ambiguity_resolved' || row.stepId === null || row.idempotencyKey === null || row.effect === null) continue;
    // The body is our own JSON (authenticated by its MAC on read); the projection is only an index.
    const meta = JSON.parse(Buffer.from(row.body).toString('utf8')) as AuditMeta;
    await conn.run(
      `INSERT INTO audit (seq, execution_id, step_id, step_name, effect, idem_key, policy, decision, decided_by, decided_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [seqs[i], row.executionId, row.stepId, row.stepName, row.effect, row.idempotencyKey, meta.policy, meta.decision, meta.decidedBy, meta.decidedAt],
    );
  }
}
