// Replay on PostgreSQL, as replay.bench.ts does it on SQLite: a long execution
// of committed idempotent steps, written directly through the codec (the same
// keys and value envelope the step layer writes), whose workflow parks on a
// long sleep after its last step, so every resume replays all of it again.
// A run opens an engine on the schema, plans, resumes, and is timed until the
// workflow reaches its frontier.
import { join } from 'node:path';
import { DurableEngine } from '../src/durable/runtime/engine';
import type { ExecutionId } from '../src/durable/model/ids';
import { DurableRuntime } from '../src/durable/runtime/runtime';
import { WorkflowRegistry } from '../src/durable/execution/workflow';
import { root } from './harness';
import { within } from './pgServer';
import { buildExecution as buildJournal, replayWorkflow } from './replayJournal';

/** Rows per append while building: the journal's per-row counter trigger makes very large statements slow. */
const BUILD_CHUNK = 512;
const REPLAY_TIMEOUT_MS = 120_000;
export const MASTER_KEY = new Uint8Array(32).fill(13);

export function openPgEngine(url: string, schema: string): Promise<DurableEngine> {
  return DurableEngine.open({
    file: '',
    migrationsDir: join(root, 'migrations', 'postgres'),
    masterKey: MASTER_KEY,
    config: { maxStepsPerExecution: 10_000_000 },
    postgres: { connectionString: url, project: 'bench', schema },
  });
}

export function buildExecution(engine: DurableEngine, steps: number): Promise<ExecutionId> {
  return buildJournal(engine, steps, BUILD_CHUNK);
}


export interface PgReplayRun {
  /** Open + plan + replay until the frontier. */
  readonly ms: number;
  readonly openPlanMs: number;
}

/** Open an engine on `schema`, plan, resume `id`, and time it until the workflow reaches its frontier. */
export async function resumeToFrontier(url: string, schema: string, id: ExecutionId, steps: number): Promise<PgReplayRun> {
  let frontier = 0;
  const t0 = performance.now();
  const engine = await openPgEngine(url, schema);
  const registry = new WorkflowRegistry();
  registry.register(replayWorkflow(steps, () => (frontier = performance.now())));
  const runtime = new DurableRuntime({ engine, registry, ownerId: `bench-${Math.random()}` });
  try {
    await within(runtime.plan([id]), REPLAY_TIMEOUT_MS, 'planning the replay');
    const openPlanMs = performance.now() - t0;
    const handle = await within(runtime.resume(id), REPLAY_TIMEOUT_MS, 'resuming the replay');
    const outcome = await within(handle.done, REPLAY_TIMEOUT_MS, `replaying ${steps} steps`);
    if (outcome.status !== 'suspended' || frontier === 0) throw new Error(`replay ended ${outcome.status}`);
    return { ms: frontier - t0, openPlanMs };
  } finally {
    await runtime.dispose();
    await engine.dispose();
  }
}
