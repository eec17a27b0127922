import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { DurableEngine } from '../../../src/durable/runtime/engine';
import { isDurableError, type ImportError } from '../../../src/durable/model/errors';
import { exportExecutions, importExecutions, parseImport, UNTRUSTED_IMPORT_DETAIL } from '../../../src/durable/journal/exportArtifact';
import type { WorkflowDefinition } from '../../../src/durable/execution/workflow';
import { MIGRATIONS_DIR, OTHER_MASTER_KEY, makeRuntime, tempDir } from '../../helpers';
import { prng } from '../torture/tortureHarness';

const wf: WorkflowDefinition<{ secret: string }, string> = {
  kind: 'exportable', version: 1,
  async run(ctx, input) {
    const a = await ctx.step({ name: 'read', effect: 'idempotent' }, () => `${input.secret}-read`);
    return (await ctx.step({ name: 'write', effect: 'exactly_once', policy: 'rerun' }, () => `${a}-written`)) as string;
  },
};

async function exported(t: Parameters<typeof makeRuntime>[0], reveal = false) {
  const fx = await makeRuntime(t, { workflows: [wf] });
  const h = await fx.runtime.start('exportable', { secret: 'TOPSECRET' });
  await h.done;
  await fx.engine.writer.flush();
  const bytes = await exportExecutions(fx.engine, { reveal });
  return { fx, id: h.id, bytes };
}

async function freshEngine(t: Parameters<typeof makeRuntime>[0], key?: Uint8Array) {
  if (!key) return (await makeRuntime(t, { workflows: [wf] })).engine;
  const engine = await DurableEngine.open({ file: join(tempDir(t), 'durable.db'), migrationsDir: MIGRATIONS_DIR, masterKey: key });
  t.after(() => engine.dispose());
  return engine;
}

const refused = (e: unknown): boolean => isDurableError(e, 'invalid_import') && /nothing was imported/.test(e.message);

test('a sealed export round-trips and replays to the same result; payloads stay sealed in the file', async (t) => {
  const { bytes, id } = await exported(t);
  assert.ok(!Buffer.from(bytes).includes(Buffer.from('TOPSECRET')), 'sealed export shows no payload');
  const fx2 = await makeRuntime(t, { workflows: [wf] });
  assert.deepEqual(await importExecutions(fx2.engine, bytes), { imported: 1, rows: 5, trusted: true, events: 0, promises: 0 });
  assert.equal((await fx2.engine.backend.getExecution(id))?.status, 'completed');
  assert.deepEqual((await fx2.engine.checkIntegrity([id])).failures, []);
  // Imported as history: its recorded outcome stands, and it is never replayed into a second one.
  await assert.rejects(fx2.runtime.resume(id), (e: unknown) => isDurableError(e, 'already_completed'));
});

test('a revealed export carries plaintext; another key imports it only as untrusted read-only history, re-sealed', async (t) => {
  const { bytes, id } = await exported(t, true);
  assert.ok(Buffer.from(bytes).includes(Buffer.from(Buffer.from('{"v":{"secret":"TOPSECRET"}}').toString('base64'))));
  const other = await freshEngine(t, OTHER_MASTER_KEY);
  await assert.rejects(importExecutions(other, bytes), (e: unknown) => refused(e) && (e as ImportError).untrustedPossible && /untrusted read-only history/.test((e as Error).message));
  assert.equal((await other.backend.listExecutions()).length, 0);
  assert.deepEqual(await importExecutions(other, bytes, { untrusted: true }), { imported: 1, rows: 5, trusted: false, events: 0, promises: 0 });
  assert.deepEqual((await other.checkIntegrity([id])).failures, []);
  const history = await other.backend.getExecution(id);
  assert.equal(history?.status, 'aborted');
  assert.equal(history?.statusDetail, UNTRUSTED_IMPORT_DETAIL);
});

test('untrusted history never resumes, and says why', async (t) => {
  const { bytes, id } = await exported(t, true);
  const file = JSON.parse(Buffer.from(bytes).toString('utf8'));
  file.executions[0].status = 'running'; // edited: the MAC no longer verifies
  const fx2 = await makeRuntime(t, { workflows: [wf] });
  await importExecutions(fx2.engine, Buffer.from(JSON.stringify(file)), { untrusted: true });
  await assert.rejects(fx2.runtime.resume(id), (e: unknown) => isDurableError(e, 'invalid_state') && /imported as untrusted read-only history; it never resumes/.test((e as Error).message));
  assert.deepEqual(await fx2.runtime.plan(), [], 'recovery does not see it');
});

test('every field of an exported execution is authenticated: a status edited from running to completed is refused', async (t) => {
  const { bytes } = await exported(t);
  const target = await freshEngine(t);
  for (const [field, value] of [['status', 'completed'], ['title', 'harmless'], ['finishedAt', 1], ['attempt', 2]] as const) {
    const file = JSON.parse(Buffer.from(bytes).toString('utf8'));
    file.executions[0][field] = value;
    if (field === 'status') file.executions[0].status = 'running';
    await assert.rejects(importExecutions(target, Buffer.from(JSON.stringify(file))), (e: unknown) => refused(e) && /record is not authenticated/.test((e as Error).message), field);
  }
  const row = JSON.parse(Buffer.from(bytes).toString('utf8'));
  row.executions[0].rows[1].createdAt += 1;
  await assert.rejects(importExecutions(target, Buffer.from(JSON.stringify(row))), (e: unknown) => refused(e) && /not authenticated/.test((e as Error).message));
  assert.equal((await target.backend.listExecutions()).length, 0);
});

