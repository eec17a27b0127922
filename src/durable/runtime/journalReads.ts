/**
 * What the runtime reads back from an execution's journal without running it:
 * its recorded input, its recorded outcome, an open ambiguous window, and the
 * resolver token of a promise (each authenticated as it is opened).
 */
import { InvalidStateError, NotFoundError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { ExecutionRecord, JournalRecord } from '../model/journal';
import { decodeFinish, decodeValue, type FinishRecord } from '../execution/stepValue';
import type { DurableEngine } from './engine';

type Engine = Pick<DurableEngine, 'backend' | 'codec' | 'config'>;

/** The input an execution was started with (its first row). */
export async function recordedInput(engine: Engine, execution: ExecutionRecord): Promise<unknown> {
  const [first] = await engine.backend.readExecutionSegment(execution.id, 0, 1);
  if (!first || first.kind !== 'execution_started') {
    throw new InvalidStateError(`execution ${execution.id} has no recorded input; it cannot be resumed`);
  }
  return decodeValue(engine.codec.openPayload(first), `execution ${execution.id} input`);
}

/** The last `execution_finished` entry of the current attempt, or undefined while there is none. */
export async function recordedOutcome(engine: Engine, id: ExecutionId): Promise<FinishRecord | undefined> {
  const execution = await engine.backend.getExecution(id);
  if (!execution) throw new NotFoundError(`execution ${id} does not exist`);
  let finished: JournalRecord | undefined;
  for await (const row of engine.backend.journalRows(id, { attempt: execution.attempt, segmentSize: engine.config.replaySegmentSize })) {
    if (row.kind === 'execution_finished') finished = row;
  }
  return finished ? decodeFinish(engine.codec.openPayload(finished), `execution ${id} outcome`) : undefined;
}

/** The latest intent of a step with no result after it (and the audit record of its window, if any). */
export async function openWindow(engine: Engine, execution: ExecutionRecord, stepId: number): Promise<{ intent: JournalRecord; audit?: JournalRecord } | undefined> {
  let intent: JournalRecord | undefined;
  let audit: JournalRecord | undefined;
  for await (const row of engine.backend.journalRows(execution.id, { attempt: execution.attempt, segmentSize: engine.config.replaySegmentSize })) {
    if (row.stepId !== stepId) continue;
    if (row.kind === 'step_intent') {
      intent = row;
      audit = undefined;
    } else if (row.kind === 'ambiguity_resolved') audit = row;
    else if (row.kind === 'step_result' || row.kind === 'step_failed') intent = undefined;
  }
  return intent ? { intent, audit } : undefined;
}

/**
 * The resolver token of a pending promise, read from its sealed creation step:
 * for the extension's own approval UI after a reload. Never hand it to a model.
 */
export async function promiseTokenOf(engine: Engine, promiseId: string): Promise<Uint8Array> {
  const row = await engine.backend.getPromise(promiseId);
  if (!row) throw new NotFoundError(`promise ${promiseId} does not exist`);
  for await (const r of engine.backend.journalRows(row.executionId, { segmentSize: engine.config.replaySegmentSize })) {
    if (r.stepId === row.stepId && r.kind === 'step_result' && r.stepName === 'ctx.promise') {
      const recorded = decodeValue(engine.codec.openPayload(r), `promise ${promiseId}`) as { promiseId: string; token: string };
      if (recorded.promiseId === promiseId) return new Uint8Array(Buffer.from(recorded.token, 'base64'));
    }
  }
  throw new NotFoundError(`the token of promise ${promiseId} is not in the journal of execution ${row.executionId}`);
}
