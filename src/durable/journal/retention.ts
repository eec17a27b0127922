/**
 * Retention: keeps durable.db bounded.
 *
 * - TTLs: completed executions after `retentionCompletedMs`, failed, aborted and
 *   cancelled ones after `retentionFailedMs` (measured from when they finished).
 * - Caps, enforced: at most `maxExecutions` executions and `maxJournalBytes` of
 *   journal; past them the oldest finished executions go first. Executions that
 *   are running or parked are never pruned.
 * - Stale sweep: a `running` execution that no live owner holds and that has not
 *   moved for `retentionFailedMs` was abandoned (e.g. its workflow no longer
 *   exists); it is aborted, then ages out like any failed one.
 * - Pruning deletes in batches; journal, audit, promise and timer rows go with
 *   their execution (foreign keys cascade). A dry run counts without deleting.
 * - When enough pages are free afterwards, VACUUM gives the space back to the disk.
 */
import type { DurableConfig } from '../model/config';
import type { ExecutionId } from '../model/ids';
import type { JournalStore } from '../store/journalStore';

export interface RetentionReport {
  readonly dryRun: boolean;
  readonly expired: number;
  readonly overExecutionCap: number;
  readonly overByteCap: number;
  readonly staleAborted: number;
  readonly executionsRemoved: number;
  readonly rowsRemoved: { readonly journal: number; readonly audit: number; readonly promises: number; readonly timers: number };
  readonly bytesRemoved: number;
  readonly vacuumed: boolean;
}

export interface PruneOptions {
  readonly dryRun?: boolean;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
  /** Called after each batch (for a progress notification). */
  readonly onProgress?: (removed: number, total: number) => void;
}

export type RetentionConfig = Pick<DurableConfig, 'retentionCompletedMs' | 'retentionFailedMs' | 'maxExecutions' | 'maxJournalBytes'>;

export async function prune(backend: JournalStore, config: RetentionConfig, now: number, options: PruneOptions = {}): Promise<RetentionReport> {
  const dryRun = options.dryRun ?? false;
  const stale = await backend.staleRunning(now - config.retentionFailedMs);
  if (!dryRun) for (const id of stale) await backend.finalize(id, 'aborted', 'abandoned: no owner and no progress within the retention period');

  const terminal = await backend.terminalByAge();
  // In a dry run the stale ones are not aborted yet: count them as the failed they would become.
  const candidates = dryRun ? [...terminal, ...stale.map((id) => ({ id, finishedAt: now, completed: false, bytes: 0 }))] : terminal;
  const chosen = new Set<ExecutionId>();
  let expired = 0;
  for (const e of candidates) {
    const ttl = e.completed ? config.retentionCompletedMs : config.retentionFailedMs;
    if (e.finishedAt <= now - ttl) {
      chosen.add(e.id);
      expired++;
    }
  }
  const totals = await backend.totals();
  let count = totals.executions - chosen.size;
  let bytes = totals.journalBytes - candidates.filter((e) => chosen.has(e.id)).reduce((n, e) => n + e.bytes, 0);
  let overExecutionCap = 0;
  let overByteCap = 0;
  for (const e of candidates) {
    if (count <= config.maxExecutions && bytes <= config.maxJournalBytes) break;
    if (chosen.has(e.id)) continue;
    chosen.add(e.id);
    if (count > config.maxExecutions) overExecutionCap++;
    else overByteCap++;
    count--;
    bytes -= e.bytes;
  }

  const ids = [...chosen];
  const batchSize = options.batchSize ?? 100;
  const rows = { journal: 0, audit: 0, promises: 0, timers: 0 };
  let bytesRemoved = 0;
  for (let i = 0; i < ids.length; i += batchSize) {
    options.signal?.throwIfAborted();
    const batch = ids.slice(i, i + batchSize);
    const counted = dryRun ? await backend.countChildRows(batch) : await backend.deleteExecutions(batch);
    rows.journal += counted.journal;
    rows.audit += counted.audit;
    rows.promises += counted.promises;
    rows.timers += counted.timers;
    bytesRemoved += counted.bytes;
    options.onProgress?.(Math.min(i + batchSize, ids.length), ids.length);
  }
  const vacuumed = !dryRun && ids.length > 0 ? await backend.vacuumIfWorthIt() : false;
  return {
    dryRun,
    expired,
    overExecutionCap,
    overByteCap,
    staleAborted: stale.length,
    executionsRemoved: ids.length,
    rowsRemoved: rows,
    bytesRemoved,
    vacuumed,
  };
}
