// The peer: LangGraph JS with its SQLite checkpointer. A 2-node loop graph run
// for 1,000 steps (node executions): per-step cost with the SQLite checkpointer,
// the same graph without a checkpointer, and the difference (the checkpoint
// overhead per step); and the time to resume the thread (a new saver on the
// same file loads its latest state).
import { join } from 'node:path';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { inTempDir, measure, type Figure } from './harness';

const STEPS = 1_000;

const State = Annotation.Root({
  n: Annotation<number>(),
  text: Annotation<string>(),
});

function graph() {
  return new StateGraph(State)
    .addNode('think', (s: typeof State.State) => ({ n: s.n + 1 }))
    .addNode('act', (s: typeof State.State) => ({ n: s.n + 1, text: `step ${s.n}: ${'x'.repeat(200)}` }))
    .addEdge(START, 'think')
    .addEdge('think', 'act')
    .addConditionalEdges('act', (s: typeof State.State) => (s.n < STEPS ? 'think' : END));
}

async function runOnce(saver: SqliteSaver | undefined, thread: string): Promise<number> {
  const app = graph().compile(saver ? { checkpointer: saver } : {});
  const t0 = performance.now();
  const out = await app.invoke({ n: 0, text: '' }, { configurable: { thread_id: thread }, recursionLimit: STEPS + 10 });
  const ms = performance.now() - t0;
  if (out.n !== STEPS) throw new Error(`LangGraph ran ${out.n} steps`);
  return ms / STEPS;
}

export interface LangGraphFigures {
  readonly figures: Figure[];
  /** Checkpoint overhead per step, ms (with SQLite checkpointer minus without). */
  readonly checkpointOverheadMs: number;
}

export async function run(): Promise<LangGraphFigures> {
  const figures: Figure[] = [];
  const withSqlite = await measure('LangGraph 2-node loop, SQLite checkpointer, per step', 'ms', 3, () =>
    inTempDir('das-bench-lg-', async (dir) => {
      const saver = SqliteSaver.fromConnString(join(dir, 'lg.db'));
      return runOnce(saver, 'bench');
    }),
  );
  const without = await measure('LangGraph 2-node loop, no checkpointer, per step', 'ms', 3, () => runOnce(undefined, 'bench'));
  const overhead = Math.max(0, withSqlite.median - without.median);
  figures.push(withSqlite, without, { name: 'LangGraph checkpoint overhead per step (difference of medians)', unit: 'ms', median: overhead, min: Math.max(0, withSqlite.min - without.max), max: withSqlite.max - without.min, runs: 3 });
  figures.push(
    await measure('LangGraph resume a 1,000-step thread (new saver, load latest state)', 'ms', 5, () =>
      inTempDir('das-bench-lg-resume-', async (dir) => {
        const file = join(dir, 'lg.db');
        await runOnce(SqliteSaver.fromConnString(file), 'resume');
        const t0 = performance.now();
        const app = graph().compile({ checkpointer: SqliteSaver.fromConnString(file) });
        const state = await app.getState({ configurable: { thread_id: 'resume' } });
        const ms = performance.now() - t0;
        if ((state.values as { n: number }).n !== STEPS) throw new Error('LangGraph resumed the wrong state');
        return ms;
      }),
    ),
  );
  return { figures, checkpointOverheadMs: overhead };
}
