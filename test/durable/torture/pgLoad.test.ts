// Load on the shared store: N interrupted executions, two processes resuming
// all of them at once on PostgreSQL. Every execution is run by one owner, every
// guarded effect happens once, and both processes get a share of the work.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gate, makeRuntime, repoRoot, STORE_UNDER_TEST, tempDir } from '../../helpers';
import { PG_MISSING } from '../../pgTestStore';
import { loadWorkflow } from './loadWorkflow';

const N = Number(process.env.LOAD_EXECUTIONS ?? 60);
const CHILD = join(repoRoot(), 'out', 'test', 'durable', 'torture', 'pgLoad.child.js');

function child(file: string, ledger: string, owner: string, startAt: number, order: 'forward' | 'reverse'): Promise<{ ran: number; refused: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CHILD, file, ledger, owner, String(startAt), order], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DURABLE_TEST_STORE: 'postgres' } });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      const m = /RAN (\d+) REFUSED (\d+)/.exec(out);
      if (code !== 0 || !m) reject(new Error(`${owner} exited ${code}: ${out}`));
      else resolve({ ran: Number(m[1]), refused: Number(m[2]) });
    });
  });
}

test(`load: ${N} interrupted executions resumed by two processes at once on PostgreSQL: one owner each, every effect once`, { skip: PG_MISSING ?? (STORE_UNDER_TEST === 'postgres' ? 'runs once, in the first pass' : undefined), timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'durable.db');
  const ledger = join(dir, 'ledger.txt');
  // Seed: start N executions, stop them all inside their first step (a window that closed).
  let reached = 0;
  const all = gate();
  const fx = await makeRuntime(t, { file, store: 'postgres', workflows: [loadWorkflow(ledger, { reached: () => ++reached === N && all.open() })] });
  for (let i = 0; i < N; i++) await fx.runtime.start('load', { i });
  await all.promise;
  await fx.runtime.dispose();
  const startAt = Date.now() + 2_000;
  const [a, b] = await Promise.all([child(file, ledger, 'machine-a', startAt, 'forward'), child(file, ledger, 'machine-b', startAt, 'reverse')]);
  const seconds = (Date.now() - startAt) / 1000;
  const lines = existsSync(ledger) ? readFileSync(ledger, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')) : [];
  const keys = lines.map((l) => l[0]);
  assert.equal(new Set(keys).size, keys.length, 'no guarded effect twice');
  assert.equal(keys.length, 2 * N, 'every guarded effect happened');
  const pidsByExecution = new Map<string, Set<string>>();
  for (const [, i, , pid] of lines) pidsByExecution.set(i, (pidsByExecution.get(i) ?? new Set()).add(pid));
  assert.ok([...pidsByExecution.values()].every((pids) => pids.size === 1), 'no execution run by two owners');
  assert.equal(a.ran + b.ran, N, `each execution completed once (${a.ran} + ${b.ran})`);
  const done = await fx.engine.backend.listExecutions({ kind: 'load', statuses: ['completed'] });
  assert.equal(done.length, N);
  assert.ok(a.ran > 0 && b.ran > 0, `both processes did part of the work (${a.ran}, ${b.ran})`);
  t.diagnostic(`${N} executions in ${seconds.toFixed(1)} s (${(N / seconds).toFixed(0)}/s) by two processes: A ran ${a.ran} (refused ${a.refused}), B ran ${b.ran} (refused ${b.refused})`);
});
