// The session event log: append-only, deduplicated by key, sealed, with projections rebuilt by replay.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sqlite3 from '@vscode/sqlite3';
import { newExecutionId, type ExecutionId } from '../../../src/durable/model/ids';
import { DurableEngine } from '../../../src/durable/runtime/engine';
import { parseSessionEvent, SESSION_EVENT_TYPES, typeColumn, type SessionEvent, type SessionEventType } from '../../../src/durable/sessions/sessionEvents';
import { makeRuntime, SQLITE_ONLY } from '../../helpers';

const ONE_OF_EACH: Record<SessionEventType, SessionEvent> = {
  thread_created: { type: 'thread_created', title: 'Fix it', model: 'scripted: a.json', task: 'Fix the bug' },
  turn_started: { type: 'turn_started', turn: 1 },
  message_appended: { type: 'message_appended', turn: 1, role: 'assistant', text: 'hello', usage: { input: 3, output: 4 } },
  tool_called: { type: 'tool_called', turn: 1, callId: '1:c1', name: 'read_file', summary: 'read a.txt', effect: 'idempotent' },
  tool_result: { type: 'tool_result', callId: '1:c1', ok: true, summary: 'a.txt: 3 bytes' },
  approval_requested: { type: 'approval_requested', turn: 1, promiseId: 'p1', kind: 'command', prompt: 'rm -rf build' },
  approval_decided: { type: 'approval_decided', promiseId: 'p1', approved: false, decidedBy: 'user' },
  checkpoint_created: { type: 'checkpoint_created', turn: 1, label: 'turn 1' },
  session_finished: { type: 'session_finished', outcome: 'answered', summary: 'Finished.' },
};

async function withThread(t: Parameters<typeof makeRuntime>[0]): Promise<{ engine: DurableEngine; id: ExecutionId; file: string }> {
  const { engine, file } = await makeRuntime(t);
  const id = newExecutionId();
  await engine.backend.createExecution({ id, kind: 'agent_session', version: 1, title: 't' }, []);
  return { engine, id, file };
}

test('every event variant stores its own tag as its type column, and reads back identical', async (t) => {
  const { engine, id } = await withThread(t);
  assert.deepEqual(Object.keys(ONE_OF_EACH).sort(), [...SESSION_EVENT_TYPES].sort(), 'the fixture covers every variant');
  for (const type of SESSION_EVENT_TYPES) assert.equal(typeColumn(ONE_OF_EACH[type]), type);
  await engine.sessions.append(id, SESSION_EVENT_TYPES.map((type, i) => ({ key: `k${i}`, event: ONE_OF_EACH[type] })));
  const stored = [];
  for await (const e of engine.sessions.events({ threadId: id })) stored.push(e);
  assert.deepEqual(stored.map((e) => e.event), SESSION_EVENT_TYPES.map((type) => ONE_OF_EACH[type]));
});

test('malformed events are refused before anything is written', async (t) => {
  const { engine, id } = await withThread(t);
  const bad = [
    { type: 'nope' },
    { type: 'turn_started', turn: -1 },
    { type: 'message_appended', turn: 1, role: 'hacker', text: 'x' },
    { type: 'tool_result', callId: 'c', ok: 'yes', summary: '' },
    { type: 'approval_decided', promiseId: 'p', approved: true },
  ];
  for (const event of bad) {
    assert.throws(() => parseSessionEvent(event), /malformed/);
    await assert.rejects(engine.sessions.append(id, [{ key: 'x', event: event as SessionEvent }]), /malformed/);
  }
  assert.equal((await engine.sessions.thread(id)), undefined);
});

test('an event appended twice under the same key is stored once (a replayed emit is a no-op)', async (t) => {
  const { engine, id } = await withThread(t);
  const seen: number[][] = [];
  engine.sessions.onAppended((_thread, seqs) => seen.push([...seqs]));
  const first = await engine.sessions.append(id, [{ key: 'thread', event: ONE_OF_EACH.thread_created }, { key: 'm', event: ONE_OF_EACH.message_appended }]);
  const again = await engine.sessions.append(id, [{ key: 'thread', event: ONE_OF_EACH.thread_created }, { key: 'm', event: ONE_OF_EACH.message_appended }]);
  assert.equal(first.length, 2);
  assert.deepEqual(again, []);
  assert.equal(seen.length, 1, 'listeners hear only new events');
  const thread = (await engine.sessions.thread(id))!;
  assert.equal(thread.messageCount, 2);
  assert.equal(thread.tokensIn, 3);
});

test('replayAll and replayFrom rebuild projections equal to the live ones', async (t) => {
  const { engine, id } = await withThread(t);
  const other = newExecutionId();
  await engine.backend.createExecution({ id: other, kind: 'agent_session', version: 1, title: 'o' }, []);
  for (const thread of [id, other]) {
    await engine.sessions.append(thread, SESSION_EVENT_TYPES.map((type, i) => ({ key: `k${i}`, event: ONE_OF_EACH[type] })));
  }
  const snapshot = async () => ({
    threads: await engine.sessions.listThreads(),
    messages: [await engine.sessions.messages(id), await engine.sessions.messages(other)],
    turns: [await engine.sessions.turns(id), await engine.sessions.turns(other)],
    checkpoints: [await engine.sessions.checkpoints(id), await engine.sessions.checkpoints(other)],
  });
  const live = await snapshot();
  assert.equal(await engine.sessions.replayAll(), 18);
  assert.deepEqual(await snapshot(), live);
  const [, second] = await engine.sessions.messages(other);
  assert.equal(await engine.sessions.replayFrom(second.seq), 9, 'only the thread with later events is rebuilt');
  assert.deepEqual(await snapshot(), live);
  assert.equal(live.messages[0].find((m) => m.role === 'approval')?.state, 'denied');
  assert.equal(live.threads[0].pendingApprovals, 0);
});

test('a tampered event fails closed with an integrity error; the transcript is sealed at rest', { skip: SQLITE_ONLY }, async (t) => {
  const { engine, id, file } = await withThread(t);
  await engine.sessions.append(id, [{ key: 'thread', event: ONE_OF_EACH.thread_created }]);
  const db = new sqlite3.Database(file);
  const rows = await new Promise<Array<{ body: Buffer }>>((resolve, reject) =>
    db.all('SELECT body FROM session_messages', (err, r) => (err ? reject(err) : resolve(r as Array<{ body: Buffer }>))),
  );
  assert.ok(!rows[0].body.toString('latin1').includes('Fix the bug'), 'no plaintext in the projection');
  await new Promise<void>((resolve, reject) => db.run("UPDATE session_events SET body = CAST(substr(body, 1, 40) || x'00' || substr(body, 42) AS BLOB)", (err) => (err ? reject(err) : resolve())));
  await new Promise<void>((resolve) => db.close(() => resolve()));
  await assert.rejects(async () => {
    for await (const _ of engine.sessions.events({ threadId: id })) void _;
  }, (error: Error & { code?: string }) => error.code === 'integrity');
});

test('pruning an execution removes its events and projections (foreign keys cascade)', async (t) => {
  const { engine, id } = await withThread(t);
  await engine.sessions.append(id, SESSION_EVENT_TYPES.map((type, i) => ({ key: `k${i}`, event: ONE_OF_EACH[type] })));
  await engine.backend.finalize(id, 'completed', null);
  await engine.backend.deleteExecutions([id]);
  assert.equal(await engine.sessions.thread(id), undefined);
  assert.deepEqual(await engine.sessions.messages(id), []);
  const left = [];
  for await (const e of engine.sessions.events()) left.push(e);
  assert.deepEqual(left, []);
});
