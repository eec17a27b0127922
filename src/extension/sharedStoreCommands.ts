/**
 * Commands of the shared journal: the PostgreSQL password (secret store), the
 * master key every machine must share (export to a file, import from one),
 * and moving this workspace's executions between durable.db and PostgreSQL
 * through the authenticated export, all or nothing. See the README's
 * "Sharing a journal on PostgreSQL".
 */
import { writeFile, readFile, chmod } from 'node:fs/promises';
import * as vscode from 'vscode';
import { exportExecutions, importExecutions, type DurableEngine } from '../durable';
import type { CommandTable } from './commandTable';
import type { Container } from './container';
import { PG_PASSWORD_SECRET } from './database';
import { notify } from './userErrors';

type StoreKind = 'sqlite' | 'postgres';
/** Generous, bounded: the whole journal of a workspace travels in memory once. */
const MOVE_MAX_BYTES = 512 * 1024 * 1024;

function fileArg(arg: unknown): string | undefined {
  return typeof arg === 'object' && arg !== null && typeof (arg as { file?: unknown }).file === 'string' ? (arg as { file: string }).file : undefined;
}

function describeKind(c: Container, kind: StoreKind): string {
  return kind === 'sqlite' ? `durable.db (${c.database.file ?? 'no workspace'})` : `PostgreSQL (${c.database.describe('postgres')})`;
}

async function withEngine<T>(c: Container, kind: StoreKind, fn: (engine: DurableEngine) => Promise<T>): Promise<T> {
  const engine = await c.database.openStore(kind);
  try {
    return await fn(engine);
  } finally {
    await engine.dispose();
  }
}

/** Copy every execution of this workspace from one store to the other, in one transaction on the target. */
async function moveJournal(c: Container, from: StoreKind, to: StoreKind): Promise<{ imported: number; rows: number }> {
  if (from === 'sqlite' && !c.database.hasJournalFile) throw new Error('this workspace has no durable.db to copy');
  // Refused before anything stops: a shared store that is not set up is the user's to fix first.
  c.database.checkSharedSettings();
  // Nothing may run while its journal is copied: the sessions stop (resumable) and the views reopen afterwards.
  await c.sessions.shutdownHost();
  await c.database.close();
  try {
    return await withEngine(c, from, async (source) => {
      const ids = (await source.backend.listExecutions()).map((e) => e.id).reverse();
      if (ids.length === 0) return { imported: 0, rows: 0 };
      const bytes = await exportExecutions(source, { executions: ids, maxBytes: MOVE_MAX_BYTES, segmentSize: source.config.replaySegmentSize });
      return withEngine(c, to, (target) => importExecutions(target, bytes, { maxBytes: MOVE_MAX_BYTES }));
    });
  } finally {
    c.journal.notifyChanged();
  }
}

