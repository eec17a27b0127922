// Forks: a new session after a chosen turn of another, whose conversation so far
// is served from the parent's journal (no model call, no tool run again), then
// goes on live with a new instruction.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ExecutionId } from '../../src/durable/model/ids';
import { filesChangedSince } from '../../src/agent/fork';
import { sessionEdits } from '../../src/agent/sessionEdits';
import { NodeWorkspace } from '../../src/agent/workspaceAccess';
import { agentFixture } from './agentFixture';

test('a fork after turn 1 replays nothing, asks the model only its new turn with the whole conversation, and names its parent', async (t) => {
  const f = await agentFixture(t);
  writeFileSync(join(f.workspace, 'app.js'), 'let x = 1;\n');
  f.script(
    [
      { say: 'First I change x.', toolCalls: [{ name: 'edit_file', arguments: { path: 'app.js', old_text: 'let x = 1;', new_text: 'let x = 2;' } }], usage: { input: 100, output: 10 } },
      { say: 'Done: x is 2.', usage: { input: 200, output: 10 } },
      { say: 'In short: x is 2.', usage: { input: 300, output: 5 } },
    ],
    { ledger: 'calls.log' },
  );
  const parent = await f.host.startSession('Set x', f.spec);
  assert.equal((await parent.done).status, 'completed');
  const ledger = () => readFileSync(join(f.scriptFile, '..', 'calls.log'), 'utf8').trim().split('\n');
  assert.deepEqual(ledger(), ['turn 1', 'turn 2']);

  const fork = await f.host.forkSession(parent.id as ExecutionId, 1, 'Now also explain why x changed.', f.spec);
  assert.equal((await fork.done).status, 'completed');
  // The model was asked once, for the fork's own turn (the script's turn 2: one assistant message already in the conversation).
  assert.deepEqual(ledger(), ['turn 1', 'turn 2', 'turn 2']);
  assert.equal(readFileSync(join(f.workspace, 'app.js'), 'utf8'), 'let x = 2;\n', 'the edit of turn 1 was not made again');
  const execution = (await f.engine.backend.getExecution(fork.id as ExecutionId))!;
  assert.equal(execution.title, "Fork of 'Set x' at turn 1: Now also explain why x changed.");
  const transcript = (await f.engine.sessions.messages(fork.id as ExecutionId)).map((m) => `${m.role}: ${m.text}`);
  assert.deepEqual(transcript, [
    'user: Now also explain why x changed.',
    "status: Forked from 'Set x' at turn 1: its first turn is served from its journal (no model call, no tool run again, no tokens).",
    'assistant: Done: x is 2.',
    'status: Finished after 2 turns, 210 tokens.',
  ]);
  const thread = (await f.engine.sessions.thread(fork.id as ExecutionId))!;
  assert.equal(thread.tokensIn + thread.tokensOut, 210, 'only the fork\'s own call is counted');

  // A fork of the fork after its turn 2 gets both turns from the fork's own journal.
  const again = await f.host.forkSession(fork.id as ExecutionId, 2, 'Summarize.', f.spec);
  assert.equal((await again.done).status, 'completed');
  assert.deepEqual(ledger(), ['turn 1', 'turn 2', 'turn 2', 'turn 3'], 'the fork of the fork asked only its own turn');
  assert.equal((await f.engine.sessions.messages(again.id as ExecutionId)).at(-2)?.text, 'In short: x is 2.');
});

test('a fork says which files are no longer what they were after its turn; a session without recorded turns cannot be forked', async (t) => {
  const f = await agentFixture(t);
  writeFileSync(join(f.workspace, 'app.js'), 'let x = 1;\n');
  f.script([
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'app.js', old_text: 'let x = 1;', new_text: 'let x = 2;' } }] },
    { toolCalls: [{ name: 'write_file', arguments: { path: 'later.txt', content: 'turn 2\n' } }] },
    { say: 'done' },
  ]);
  const parent = await f.host.startSession('Two turns', f.spec);
  await parent.done;
  const execution = (await f.engine.backend.getExecution(parent.id as ExecutionId))!;
  const ws = new NodeWorkspace(f.workspace);
  assert.deepEqual(await filesChangedSince(f.engine, execution, 1, ws), ['later.txt'], 'later.txt did not exist after turn 1');
  assert.deepEqual(await filesChangedSince(f.engine, execution, 2, ws), []);
  writeFileSync(join(f.workspace, 'app.js'), 'let x = 3;\n');
  assert.deepEqual(await filesChangedSince(f.engine, execution, 2, ws), ['app.js']);
  await assert.rejects(f.host.forkSession(parent.id as ExecutionId, 7, 'x', f.spec), /has no recorded turn 4/);
});

test("a fork's own edits are numbered as its transcript numbers its turns, and its turn limit counts only its own turns", async (t) => {
  const f = await agentFixture(t, { limits: { maxTurns: 2 } });
  f.script([
    { toolCalls: [{ name: 'write_file', arguments: { path: 'a.txt', content: 'A\n' } }] },
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'a.txt', old_text: 'A', new_text: 'B' } }] },
    { say: 'done' },
  ]);
  const parent = await f.host.startSession('Write then edit', f.spec);
  assert.equal(((await parent.done) as { output: { outcome: string } }).output.outcome, 'turn_limit');
  writeFileSync(join(f.workspace, 'a.txt'), 'A\n'); // as after turn 1
  const fork = await f.host.forkSession(parent.id as ExecutionId, 1, 'Edit it again.', f.spec);
  // Turns 2 and 3 are its own (the limit of 2 does not count the inherited turn): it edits, then answers.
  assert.equal(((await fork.done) as { output: { outcome: string } }).output.outcome, 'answered');
  const execution = (await f.engine.backend.getExecution(fork.id as ExecutionId))!;
  const edits = await sessionEdits(f.engine, execution);
  assert.deepEqual(edits.map((e) => [e.turn, e.path]), [[2, 'a.txt']]);
});
