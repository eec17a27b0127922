/**
 * The committed results of an execution's steps, read back for a person's
 * purpose (which files a session edited, to undo them): every result entry of
 * the current attempt, and those folded into checkpoints, each authenticated as
 * it is opened. Only the steps `wanted` names are opened.
 */
import type { ExecutionRecord } from '../model/journal';
import { decodeCheckpoint } from '../journal/checkpoint';
import { decodeResult } from '../execution/stepValue';
import type { DurableEngine } from '../runtime/engine';

export interface CommittedStep {
  readonly stepId: number;
  readonly name: string;
  /** The step's value (a skipped step is left out). */
  readonly value: unknown;
}

type Engine = Pick<DurableEngine, 'backend' | 'codec' | 'config'>;

/** In step order (the order the workflow called them). */
export async function committedSteps(engine: Engine, execution: ExecutionRecord, wanted: (name: string) => boolean): Promise<CommittedStep[]> {
  const steps = new Map<number, CommittedStep>();
  const keep = (stepId: number, name: string, payload: Uint8Array): void => {
    const decoded = decodeResult(payload, `execution ${execution.id} step ${stepId} (${name})`);
    if (decoded.kind === 'value') steps.set(stepId, { stepId, name, value: decoded.value });
  };
  for await (const row of engine.backend.journalRows(execution.id, { attempt: execution.attempt, segmentSize: engine.config.replaySegmentSize })) {
    if (row.kind === 'checkpoint') {
      for (const folded of decodeCheckpoint(engine.codec.openPayload(row))) if (wanted(folded.name)) keep(folded.stepId, folded.name, folded.payload);
    } else if (row.kind === 'step_result' && row.stepName !== null && wanted(row.stepName)) {
      keep(row.stepId as number, row.stepName, engine.codec.openPayload(row));
    }
  }
  return [...steps.values()].sort((a, b) => a.stepId - b.stepId);
}
