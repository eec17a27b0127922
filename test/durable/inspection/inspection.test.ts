// The explorer's read side: timelines from entry headers, entry details with
// reveal-only payloads, and what needs attention.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveIdempotencyKey, newExecutionId, type ExecutionId } from '../../../src/durable/model/ids';
import { buildTimeline, entryDetail, needsAttention, payloadText } from '../../../src/durable/inspection/inspection';
import type { NewEntry, StoredRow } from '../../../src/durable/model/journal';
import { JournalCodec } from '../../../src/durable/crypto/journalCodec';
import { encodeCheckpoint } from '../../../src/durable/journal/checkpointFormat';
import type { WorkflowDefinition } from '../../../src/durable/execution/workflow';
import { bytes, gate, makeRuntime, openBackend, testKeyring } from '../../helpers';

/** Entries with chosen timestamps: the codec stamps `createdAt` from this clock. */
function clockedCodec(): { codec: JournalCodec; at(t: number): void } {
  let now = 1_000;
  return { codec: new JournalCodec(testKeyring(), () => now), at: (t) => (now = t) };
}

function header(id: ExecutionId, stepId: number | null, name: string | null): Pick<NewEntry, 'executionId' | 'attempt' | 'stepId' | 'stepName' | 'effect' | 'idempotencyKey'> {
  return {
    executionId: id,
    attempt: 1,
    stepId: stepId as never,
    stepName: name,
    effect: stepId === null ? null : 'exactly_once',
    idempotencyKey: stepId === null ? null : deriveIdempotencyKey({ executionId: id, stepId: stepId as never, stepName: name ?? '', effect: 'exactly_once', fingerprint: new Uint8Array(32) }),
  };
}

test('timeline: one row per step with its intent→result span, retries, and lanes for overlapping steps', async (t) => {
  const backend = await openBackend(t);
  const { codec, at } = clockedCodec();
  const id = newExecutionId();
  const rows: StoredRow[] = [];
  const add = (time: number, entry: NewEntry): void => {
    at(time);
    rows.push(codec.encode(entry));
  };
  add(1_000, { ...header(id, null, null), kind: 'execution_started', payload: bytes('{"v":1}') });
  add(1_010, { ...header(id, 0, 'a'), kind: 'step_intent', meta: { intent: 'destructive', policy: 'ask' } });
  add(1_020, { ...header(id, 1, 'b'), kind: 'step_intent', meta: { intent: 'destructive', policy: 'ask' } });
  add(1_050, { ...header(id, 0, 'a'), kind: 'step_failed', payload: bytes('{"code":"x"}') });
  add(1_060, { ...header(id, 0, 'a'), kind: 'step_intent', meta: { intent: 'destructive', policy: 'ask' } });
  add(1_080, { ...header(id, 0, 'a'), kind: 'step_result', payload: bytes('{"v":"done"}') });
  add(1_090, { ...header(id, 1, 'b'), kind: 'step_result', payload: bytes('{"v":"done"}') });
  add(1_100, { ...header(id, 2, 'c'), kind: 'step_intent', meta: { intent: 'destructive', policy: 'ask' } });
  await backend.createExecution({ id, kind: 'demo', version: 1, title: 'demo' }, rows);

  const timeline = await buildTimeline(backend, id);
  assert.deepEqual(
    timeline.rows.map((r) => [r.stepId, r.name, r.status, r.startedAt, r.endedAt, r.retries, r.entryIndexes.length]),
    [
      [null, 'execution started', 'event', 1_000, 1_000, 0, 1],
      [0, 'a', 'done', 1_010, 1_080, 2, 4],
      [1, 'b', 'done', 1_020, 1_090, 0, 2],
      [2, 'c', 'open', 1_100, 1_100, 0, 1],
    ],
  );
  assert.equal(timeline.entries.length, 8);
  assert.equal(timeline.rows[1].lane, 0);
  assert.equal(timeline.rows[2].lane, 1, 'b overlaps a: second lane');
  assert.equal(timeline.rows[3].lane, 0, 'c starts after a ended');
  assert.equal(timeline.lanes, 2);
  assert.match(timeline.rows[1].keyPrefix ?? '', /^[0-9a-f]{8}$/);
  // While the execution runs, an open intent is in flight, not interrupted.
  assert.equal((await buildTimeline(backend, id, { active: true })).rows[3].status, 'running');
});

