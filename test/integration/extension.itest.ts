// Phase 1, inside a real extension host: activation, commands, storage location, settings.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { newExecutionId } from '../../src/durable';
import { api, contributedCommands, EXTENSION_ID, SURVIVOR_TITLE } from './support';

suite('extension in a real VS Code', () => {
  test('activates without opening the database', async () => {
    const a = await api();
    assert.equal(vscode.extensions.getExtension(EXTENSION_ID)?.isActive, true);
    assert.equal(a.testing.isDatabaseOpen(), false, 'activation must not open durable.db');
    assert.equal(a.apiVersion, 1);
  });

  test('every contributed command is registered', async () => {
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributedCommands().filter((c) => !registered.has(c));
    assert.deepEqual(missing, []);
  });

  test('durable.db is created in the workspace storage, not in the workspace', async () => {
    const a = await api();
    const report = (await vscode.commands.executeCommand('durableSessions.checkIntegrity')) as { sqlite: string[]; failures: string[] };
    assert.deepEqual(report.sqlite, ['ok']);
    assert.deepEqual(report.failures, []);
    const file = a.databaseFile()!;
    assert.ok(existsSync(file), `${file} exists`);
    const workspace = vscode.workspace.workspaceFolders![0].uri.fsPath;
    assert.ok(!file.startsWith(workspace), `${file} is outside the workspace ${workspace}`);
    assert.match(file, /workspaceStorage/);
    assert.equal(a.testing.isDatabaseOpen(), true);
  });

  test('every contributed command runs, on an empty journal, without prompting', async () => {
    // Commands that only ask for input (a secret) are not run here: a prompt would wait forever.
    // On an empty journal the pickers have nothing to offer and say so; Import is given a file that does not exist.
    // The key is exported to a file and imported back from it (the same key); the copy to PostgreSQL without a
    // connection string is refused before anything stops.
    const keyFile = join(mkdtempSync(join(tmpdir(), 'das-key-')), 'key.json');
    const args: Record<string, unknown> = {
      'durableSessions.import': { source: '/nonexistent/durable-export.json' },
      'durableSessions.exportKey': { file: keyFile, confirmed: true },
      'durableSessions.importKey': { file: keyFile, confirmed: true },
      'durableSessions.moveJournal': { to: 'postgres', confirmed: true },
      // The sample workspace's own choice, so nothing changes.
      'durableSessions.chooseModel': { model: 'scripted' },
      // Named executions that do not exist: refused with a message, nothing prompts.
      'durableSessions.undoEdits': { executionId: '0190a000-0000-7000-8000-00000000dead', scope: 'session', confirmed: true },
      'durableSessions.redoEdits': { executionId: '0190a000-0000-7000-8000-00000000dead', confirmed: true },
      'durableSessions.forkSession': { executionId: '0190a000-0000-7000-8000-00000000dead', turn: 1, instruction: 'go on', confirmed: true },
    };
    const promptOnly = new Set(['durableSessions.setApiKey', 'durableSessions.setPostgresPassword']);
    for (const command of contributedCommands().filter((c) => !promptOnly.has(c))) {
      await vscode.commands.executeCommand(command, args[command] ?? { confirmed: true });
    }
    const folder = await vscode.commands.executeCommand<string>('durableSessions.openDatabaseFolder');
    assert.equal(folder, (await api()).databaseFile()!.replace(/\/durable\.db$/, ''));
    const keyId = await vscode.commands.executeCommand<string>('durableSessions.rotateKey', { confirmed: true });
    assert.match(keyId ?? '', /^[0-9a-f]{8}$/);
    const report = (await vscode.commands.executeCommand('durableSessions.checkIntegrity')) as { failures: string[] };
    assert.deepEqual(report.failures, [], 'entries sealed before the rotation still open');
  });

  test("durable.db opens through the running VS Code's own SQLite (the universal package carries none)", async () => {
    const binding = (await (await api()).testing.engine()).sqliteBinding;
    assert.equal(binding?.source, 'host');
    assert.ok(binding.where.startsWith(vscode.env.appRoot), `${binding.where} is not under ${vscode.env.appRoot}`);
    assert.match(binding.sqliteVersion, /^3\.\d+\.\d+$/);
  });

  test('Choose Agent Model writes the settings where they take effect, and new sessions use them', async () => {
    const a = await api();
    const cfg = () => vscode.workspace.getConfiguration('durableSessions');
    try {
      await vscode.commands.executeCommand('durableSessions.chooseModel', { model: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', openaiModel: 'qwen2.5-coder:7b' });
      // The sample workspace sets agent.model itself: a user setting would lose to it, so the workspace's is changed.
      assert.equal(cfg().inspect('agent.model')?.workspaceValue, 'openai');
      assert.deepEqual(a.testing.modelForNewSessions(), { provider: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', model: 'qwen2.5-coder:7b' });
      // The scripted tour: with no script file set, the scripted model plays the built-in tour from the package.
      await vscode.commands.executeCommand('durableSessions.chooseModel', { model: 'scripted' });
      await cfg().update('agent.scriptFile', '', vscode.ConfigurationTarget.Workspace);
      const tour = a.testing.modelForNewSessions();
      assert.equal(tour.provider, 'scripted');
      assert.match(tour.scriptFile ?? '', /media[\\/]demo[\\/]tour\.json$/);
      assert.ok(existsSync(tour.scriptFile!), `the tour ${tour.scriptFile} is in the package`);
    } finally {
      await cfg().update('agent.model', 'scripted', vscode.ConfigurationTarget.Workspace);
      await cfg().update('agent.scriptFile', '.vscode/demo-agent.json', vscode.ConfigurationTarget.Workspace);
      for (const key of ['agent.openai.baseUrl', 'agent.openai.model']) {
        await cfg().update(key, undefined, vscode.ConfigurationTarget.Workspace);
        await cfg().update(key, undefined, vscode.ConfigurationTarget.Global);
      }
    }
  });

  test('settings are read, and a bad value falls back to the defaults', async () => {
    const a = await api();
    assert.equal(a.testing.config().batchSize, 128, 'from the sample workspace settings');
    const cfg = vscode.workspace.getConfiguration('durableSessions');
    await cfg.update('journal.ackTimeoutMs', 1234, vscode.ConfigurationTarget.Workspace);
    assert.equal(a.testing.config().ackTimeoutMs, 1234);
    await cfg.update('journal.ackTimeoutMs', -5, vscode.ConfigurationTarget.Workspace);
    assert.equal(a.testing.config().ackTimeoutMs, 5000, 'invalid value: defaults');
    await cfg.update('journal.ackTimeoutMs', undefined, vscode.ConfigurationTarget.Workspace);
  });

  test('retention settings changed now apply to the next Prune, without a reload', async () => {
    const engine = await (await api()).testing.engine();
    const id = newExecutionId();
    await engine.backend.createExecution({ id, kind: 'integration', version: 1, title: 'finished a minute ago' });
    await engine.backend.finalize(id, 'completed');
    const cfg = vscode.workspace.getConfiguration('durableSessions');
    const kept = (await vscode.commands.executeCommand('durableSessions.prune', { confirmed: true })) as { executionsRemoved: number };
    assert.equal(kept.executionsRemoved, 0, 'within the default 7 days');
    await cfg.update('retention.completedDays', 0, vscode.ConfigurationTarget.Workspace);
    try {
      const pruned = (await vscode.commands.executeCommand('durableSessions.prune', { confirmed: true })) as { executionsRemoved: number };
      assert.equal(pruned.executionsRemoved, 1, 'the new setting applied at once');
      assert.equal(await engine.backend.getExecution(id), undefined);
    } finally {
      await cfg.update('retention.completedDays', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('journal data written now is there after the reload (checked in phase 2)', async () => {
    const engine = await (await api()).testing.engine();
    const id = newExecutionId();
    const input = engine.codec.encode({
      executionId: id, attempt: 1, stepId: null, stepName: null, effect: null, idempotencyKey: null,
      kind: 'execution_started', payload: new TextEncoder().encode('{"v":"sealed input"}'),
    });
    await engine.backend.createExecution({ id, kind: 'integration', version: 1, title: SURVIVOR_TITLE }, [input]);
    await engine.backend.suspend(id, 'waiting for the reload');
    const report = (await vscode.commands.executeCommand('durableSessions.prune', { confirmed: true })) as { executionsRemoved: number; dryRun: boolean };
    assert.equal(report.executionsRemoved, 0, 'a parked execution is never pruned');
    await vscode.commands.executeCommand('durableSessions.refresh');
  });
});
