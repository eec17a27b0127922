// Undo from the journal, never through git: a session's edits are undone (and
// redone) by restoring the journaled versions, only where the file is still
// what the session left; everything else is left alone and said so.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ExecutionId } from '../../src/durable/model/ids';
import { restoresOf, sessionEdits } from '../../src/agent/sessionEdits';
import { redoOf, type UndoOutcome } from '../../src/agent/undoWorkflow';
import { agentFixture } from './agentFixture';

const TURNS = [
  { toolCalls: [{ name: 'write_file', arguments: { path: 'notes.md', content: 'new file\n' } }] },
  { toolCalls: [{ name: 'edit_file', arguments: { path: 'app.js', old_text: 'let x = 1;', new_text: 'let x = 2;' } }] },
  { toolCalls: [{ name: 'edit_file', arguments: { path: 'notes.md', old_text: 'new file', new_text: 'new file, edited' } }] },
  { say: 'done' },
];

async function editedSession(t: Parameters<typeof agentFixture>[0]) {
  const f = await agentFixture(t);
  writeFileSync(join(f.workspace, 'app.js'), 'let x = 1;\n');
  writeFileSync(join(f.workspace, 'other.txt'), 'not the session\'s\n');
  f.script(TURNS);
  const handle = await f.host.startSession('Edit things', f.spec);
  assert.equal((await handle.done).status, 'completed');
  const execution = (await f.engine.backend.getExecution(handle.id as ExecutionId))!;
  return { f, id: handle.id as ExecutionId, execution };
}

const read = (dir: string, name: string): string | undefined => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : undefined);

test('the journal knows each edit: its file, its turn, the versions before and after', async (t) => {
  const { f, execution } = await editedSession(t);
  const edits = await sessionEdits(f.engine, execution);
  assert.deepEqual(
    edits.map((e) => [e.turn, e.path, e.before, e.after]),
    [
      [1, 'notes.md', null, 'new file\n'],
      [2, 'app.js', 'let x = 1;\n', 'let x = 2;\n'],
      [3, 'notes.md', 'new file\n', 'new file, edited\n'],
    ],
  );
});

test('undo of the whole session restores every edited file (a created one is removed), touches nothing else, says so in the transcript; redo puts the edits back', async (t) => {
  const { f, id, execution } = await editedSession(t);
  const { restores, refused } = restoresOf(await sessionEdits(f.engine, execution));
  assert.deepEqual(refused, []);
  const undo = await f.host.startUndo({ sessionId: id, label: "3 edits of 'Edit things'", restores });
  const done = (await undo.done) as { status: string; output: UndoOutcome };
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.output.restored.map((r) => r.path), ['notes.md', 'app.js']);
  assert.equal(read(f.workspace, 'notes.md'), undefined, 'the file the session created is gone');
  assert.equal(read(f.workspace, 'app.js'), 'let x = 1;\n');
  assert.equal(read(f.workspace, 'other.txt'), "not the session's\n");
  const lines = (await f.engine.sessions.messages(id)).filter((m) => m.role === 'status').map((m) => m.text);
  assert.ok(lines.includes("Undid 3 edits of 'Edit things' from the journal, without git: 2 files restored (notes.md, app.js)."), JSON.stringify(lines));

  const again = redoOf(done.output);
  assert.deepEqual(again.refused, []);
  const redo = await f.host.startUndo({ sessionId: id, label: "3 edits of 'Edit things'", restores: again.restores, redoOf: undo.id });
  assert.equal((await redo.done).status, 'completed');
  assert.equal(read(f.workspace, 'notes.md'), 'new file, edited\n');
  assert.equal(read(f.workspace, 'app.js'), 'let x = 2;\n');
  const after = (await f.engine.sessions.messages(id)).filter((m) => m.role === 'status').map((m) => m.text);
  assert.ok(after.includes("Redid 3 edits of 'Edit things' from the journal, without git: 2 files restored (notes.md, app.js)."), JSON.stringify(after));
});