test('timeline reads in segments: every entry of a long execution is there, in order', async (t) => {
  const backend = await openBackend(t);
  const codec = new JournalCodec(testKeyring());
  const id = newExecutionId();
  await backend.createExecution({ id, kind: 'long', version: 1, title: 'long' });
  const n = 12_345; // more than two 5,000-entry segments
  const batch: StoredRow[] = [];
  for (let i = 0; i < n; i++) batch.push(codec.encode({ ...header(id, i, `s${i}`), effect: 'idempotent', kind: 'step_result', payload: bytes(`{"v":${i}}`) }));
  await backend.appendRows(batch);
  const partials: Array<{ entries: number; complete: boolean }> = [];
  const timeline = await buildTimeline(backend, id, { onFirstSegment: (p) => partials.push({ entries: p.entries.length, complete: p.complete }) });
  assert.deepEqual(partials, [{ entries: 5_000, complete: false }], 'a long journal offers its first segment early, once');
  assert.equal(timeline.complete, true);
  assert.equal(timeline.entries.length, n);
  assert.equal(timeline.rows.length, n);
  assert.ok(timeline.entries.every((e, i) => i === 0 || e.seq > timeline.entries[i - 1].seq));
  assert.equal(timeline.rows[n - 1].name, `s${n - 1}`);
});

test('timeline of an unknown execution says it does not exist', async (t) => {
  const backend = await openBackend(t);
  await assert.rejects(buildTimeline(backend, newExecutionId()), /does not exist/);
});

test('entry details: control metadata is verified; a payload is opened only on reveal; tampering fails closed without content', async (t) => {
  const backend = await openBackend(t);
  const codec = new JournalCodec(testKeyring());
  const id = newExecutionId();
  await backend.createExecution({ id, kind: 'demo', version: 1, title: 'demo' }, [
    codec.encode({ ...header(id, 0, 'write'), kind: 'step_intent', meta: { intent: 'destructive', policy: 'ask' } }),
    codec.encode({ ...header(id, 0, 'write'), kind: 'step_result', payload: bytes('{"v":"secret value"}') }),
  ]);
  const [intent, result] = await backend.readExecutionSegment(id, 0, 10);
  const control = await entryDetail(backend, codec, id, intent.seq, false);
  assert.equal(control.integrity, 'ok');
  assert.deepEqual(control.meta, { intent: 'destructive', policy: 'ask' });
  const hidden = await entryDetail(backend, codec, id, result.seq, false);
  assert.equal(hidden.integrity, 'ok');
  assert.equal(hidden.payload, undefined, 'not revealed unless asked');
  const shown = await entryDetail(backend, codec, id, result.seq, true);
  assert.equal(shown.payload?.text, JSON.stringify({ v: 'secret value' }, null, 2));

  await backend.connection.exclusive('tamper', () => backend.connection.run('UPDATE journal SET body = ? WHERE seq = ?', [Buffer.from(result.body.map((b, i) => (i === 40 ? b ^ 1 : b))), result.seq]));
  const tampered = await entryDetail(backend, codec, id, result.seq, true);
  assert.equal(tampered.integrity, 'failed');
  assert.equal(tampered.payload, undefined);
  assert.doesNotMatch(JSON.stringify(tampered), /secret value/);
  await assert.rejects(entryDetail(backend, codec, id, 99_999, false), /no journal entry 99999/);
});

