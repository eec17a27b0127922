// Phase 1: another extension's workflow through Durable Sessions' public API
// (the test harness is that other extension): registered, started, journaled,
// inspected; left waiting for its go-ahead when the UI test reloads the window
// (phase 2 resumes it).
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { DurableSessionsApi } from '../../src/extension/api';
import { DEPLOY_GO, DEPLOY_ID_FILE, DEPLOY_KIND, DEPLOY_LOG, deployWorkflow } from './deployWorkflow';
import { EXTENSION_ID, until } from './support';

suite('a durable API for other extensions', () => {
  test('a registered workflow runs its steps through our journal, shows in our tree, and can be inspected', async () => {
    for (const f of [DEPLOY_LOG(), DEPLOY_GO(), DEPLOY_ID_FILE()]) rmSync(f, { force: true });
    const durable = (await vscode.extensions.getExtension<DurableSessionsApi>(EXTENSION_ID)!.activate()).workflows;
    durable.register(deployWorkflow());
    assert.throws(() => durable.register({ ...deployWorkflow() }), /already registered/);
    assert.throws(() => durable.register({ ...deployWorkflow(), kind: 'deploy' }), /namespaced/);
    const run = await durable.start(DEPLOY_KIND, { target: 'staging' });
    writeFileSync(DEPLOY_ID_FILE(), run.id);
    await until(async () => (await durable.inspect(run.id))?.steps.some((s) => s.name === 'upload' && s.status === 'done') ?? false, 10_000);
    const summary = await durable.inspect(run.id);
    assert.equal(summary?.title, 'deploy to staging');
    assert.equal(summary?.kind, DEPLOY_KIND);
    assert.equal(summary?.status, 'running');
    // An idempotent step writes nothing before its result: the journal (and so the summary) knows the finished one.
    assert.deepEqual(summary?.steps.map((s) => `${s.name}: ${s.status}`), ['upload: done']);
    assert.equal(readFileSync(DEPLOY_LOG(), 'utf8'), 'upload staging\n');
    await assert.rejects(durable.start('harness.unknown', {}), /no workflow of kind harness\.unknown is registered/);
    // An agent session is not another extension's to read: its task stays ours.
    const [session] = await (await (await vscode.extensions.getExtension<DurableSessionsApi>(EXTENSION_ID)!.activate()).testing!.engine()).backend.listExecutions({ kind: 'agent_session' });
    if (session) assert.equal(await durable.inspect(session.id), undefined);
    // Left waiting for its go-ahead: the reload cuts it off (phase 2 resumes it).
    assert.equal(existsSync(DEPLOY_GO()), false);
  });
});
