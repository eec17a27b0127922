// Journal writer throughput: buffered (group-committed) and acknowledged appends
// of sealed 256-byte payloads, against the raw multi-row insert floor of the
// same binding and against better-sqlite3, measured in the same run.
import { join } from 'node:path';
import { DurableEngine } from '../src/durable/runtime/engine';
import { asIdempotencyKey, newExecutionId, stepId, type ExecutionId } from '../src/durable/model/ids';
import type { NewEntry } from '../src/durable/model/journal';
import { betterSqliteMultiRowInsert, keyOf, rawMultiRowInsert, warmKeys } from './baselines';
import { inTempDir, measure, ratioFigure, report, root, type Figure } from './harness';

const PAYLOAD = new Uint8Array(256).fill(0x61);

function entry(exec: ExecutionId, i: number): NewEntry {
  return { kind: 'step_result', executionId: exec, attempt: 1, stepId: stepId(i), stepName: 'bench', effect: 'idempotent', idempotencyKey: asIdempotencyKey(new Uint8Array(keyOf(i))), payload: PAYLOAD };
}

async function withEngine<T>(fn: (engine: DurableEngine, exec: ExecutionId) => Promise<T>): Promise<T> {
  return inTempDir('das-bench-', async (dir) => {
    const engine = await DurableEngine.open({ file: join(dir, 'durable.db'), migrationsDir: join(root, 'migrations', 'sqlite'), masterKey: new Uint8Array(32).fill(9) });
    try {
      const exec = newExecutionId();
      await engine.backend.createExecution({ id: exec, kind: 'bench', version: 1, title: 'bench' });
      return await fn(engine, exec);
    } finally {
      await engine.dispose();
    }
  });
}

export async function run(): Promise<void> {
  const N = 50_000;
  warmKeys(N * 4); // distinct keys like the journal's (see keyOf), computed before any timing
  const figures: Figure[] = [];
  const raw = await measure('raw @vscode/sqlite3 multi-row insert floor (no crypto, no writer)', 'rows/s', 5, () => inTempDir('das-bench-raw-', (dir) => rawMultiRowInsert(dir, N, 256)));
  const better = await measure('better-sqlite3, same rows', 'rows/s', 5, () => inTempDir('das-bench-better-', async (dir) => betterSqliteMultiRowInsert(dir, N, 256)));
  const buffered = await measure('buffered appends, sealed 256 B', 'entries/s', 5, () =>
    withEngine(async (engine, exec) => {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) engine.writer.appendBuffered(entry(exec, i));
      await engine.writer.flush();
      return N / ((performance.now() - t0) / 1000);
    }),
  );
  figures.push(raw, better, buffered);
  figures.push(ratioFigure('buffered appends ÷ raw floor', buffered, raw, '≥ 0.55', (r) => r >= 0.55));
  figures.push(ratioFigure('buffered appends ÷ better-sqlite3', buffered, better));
  const ACKS = 2_000;
  figures.push(
    await measure('acked appends, serial', 'entries/s', 5, () =>
      withEngine(async (engine, exec) => {
        const t0 = performance.now();
        for (let i = 0; i < ACKS; i++) await engine.writer.appendAcked(entry(exec, i));
        return ACKS / ((performance.now() - t0) / 1000);
      }),
    ),
  );
  figures.push(
    await measure('acked appends, 64 concurrent callers', 'entries/s', 5, () =>
      withEngine(async (engine, exec) => {
        const t0 = performance.now();
        let next = 0;
        await Promise.all(
          Array.from({ length: 64 }, async () => {
            while (next < ACKS * 4) await engine.writer.appendAcked(entry(exec, next++));
          }),
        );
        return (ACKS * 4) / ((performance.now() - t0) / 1000);
      }),
    ),
  );
  report('journal', figures);
}
