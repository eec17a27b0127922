// Phase 2, after the UI test reloaded the window: a new extension host activated.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { existsSync, readFileSync } from 'node:fs';
import { api, EXTENSION_ID, LM_SLOW_ID_FILE, lmCalls, SURVIVOR_TITLE, until } from './support';
import { writeFileSync } from 'node:fs';
import type { DurableSessionsApi } from '../../src/extension/api';
import { DEPLOY_GO, DEPLOY_ID_FILE, DEPLOY_LOG, deployWorkflow } from './deployWorkflow';

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

  test('a vscode.lm session the reload cut off mid-model-call resumes on the re-registered provider: only the cut-off call is made again', async () => {
    assert.ok(existsSync(LM_SLOW_ID_FILE()), 'phase 1 left a session mid-call');
    const id = readFileSync(LM_SLOW_ID_FILE(), 'utf8');
    const { testing } = await api();
    const engine = await testing.engine();
    const before = await engine.backend.getExecution(id as Parameters<typeof engine.backend.getExecution>[0]);
    assert.equal(before?.status, 'running', 'interrupted: its row still says running and nobody runs it');
    await testing.resumeSession(id);
    await until(async () => (await engine.backend.getExecution(id as Parameters<typeof engine.backend.getExecution>[0]))?.status === 'completed', 30_000);
    assert.deepEqual(lmCalls('[lm-slow] Think about the files'), ['turn 1', 'turn 2', 'turn 2'], 'turn 1 was replayed from the journal');
    const messages = await engine.sessions.messages(id as Parameters<typeof engine.sessions.messages>[0]);
    assert.deepEqual(messages.filter((m) => m.role === 'assistant').map((m) => m.text), ['I will list the files.', 'The workspace has a README and a src folder.']);
  });

  test("another extension's workflow the reload cut off resumes through the API once it is registered again: its first effect is replayed, not repeated", async () => {
    const id = readFileSync(DEPLOY_ID_FILE(), 'utf8');
    const durable = (await vscode.extensions.getExtension<DurableSessionsApi>(EXTENSION_ID)!.activate()).workflows;
    // Until its kind is registered again in this window, another extension can neither resume nor inspect it.
    await assert.rejects(durable.resume(id), /which no extension registered in this window/);
    assert.equal(await durable.inspect(id), undefined);
    const registration = durable.register(deployWorkflow());
    assert.equal((await durable.inspect(id))?.status, 'interrupted', 'nobody runs it after the reload');
    writeFileSync(DEPLOY_GO(), 'go');
    const run = await durable.resume(id);
    const outcome = await run.done;
    assert.deepEqual(outcome, { status: 'completed', output: { deployed: 'staging' } });
    assert.equal(readFileSync(DEPLOY_LOG(), 'utf8'), 'upload staging\nswitch staging\n', 'each effect once, across the reload');
    const summary = await durable.inspect(id);
    assert.deepEqual(summary?.steps.map((s) => `${s.name}: ${s.status}`), ['upload: done', 'await go-ahead: done', 'switch traffic: done']);
    registration.dispose();
  });
});