export const sharedStoreCommands: CommandTable = {
  'durableSessions.setPostgresPassword': {
    action: 'Set PostgreSQL password',
    run: async (c) => {
      const value = await vscode.window.showInputBox({
        title: 'Password of the PostgreSQL role in durableSessions.postgres.connectionString',
        prompt: 'Kept in VS Code secret storage, never in settings, the journal or the log. Leave empty to remove it.',
        password: true,
        ignoreFocusOut: true,
      });
      if (value === undefined) return undefined;
      if (value === '') await c.context.secrets.delete(PG_PASSWORD_SECRET);
      else await c.context.secrets.store(PG_PASSWORD_SECRET, value);
      await c.sessions.shutdownHost();
      await c.database.close();
      c.journal.notifyChanged();
      notify(value === '' ? 'Durable Sessions: PostgreSQL password removed.' : 'Durable Sessions: PostgreSQL password saved; the journal reconnects with it.');
      return true;
    },
  },
  'durableSessions.exportKey': {
    action: 'Export encryption key',
    run: async (c, options, arg) => {
      if (!options.confirmed) {
        const answer = await vscode.window.showWarningMessage(
          'Export the journal encryption key to a file? Whoever has the file can read every journal sealed with it (sessions, commands, file contents). ' +
            'Move it to the other machine by a private channel, import it there, then delete the file.',
          { modal: true },
          'Export',
        );
        if (answer !== 'Export') return undefined;
      }
      const file = fileArg(arg) ?? (await vscode.window.showSaveDialog({ title: 'Save the Durable Sessions key', defaultUri: vscode.Uri.file('durable-sessions.key.json') }))?.fsPath;
      if (!file) return undefined;
      const { text, keyId } = await c.keys.exportText();
      await writeFile(file, text, { mode: 0o600 });
      await chmod(file, 0o600);
      c.log.info(`exported the master key ${keyId} to ${file}`);
      notify(`Durable Sessions: key ${keyId} exported. Import it on the other machine, then delete the file.`);
      return keyId;
    },
  },
  'durableSessions.importKey': {
    action: 'Import encryption key',
    run: async (c, options, arg) => {
      const file = fileArg(arg) ?? (await vscode.window.showOpenDialog({ title: 'Import a Durable Sessions key', canSelectMany: false }))?.[0]?.fsPath;
      if (!file) return undefined;
      const text = await readFile(file, 'utf8');
      if (!options.confirmed) {
        const answer = await vscode.window.showWarningMessage(
          'Use the imported key for new entries on this machine? Journals sealed here before stay readable with this machine\'s own key.',
          { modal: true },
          'Import',
        );
        if (answer !== 'Import') return undefined;
      }
      await c.sessions.shutdownHost();
      await c.database.close();
      const keyId = await c.keys.importText(text);
      c.log.info(`imported the master key ${keyId} from ${file}`);
      c.journal.notifyChanged();
      notify(`Durable Sessions: key ${keyId} imported; the journal reopens with it.`);
      return keyId;
    },
  },
  'durableSessions.moveJournal': {
    action: 'Copy the journal between stores',
    run: async (c, options, arg) => {
      const given = typeof arg === 'object' && arg !== null ? (arg as { to?: unknown }).to : undefined;
      let to: StoreKind | undefined = given === 'sqlite' || given === 'postgres' ? given : undefined;
      if (!to) {
        const picked = await vscode.window.showQuickPick(
          [
            { label: 'durable.db → PostgreSQL', to: 'postgres' as const, detail: 'Copy this workspace\'s sessions to the shared journal' },
            { label: 'PostgreSQL → durable.db', to: 'sqlite' as const, detail: 'Copy this project\'s sessions from the shared journal to this workspace' },
          ],
          { placeHolder: 'Copy the journal of this workspace' },
        );
        to = picked?.to;
      }
      if (!to) return undefined;
      const from: StoreKind = to === 'postgres' ? 'sqlite' : 'postgres';
      if (!options.confirmed) {
        const answer = await vscode.window.showWarningMessage(
          `Copy every session of this workspace from ${describeKind(c, from)} to ${describeKind(c, to)}? Running sessions stop first (they stay resumable). ` +
            'The copy is all or nothing; the source keeps its sessions.',
          { modal: true },
          'Copy',
        );
        if (answer !== 'Copy') return undefined;
      }
      const report = await moveJournal(c, from, to);
      c.log.info(`copied ${report.imported} executions (${report.rows} journal rows) from ${describeKind(c, from)} to ${describeKind(c, to)}`);
      const useIt = c.database.storeKind !== to ? 'Use It Now' : undefined;
      notify(`Durable Sessions: copied ${report.imported} session${report.imported === 1 ? '' : 's'} to ${describeKind(c, to)}.`, useIt ? {
        [useIt]: () => void vscode.workspace.getConfiguration('durableSessions').update('store', to, vscode.ConfigurationTarget.Workspace),
      } : {});
      return report;
    },
  },
};
