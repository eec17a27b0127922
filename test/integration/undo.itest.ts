// Phase 1: undo from the journal in a real VS Code. A scripted session edits one
// file and creates another; Undo Session Edits restores both through VS Code's
// workspace edits (no git), the session's transcript says so, Redo puts the
// edits back, and a file changed since is kept unless the person says otherwise.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { api, until } from './support';

suite('undo from the journal', () => {
  const cfg = () => vscode.workspace.getConfiguration('durableSessions');
  const root = () => vscode.workspace.workspaceFolders![0]!.uri.fsPath;
  const file = (name: string) => join(root(), 'undo-demo', name);
  const read = (name: string) => (existsSync(file(name)) ? readFileSync(file(name), 'utf8') : undefined);

  suiteSetup(async () => {
    mkdirSync(join(root(), 'undo-demo'), { recursive: true });
    writeFileSync(file('config.txt'), 'retries = 1\n');
    writeFileSync(
      join(root(), '.vscode', 'undo-agent.json'),
      JSON.stringify({
        turns: [
          { toolCalls: [{ name: 'edit_file', arguments: { path: 'undo-demo/config.txt', old_text: 'retries = 1', new_text: 'retries = 5' } }] },
          { toolCalls: [{ name: 'write_file', arguments: { path: 'undo-demo/notes.md', content: '# notes from the session\n' } }] },
          { say: 'done' },
        ],
      }),
    );
    await cfg().update('agent.scriptFile', '.vscode/undo-agent.json', vscode.ConfigurationTarget.Workspace);
  });
  suiteTeardown(async () => {
    await cfg().update('agent.scriptFile', '.vscode/demo-agent.json', vscode.ConfigurationTarget.Workspace);
    rmSync(join(root(), 'undo-demo'), { recursive: true, force: true });
  });

  test('Undo Session Edits restores the edited file and removes the created one; the transcript says so; Redo puts them back', async () => {
    const { testing } = await api();
    const engine = await testing.engine();
    const id = (await testing.startSession('Tune the retries [undo]')) as Parameters<typeof engine.sessions.messages>[0];
    await until(async () => (await engine.backend.getExecution(id))?.status === 'completed', 20_000);
    assert.equal(read('config.txt'), 'retries = 5\n');
    assert.equal(read('notes.md'), '# notes from the session\n');

    const undone = await vscode.commands.executeCommand<{ restored: Array<{ path: string }> }>('durableSessions.undoEdits', { executionId: id, scope: 'session', confirmed: true });
    assert.deepEqual(undone?.restored.map((r) => r.path), ['undo-demo/config.txt', 'undo-demo/notes.md']);
    assert.equal(read('config.txt'), 'retries = 1\n');
    assert.equal(read('notes.md'), undefined);
    const lines = (await engine.sessions.messages(id)).filter((m) => m.role === 'status').map((m) => m.text);
    assert.ok(lines.includes("Undid 2 edits of 'Tune the retries [undo]' from the journal, without git: 2 files restored (undo-demo/config.txt, undo-demo/notes.md)."), JSON.stringify(lines));

    const [undo] = await engine.backend.listExecutions({ kind: 'session_undo' });
    assert.equal(undo?.title, "Undo: 2 edits of 'Tune the retries [undo]'");
    const redone = await vscode.commands.executeCommand<{ restored: unknown[] }>('durableSessions.redoEdits', { executionId: undo!.id, confirmed: true });
    assert.equal(redone?.restored.length, 2);
    assert.equal(read('config.txt'), 'retries = 5\n');
    assert.equal(read('notes.md'), '# notes from the session\n');
  });

  test('a file changed since the session is kept (the person chose Keep); one turn is undone alone', async () => {
    const { testing } = await api();
    const engine = await testing.engine();
    const [session] = (await engine.backend.listExecutions({ kind: 'agent_session' })).filter((e) => e.title === 'Tune the retries [undo]');
    writeFileSync(file('config.txt'), 'retries = 9\n');
    const outcome = await vscode.commands.executeCommand<{ restored: Array<{ path: string }>; conflicts: string[] }>('durableSessions.undoEdits', {
      executionId: session!.id,
      scope: 'session',
      onConflict: 'keep',
      confirmed: true,
    });
    assert.deepEqual(outcome?.conflicts, ['undo-demo/config.txt']);
    assert.deepEqual(outcome?.restored.map((r) => r.path), ['undo-demo/notes.md']);
    assert.equal(read('config.txt'), 'retries = 9\n', 'the change made since is kept');
    // Turn 1 alone, the person choosing to restore over the change made since.
    const turn = await vscode.commands.executeCommand<{ restored: Array<{ path: string }> }>('durableSessions.undoEdits', {
      executionId: session!.id,
      scope: 'turn',
      turn: 1,
      onConflict: 'restore',
      confirmed: true,
    });
    assert.deepEqual(turn?.restored.map((r) => r.path), ['undo-demo/config.txt']);
    assert.equal(read('config.txt'), 'retries = 1\n');
  });
});