test('undo of one turn restores only that turn\'s file; a file changed since the session is left as it is and reported', async (t) => {
  const { f, id, execution } = await editedSession(t);
  const edits = await sessionEdits(f.engine, execution);
  writeFileSync(join(f.workspace, 'notes.md'), 'the person changed it\n');
  const turn2 = restoresOf(edits.filter((e) => e.turn === 2)).restores;
  const both = [...turn2, ...restoresOf(edits.filter((e) => e.path === 'notes.md')).restores];
  const undo = await f.host.startUndo({ sessionId: id, label: 'turn 2 and notes.md', restores: both });
  const done = (await undo.done) as { output: UndoOutcome };
  assert.deepEqual(done.output.restored.map((r) => r.path), ['app.js']);
  assert.deepEqual(done.output.conflicts, ['notes.md']);
  assert.equal(read(f.workspace, 'notes.md'), 'the person changed it\n', 'never overwritten without a person saying so');
  assert.equal(read(f.workspace, 'app.js'), 'let x = 1;\n');
  const lines = (await f.engine.sessions.messages(id)).filter((m) => m.role === 'status').map((m) => m.text);
  assert.ok(lines.some((l) => l.endsWith('notes.md changed since and was left as it is.')), JSON.stringify(lines));
});

test('an undo cut off by a crash (the file written, its result not) resumes in a new window: verified by hash, written once, with its audit record', async (t) => {
  const { f, id, execution } = await editedSession(t);
  const { restores } = restoresOf(await sessionEdits(f.engine, execution));
  await f.host.dispose();
  // The next window on the same checkout writes app.js and then hangs before the result is journaled.
  let writes = 0;
  // The write lands, then the window dies before the result is journaled: a gate the test opens with an error.
  let release!: (error: Error) => void;
  const gate = new Promise<void>((_, reject) => (release = reject));
  gate.catch(() => undefined);
  let stalledNow!: () => void;
  const stalledAt = new Promise<void>((resolve) => (stalledNow = resolve));
  const stalled = await agentFixture(t, {
    file: f.engine.backend.file,
    workspace: f.workspace,
    wrapWorkspace: (inner) => ({
      ...inner,
      root: inner.root,
      readFile: (p) => inner.readFile(p),
      deleteFile: (p) => inner.deleteFile(p),
      listDirectory: (p) => inner.listDirectory(p),
      search: (q, m, s) => inner.search(q, m, s),
      writeFile: async (p, c) => {
        writes++;
        await inner.writeFile(p, c);
        if (p === 'app.js') {
          stalledNow();
          await gate;
        }
      },
    }),
  });
  const undo = await stalled.host.startUndo({ sessionId: id, label: 'everything', restores });
  await stalledAt;
  assert.equal(read(f.workspace, 'app.js'), 'let x = 1;\n', 'the write landed before the crash');
  const closing = stalled.host.dispose();
  release(new Error('the extension host is gone'));
  await closing;
  assert.equal((await undo.done).status, 'interrupted');
  // The window after it: the plan offers the undo; the restore is verified (the file has its version) and not written again.
  const after = await agentFixture(t, { file: f.engine.backend.file, workspace: f.workspace, wrapWorkspace: (inner) => ({ ...inner, root: inner.root, readFile: (p) => inner.readFile(p), deleteFile: (p) => inner.deleteFile(p), listDirectory: (p) => inner.listDirectory(p), search: (q, m, s) => inner.search(q, m, s), writeFile: async (p, c) => { writes++; await inner.writeFile(p, c); } }) });
  const plan = await after.host.plan();
  assert.deepEqual(plan.map((i) => [i.execution.kind, i.decision.action]), [['session_undo', 'resume']]);
  const [resumed] = await after.host.applyPlan(plan, () => true);
  const outcome = (await resumed!.done) as { status: string; output: UndoOutcome };
  assert.equal(outcome.status, 'completed');
  assert.deepEqual(outcome.output.restored.map((r) => r.path), ['notes.md', 'app.js']);
  assert.equal(writes, 1, 'app.js was written once, before the crash');
  assert.equal(read(f.workspace, 'app.js'), 'let x = 1;\n');
  const audit = await after.engine.backend.listAudit(undo.id as ExecutionId);
  assert.deepEqual(audit.map((a) => [a.stepName, a.policy, a.decision]), [['undo.restore', 'verify', 'verified_done']]);
  const lines = (await after.engine.sessions.messages(id)).filter((m) => m.role === 'status' && m.text.startsWith('Undid'));
  assert.equal(lines.length, 1, 'the transcript says it once');
});
