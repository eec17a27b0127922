/**
 * The attempts of one run: each attempt is a fresh step context over the
 * journal (replaying what it holds), the workflow runs in it, and what happened
 * decides what comes next: an outcome (written before the status), a
 * suspension, a fresh attempt after a divergence, or an interruption that
 * leaves the execution resumable. Only the lease owner writes an outcome.
 */
import { setMaxListeners } from 'node:events';
import { withTimeout } from '../model/abortable';
import { CancelledError, DivergenceError, ensureError, fromErrorData, isDurableError, toErrorData } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import { checkpointSteps } from '../journal/checkpoint';
import { ReplayCursor } from '../execution/replayCursor';
import { StepContext, SuspendExecution } from '../execution/stepContext';
import type { WorkflowDefinition } from '../execution/workflow';
import type { DurableEngine } from './engine';
import { DAMAGED_DETAIL, UNAVAILABLE_DETAIL } from './recovery';
import { isFenced, type RunOutcomes } from './runOutcomes';
import { fencedJournal } from '../journal/fencedJournal';
import type { LeaseFence } from '../model/journal';

/** The lease a run holds: checked before effects and the outcome, carried by every write. */
export interface RunLease {
  check(): Promise<void>;
  readonly fence: LeaseFence;
  /** Finalizing under the fence cleared the lease (see LeaseKeeper.cleared). */
  cleared(): void;
}
import type { ActiveRun, ExecutionOutcome, RuntimeEvent, RuntimeLogger, StopReason } from './runtimeTypes';

export interface DriveDeps {
  readonly engine: DurableEngine;
  readonly clock: () => number;
  readonly logger: RuntimeLogger;
  readonly drainTimeoutMs: number;
  readonly outcomes: RunOutcomes;
  readonly machine?: string;
  emit(event: RuntimeEvent): void;
  scheduleWake(): void;
}

