// Phase 2, after the UI test reloaded the window: a new extension host activated.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, EXTENSION_ID, SURVIVOR_TITLE } from './support';

suite('after a window reload', () => {
  test('the extension activated again in the new host', async () => {
    await api();
    assert.equal(vscode.extensions.getExtension(EXTENSION_ID)?.isActive, true);
  });

  test('the journal survived, and its sealed entries still open (the key came back from SecretStorage)', async () => {
    const engine = await (await api()).testing.engine();
    const [execution] = (await engine.backend.listExecutions()).filter((e) => e.title === SURVIVOR_TITLE);
    assert.ok(execution, 'the execution written before the reload is there');
    assert.equal(execution.status, 'suspended');
    const [started] = await engine.backend.readExecutionSegment(execution.id, 0, 1);
    assert.equal(new TextDecoder().decode(engine.codec.openPayload(started)), '{"v":"sealed input"}');
  });
});
