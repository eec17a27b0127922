/**
 * Checkpoint folding: a long execution's older idempotent and at-least-once
 * results fold into sealed `checkpoint` entries, so replay opens one payload
 * per few hundred steps instead of one per step, and the journal holds fewer rows.
 *
 * - Only unguarded results fold (guarded steps keep intent, result and audit
 *   rows: they are the evidence of the exactly-once protocol). The newest
 *   `keepRecent` steps never fold.
 * - Each checkpoint takes the sequence number of the first row it replaces, so a
 *   forward, segmented replay meets it where those steps were.
 * - Replacing rows by their checkpoint is one transaction: a crash leaves
 *   either the rows or the checkpoint, never neither.
 * - Folding rewrites an execution's journal, so it runs only while it holds the
 *   execution's lease (taken here, checked inside each replacing transaction),
 *   only on a parked execution, and only on a journal that passes its
 *   completeness check; it re-marks the journal when done.
 */
import type { JournalCodec } from '../crypto/journalCodec';
import type { ExecutionId } from '../model/ids';
import type { EffectClass } from '../model/effect';
import type { ExecutionRecord, JournalRecord } from '../model/journal';
import { verifyJournalMark, writeJournalMark } from './journalMark';
import { InvalidStateError } from '../model/errors';
import type { JournalStore } from '../store/journalStore';
import type { FoldedStep } from '../execution/replayCursor';
import { CHECKPOINT_HEADER_BYTES, encodeCheckpoint, foldedStepBytes } from './checkpointFormat';

export type { FoldedStep };
export { checkpointStepIds, checkpointSteps, decodeCheckpoint, describeCheckpoint, encodeCheckpoint } from './checkpointFormat';

export interface FoldOptions {
  readonly keepRecent?: number;
  readonly maxStepsPerCheckpoint?: number;
  /** Bytes per checkpoint: its encoded steps, payloads and all (stays under the payload limit). */
  readonly maxCheckpointBytes?: number;
  readonly segmentSize?: number;
}

export interface FoldReport {
  readonly checkpoints: number;
  readonly foldedRows: number;
  /** Why nothing was folded, when the execution was not ours to fold. */
  readonly skipped?: string;
}

export interface FoldOwner {
  /** Lease owner id of this fold (unique per fold). */
  readonly owner: string;
  readonly leaseMs: number;
}

/** Fold the current attempt of one parked execution, holding its lease throughout. */
export async function foldExecution(
  backend: JournalStore,
  codec: JournalCodec,
  executionId: ExecutionId,
  lease: FoldOwner,
  options: FoldOptions = {},
): Promise<FoldReport> {
  if ((await backend.acquireLease(executionId, lease.owner, lease.leaseMs)) === undefined) return { checkpoints: 0, foldedRows: 0, skipped: 'another owner holds its lease' };
  try {
    const execution = await backend.getExecution(executionId);
    if (!execution) throw new InvalidStateError(`execution ${executionId} does not exist`);
    if (execution.status !== 'suspended') return { checkpoints: 0, foldedRows: 0, skipped: `it is ${execution.status}, not parked` };
    await verifyJournalMark(backend, codec, execution);
    const report = await foldLeased(backend, codec, execution, lease.owner, options);
    if (report.foldedRows > 0) await writeJournalMark(backend, codec, executionId);
    return report;
  } finally {
    await backend.releaseLease(executionId, lease.owner);
  }
}

async function foldLeased(backend: JournalStore, codec: JournalCodec, execution: ExecutionRecord, owner: string, options: FoldOptions): Promise<FoldReport> {
  const executionId = execution.id;
  const keepRecent = options.keepRecent ?? 200;
  const maxSteps = options.maxStepsPerCheckpoint ?? 500;
  // Under the payload limit whatever it is set to: a checkpoint too large to seal would stop the fold (and retention's pass) halfway.
  const maxBytes = Math.min(options.maxCheckpointBytes ?? 512 * 1024, codec.maxPayloadBytes) - CHECKPOINT_HEADER_BYTES;
  const segmentSize = options.segmentSize ?? 512;
  const frontier = execution.stepCount - keepRecent;
  if (frontier <= 0) return { checkpoints: 0, foldedRows: 0 };

  let chunk: Array<{ row: JournalRecord; step: FoldedStep }> = [];
  let chunkBytes = 0;
  let checkpoints = 0;
  let foldedRows = 0;
  const flush = async (): Promise<void> => {
    if (chunk.length < 2) {
      chunk = [];
      chunkBytes = 0;
      return;
    }
    const row = codec.encode({
      executionId, attempt: execution.attempt, stepId: null, stepName: null, effect: null, idempotencyKey: null,
      kind: 'checkpoint', payload: encodeCheckpoint(chunk.map((c) => c.step)),
    });
    await backend.replaceWithCheckpoint(chunk.map((c) => c.row.seq), row, owner);
    checkpoints++;
    foldedRows += chunk.length;
    chunk = [];
    chunkBytes = 0;
  };

  for await (const row of backend.journalRows(executionId, { attempt: execution.attempt, segmentSize })) {
    const foldable =
      row.kind === 'step_result' && row.stepId !== null && row.stepId < frontier && row.idempotencyKey !== null &&
      (row.effect === 'idempotent' || row.effect === 'at_least_once');
    if (!foldable) continue;
    const payload = codec.openPayload(row);
    const step: FoldedStep = { stepId: row.stepId as number, name: row.stepName ?? '', effect: row.effect as EffectClass, key: row.idempotencyKey as Uint8Array, payload };
    const bytes = foldedStepBytes(step);
    if (chunk.length >= maxSteps || chunkBytes + bytes > maxBytes) await flush();
    chunk.push({ row, step });
    chunkBytes += bytes;
  }
  await flush();
  return { checkpoints, foldedRows };
}
