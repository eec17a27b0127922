// Parent side of the crash-torture test: spawns the child, kills it with
// SIGKILL at random moments, restarts it, and checks the invariants after
// every kill and at the end of every execution.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../src/durable/model/bytes';
import { DurableEngine } from '../../../src/durable/runtime/engine';
import type { ExecutionId } from '../../../src/durable/model/ids';
import { engineStore, STORE_UNDER_TEST, TEST_MASTER_KEY, repoRoot, schemaOfFile } from '../../helpers';
import { dropPgSchema } from '../../pgTestStore';

export const CHILD = join(repoRoot(), 'out', 'test', 'durable', 'torture', 'torture.child.js');

/** Small seeded PRNG (mulberry32): the seed printed by the test reproduces the kill schedule. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Life {
  readonly killed: boolean;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run one life of the child; kill it `killAfterMs` after it says READY (unless it finishes first). */
export function live(args: string[], killAfterMs: number | undefined, timeoutMs = 30_000, child = CHILD): Promise<Life> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hardStop = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child hung for ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    proc.stdout.on('data', (chunk: Buffer) => {
      const before = stdout;
      stdout += chunk.toString();
      if (!before.includes('READY') && stdout.includes('READY') && killAfterMs !== undefined) {
        timer = setTimeout(() => {
          killed = proc.kill('SIGKILL');
        }, killAfterMs);
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(hardStop);
      resolve({ killed: killed && signal === 'SIGKILL', code, stdout, stderr });
    });
  });
}

export interface Snapshot {
  readonly executionId?: ExecutionId;
  /** `attempt:step` → plaintext hex of every committed result. */
  readonly results: Map<string, string>;
}

/** Open the journal after a kill and read every committed result (the process is dead: nothing else writes). */
export async function snapshot(file: string): Promise<Snapshot> {
  if (STORE_UNDER_TEST === 'sqlite' && !existsSync(file)) return { results: new Map() };
  const engine = await DurableEngine.open({ file, ...engineStore(file), masterKey: TEST_MASTER_KEY });
  try {
    const [execution] = await engine.backend.listExecutions({ kind: 'torture' });
    const results = new Map<string, string>();
    if (!execution) return { results };
    let after = 0;
    for (;;) {
      const rows = await engine.backend.readExecutionSegment(execution.id, after, 1000);
      if (rows.length === 0) break;
      for (const row of rows) if (row.kind === 'step_result') results.set(`${row.attempt}:${row.stepId}`, toHex(engine.codec.openPayload(row)));
      after = rows[rows.length - 1].seq;
    }
    return { executionId: execution.id, results };
  } finally {
    await engine.dispose();
  }
}

export function assertNothingLost(before: Snapshot, after: Snapshot): void {
  for (const [where, value] of before.results) {
    assert.equal(after.results.get(where), value, `committed result ${where} was lost or changed after a restart`);
  }
}

export function ledgerKeys(ledger: string): string[] {
  if (!existsSync(ledger)) return [];
  return readFileSync(ledger, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
}

export function assertNoDuplicateEffects(ledger: string): void {
  const keys = ledgerKeys(ledger);
  const seen = new Set<string>();
  for (const key of keys) {
    assert.ok(!seen.has(key), `guarded effect ${key.slice(0, 12)}… reached the outside world twice`);
    seen.add(key);
  }
}

export interface AuditStats {
  windows: number;
  decisions: Record<string, number>;
}

/**
 * Exactly one audit record per ambiguous window: per step, between two intents
 * there is exactly one audit record, and after the last intent at most one
 * before the result. The audit table matches the journal's audit entries.
 */
export async function assertAuditInvariant(file: string, executionId: ExecutionId, stats: AuditStats): Promise<void> {
  const engine = await DurableEngine.open({ file, ...engineStore(file), masterKey: TEST_MASTER_KEY });
  try {
    const rows = await engine.backend.readExecutionSegment(executionId, 0, 1_000_000);
    const byStep = new Map<string, string[]>();
    for (const row of rows) {
      if (row.stepId === null) continue;
      const key = `${row.attempt}:${row.stepId}`;
      byStep.set(key, [...(byStep.get(key) ?? []), row.kind]);
    }
    let auditEntries = 0;
    for (const [step, kinds] of byStep) {
      const intents = kinds.map((k, i) => (k === 'step_intent' ? i : -1)).filter((i) => i >= 0);
      for (let j = 0; j < intents.length; j++) {
        const end = j + 1 < intents.length ? intents[j + 1] : kinds.length;
        const between = kinds.slice(intents[j] + 1, end).filter((k) => k === 'ambiguity_resolved').length;
        if (j + 1 < intents.length) assert.equal(between, 1, `step ${step}: window ${j + 1} has ${between} audit records (${kinds.join(',')})`);
        else assert.ok(between <= 1, `step ${step}: the last window has ${between} audit records (${kinds.join(',')})`);
      }
      assert.equal(kinds.filter((k) => k === 'step_result').length, 1, `step ${step}: one result (${kinds.join(',')})`);
      auditEntries += kinds.filter((k) => k === 'ambiguity_resolved').length;
    }
    const audit = await engine.backend.listAudit(executionId);
    assert.equal(audit.length, auditEntries, 'audit table matches the journal');
    stats.windows += audit.length;
    for (const a of audit) stats.decisions[a.decision] = (stats.decisions[a.decision] ?? 0) + 1;
  } finally {
    await engine.dispose();
  }
}

/** A work folder per execution; on PostgreSQL its journal's schema goes with it. */
export function tempWorkDir(): { dir: string; cleanup(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'das-torture-'));
  return {
    dir,
    cleanup: async () => {
      rmSync(dir, { recursive: true, force: true });
      if (STORE_UNDER_TEST === 'postgres') await dropPgSchema(schemaOfFile(join(dir, 'durable.db')));
    },
  };
}
