// The storage port's conformance suite: what every adapter of JournalStore and
// SessionStorage must do, written once against the port. An adapter's test
// file calls `storeConformance(name, open)` with a function that opens a fresh,
// empty store (sqlite.conformance.test.ts today; PostgreSQL next).
import assert from 'node:assert/strict';
import { test as nodeTest } from 'node:test';
import { asIdempotencyKey, newExecutionId, stepId, type ExecutionId } from '../../../src/durable/model/ids';
import type { NewEntry, StoredRow } from '../../../src/durable/model/journal';
import { FIRST_LEASE_EPOCH, type JournalStore } from '../../../src/durable/store/journalStore';
import type { MessageBody, MessageCodec, ProjectionOp, SessionStorage } from '../../../src/durable/store/sessionStore';
import { bytes, testCodec } from '../../helpers';

export interface OpenedStore {
  readonly store: JournalStore;
  readonly sessions: SessionStorage;
  /** Move the store's clock (leases and timers are judged by it). */
  readonly advance: (ms: number) => void;
}

type Opener = (t: { after(fn: () => void | Promise<void>): void }) => Promise<OpenedStore>;

const codec = testCodec();
const KEY = asIdempotencyKey(new Uint8Array(32).fill(3));
const header = (id: ExecutionId, step: number | null, attempt = 1) =>
  ({ executionId: id, attempt, stepId: step === null ? null : stepId(step), stepName: step === null ? null : `s${step}`, effect: step === null ? null : 'exactly_once', idempotencyKey: step === null ? null : KEY }) as const;
const result = (id: ExecutionId, step: number, attempt = 1): StoredRow => codec.encode({ ...header(id, step, attempt), kind: 'step_result', payload: bytes(`r${step}`) } as NewEntry);
const intent = (id: ExecutionId, step: number): StoredRow => codec.encode({ ...header(id, step), kind: 'step_intent', meta: { intent: 'destructive', policy: 'ask' } } as NewEntry);
const audit = (id: ExecutionId, step: number): StoredRow =>
  codec.encode({ ...header(id, step), kind: 'ambiguity_resolved', meta: { intent: 'destructive', policy: 'ask', decision: 'decided_skip', decidedBy: 'user:ann', decidedAt: 5 } } as NewEntry);

/** An identity "seal" so the suite can read back what the adapter stored. */
const plainCodec: MessageCodec = {
  seal: (_t, _i, body) => bytes(JSON.stringify(body)),
  open: (_t, _i, blob) => JSON.parse(new TextDecoder().decode(blob)) as MessageBody,
};

