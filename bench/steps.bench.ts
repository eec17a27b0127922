// Step overhead: idempotent (buffered) and guarded (intent + result, both
// durable), serial p50/p99 and with 64 concurrent callers, against raw
// single-row synchronous=FULL commits measured in the same run.
import { join } from 'node:path';
import { DurableEngine } from '../src/durable/runtime/engine';
import { DurableRuntime } from '../src/durable/runtime/runtime';
import type { DurableContext } from '../src/durable/execution/stepContext';
import { WorkflowRegistry } from '../src/durable/execution/workflow';
import { rawSingleRowCommits } from './baselines';
import { against, inTempDir, measure, percentile, report, root, summarize, type Figure } from './harness';

type Body = (ctx: DurableContext, timings: number[]) => Promise<void>;

/** Run one workflow on a fresh database; returns the timings its body recorded, sorted. */
export async function runWorkflow(body: Body): Promise<number[]> {
  return inTempDir('das-bench-steps-', async (dir) => {
    const engine = await DurableEngine.open({ file: join(dir, 'durable.db'), migrationsDir: join(root, 'migrations', 'sqlite'), masterKey: new Uint8Array(32).fill(5), config: { maxStepsPerExecution: 10_000_000 } });
    const registry = new WorkflowRegistry();
    const timings: number[] = [];
    registry.register({ kind: 'bench', version: 1, run: (ctx) => body(ctx, timings) });
    const runtime = new DurableRuntime({ engine, registry, ownerId: 'bench' });
    try {
      const outcome = await (await runtime.start('bench', null)).done;
      if (outcome.status !== 'completed') throw new Error(`bench workflow ${outcome.status}`);
      return timings.sort((a, b) => a - b);
    } finally {
      await runtime.dispose();
      await engine.dispose();
    }
  });
}

const payload = { text: 'x'.repeat(200) };

export async function run(): Promise<{ idempotentP50: number }> {
  const figures: Figure[] = [];
  const rawP50 = await measure('raw single-row FULL commit p50', 'ms', 3, () => inTempDir('das-bench-raw-', async (dir) => percentile(await rawSingleRowCommits(dir, 500), 0.5)));
  figures.push(rawP50);
  const idem = await measure('idempotent step overhead p50', 'ms', 3, async () =>
    percentile(
      await runWorkflow(async (ctx, t) => {
        for (let i = 0; i < 20_000; i++) {
          const t0 = performance.now();
          await ctx.step({ name: 'idem', effect: 'idempotent' }, () => payload);
          t.push(performance.now() - t0);
        }
      }),
      0.5,
    ),
  );
  figures.push(idem);
  const p99s: number[] = [];
  const guarded = await measure('guarded step overhead p50 (intent + result, both durable)', 'ms', 3, async () => {
    const times = await runWorkflow(async (ctx, t) => {
      for (let i = 0; i < 1_000; i++) {
        const t0 = performance.now();
        await ctx.step({ name: 'guarded', effect: 'exactly_once', policy: 'rerun' }, () => payload);
        t.push(performance.now() - t0);
      }
    });
    p99s.push(percentile(times, 0.99));
    return percentile(times, 0.5);
  });
  const limit = 1.3 * 2 * rawP50.median;
  figures.push(against(guarded, `≤ 1.3 × two raw FULL commits = ${limit.toFixed(2)} ms`, guarded.median <= limit));
  figures.push({ name: 'guarded p50 ÷ two raw FULL commits', unit: '×', median: guarded.median / (2 * rawP50.median), min: guarded.min / (2 * rawP50.max), max: guarded.max / (2 * rawP50.min), runs: 3, target: '≤ 1.3', met: guarded.median <= limit });
  const p99 = summarize('guarded step overhead p99', 'ms', p99s);
  figures.push(against(p99, '≤ 3 ms', p99.median <= 3));
  const concurrent = await measure('guarded steps, 64 concurrent callers', 'steps/s', 3, async () => {
    const t0 = performance.now();
    const rounds = 40;
    await runWorkflow(async (ctx) => {
      for (let round = 0; round < rounds; round++) {
        await ctx.parallel(Array.from({ length: 64 }, () => ({ descriptor: { name: 'g', effect: 'exactly_once' as const, policy: 'rerun' as const }, op: () => payload })));
      }
    });
    return (64 * rounds) / ((performance.now() - t0) / 1000);
  });
  figures.push(against(concurrent, '≥ 7,000/s', concurrent.median >= 7_000));
  report('steps', figures);
  return { idempotentP50: idem.median };
}
