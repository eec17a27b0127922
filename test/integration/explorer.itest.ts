// Phase 1, the journal explorer's commands in a real extension host, on seeded executions.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { needsAttention, type ExecutionId } from '../../src/durable';
import { api, seedInterrupted, seedLong, SEEDED_LONG, SEEDED_UI_WINDOW } from './support';

suite('journal explorer commands', () => {
  let interrupted: ExecutionId;
  let long: ExecutionId;

  suiteSetup(async () => {
    const engine = await (await api()).testing.engine();
    interrupted = await seedInterrupted(engine, 'seeded: migrate database', 'migrate');
    // Left for the UI test, which resolves it from the webview.
    await seedInterrupted(engine, SEEDED_UI_WINDOW);
    long = await seedLong(engine, SEEDED_LONG, 3_000);
  });

  test('the interrupted executions need attention, and the status bar counts them', async () => {
    const a = await api();
    const engine = await a.testing.engine();
    const items = await needsAttention(engine.backend, engine.codec, { now: Date.now() });
    assert.deepEqual(items.filter((i) => i.type === 'ambiguous').map((i) => i.execution.title).sort(), [SEEDED_UI_WINDOW, 'seeded: migrate database'].sort());
    await vscode.commands.executeCommand('durableSessions.refresh');
    const deadline = Date.now() + 10_000;
    while (!/\$\(warning\) 2/.test(a.testing.statusBar().text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(a.testing.statusBar().text, /\$\(warning\) 2/);
    assert.ok(a.testing.statusBar().visible);
  });

  test('Inspect opens the journal explorer for the execution (once, revealed again on a second Inspect)', async () => {
    const a = await api();
    assert.equal(await vscode.commands.executeCommand('durableSessions.inspect', long), long);
    assert.equal(await vscode.commands.executeCommand('durableSessions.inspect', { executionId: long }), long);
    assert.deepEqual(a.testing.openExplorers().filter((id) => id === long), [long]);
    assert.equal(await vscode.commands.executeCommand('durableSessions.inspect', '0190a000-0000-7000-8000-00000000dead'), undefined, 'an unknown id is reported, not opened');
  });

  test('Reveal Payload decrypts one entry on request', async () => {
    const engine = await (await api()).testing.engine();
    const [first] = await engine.backend.readExecutionSegment(long, 0, 1);
    const text = await vscode.commands.executeCommand<string>('durableSessions.revealPayload', { executionId: long, seq: first.seq, confirmed: true });
    assert.equal(text, '{\n  "v": 0\n}');
  });

  test('Resolve Interrupted Step journals the decision with who decided, and the window closes', async () => {
    const engine = await (await api()).testing.engine();
    assert.equal(await vscode.commands.executeCommand('durableSessions.resolveAmbiguity', { executionId: interrupted, stepId: 0, decision: 'fail' }), 'fail');
    const [audit] = await engine.backend.listAudit(interrupted);
    assert.deepEqual([audit.stepName, audit.policy, audit.decision], ['migrate', 'ask', 'decided_fail']);
    assert.match(audit.decidedBy, /^user:.+/, 'who decided');
    const open = await needsAttention(engine.backend, engine.codec, { now: Date.now() });
    assert.ok(!open.some((i) => i.execution.id === interrupted));
  });

  test('Export writes a versioned artifact; Import restores it and rejects a malformed or duplicate file', async () => {
    const engine = await (await api()).testing.engine();
    const file = join(tmpdir(), `das-export-${Date.now()}.json`);
    assert.equal(await vscode.commands.executeCommand('durableSessions.export', { executionId: long, target: file, reveal: false }), file);
    assert.ok(existsSync(file));
    const artifact = JSON.parse(readFileSync(file, 'utf8')) as { format: string; schemaVersion: number; executions: unknown[] };
    assert.equal(artifact.schemaVersion, 3);
    assert.equal(artifact.executions.length, 1);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /"v":1234/, 'payloads stay sealed');

    assert.equal(await vscode.commands.executeCommand('durableSessions.import', { source: file }), undefined, 'already in this journal: refused');
    await engine.backend.deleteExecutions([long]);
    const report = await vscode.commands.executeCommand<{ imported: number; rows: number; trusted: boolean }>('durableSessions.import', { source: file });
    assert.deepEqual(report, { imported: 1, rows: 3_000, trusted: true, events: 0, promises: 0 });
    assert.equal((await engine.backend.getExecution(long))?.title, SEEDED_LONG);

    const bad = join(tmpdir(), `das-bad-${Date.now()}.json`);
    writeFileSync(bad, '{"format":"something else"}');
    const before = (await engine.backend.listExecutions()).length;
    assert.equal(await vscode.commands.executeCommand('durableSessions.import', { source: bad }), undefined);
    assert.equal((await engine.backend.listExecutions()).length, before, 'nothing imported from a malformed file');
  });

  test('Cancel cancels an unfinished execution; Resume refuses a finished one with a message', async () => {
    const engine = await (await api()).testing.engine();
    const victim = await seedInterrupted(engine, 'seeded: to cancel');
    assert.equal(await vscode.commands.executeCommand('durableSessions.cancel', { executionId: victim, confirmed: true }), true);
    assert.equal((await engine.backend.getExecution(victim))?.status, 'cancelled');
    assert.equal(await vscode.commands.executeCommand('durableSessions.resume', victim), undefined);
    assert.equal(await vscode.commands.executeCommand('durableSessions.decide', { approved: true }), undefined, 'no approval pending: says so');
  });
});