test('entry details: a revealed checkpoint shows its folded steps and their values, not its stored bytes; a malformed one is reported as damaged', async (t) => {
  const backend = await openBackend(t);
  const codec = new JournalCodec(testKeyring());
  const id = newExecutionId();
  const folded = [0, 1].map((stepId) => ({
    stepId, name: 'read file', effect: 'idempotent' as const, key: new Uint8Array(32).fill(stepId + 1), payload: bytes(JSON.stringify({ v: `line ${stepId}` })),
  }));
  const entry = (payload: Uint8Array): NewEntry => ({ executionId: id, attempt: 1, stepId: null, stepName: null, effect: null, idempotencyKey: null, kind: 'checkpoint', payload });
  await backend.createExecution({ id, kind: 'demo', version: 1, title: 'demo' }, [codec.encode(entry(encodeCheckpoint(folded))), codec.encode(entry(bytes('{"steps":[{"s":1}]}')))]);
  const [checkpoint, malformed] = await backend.readExecutionSegment(id, 0, 10);
  const shown = await entryDetail(backend, codec, id, checkpoint.seq, true);
  assert.equal(shown.integrity, 'ok');
  const text = shown.payload?.text ?? '';
  assert.match(text, /"name": "read file"/);
  assert.match(text, /"payload": \{\n\s+"v": "line 1"\n/);
  assert.doesNotMatch(text, /binary/);
  const damaged = await entryDetail(backend, codec, id, malformed.seq, true);
  assert.equal(damaged.integrity, 'failed');
  assert.match(damaged.integrityMessage ?? '', /checkpoint entry has a malformed step/);
});

test('payload text: JSON pretty-printed, text as is, binary as a hex preview, long text truncated', () => {
  assert.equal(payloadText(bytes('{"a":1}')).text, '{\n  "a": 1\n}');
  assert.equal(payloadText(bytes('plain')).text, 'plain');
  assert.match(payloadText(new Uint8Array([0xff, 0xfe, 0x00])).text, /^\(binary, 3 bytes\) fffe00/);
  assert.deepEqual(payloadText(bytes('x'.repeat(100)), 10), { text: 'x'.repeat(10), truncated: true });
});

test('needs attention: an interrupted guarded step of an execution nobody runs, until a person decides it', async (t) => {
  const started = gate();
  const workflow: WorkflowDefinition<null, unknown> = {
    kind: 'effect',
    version: 1,
    async run(ctx) {
      return ctx.step({ name: 'deploy', effect: 'exactly_once', intent: 'destructive', policy: 'ask' }, async (h) => {
        started.open();
        await new Promise((_, reject) => h.signal.addEventListener('abort', () => reject(h.signal.reason), { once: true }));
      });
    },
  };
  const fx = await makeRuntime(t, { workflows: [workflow] });
  const handle = await fx.runtime.start('effect', null);
  await started.promise;
  const { backend, codec } = fx.engine;
  const running = await needsAttention(backend, codec, { now: Date.now(), isActive: (id) => fx.runtime.isActive(id) });
  assert.deepEqual(running, [], 'a step in flight is not an interrupted one');
  await fx.runtime.dispose(); // the "crash": the intent stays, the result never comes

  const w2 = fx.another('w2', [workflow]);
  const items = await needsAttention(backend, codec, { now: Date.now(), isActive: (id) => w2.isActive(id) });
  assert.equal(items.length, 1);
  const [item] = items;
  assert.ok(item.type === 'ambiguous');
  assert.equal(item.execution.id, handle.id);
  assert.deepEqual([item.stepId, item.stepName, item.policy, item.intent, item.effect], [0, 'deploy', 'ask', 'destructive', 'exactly_once']);

  const resumed = await w2.resolveAmbiguity(handle.id, 0, 'skip', 'tester');
  await resumed?.done;
  assert.deepEqual(await needsAttention(backend, codec, { now: Date.now(), isActive: (id) => w2.isActive(id) }), []);
  const [audit] = await backend.listAudit(handle.id);
  assert.deepEqual([audit.decision, audit.decidedBy], ['decided_skip', 'user:tester']);
});

test('the writer tells listeners which executions it just committed', async (t) => {
  const fx = await makeRuntime(t);
  const seen: string[][] = [];
  const off = fx.engine.writer.onCommit((ids) => seen.push([...ids]));
  const id = newExecutionId();
  await fx.engine.backend.createExecution({ id, kind: 'demo', version: 1, title: 'demo' });
  fx.engine.writer.appendBuffered({ ...header(id, 0, 'x'), effect: 'idempotent', kind: 'step_result', payload: bytes('{}') });
  await fx.engine.writer.flush();
  assert.deepEqual(seen, [[id]]);
  off();
  fx.engine.writer.appendBuffered({ ...header(id, 1, 'y'), effect: 'idempotent', kind: 'step_result', payload: bytes('{}') });
  await fx.engine.writer.flush();
  assert.equal(seen.length, 1, 'unsubscribed');
});

test('entry headers survive any step name: commas, separators, non-ASCII, none', async (t) => {
  const backend = await openBackend(t);
  const codec = new JournalCodec(testKeyring());
  const id = newExecutionId();
  const names = ['a, b, c', `x${String.fromCharCode(30)}y`, 'schreibe Datei “ä”', ''];
  await backend.createExecution({ id, kind: 'demo', version: 1, title: 'demo' }, [
    codec.encode({ ...header(id, null, null), kind: 'execution_started', payload: bytes('{}') }),
    ...names.map((name, i) => codec.encode({ ...header(id, i, name), effect: 'idempotent', kind: 'step_result', payload: bytes('{"v":1}') })),
  ]);
  const timeline = await buildTimeline(backend, id);
  assert.deepEqual(timeline.entries.map((e) => e.stepName), [null, 'a, b, c', 'x y', 'schreibe Datei “ä”', '']);
  assert.deepEqual(timeline.entries.map((e) => e.stepId), [null, 0, 1, 2, 3]);
  assert.ok(timeline.entries.every((e) => e.createdAt > 0 && (e.stepId === null || /^[0-9a-f]{8}$/.test(e.keyPrefix ?? ''))));
});
