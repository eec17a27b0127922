// Step overhead: idempotent (buffered) and guarded (intent + result, both durable),
// serial p50/p99 and 64 concurrent callers, against a raw single-row FULL commit
// on the same machine in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sqlite3 from '@vscode/sqlite3';
import { DurableEngine } from '../src/durable/engine';
import { DurableRuntime } from '../src/durable/runtime';
import { WorkflowRegistry } from '../src/durable/workflow';
import type { DurableContext } from '../src/durable/stepContext';
import { measure, report, root, type Figure } from './harness';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

let rawFiles = 0;

async function rawCommitMs(dir: string, n: number): Promise<number[]> {
  const db = new sqlite3.Database(join(dir, `raw-${rawFiles++}.db`));
  const exec = (sql: string) => new Promise<void>((res, rej) => db.exec(sql, (e) => (e ? rej(e) : res())));
  await exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (a INTEGER PRIMARY KEY, b BLOB)');
  const stmt = db.prepare('INSERT INTO t (b) VALUES (?)');
  const blob = Buffer.alloc(300);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((res, rej) => stmt.run([blob], (e: Error | null) => (e ? rej(e) : res())));
    times.push(performance.now() - t0);
  }
  await new Promise<void>((res) => stmt.finalize(() => res()));
  await new Promise<void>((res) => db.close(() => res()));
  return times.sort((a, b) => a - b);
}

type Body = (ctx: DurableContext, timings: number[]) => Promise<void>;

async function runWorkflow(body: Body): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'das-bench-steps-'));
  const engine = await DurableEngine.open({ file: join(dir, 'durable.db'), migrationsDir: join(root, 'migrations'), masterKey: new Uint8Array(32).fill(5), config: { maxStepsPerExecution: 1_000_000 } });
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
    rmSync(dir, { recursive: true, force: true });
  }
}

const payload = { text: 'x'.repeat(200) };

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'das-bench-raw-'));
  const figures: Figure[] = [];
  try {
    figures.push(await measure('raw single-row FULL commit p50, ms', 3, async () => percentile(await rawCommitMs(dir, 500), 0.5)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  figures.push(
    await measure('idempotent step p50, ms', 3, async () =>
      percentile(await runWorkflow(async (ctx, t) => {
        for (let i = 0; i < 20_000; i++) {
          const t0 = performance.now();
          await ctx.step({ name: 'idem', effect: 'idempotent' }, () => payload);
          t.push(performance.now() - t0);
        }
      }), 0.5),
    ),
  );
  let guarded: number[] = [];
  figures.push(
    await measure('guarded step p50, ms', 3, async () => {
      guarded = await runWorkflow(async (ctx, t) => {
        for (let i = 0; i < 1_000; i++) {
          const t0 = performance.now();
          await ctx.step({ name: 'guarded', effect: 'exactly_once', policy: 'rerun' }, () => payload);
          t.push(performance.now() - t0);
        }
      });
      return percentile(guarded, 0.5);
    }),
  );
  figures.push({ name: 'guarded step p99 (last run), ms', median: percentile(guarded, 0.99), min: percentile(guarded, 0.99), max: percentile(guarded, 0.99), runs: 1 });
  console.log(`guarded step p99 (last run), ms: ${percentile(guarded, 0.99).toFixed(3)}`);
  figures.push(
    await measure('guarded steps, 64 concurrent callers, steps/s', 3, async () => {
      const t0 = performance.now();
      const total = 64 * 40;
      await runWorkflow(async (ctx) => {
        for (let round = 0; round < 40; round++) {
          await ctx.parallel(Array.from({ length: 64 }, () => ({ descriptor: { name: 'g', effect: 'exactly_once' as const, policy: 'rerun' as const }, op: () => payload })));
        }
      });
      return total / ((performance.now() - t0) / 1000);
    }),
  );
  report('steps', figures);
}