/** Run attempts until an outcome; a divergence starts a fresh attempt with replay off. */
export async function driveAttempts(
  deps: DriveDeps,
  id: ExecutionId,
  definition: WorkflowDefinition,
  input: unknown,
  attempt: number,
  replay: boolean,
  run: ActiveRun,
  lease: RunLease,
): Promise<ExecutionOutcome> {
  const fence = (): Promise<void> => lease.check();
  for (;;) {
    const attemptController = new AbortController();
    // Every concurrent step and acknowledged append listens for abort; many at once is normal here.
    setMaxListeners(0, attemptController.signal);
    const onStop = (): void => attemptController.abort(run.controller.signal.reason);
    run.controller.signal.addEventListener('abort', onStop, { once: true });
    const ctx = new StepContext({
      executionId: id,
      attempt,
      // Every row of the run carries its lease's epoch: once another owner took over, the store refuses them.
      journal: fencedJournal(deps.engine.writer, lease.fence),
      reader: deps.engine.backend,
      codec: deps.engine.codec,
      cursor: replay
        ? new ReplayCursor(deps.engine.backend, id, attempt, deps.engine.config.replaySegmentSize, (row) => checkpointSteps(deps.engine.codec.openPayload(row)))
        : undefined,
      config: deps.engine.config,
      signal: attemptController.signal,
      clock: deps.clock,
      warn: (m) => deps.logger.warn(m),
      fence,
      waits: deps.engine.backend,
      machine: deps.machine,
      events: {
        onCommitted: (stepId, kind, name) => deps.emit({ type: 'step', executionId: id, stepId, kind, name }),
        onAmbiguity: (stepId, name, policy, decision) => deps.emit({ type: 'ambiguity', executionId: id, stepId, name, policy, decision }),
        onDegraded: (stepId, _name, message) => deps.emit({ type: 'degraded', executionId: id, stepId, message }),
      },
    });
    let result: { ok: true; output: unknown } | { ok: false; error: unknown };
    try {
      result = { ok: true, output: await definition.run(ctx, input) };
    } catch (error) {
      result = { ok: false, error };
    } finally {
      run.controller.signal.removeEventListener('abort', onStop);
    }
    // Nothing of this attempt may still be running when we decide what comes next.
    if (!result.ok) attemptController.abort(new CancelledError('attempt ended'));
    if (!(await ctx.drain(deps.drainTimeoutMs))) deps.logger.warn(`execution ${id}: steps still running ${deps.drainTimeoutMs} ms after the attempt ended`);

    // The outcome is written only by the owner: a run that was frozen past its lease stops here,
    // and so does one that cannot verify its ownership (a storage error): it stays resumable.
    if (run.stopReason === undefined || run.stopReason === 'cancel') {
      try {
        await fence();
      } catch (fenceError) {
        if ((run.stopReason as StopReason | undefined) !== 'lease_lost') {
          const reason = `ownership could not be verified before writing the outcome (${ensureError(fenceError).message}); left resumable`;
          deps.logger.warn(`execution ${id}: ${reason}`);
          return { status: 'interrupted', reason };
        }
      }
    }
    if (run.stopReason === 'lease_lost' || run.stopReason === 'shutdown') {
      return { status: 'interrupted', reason: run.stopReason === 'shutdown' ? 'the extension shut down' : (run.stopDetail ?? 'another window took over') };
    }
    // A journal that failed to authenticate, or could not confirm a guarded write, decides the
    // outcome whatever the workflow did with the error: suspend, never fail and never finish.
    if (ctx.readFailure) return deps.outcomes.park(id, `${DAMAGED_DETAIL}${ctx.readFailure.message}`, lease.fence);
    if (ctx.journalFailure) return deps.outcomes.park(id, `${UNAVAILABLE_DETAIL}${ctx.journalFailure.message}`, lease.fence);
    if (result.ok) {
      return deps.outcomes.conclude(id, attempt, { status: 'completed', output: result.output }, { status: 'completed', output: result.output }, lease);
    }
    const error = result.error;
    if (run.stopReason === 'cancel' || (isDurableError(error, 'cancelled') && run.controller.signal.aborted)) {
      return deps.outcomes.conclude(id, attempt, { status: 'cancelled', error: toErrorData(new CancelledError('cancelled by the user')) }, { status: 'cancelled' }, lease);
    }
    if (error instanceof SuspendExecution) {
      await withTimeout(deps.engine.writer.flush(), deps.engine.config.ackTimeoutMs, 'committing before suspending').catch((e) =>
        deps.logger.warn(`execution ${id}: ${ensureError(e).message}`),
      );
      try {
        await deps.engine.backend.suspend(id, error.reason, lease.fence);
      } catch (suspendError) {
        if (!isFenced(suspendError)) throw suspendError;
        return { status: 'interrupted', reason: 'another window took over' };
      }
      deps.emit({ type: 'execution', executionId: id, status: 'suspended' });
      if (error.wake.kind === 'timer' || (error.wake.kind === 'promise' && error.wake.deadline !== undefined)) deps.scheduleWake();
      return { status: 'suspended', reason: error.reason };
    }
    if (error instanceof DivergenceError) {
      const detail = `attempt ${attempt} aborted: ${error.message}`;
      deps.logger.warn(detail);
      attempt = await deps.engine.backend.beginAttempt(id, detail);
      replay = false;
      deps.emit({ type: 'divergence', executionId: id, attempt, message: error.message });
      continue;
    }
    if (isDurableError(error, 'journal_unavailable') || isDurableError(error, 'storage')) {
      if (isFenced(error)) return { status: 'interrupted', reason: 'another window took over' };
      return deps.outcomes.park(id, `${UNAVAILABLE_DETAIL}${(error as Error).message}`, lease.fence);
    }
    const data = toErrorData(error);
    return deps.outcomes.conclude(id, attempt, { status: 'failed', error: data }, { status: 'failed', error: error instanceof Error ? error : fromErrorData(data) }, lease);
  }
}
