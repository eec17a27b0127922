// Phase 1: agent sessions on a model from vscode.lm (the test harness registers a provider of its
// own, testModels.ts), directly and through the @durable chat handler; one more is left in the
// middle of a model call for the window reload (phase 2 resumes it).
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { api, LM_SLOW_ID_FILE, lmCalls, until } from './support';

suite('sessions on a model from vscode.lm', () => {
  const cfg = () => vscode.workspace.getConfiguration('durableSessions');
  suiteSetup(async () => {
    await cfg().update('agent.model', 'vscode-lm', vscode.ConfigurationTarget.Workspace);
    await cfg().update('agent.vscodeLm.family', 'durable-test', vscode.ConfigurationTarget.Workspace);
  });
  suiteTeardown(async () => {
    await cfg().update('agent.model', 'scripted', vscode.ConfigurationTarget.Workspace);
    await cfg().update('agent.vscodeLm.family', undefined, vscode.ConfigurationTarget.Workspace);
  });

  test('a session runs on the provider\'s model, tool calls included; the transcript shows the model\'s words', async () => {
    const { testing } = await api();
    const engine = await testing.engine();
    const id = (await testing.startSession('List the files [lm]')) as Parameters<typeof engine.sessions.messages>[0];
    await until(async () => (await engine.backend.getExecution(id))?.status === 'completed', 20_000);
    const messages = await engine.sessions.messages(id);
    assert.deepEqual(
      messages.map((m) => `${m.role}${m.state ? `:${m.state}` : ''} ${m.text}`.replace(/, \d+ tokens\.$/, ', N tokens.')),
      ['user List the files [lm]', 'assistant I will list the files.', 'tool:done list .', 'assistant The workspace has a README and a src folder.', 'status Finished after 2 turns, N tokens.'],
    );
    assert.deepEqual(lmCalls('List the files [lm]'), ['turn 1', 'turn 2'], 'one request per turn');
  });

  test('@durable runs the request as a durable session on the model picked in chat and streams its transcript', async () => {
    const { testing } = await api();
    const reply = await testing.chat('Show me the files [lm chat]', { vendor: 'durable-test' });
    assert.match(reply.text, /\(progress\) Durable session started; every step is journaled\./);
    assert.match(reply.text, /I will list the files\./);
    assert.match(reply.text, /The workspace has a README and a src folder\./);
    const engine = await testing.engine();
    const execution = await engine.backend.getExecution(reply.sessionId as Parameters<typeof engine.backend.getExecution>[0]);
    assert.equal(execution?.title, 'Show me the files [lm chat]');
    assert.equal(execution?.status, 'completed');
  });

  test('a request typed to @durable in the chat view (the chat command, in Ask mode) runs as a durable session on the model picked there', async () => {
    const { testing } = await api();
    const engine = await testing.engine();
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: '@durable Count the files [lm chat view]', mode: 'ask' });
    let id: string | undefined;
    await until(async () => {
      id = (await engine.backend.listExecutions({ kind: 'agent_session' })).find((e) => e.title === 'Count the files [lm chat view]' && e.status === 'completed')?.id;
      return id !== undefined;
    }, 30_000);
    assert.deepEqual(lmCalls('Count the files [lm chat view]'), ['turn 1', 'turn 2']);
  });

  test('a session is left in the middle of its second model call for the reload', async () => {
    const { testing } = await api();
    const id = await testing.startSession('[lm-slow] Think about the files');
    await until(() => lmCalls('[lm-slow] Think about the files').length === 2, 20_000);
    writeFileSync(LM_SLOW_ID_FILE(), id);
    assert.equal(readFileSync(LM_SLOW_ID_FILE(), 'utf8'), id);
  });
});
