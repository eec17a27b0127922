/**
 * The divergence guard of replay: the journal recorded a step at this id under
 * another idempotency key (another name, effect or inputs), so the workflow
 * no longer does what it did. The message says what was recorded and what runs
 * now; the runtime restarts the attempt fresh.
 */
import { DivergenceError } from '../model/errors';
import { keyPrefix, type ExecutionId, type IdempotencyKey } from '../model/ids';
import type { EntryHeader } from '../model/journal';
import type { StepRecord } from './replayCursor';

function sameKey(a: Uint8Array | null, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function checkSameStep(executionId: ExecutionId, record: StepRecord, header: EntryHeader, key: IdempotencyKey): void {
  const recorded = record.folded
    ? { stepName: record.folded.name, effect: record.folded.effect, idempotencyKey: record.folded.key }
    : (record.result ?? record.finalFailure ?? record.latestIntent ?? record.others[0]);
  if (!recorded || sameKey(recorded.idempotencyKey, key)) return;
  const sameShape = recorded.stepName === header.stepName && recorded.effect === header.effect;
  throw new DivergenceError(
    executionId,
    header.stepId as number,
    `\`${recorded.stepName}\` (${recorded.effect}${sameShape ? `, key ${keyPrefix(recorded.idempotencyKey ?? new Uint8Array(6))}…` : ''})`,
    `\`${header.stepName}\` (${header.effect}${sameShape ? `, key ${keyPrefix(header.idempotencyKey as Uint8Array)}…; the step's inputs changed` : ''})`,
  );
}
