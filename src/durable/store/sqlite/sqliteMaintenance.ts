/**
 * Retention's side of the SQLite adapter: finished executions by age, stale
 * runs, totals, counting and deleting what a prune removes (foreign keys
 * cascade), and VACUUM when it actually shrinks the file.
 */
import type { ExecutionId } from '../../model/ids';
import type { ChildRowCounts } from '../journalStore';
import type { SqliteConnection } from './sqliteConnection';

/** Finished executions, oldest first (the order retention removes them in). */
export async function terminalByAge(conn: SqliteConnection): Promise<Array<{ id: ExecutionId; finishedAt: number; completed: boolean; bytes: number }>> {
  const rows = await conn.exclusive('list finished executions', () =>
    conn.all(
      `SELECT id, coalesce(finished_at, updated_at) AS finished, status, journal_bytes FROM executions
       WHERE status IN ('completed','failed','cancelled','aborted') ORDER BY finished, id`,
    ),
  );
  return rows.map((r) => ({ id: r.id as ExecutionId, finishedAt: r.finished as number, completed: r.status === 'completed', bytes: r.journal_bytes as number }));
}

/** Running executions that nobody owns (or whose lease expired) and that have not moved since `before`. */
export async function staleRunning(conn: SqliteConnection, clock: () => number, before: number): Promise<ExecutionId[]> {
  const now = clock();
  const rows = await conn.exclusive('list stale executions', () =>
    conn.all(
      `SELECT id FROM executions WHERE status = 'running' AND updated_at < ? AND (lease_owner IS NULL OR lease_expires_at < ?)`,
      [before, now],
    ),
  );
  return rows.map((r) => r.id as ExecutionId);
}

export async function totals(conn: SqliteConnection): Promise<{ executions: number; journalBytes: number }> {
  const row = await conn.exclusive('read totals', () => conn.get('SELECT count(*) AS n, coalesce(sum(journal_bytes), 0) AS bytes FROM executions'));
  return { executions: (row?.n as number) ?? 0, journalBytes: (row?.bytes as number) ?? 0 };
}

export async function childRows(conn: SqliteConnection, ids: readonly string[]): Promise<{ journal: number; audit: number; promises: number; timers: number; bytes: number }> {
  const marks = ids.map(() => '?').join(',');
  const count = async (table: string): Promise<number> =>
    ((await conn.get(`SELECT count(*) AS n FROM ${table} WHERE execution_id IN (${marks})`, ids))?.n as number) ?? 0;
  const bytes = ((await conn.get(`SELECT coalesce(sum(journal_bytes), 0) AS b FROM executions WHERE id IN (${marks})`, ids))?.b as number) ?? 0;
  return { journal: await count('journal'), audit: await count('audit'), promises: await count('promises'), timers: await count('timers'), bytes };
}

export function countChildRows(conn: SqliteConnection, ids: readonly string[]): Promise<ChildRowCounts> {
  return conn.exclusive('count rows to prune', () => childRows(conn, ids));
}

/** Delete executions with every child row (foreign keys cascade), in one transaction; returns what went. */
export function deleteExecutions(conn: SqliteConnection, ids: readonly string[]): Promise<ChildRowCounts> {
  return conn.transaction(`prune ${ids.length} executions`, async () => {
    const counted = await childRows(conn, ids);
    await conn.run(`DELETE FROM executions WHERE id IN (${ids.map(() => '?').join(',')})`, ids);
    return counted;
  });
}

/** VACUUM when at least a quarter of the file is free pages, so the file actually shrinks. */
export async function vacuumIfWorthIt(conn: SqliteConnection): Promise<boolean> {
  return conn.exclusive('vacuum', async () => {
    const [pages] = await conn.rawAll<{ page_count: number }>('PRAGMA page_count');
    const [free] = await conn.rawAll<{ freelist_count: number }>('PRAGMA freelist_count');
    if (!pages || !free || free.freelist_count * 4 < pages.page_count) return false;
    await conn.execScript('VACUUM');
    // In WAL mode the rewritten database sits in the WAL until a checkpoint truncates the file.
    await conn.rawAll('PRAGMA wal_checkpoint(TRUNCATE)');
    return true;
  });
}