export function storeConformance(name: string, open: Opener, skip?: string): void {
  const test = (title: string, fn: (t: Parameters<Opener>[0]) => Promise<void>): void => void nodeTest(title, { skip }, fn);
  const fresh = async (t: Parameters<Opener>[0], title = 'job'): Promise<OpenedStore & { id: ExecutionId }> => {
    const opened = await open(t);
    const id = newExecutionId();
    await opened.store.createExecution({ id, kind: 'k', version: 1, title });
    return { ...opened, id };
  };

  test(`${name}: executions are created, read back, listed by status and kind, newest first`, async (t) => {
    const { store, id } = await fresh(t, 'first');
    const other = newExecutionId();
    await store.createExecution({ id: other, kind: 'other', version: 2, title: 'second' });
    const e = await store.getExecution(id);
    assert.equal(e?.title, 'first');
    assert.equal(e?.status, 'running');
    assert.equal(e?.attempt, 1);
    assert.deepEqual((await store.listExecutions({ kind: 'other' })).map((x) => x.id), [other]);
    assert.equal((await store.listExecutions({ statuses: ['running'] })).length, 2);
    assert.equal(await store.getExecution(newExecutionId()), undefined);
  });

  test(`${name}: appended rows get increasing seqs, read back by attempt and in segments; counters follow`, async (t) => {
    const { store, id } = await fresh(t);
    const seqs = await store.appendRows([result(id, 0), result(id, 1), result(id, 2)]);
    assert.equal(seqs.length, 3);
    assert.ok(seqs[0] < seqs[1] && seqs[1] < seqs[2]);
    const rows = await store.readSegment(id, 1, 0, 10);
    assert.deepEqual(rows.map((r) => r.stepId), [0, 1, 2]);
    assert.deepEqual(new TextDecoder().decode(codec.openPayload(rows[1])), 'r1');
    assert.deepEqual((await store.readSegment(id, 1, seqs[0], 1)).map((r) => r.stepId), [1]);
    const all: number[] = [];
    for await (const r of store.journalRows(id, { segmentSize: 2 })) all.push(r.stepId as number);
    assert.deepEqual(all, [0, 1, 2]);
    assert.deepEqual(await store.countRows(id), { count: 3, lastSeq: seqs[2] });
    assert.equal(await store.lastEntrySeq(id, 1), seqs[2]);
    assert.equal((await store.getExecution(id))?.stepCount, 3);
    assert.equal((await store.findResultByKey(id, KEY))?.seq !== undefined, true);
  });

  test(`${name}: a batch of any size lands in the order given, each row at the seq returned for it, fenced or not`, async (t) => {
    const { store, id } = await fresh(t);
    const lease = { owner: 'w', epoch: (await store.acquireLease(id, 'w', 60_000))! };
    let step = 0;
    // Sizes around the adapters' statement and chunk boundaries (one statement up to 64 rows on SQLite).
    for (const size of [2, 17, 63, 64, 65, 300]) {
      for (const fenced of [false, true]) {
        const first = step;
        const batch = Array.from({ length: size }, () => ({ ...result(id, step++), ...(fenced ? { fence: lease } : {}) }));
        const seqs = await store.appendRows(batch);
        const back = await store.readSegment(id, 1, seqs[0] - 1, size + 1);
        assert.deepEqual(back.map((r) => r.stepId), Array.from({ length: size }, (_, i) => first + i), `${size} rows${fenced ? ', fenced' : ''}: order`);
        assert.deepEqual(back.map((r) => r.seq), seqs, `${size} rows${fenced ? ', fenced' : ''}: seqs`);
      }
    }
    assert.equal((await store.getExecution(id))?.stepCount, step);
  });

  test(`${name}: every field of a row reads back byte for byte: segments, every attempt, headers and tags`, async (t) => {
    const { store, id } = await fresh(t);
    // Bytes a text path would mangle (NUL, 0xff, a lone UTF-8 continuation byte), names JSON must escape.
    const awkward = new Uint8Array([0, 255, 0x80, 0x22, 0x5c, 0, 10, 0xc3]);
    const rows: StoredRow[] = [
      { ...result(id, 0), stepName: 'quote " backslash \\ tab \t bell \u0007 é ∑ 🙂', body: new Uint8Array([...awkward, ...new Uint8Array(40).fill(0)]), size: 7 },
      { ...intent(id, 1), idempotencyKey: asIdempotencyKey(new Uint8Array(32).fill(0)), mac: new Uint8Array(16).fill(0xff), body: awkward },
      { ...result(id, 2, 2), idempotencyKey: null, stepName: '', effect: 'idempotent', createdAt: 2 ** 52 + 1 },
      { ...result(id, 3), stepId: null, stepName: null, effect: null, idempotencyKey: null, kind: 'execution_finished', body: new Uint8Array(0) },
    ];
    const seqs = await store.appendRows(rows);
    const expected = rows.map((row, i) => ({ ...row, seq: seqs[i] }));
    const plain = (r: StoredRow & { seq: number }) => ({
      ...r,
      idempotencyKey: r.idempotencyKey && [...r.idempotencyKey],
      body: [...r.body],
      mac: r.mac && [...r.mac],
      fence: undefined,
    });
    assert.deepEqual((await store.readExecutionSegment(id, 0, 10)).map(plain), expected.map(plain));
    assert.deepEqual((await store.readSegment(id, 1, 0, 10)).map(plain), expected.filter((r) => r.attempt === 1).map(plain));
    assert.deepEqual((await store.readSegment(id, 2, 0, 10)).map(plain), expected.filter((r) => r.attempt === 2).map(plain));
    const headers = await store.readMarkRows(id, 0, 10);
    assert.deepEqual(
      headers.map((h) => ({ ...h, idempotencyKey: h.idempotencyKey && [...h.idempotencyKey], tag: [...h.tag] })),
      expected.map((r) => ({
        seq: r.seq,
        attempt: r.attempt,
        stepId: r.stepId,
        kind: r.kind,
        stepName: r.stepName,
        effect: r.effect,
        idempotencyKey: r.idempotencyKey && [...r.idempotencyKey],
        tag: [...(r.mac ?? r.body.subarray(Math.max(0, r.body.length - 16)))],
      })),
    );
  });

  test(`${name}: a lease has one owner until it expires or is released; each new owner gets the next epoch; finishing clears it`, async (t) => {
    const { store, id, advance } = await fresh(t);
    assert.equal(await store.acquireLease(id, 'a', 1_000), 1, 'the first owner holds epoch 1');
    assert.equal(await store.acquireLease(id, 'b', 1_000), undefined, 'held by a');
    assert.equal(await store.acquireLease(id, 'a', 1_000), 1, 'the same owner again: the same epoch');
    assert.equal(await store.renewLease(id, 'a', 1_000), true);
    assert.equal(await store.renewLease(id, 'b', 1_000), false, 'b does not own it');
    advance(2_000);
    assert.equal(await store.acquireLease(id, 'b', 1_000), 2, 'expired: b takes over with the next epoch');
    assert.equal(await store.renewLease(id, 'a', 1_000), false, 'a lost it');
    assert.equal((await store.getExecution(id))?.leaseEpoch, 2);
    await store.releaseLease(id, 'b');
    assert.equal(await store.acquireLease(id, 'a', 1_000), 3, 'released: a is a new owner again');
    await store.finalize(id, 'completed');
    const done = await store.getExecution(id);
    assert.equal(done?.status, 'completed');
    assert.equal(done?.leaseOwner, null);
  });

  test(`${name}: an execution created with its lease is held from the first commit, at the first epoch, with its first rows fenced by it`, async (t) => {
    const { store, advance } = await open(t);
    const id = newExecutionId();
    const run = { owner: 'run-a', epoch: FIRST_LEASE_EPOCH };
    await store.createExecution({ id, kind: 'k', version: 1, title: 'leased', lease: { owner: 'run-a', leaseMs: 1_000 } }, [codec.encode({ ...header(id, null), kind: 'execution_started', payload: bytes('in') } as NewEntry)]);
    const created = await store.getExecution(id);
    assert.deepEqual([created?.status, created?.leaseOwner, created?.leaseEpoch], ['running', 'run-a', 1]);
    assert.equal(await store.acquireLease(id, 'window-b', 1_000), undefined, 'nobody else can claim it');
    await store.appendRows([{ ...result(id, 0), fence: run }]);
    assert.equal(await store.renewLease(id, 'run-a', 1_000), true);
    advance(2_000);
    assert.equal(await store.acquireLease(id, 'window-b', 1_000), 2, 'once expired, the next owner gets the next epoch');
    await assert.rejects(store.appendRows([{ ...result(id, 1), fence: run }]), (e: unknown) => (e as { reason?: string }).reason === 'fenced');
    assert.equal((await store.countRows(id)).count, 2, 'its input and the one row it wrote while it held the lease');
    const plain = newExecutionId();
    await store.createExecution({ id: plain, kind: 'k', version: 1, title: 'plain' });
    const free = await store.getExecution(plain);
    assert.deepEqual([free?.leaseOwner, free?.leaseEpoch], [null, 0], 'without one it is free');
  });

  test(`${name}: a fenced-out owner writes nothing: its rows, outcome and suspension are refused in the writing transaction`, async (t) => {
    const { store, id, advance } = await fresh(t);
    const a = { owner: 'a', epoch: (await store.acquireLease(id, 'a', 1_000))! };
    const [seq] = await store.appendRows([{ ...result(id, 0), fence: a }]);
    assert.ok(seq > 0, 'the owner writes');
    advance(2_000);
    const b = { owner: 'b', epoch: (await store.acquireLease(id, 'b', 1_000))! };
    const refused = (e: unknown) => (e as { reason?: string }).reason === 'fenced' && /passed to another owner/.test((e as Error).message);
    await assert.rejects(store.appendRows([{ ...result(id, 1), fence: a }]), refused, 'one row');
    await assert.rejects(store.appendRows([{ ...intent(id, 2), fence: a }, { ...result(id, 2), fence: a }]), refused, 'a batch');
    await assert.rejects(store.appendRows([{ ...result(id, 3), fence: b }, { ...result(id, 4), fence: a }]), refused, 'a batch with one stale row fails whole');
    await assert.rejects(store.suspend(id, 'stale', a), refused);
    await assert.rejects(store.finalize(id, 'failed', 'stale', a), refused);
    assert.deepEqual(await store.countRows(id), { count: 1, lastSeq: seq }, 'nothing of the stale owner landed');
    assert.equal((await store.getExecution(id))?.status, 'running');
    // The same owner coming back after a release is a stranger too: its old epoch stays refused.
    await store.releaseLease(id, 'b');
    assert.equal(await store.acquireLease(id, 'a', 1_000), 3);
    await assert.rejects(store.appendRows([{ ...result(id, 1), fence: a }]), refused, 'an old epoch of the same owner');
    await store.appendRows([{ ...result(id, 1), fence: { owner: 'a', epoch: 3 } }]);
    assert.equal(await store.finalize(id, 'completed', null, { owner: 'a', epoch: 3 }), true);
  });

  test(`${name}: status changes: suspend, reopen, a new attempt, damaged; a finished execution is not reopened`, async (t) => {
    const { store, id } = await fresh(t);
    await store.suspend(id, 'waiting for approval');
    assert.equal((await store.getExecution(id))?.statusDetail, 'waiting for approval');
    assert.equal(await store.reopen(id), true);
    assert.equal((await store.getExecution(id))?.status, 'running');
    assert.equal(await store.beginAttempt(id, 'diverged'), 2);
    await store.markDamaged(id, 'damaged: x');
    assert.equal((await store.getExecution(id))?.status, 'suspended');
    assert.deepEqual(await store.suspendedWithDetail(['damaged: '], 10), [id]);
    assert.deepEqual(await store.restartedExecutions(10), [id]);
    await store.finalize(id, 'completed');
    assert.equal(await store.reopen(id), false);
  });

  test(`${name}: timers fire once; promises settle once`, async (t) => {
    const { store, id, advance } = await fresh(t);
    await store.armTimer({ id: 't1', executionId: id, stepId: 0, dueAt: 10 });
    await store.armTimer({ id: 't1', executionId: id, stepId: 0, dueAt: 10 });
    assert.equal((await store.timersOf(id)).length, 1, 'arming is idempotent');
    assert.equal(await store.nextTimerDue(), 10);
    await store.armTimer({ id: 't2', executionId: id, stepId: 5, dueAt: 40 });
    assert.equal(await store.nextTimerDue(10), 40, 'only timers due after the given time');
    assert.equal(await store.nextTimerDue(40), undefined);
    await store.fireTimer('t2');
    assert.deepEqual(await store.executionsWithDueTimers(20), [id]);
    await store.fireTimer('t1');
    advance(1);
    assert.equal((await store.timersOf(id))[0].status, 'fired');
    assert.deepEqual(await store.executionsWithDueTimers(20), []);
    await store.createPromise({ id: 'p1', executionId: id, stepId: 1, name: 'approval', tokenHash: new Uint8Array(32).fill(1) });
    assert.equal((await store.listPromises({ status: 'pending' })).length, 1);
    assert.equal(await store.settlePromise('p1', 'resolved', bytes('yes')), true);
    assert.equal(await store.settlePromise('p1', 'rejected', bytes('no')), false, 'settles once');
    assert.equal((await store.getPromise('p1'))?.status, 'resolved');
  });

  test(`${name}: audit records come from ambiguity rows; open windows are found until decided`, async (t) => {
    const { store, id } = await fresh(t);
    await store.appendRows([intent(id, 0)]);
    assert.deepEqual((await store.openWindows(Date.now() + 60_000, 10)).map((w) => [w.executionId, w.stepId]), [[id, 0]]);
    await store.appendRows([audit(id, 0)]);
    assert.deepEqual(await store.openWindows(Date.now() + 60_000, 10), []);
    const [record] = await store.listAudit(id);
    assert.deepEqual([record.stepId, record.policy, record.decision, record.decidedBy], [0, 'ask', 'decided_skip', 'user:ann']);
    const summaries = await store.entrySummaries(id, 1, 0, 10);
    assert.deepEqual(summaries.map((s) => [s.kind, s.stepName, s.keyPrefix]), [['step_intent', 's0', '03030303'], ['ambiguity_resolved', 's0', '03030303']]);
  });

  test(`${name}: marks and meta are kept; the sequence high water never goes back`, async (t) => {
    const { store, id } = await fresh(t);
    const [seq] = await store.appendRows([result(id, 0)]);
    await store.setMark(id, 1, seq, new Uint8Array([9, 9]));
    assert.deepEqual(await store.markState(id), { rowCount: 1, markedCount: 1, markedSeq: seq, mark: new Uint8Array([9, 9]) });
    await store.setMeta('m', bytes('v'));
    assert.deepEqual(await store.getMeta('m'), bytes('v'));
    const high = await store.sequenceHighWater();
    assert.ok(high >= seq);
    const counts = await store.deleteExecutions([id]);
    assert.equal(counts.journal, 1);
    assert.equal(await store.getExecution(id), undefined);
    assert.ok((await store.sequenceHighWater()) >= high);
  });

  test(`${name}: an import is all or nothing, also with what another store adds inside it`, async (t) => {
    const { store } = await open(t);
    const id = newExecutionId();
    const execution = { id, kind: 'k', version: 1, title: 'imported', status: 'completed' as const, attempt: 1, createdAt: 1, updatedAt: 2, finishedAt: 2, stepCount: 0, statusDetail: null, leaseOwner: null, leaseExpiresAt: null, leaseEpoch: 0 };
    await assert.rejects(store.importExecutions([{ execution, rows: [result(id, 0)] }], async () => { throw new Error('the transcript failed'); }), /the transcript failed/);
    assert.equal(await store.getExecution(id), undefined, 'rolled back');
    await store.importExecutions([{ execution, rows: [result(id, 0)], timers: [{ id: 'tt', executionId: id, stepId: 0, dueAt: 1, status: 'fired', firedAt: 1 }] }]);
    assert.equal((await store.getExecution(id))?.status, 'completed');
    assert.equal((await store.timersOf(id)).length, 1);
  });

  test(`${name}: session events are kept once per key, and their projection operations applied with them`, async (t) => {
    const { store, sessions } = await open(t);
    const id = newExecutionId();
    await store.createExecution({ id, kind: 'agent_session', version: 1, title: 't' });
    const ev = (key: string, ops: ProjectionOp[]) => ({ key, type: 'message_appended', at: 7, body: bytes(key), ops });
    const first = await sessions.appendEvents(
      id,
      [
        ev('created', [{ op: 'create_thread', title: 'Title', model: 'm' }, { op: 'add_message', turn: 0, role: 'user', state: null, ref: null, body: { text: 'task' } }]),
        ev('call', [{ op: 'add_message', turn: 1, role: 'tool', state: 'running', ref: 'c1', body: { text: 'ls' } }, { op: 'count_tool_call', turn: 1 }]),
      ],
      plainCodec,
    );
    assert.equal(first.length, 2);
    assert.deepEqual(await sessions.appendEvents(id, [ev('call', [])], plainCodec), [], 'a replayed key is a no-op');
    await sessions.appendEvents(id, [ev('result', [{ op: 'update_message', ref: 'c1', state: 'done', patch: { detail: '3 entries' } }])], plainCodec);
    const thread = await sessions.thread(id);
    assert.deepEqual([thread?.title, thread?.messageCount, thread?.toolCalls], ['Title', 2, 1]);
    const rows = await sessions.messages(id, 0, 10);
    assert.deepEqual(rows.map((r) => [r.role, r.state, plainCodec.open(id, r.index, r.body)]), [['user', null, { text: 'task' }], ['tool', 'done', { text: 'ls', detail: '3 entries' }]]);
    assert.equal((await sessions.messageByRef(id, 'c1'))?.index, 1);
    assert.deepEqual((await sessions.readEvents({ threadId: id, afterSeq: 0, limit: 10 })).map((e) => e.key), ['created', 'call', 'result']);
    const orphan = newExecutionId();
    await store.createExecution({ id: orphan, kind: 'agent_session', version: 1, title: 'no thread' });
    await assert.rejects(sessions.appendEvents(orphan, [ev('orphan', [{ op: 'start_turn', turn: 1 }])], plainCodec), /before the thread was created/);
    await assert.rejects(sessions.appendEvents(newExecutionId(), [ev('x', [{ op: 'create_thread', title: 'T', model: 'm' }])], plainCodec), /does not exist/);
  });

  test(`${name}: rebuilding the projections from the log gives what the live appends gave`, async (t) => {
    const { store, sessions } = await open(t);
    const id = newExecutionId();
    await store.createExecution({ id, kind: 'agent_session', version: 1, title: 't' });
    const events = [
      { key: 'a', type: 'thread_created', at: 1, body: bytes('a'), ops: [{ op: 'create_thread', title: 'T', model: 'm' }, { op: 'start_turn', turn: 1 }] as ProjectionOp[] },
      { key: 'b', type: 'message_appended', at: 2, body: bytes('b'), ops: [{ op: 'add_usage', turn: 1, input: 5, output: 2, costMicros: 1_300, priced: true, rerun: false }, { op: 'add_checkpoint', turn: 1, label: 'cp' }] as ProjectionOp[] },
      { key: 'c', type: 'message_appended', at: 3, body: bytes('c'), ops: [{ op: 'add_usage', turn: 1, input: 3, output: 1, costMicros: 700, priced: true, rerun: true }] as ProjectionOp[] },
      { key: 'd', type: 'message_appended', at: 4, body: bytes('d'), ops: [{ op: 'add_usage', turn: 1, input: 1, output: 1, costMicros: 0, priced: false, rerun: false }] as ProjectionOp[] },
    ];
    const seqs = await sessions.appendEvents(id, events, plainCodec);
    const live = { thread: await sessions.thread(id), turns: await sessions.turns(id), checkpoints: await sessions.checkpoints(id) };
    // Money, counted once per call: the total, the unpriced call apart, the rerun apart with what it cost.
    assert.deepEqual([live.thread?.costMicros, live.thread?.unpricedCalls, live.thread?.rerunCalls, live.thread?.rerunCostMicros], [2_000, 1, 1, 700]);
    assert.deepEqual(live.turns.map((turn) => [turn.turn, turn.tokensIn, turn.tokensOut, turn.costMicros]), [[1, 9, 4, 2_000]]);
    await sessions.rebuildProjections(id, events.map((e, i) => ({ seq: seqs[i], threadId: id, at: e.at, ops: e.ops })), plainCodec);
    assert.deepEqual({ thread: await sessions.thread(id), turns: await sessions.turns(id), checkpoints: await sessions.checkpoints(id) }, live);
    assert.deepEqual(await sessions.threadsWithEventsFrom(seqs[1]), [id]);
  });
}
