// Two processes on the same durable.db and the same execution: never both run it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeRuntime, tempDir } from '../../helpers';
import { CHILD } from './tortureHarness';
import { tortureWorkflow } from './tortureWorkflow';

const N = 12;
const LEASE_MS = 1_000;
const SLOW_MS = 40;

interface Proc {
  readonly child: ChildProcess;
  readonly out: string[];
  waitFor(prefix: string, ms?: number): Promise<string>;
  exited: Promise<number | null>;
}

/** `gate`: a file the owner's effects wait for, so its run is still going when the test needs it to be. */
function contend(dir: string, owner: string, gate = ''): Proc {
  const child = spawn(process.execPath, [CHILD, join(dir, 'durable.db'), join(dir, 'ledger.txt'), join(dir, 'notify.txt'), String(N), owner, String(LEASE_MS), 'contend', String(SLOW_MS), gate], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  let buffer = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    out.push(...lines);
    waiters.splice(0).forEach((w) => w());
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (prefix: string, ms = 20_000): Promise<string> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const line = out.find((l) => l.startsWith(prefix));
      if (line) return line;
      if (Date.now() > deadline) throw new Error(`${owner} never printed ${prefix}: ${out.join(' | ')} ${stderr}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return { child, out, waitFor, exited };
}

function ledgerLines(dir: string): Array<{ key: string; pid: number; at: number }> {
  return readFileSync(join(dir, 'ledger.txt'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [key, , , pid, at] = l.split(' ');
      return { key, pid: Number(pid), at: Number(at) };
    });
}

async function reference(t: Parameters<typeof makeRuntime>[0]): Promise<unknown> {
  const dir = tempDir(t);
  const fx = await makeRuntime(t, { workflows: [tortureWorkflow(join(dir, 'l'), join(dir, 'n'))] });
  const outcome = await (await fx.runtime.start('torture', { n: N })).done;
  return outcome.status === 'completed' ? outcome.output : undefined;
}

test('a second process waits while the owner is alive and never runs the execution', { timeout: 60_000 }, async (t) => {
  const expected = await reference(t);
  const dir = tempDir(t);
  // A holds its first effect until B has seen the live lease: on a loaded machine B can start after A finished.
  const gate = join(dir, 'gate');
  const a = contend(dir, 'window-a', gate);
  t.after(() => a.child.kill('SIGKILL'));
  await a.waitFor('STARTED');
  const b = contend(dir, 'window-b');
  t.after(() => b.child.kill('SIGKILL'));
  await b.waitFor('WAITING');
  // Held for longer than a lease: A renews it while it works, and B keeps waiting.
  await new Promise((r) => setTimeout(r, LEASE_MS * 1.5));
  writeFileSync(gate, '');
  assert.deepEqual(JSON.parse((await a.waitFor('DONE')).slice(5)), expected);
  assert.deepEqual(JSON.parse((await b.waitFor('DONE')).slice(5)), expected, 'the second window replays the finished result');
  assert.equal(await a.exited, 0);
  assert.equal(await b.exited, 0);
  const lines = ledgerLines(dir);
  assert.ok(lines.every((l) => l.pid === a.child.pid), 'only the owner ran guarded effects');
  assert.equal(new Set(lines.map((l) => l.key)).size, lines.length, 'no effect twice');
  assert.ok(!b.out.some((l) => l.startsWith('TOOK_OVER')), 'the live lease was never taken over');
});

test('a frozen owner is taken over only after its lease expires, and stops when it wakes', { timeout: 60_000 }, async (t) => {
  const expected = await reference(t);
  const dir = tempDir(t);
  const a = contend(dir, 'window-a');
  t.after(() => a.child.kill('SIGKILL'));
  await a.waitFor('STARTED');
  await new Promise((r) => setTimeout(r, 300));
  a.child.kill('SIGSTOP');
  const frozenAt = Date.now();
  const b = contend(dir, 'window-b');
  t.after(() => b.child.kill('SIGKILL'));
  // Frozen between transactions, A blocks nobody: B takes over once the lease expires.
  // Frozen inside a transaction, A holds SQLite's write lock: B waits (LOCKED) until A
  // continues, commits, finds its lease expired and stops; then B takes over.
  const first = await Promise.race([b.waitFor('TOOK_OVER'), b.waitFor('LOCKED')]);
  let continuedAt: number | undefined;
  if (first.startsWith('LOCKED')) {
    continuedAt = Date.now();
    a.child.kill('SIGCONT');
  }
  // Woken inside its last transaction (the completion, its lease checked under the lock),
  // A may finish: then B takes nothing over and reports A's recorded output.
  const next = continuedAt === undefined ? await b.waitFor('TOOK_OVER') : await Promise.race([b.waitFor('TOOK_OVER'), b.waitFor('DONE')]);
  const tookOver = next.startsWith('TOOK_OVER') ? Number(next.split(' ')[1]) : Number.POSITIVE_INFINITY;
  if (next.startsWith('TOOK_OVER')) assert.ok(tookOver - frozenAt >= (LEASE_MS * 2) / 3 - 50, `took over ${tookOver - frozenAt} ms after the freeze: the lease had not expired`);
  assert.deepEqual(JSON.parse((await b.waitFor('DONE')).slice(5)), expected);
  if (continuedAt === undefined) a.child.kill('SIGCONT');
  // Woken, A either stops (its lease is gone) or, if it had journaled the outcome before it
  // froze, reports that same outcome: it never writes anything new after the takeover.
  const aEnd = await Promise.race([a.waitFor('OUTCOME'), a.waitFor('DONE')]);
  if (aEnd.startsWith('DONE')) assert.deepEqual(JSON.parse(aEnd.slice(5)), expected);
  else assert.match(aEnd, /^OUTCOME interrupted/, 'the woken owner stops instead of finishing');
  // The effect re-checks ownership right before it writes (handle.ensureOwner), so the woken
  // owner writes nothing after the takeover, unless it froze in the microseconds between
  // that check and the write (reported, tolerated once).
  const lines = ledgerLines(dir);
  const lateFromA = lines.filter((l) => l.pid === a.child.pid && l.at >= tookOver);
  assert.ok(lateFromA.length <= 1, `A wrote ${lateFromA.length} effects after the takeover`);
  const keys = lines.map((l) => l.key);
  const duplicates = keys.filter((k, i) => keys.indexOf(k) !== i);
  const repeated = lines.filter((l) => duplicates.includes(l.key)).map((l) => `${l.key.slice(0, 8)} ${l.pid === a.child.pid ? 'A' : 'B'} ${l.at - tookOver}ms`);
  assert.ok(duplicates.every((k) => lateFromA.some((l) => l.key === k)), `only an effect in flight at the freeze can repeat: ${repeated.join(', ')}; A: ${a.out.join(' | ')}; B: ${b.out.join(' | ')}`);
  t.diagnostic(`${continuedAt ? 'frozen holding the write lock; ' : ''}${Number.isFinite(tookOver) ? `takeover after ${tookOver - frozenAt} ms` : 'the woken owner completed it'}; effects landing late from the frozen owner: ${lateFromA.length}; duplicates ${duplicates.length}`);
});
