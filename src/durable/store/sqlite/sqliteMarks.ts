/**
 * Completeness marks and file facts on SQLite: the trigger-kept row count and
 * the stored mark of an execution, the headers and tags a mark covers, the
 * file's own small metadata (the key check), and any sealed row.
 */
import { ownedView } from '../../model/bytes';
import { IntegrityError } from '../../model/errors';
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
  // Packed like segment reads (sqliteRows.ts): the small fields as JSON, key and tag as one blob.
  const rows = await conn.exclusive('read journal headers', () =>
    conn.all(
      `SELECT seq, json_array(attempt, step_id, kind, step_name, effect, length(idem_key)) AS h,
         CAST(coalesce(idem_key, x'') || coalesce(mac, substr(body, -16), x'') AS BLOB) AS b
       FROM journal WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      [id, afterSeq, limit],
    ),
  );
  return rows.map((r) => {
    const seq = r.seq as number;
    const [attempt, stepId, kind, stepName, effect, keyLength] = JSON.parse(r.h as string) as [number, number | null, string, string | null, string | null, number | null];
    const keyAndTag = r.b === null ? null : ownedView(r.b as Buffer);
    if (keyAndTag === null || keyAndTag.length < (keyLength ?? 0)) throw new IntegrityError(`journal row ${seq}`, 'the row is malformed (its key and tag do not fit together)');
    return {
      seq,
      attempt,
      stepId,
      kind,
      stepName,
      effect,
      idempotencyKey: keyLength === null ? null : keyAndTag.subarray(0, keyLength),
      tag: keyAndTag.subarray(keyLength ?? 0),
    };
  });
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
