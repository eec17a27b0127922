/**
 * Completeness marks and file facts on SQLite: the trigger-kept row count and
 * the stored mark of an execution, the headers and tags a mark covers, the
 * file's own small metadata (the key check), and any sealed row.
 */
import { ownedView } from '../../model/bytes';
import type { ExecutionId } from '../../model/ids';
import type { JournalRecord } from '../../model/journal';
import type { MarkRow, MarkState } from '../journalStore';
import type { SqliteConnection } from './sqliteConnection';
import { rowToRecord, SELECT_ROW } from './sqliteRows';

export async function markState(conn: SqliteConnection, id: ExecutionId): Promise<MarkState | undefined> {
  const row = await conn.exclusive('read journal mark', () =>
    conn.get('SELECT row_count, marked_count, marked_seq, mark FROM executions WHERE id = ?', [id]),
  );
  if (!row) return undefined;
  return {
    rowCount: row.row_count as number,
    markedCount: row.marked_count as number,
    markedSeq: row.marked_seq as number,
    mark: row.mark === null ? null : ownedView(row.mark as Buffer),
  };
}

/** Rows present for an execution, whatever the counters say, and the last one's seq. */
export async function countRows(conn: SqliteConnection, id: ExecutionId): Promise<{ count: number; lastSeq: number }> {
  const row = await conn.exclusive('count journal rows', () =>
    conn.get('SELECT count(*) AS n, coalesce(max(seq), 0) AS s FROM journal WHERE execution_id = ?', [id]),
  );
  return { count: (row?.n as number | undefined) ?? 0, lastSeq: (row?.s as number | undefined) ?? 0 };
}

/** Headers and tags of an execution's rows after `afterSeq`, every attempt, in sequence order (no payloads). */
export async function readMarkRows(conn: SqliteConnection, id: ExecutionId, afterSeq: number, limit: number): Promise<MarkRow[]> {
  const rows = await conn.exclusive('read journal headers', () =>
    conn.all(
      `SELECT seq, attempt, step_id, kind, step_name, effect, idem_key, coalesce(mac, substr(body, -16)) AS tag
       FROM journal WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      [id, afterSeq, limit],
    ),
  );
  return rows.map((r) => ({
    seq: r.seq as number,
    attempt: r.attempt as number,
    stepId: r.step_id as number | null,
    kind: r.kind as string,
    stepName: r.step_name as string | null,
    effect: r.effect as string | null,
    idempotencyKey: r.idem_key === null ? null : ownedView(r.idem_key as Buffer),
    tag: ownedView(r.tag as Buffer),
  }));
}

/** Record a completeness mark (see journalMark.ts). */
export async function setMark(conn: SqliteConnection, id: ExecutionId, markedCount: number, markedSeq: number, mark: Uint8Array): Promise<void> {
  await conn.exclusive('write journal mark', () =>
    conn.run('UPDATE executions SET marked_count = ?, marked_seq = ?, mark = ? WHERE id = ?', [markedCount, markedSeq, mark, id]),
  );
}

export async function getMeta(conn: SqliteConnection, name: string): Promise<Uint8Array | undefined> {
  const row = await conn.exclusive('read file facts', () => conn.get('SELECT value FROM durable_meta WHERE name = ?', [name]));
  return row ? ownedView(row.value as Buffer) : undefined;
}

export async function setMeta(conn: SqliteConnection, name: string, value: Uint8Array): Promise<void> {
  await conn.exclusive('write file facts', () =>
    conn.run('INSERT INTO durable_meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value', [name, value]),
  );
}

/** Any payload row, to tell which key sealed a journal that predates the key check. */
export async function anySealedRow(conn: SqliteConnection): Promise<JournalRecord | undefined> {
  const row = await conn.exclusive('read a sealed row', () => conn.get(`${SELECT_ROW} WHERE mac IS NULL ORDER BY seq DESC LIMIT 1`));
  return row ? rowToRecord(row) : undefined;
}
