/**
 * How a run ends in the journal: the outcome written before the status (no
 * status without its journaled outcome), a suspension with a reason a person
 * can read when the journal cannot take it, and the completeness mark at the
 * end of every run.
 */
import { ensureError, isDurableError, isPassingStorageFailure, StorageError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { LeaseFence } from '../model/journal';
import { withTimeout } from '../model/abortable';
import { encodeFinish, type FinishRecord } from '../execution/stepValue';
import { writeJournalMark } from '../journal/journalMark';
import type { DurableEngine } from './engine';
import { UNAVAILABLE_DETAIL } from './recovery';
import type { ExecutionOutcome } from './runtimeTypes';

export interface RunOutcomeDeps {
  readonly engine: () => DurableEngine;
  readonly clock: () => number;
  readonly warn: (message: string) => void;
}

export function detailOf(outcome: FinishRecord): string | null {
  return outcome.status === 'completed' ? null : `${outcome.error.code}: ${outcome.error.message}`.slice(0, 500);
}

/** The run's lease as concluding needs it: its fence, and word that finalizing cleared it. */
export interface ConcludingLease {
  readonly fence: LeaseFence;
  cleared(): void;
}

export class RunOutcomes {
  constructor(private readonly deps: RunOutcomeDeps) {}

  /** Write the outcome; a journal that cannot take it leaves the execution suspended and resumable (its replay writes it). */
  async conclude(id: ExecutionId, attempt: number, record: FinishRecord, outcome: ExecutionOutcome, lease?: ConcludingLease): Promise<ExecutionOutcome> {
    const fence = lease?.fence;
    try {
      // Finalizing under the fence also cleared the lease: nothing is left to release.
      if (await this.finish(id, attempt, record, fence)) lease?.cleared();
      return outcome;
    } catch (error) {
      if (isFenced(error)) return fencedOut(this.deps.warn, id, error);
      if (!isDurableError(error, 'journal_unavailable') && !isDurableError(error, 'storage')) throw error;
      return this.park(id, `${UNAVAILABLE_DETAIL}the outcome could not be recorded: ${error.message}`, fence);
    }
  }

  /**
   * Suspend with a reason a person can read (damaged journal, journal
   * unavailable). If even that cannot be written the execution stays `running`
   * with no live lease: the tree shows it interrupted, and it is resumable.
   */
  async park(id: ExecutionId, reason: string, fence?: LeaseFence): Promise<ExecutionOutcome> {
    const detail = reason.slice(0, 500);
    this.deps.warn(`execution ${id}: suspended: ${detail}`);
    // A locked database is usually brief: keep trying for as long as one acknowledged write may wait.
    const deadline = this.deps.clock() + this.deps.engine().config.ackTimeoutMs;
    for (;;) {
      try {
        await withTimeout(this.deps.engine().backend.suspend(id, detail, fence), this.deps.engine().config.ackTimeoutMs, 'suspending the execution');
        return { status: 'suspended', reason: detail };
      } catch (error) {
        if (isFenced(error)) return fencedOut(this.deps.warn, id, error);
        if (isPassingStorageFailure(error) && this.deps.clock() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        this.deps.warn(`execution ${id}: could not record the suspension (${ensureError(error).message}); it stays resumable`);
        return { status: 'interrupted', reason: detail };
      }
    }
  }

  async mark(id: ExecutionId): Promise<void> {
    try {
      const marking = this.deps.engine().writer.flush().then(() => writeJournalMark(this.deps.engine().backend, this.deps.engine().codec, id));
      await withTimeout(marking, this.deps.engine().config.ackTimeoutMs, 'marking the journal');
    } catch (error) {
      // Without a fresh mark the rows since the last one are verified one by one on resume.
      this.deps.warn(`execution ${id}: could not mark the journal (${ensureError(error).message})`);
    }
  }

  /**
   * Journal the outcome (acknowledged, after every earlier entry), then the
   * guarded status transition. No status without its journaled outcome: a
   * journal error propagates and nothing is finalized.
   */
  async finish(id: ExecutionId, attempt: number, outcome: FinishRecord, fence?: LeaseFence): Promise<boolean> {
    await this.deps.engine().writer.appendAcked({
      executionId: id, attempt, stepId: null, stepName: null, effect: null, idempotencyKey: null,
      kind: 'execution_finished', payload: encodeFinish(outcome), ...(fence ? { fence } : {}),
    });
    return this.deps.engine().backend.finalize(id, outcome.status, outcome.status === 'completed' ? null : detailOf(outcome), fence);
  }
}

/** A write refused because this run's lease passed to another owner (directly, or as the cause of a journal error). */
export function isFenced(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof StorageError && e.reason === 'fenced') return true;
  }
  return false;
}

function fencedOut(warn: (m: string) => void, id: ExecutionId, error: unknown): ExecutionOutcome {
  warn(`execution ${id}: ${ensureError(error).message}`);
  return { status: 'interrupted', reason: 'another window took over' };
}