test('600 single-bit flips, sealed and revealed: none is accepted with changed content', async (t) => {
  const random = prng(Number(process.env.FUZZ_SEED ?? 0xb17));
  for (const reveal of [false, true]) {
    const { bytes } = await exported(t, reveal);
    const target = await freshEngine(t);
    const contentOf = (b: Uint8Array): string => JSON.stringify(JSON.parse(Buffer.from(b).toString('utf8')).executions);
    const original = contentOf(bytes);
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const flipped = Buffer.from(bytes);
      flipped[Math.floor(random() * flipped.length)] ^= 1 << Math.floor(random() * 8);
      try {
        parseImport(flipped, target);
        accepted++;
        // Only a flip outside the executions (the file's own export time) may pass.
        assert.equal(contentOf(flipped), original, `flip ${i} was accepted with changed content`);
      } catch (error) {
        assert.ok(refused(error), String(error));
      }
    }
    t.diagnostic(`${reveal ? 'revealed' : 'sealed'}: ${accepted} of 300 flips accepted, all with unchanged content`);
  }
});

test('a sealed export from another key is refused as a whole', async (t) => {
  const { bytes } = await exported(t);
  const other = await freshEngine(t, OTHER_MASTER_KEY);
  await assert.rejects(importExecutions(other, bytes), (e: unknown) => refused(e) && /seal does not verify/.test((e as Error).message));
  assert.equal((await other.backend.listExecutions()).length, 0);
});

test('a tampered export is rejected and nothing is applied', async (t) => {
  const { bytes, fx } = await exported(t);
  const file = JSON.parse(Buffer.from(bytes).toString('utf8'));
  const row = file.executions[0].rows.find((r: { kind: string }) => r.kind === 'step_result');
  row.body = row.body.slice(0, -2) + (row.body.endsWith('00') ? '01' : '00');
  const target = await freshEngine(t);
  await assert.rejects(importExecutions(target, Buffer.from(JSON.stringify(file))), (e: unknown) => refused(e) && /row \d+: its seal does not verify/.test((e as Error).message));
  assert.equal((await target.backend.listExecutions()).length, 0);
  void fx;
});

test('wrong format, version, size, and an existing execution are refused with a precise message', async (t) => {
  const { bytes, fx } = await exported(t);
  const codec = fx.engine;
  const file = JSON.parse(Buffer.from(bytes).toString('utf8'));
  const cases: Array<[unknown, RegExp]> = [
    [{ ...file, format: 'something else' }, /not a Durable Sessions export/],
    [{ ...file, schemaVersion: 4 }, /schema version 4 is not supported/],
    [{ ...file, executions: {} }, /"executions" must be a list/],
    [{ ...file, executions: [{ ...file.executions[0], id: 'x' }] }, /"id" is not an execution id/],
    [{ ...file, executions: [file.executions[0], file.executions[0]] }, /appears twice/],
    [{ ...file, executions: [{ ...file.executions[0], title: 'a\u0000b' }] }, /"title" contains a NUL character/],
  ];
  for (const [value, message] of cases) assert.throws(() => parseImport(Buffer.from(JSON.stringify(value)), codec), (e: unknown) => refused(e) && message.test((e as Error).message));
  assert.throws(() => parseImport(bytes, codec, { maxBytes: 100 }), (e: unknown) => refused(e) && /over the 100-byte limit/.test((e as Error).message));
  await assert.rejects(importExecutions(fx.engine, bytes), (e: unknown) => refused(e) && /already exists/.test((e as Error).message));
  await assert.rejects(exportExecutions(fx.engine, { maxBytes: 500 }), /would exceed 500 bytes/);
});

test('fuzz: thousands of random and mutated files never crash the decoder; every rejection is clean', async (t) => {
  const { bytes, fx } = await exported(t);
  const target = await freshEngine(t);
  const seed = Number(process.env.FUZZ_SEED ?? 0x5eed);
  const random = prng(seed);
  const text = Buffer.from(bytes).toString('utf8');
  const int = (n: number) => Math.floor(random() * n);
  const mutate = (): Buffer => {
    switch (int(6)) {
      case 0: return Buffer.from(Array.from({ length: int(400) }, () => int(256)));
      case 1: return Buffer.from(text.slice(0, int(text.length)));
      case 2: { const i = int(text.length); return Buffer.from(text.slice(0, i) + String.fromCharCode(32 + int(90)) + text.slice(i + 1)); }
      case 3: { const b = Buffer.from(text); for (let k = 0; k < 1 + int(4); k++) b[int(b.length)] ^= 1 << int(8); return b; }
      case 4: { const o = JSON.parse(text); const e = o.executions[0]; const keys = Object.keys(e); e[keys[int(keys.length)]] = [null, -1, 'x', {}, [], 1e308][int(6)]; return Buffer.from(JSON.stringify(o)); }
      default: { const o = JSON.parse(text); const r = o.executions[0].rows[int(o.executions[0].rows.length)]; const keys = Object.keys(r); r[keys[int(keys.length)]] = [null, -1, 'zz', {}, 4294967296, 'step_result'][int(6)]; return Buffer.from(JSON.stringify(o)); }
    }
  };
  let rejected = 0;
  let accepted = 0;
  for (let i = 0; i < 3_000; i++) {
    const input = mutate();
    try {
      parseImport(input, target);
      accepted++;
    } catch (error) {
      assert.ok(refused(error), `case ${i} (seed ${seed}) threw an unclean error: ${(error as Error)?.stack}`);
      rejected++;
    }
  }
  t.diagnostic(`fuzz seed ${seed}: ${rejected} rejected cleanly, ${accepted} still valid after mutation`);
  assert.ok(rejected > 2_000);
  assert.equal((await target.backend.listExecutions()).length, 0, 'parsing never writes');
  void fx;
});
