// Phase 3: the shared journal's commands from the palette's side, on the test
// command's PostgreSQL (its URL reaches the extension host by environment):
// the master key exported and imported (a file only its owner reads), and this
// workspace's journal copied to PostgreSQL all or nothing, under its project.
import * as assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import * as vscode from 'vscode';
import { api } from './support';

const PG_URL = process.env.DURABLE_TEST_PG_URL;

suite('shared journal commands', () => {
  test('Export Encryption Key writes a file only its owner can read; Import takes it back with the same key id', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'das-key-')), 'durable-sessions.key.json');
    const exported = await vscode.commands.executeCommand<string>('durableSessions.exportKey', { file, confirmed: true });
    assert.match(String(exported), /^[0-9a-f]{8}$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const imported = await vscode.commands.executeCommand<string>('durableSessions.importKey', { file, confirmed: true });
    assert.equal(imported, exported);
    assert.equal((await (await api()).testing.engine()).keyId, exported, 'the journal reopens with the imported key');
  });

  test('Copy Journal to PostgreSQL copies every execution of this workspace under its project, once (a second copy is refused whole)', async function () {
    if (!PG_URL) this.skip();
    const project = `itest-${Date.now().toString(36)}`;
    const cfg = vscode.workspace.getConfiguration('durableSessions');
    await cfg.update('postgres.connectionString', PG_URL, vscode.ConfigurationTarget.Workspace);
    await cfg.update('projectId', project, vscode.ConfigurationTarget.Workspace);
    const client = new Client({ connectionString: PG_URL });
    await client.connect();
    try {
      const local = (await (await (await api()).testing.engine()).backend.listExecutions()).length;
      assert.ok(local > 0, 'the seeded journal has executions');
      const report = await vscode.commands.executeCommand<{ imported: number; rows: number }>('durableSessions.moveJournal', { to: 'postgres', confirmed: true });
      assert.equal(report?.imported, local);
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM public.executions WHERE project = $1', [project]);
      assert.equal(Number(rows[0].n), local, 'every execution is on the server, under this project');
      const again = await vscode.commands.executeCommand('durableSessions.moveJournal', { to: 'postgres', confirmed: true });
      assert.equal(again, undefined, 'a second copy is refused (reported, nothing written)');
      const after = await client.query<{ n: string }>('SELECT count(*) AS n FROM public.executions WHERE project = $1', [project]);
      assert.equal(Number(after.rows[0].n), local);
      assert.equal((await (await api()).testing.engine()).backend.flavor, 'sqlite', 'the store setting decides which journal this window uses; copying does not switch it');
    } finally {
      await client.query('DELETE FROM public.executions WHERE project = $1', [project]).catch(() => undefined);
      await client.end();
      await cfg.update('postgres.connectionString', undefined, vscode.ConfigurationTarget.Workspace);
      await cfg.update('projectId', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
