// The journal the replay benches read back, the same on both stores: an
// execution of `steps` committed idempotent results, built in multi-row
// appends, and the workflow that replays it to its frontier.
import { deriveIdempotencyKey, newExecutionId, stepId, type ExecutionId } from '../src/durable/model/ids';
import type { StoredRow } from '../src/durable/model/journal';
import type { DurableEngine } from '../src/durable/runtime/engine';
import { encodeValue } from '../src/durable/execution/stepValue';
import type { WorkflowDefinition } from '../src/durable/execution/workflow';

export const KIND = 'bench.replay';
const STEP = 'chunk';

/** An interrupted execution with `steps` committed idempotent steps (plus its start entry). */
export async function buildExecution(engine: DurableEngine, steps: number, chunk: number): Promise<ExecutionId> {
  const id = newExecutionId();
  const started = engine.codec.encode({ executionId: id, attempt: 1, stepId: null, stepName: null, effect: null, idempotencyKey: null, kind: 'execution_started', payload: encodeValue(null, 'input') });
  await engine.backend.createExecution({ id, kind: KIND, version: 1, title: `${steps} steps` }, [started]);
  const empty = new Uint8Array(0);
  for (let from = 0; from < steps; from += chunk) {
    const rows: StoredRow[] = [];
    for (let i = from; i < Math.min(steps, from + chunk); i++) {
      const sid = stepId(i);
      rows.push(
        engine.codec.encode({
          executionId: id, attempt: 1, stepId: sid, stepName: STEP, effect: 'idempotent',
          idempotencyKey: deriveIdempotencyKey({ executionId: id, stepId: sid, stepName: STEP, effect: 'idempotent', fingerprint: empty }),
          kind: 'step_result', payload: encodeValue(i, 'bench'),
        }),
      );
    }
    await engine.backend.appendRows(rows);
  }
  return id;
}

/**
 * The workflow the journal belongs to: `steps` idempotent steps, then a long
 * sleep, so every run ends parked at the same place and can be replayed again.
 */
export function replayWorkflow(steps: number, onFrontier: () => void): WorkflowDefinition<null, void> {
  return {
    kind: KIND,
    version: 1,
    async run(ctx) {
      for (let i = 0; i < steps; i++) {
        const value = await ctx.step({ name: STEP, effect: 'idempotent' }, () => i);
        if (value !== i) throw new Error(`step ${i} replayed ${String(value)}`);
      }
      onFrontier();
      await ctx.sleep(24 * 3600_000);
    },
  };
}
