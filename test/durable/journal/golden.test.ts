// Golden journals: recorded journals replayed on every run. The canonical one
// must replay to its recorded output without calling a single op; the altered
// one (step 2 recorded with another fingerprint) must raise a divergence.
// Regenerate (only when the format changes on purpose): GOLDEN_WRITE=1 npm run test:unit
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fromHex, toHex } from '../../../src/durable/model/bytes';
import { isDurableError } from '../../../src/durable/model/errors';
import type { ExecutionId } from '../../../src/durable/model/ids';
import type { EntryKind, StoredRow } from '../../../src/durable/model/journal';
import type { EffectClass } from '../../../src/durable/model/effect';
import { goldenWorkflow } from '../../fixtures/goldenWorkflow';
import { makeRuntime, repoRoot, TEST_MASTER_KEY } from '../../helpers';

const FORMAT = 'durable-agent-sessions golden journal v1';
const INPUT = { files: ['a.ts', 'lib/b.ts', 'c.md'] };

interface GoldenRow {
  attempt: number;
  stepId: number | null;
  kind: EntryKind;
  stepName: string | null;
  effect: EffectClass | null;
  idemKey: string | null;
  body: string;
  mac: string | null;
  size: number;
  createdAt: number;
}

interface GoldenFile {
  format: string;
  masterKey: string;
  execution: { id: string; kind: string; version: number; title: string };
  output: unknown;
  rows: GoldenRow[];
}

const fixture = (name: string) => join(repoRoot(), 'test', 'fixtures', name);

async function record(t: Parameters<typeof makeRuntime>[0], variant: boolean, file: string): Promise<void> {
  const fx = await makeRuntime(t, { workflows: [goldenWorkflow({ onOp: () => undefined }, variant)] });
  const h = await fx.runtime.start('golden', INPUT);
  const outcome = await h.done;
  assert.equal(outcome.status, 'completed');
  const execution = await fx.runtime.get(h.id);
  const rows = await fx.engine.backend.readExecutionSegment(h.id, 0, 10_000);
  const golden: GoldenFile = {
    format: FORMAT,
    masterKey: toHex(TEST_MASTER_KEY),
    execution: { id: h.id, kind: 'golden', version: 1, title: execution!.title },
    output: outcome.status === 'completed' ? outcome.output : null,
    rows: rows.map((r) => ({
      attempt: r.attempt, stepId: r.stepId, kind: r.kind, stepName: r.stepName, effect: r.effect,
      idemKey: r.idempotencyKey ? toHex(r.idempotencyKey) : null, body: toHex(r.body), mac: r.mac ? toHex(r.mac) : null,
      size: r.size, createdAt: r.createdAt,
    })),
  };
  writeFileSync(file, JSON.stringify(golden, null, 1) + '\n');
}

async function load(t: Parameters<typeof makeRuntime>[0], name: string, calls: string[], mutate?: (rows: StoredRow[]) => void) {
  const golden = JSON.parse(readFileSync(fixture(name), 'utf8')) as GoldenFile;
  assert.equal(golden.format, FORMAT);
  assert.equal(golden.masterKey, toHex(TEST_MASTER_KEY));
  const fx = await makeRuntime(t, { workflows: [goldenWorkflow({ onOp: (n) => calls.push(n) })] });
  const id = golden.execution.id as ExecutionId;
  const rows: StoredRow[] = golden.rows.map((r) => ({
    executionId: id, attempt: r.attempt, stepId: r.stepId, kind: r.kind, stepName: r.stepName, effect: r.effect,
    idempotencyKey: r.idemKey === null ? null : fromHex(r.idemKey), body: fromHex(r.body), mac: r.mac === null ? null : fromHex(r.mac),
    size: r.size, createdAt: r.createdAt,
  }));
  mutate?.(rows);
  await fx.engine.backend.createExecution({ id, kind: golden.execution.kind, version: golden.execution.version, title: golden.execution.title }, rows);
  return { fx, id, golden };
}

if (process.env.GOLDEN_WRITE === '1') {
  test('write golden journals', async (t) => {
    await record(t, false, fixture('golden-journal.json'));
    await record(t, true, fixture('golden-journal-altered.json'));
  });
}

test('the golden journal replays to its recorded output without calling any op', async (t) => {
  const calls: string[] = [];
  const { fx, id, golden } = await load(t, 'golden-journal.json', calls);
  assert.ok(golden.rows.some((r) => r.kind === 'step_failed'), 'the fixture covers a recorded failure');
  assert.ok(golden.rows.some((r) => r.kind === 'step_intent'), 'the fixture covers guarded steps');
  const outcome = await (await fx.runtime.resume(id)).done;
  assert.deepEqual(outcome, { status: 'completed', output: golden.output });
  assert.deepEqual(calls, [], 'replay never calls an op');
  assert.equal(fx.events.filter((e) => e.type === 'divergence').length, 0);
});

test('the altered golden journal raises a divergence at the altered step', async (t) => {
  const calls: string[] = [];
  const { fx, id, golden } = await load(t, 'golden-journal-altered.json', calls);
  const outcome = await (await fx.runtime.resume(id)).done;
  const divergences = fx.events.filter((e) => e.type === 'divergence');
  assert.equal(divergences.length, 1);
  assert.match((divergences[0] as { message: string }).message, /step 4: journal recorded `edit` \(exactly_once, key .*the step's inputs changed/);
  // The fresh attempt ran live from the start: the altered edit (another key) runs, everything else too.
  assert.deepEqual(outcome, { status: 'completed', output: golden.output });
  assert.ok(calls.includes('edit'));
});

test('a tampered golden journal fails closed: integrity error, no op called', async (t) => {
  const calls: string[] = [];
  const { fx, id } = await load(t, 'golden-journal.json', calls, (rows) => {
    const model = rows.find((r) => r.kind === 'step_result' && r.stepName === 'model')!;
    const body = new Uint8Array(model.body);
    body[body.length - 20] ^= 0x01;
    (model as { body: Uint8Array }).body = body;
  });
  const before = await fx.engine.backend.getExecution(id);
  await assert.rejects(fx.runtime.resume(id), (e: unknown) => isDurableError(e, 'integrity') && /step 5 step_result.*authentication failed/.test((e as Error).message));
  assert.deepEqual(calls, []);
  // Not failed: the execution is as it was, and the plan says a person must look.
  assert.equal((await fx.engine.backend.getExecution(id))?.status, before?.status);
  const [item] = await fx.runtime.plan([id]);
  assert.equal(item.decision.action, 'damaged');
});
