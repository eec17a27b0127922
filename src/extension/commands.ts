/**
 * Command palette entries of the foundation: log, database folder, integrity
 * check, key rotation. Each command is a small function of the container;
 * every failure goes through `reportError`.
 */
import * as vscode from 'vscode';
import type { Container } from './container';
import { NoWorkspaceError } from './database';
import { reportError } from './userErrors';

type CommandHandler = (container: Container) => Promise<void>;

const commands: Record<string, { action: string; run: CommandHandler }> = {
  'durableSessions.showLog': {
    action: 'Show log',
    run: async (c) => c.log.show(),
  },
  'durableSessions.openDatabaseFolder': {
    action: 'Open database folder',
    run: async (c) => {
      const folder = c.database.folder;
      if (folder === undefined) throw new NoWorkspaceError();
      await vscode.workspace.fs.createDirectory(vscode.Uri.file(folder));
      await vscode.env.openExternal(vscode.Uri.file(folder));
    },
  },
  'durableSessions.checkIntegrity': {
    action: 'Check journal integrity',
    run: async (c) => {
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Durable Sessions: checking the journal…', cancellable: true },
        async (_progress, token) => {
          const engine = await c.database.get();
          const controller = new AbortController();
          const sub = token.onCancellationRequested(() => controller.abort());
          try {
            return await engine.checkIntegrity(undefined, controller.signal);
          } finally {
            sub.dispose();
          }
        },
      );
      const sqliteOk = report.sqlite.length === 1 && report.sqlite[0] === 'ok';
      c.log.info(`integrity: sqlite ${report.sqlite.join('; ')}; ${report.rowsChecked} rows checked; ${report.failures.length} failed`);
      report.failures.slice(0, 100).forEach((f) => c.log.error(`integrity: ${f}`));
      if (sqliteOk && report.failures.length === 0) {
        await vscode.window.showInformationMessage(`Durable Sessions: journal is intact (${report.rowsChecked} entries verified).`);
      } else {
        const choice = await vscode.window.showErrorMessage(
          `Durable Sessions: ${report.failures.length} of ${report.rowsChecked} entries failed authentication` +
            (sqliteOk ? '.' : '; SQLite reports damage.') + ' Affected executions will not resume.',
          'Show Log',
        );
        if (choice === 'Show Log') c.log.show(true);
      }
    },
  },
  'durableSessions.rotateKey': {
    action: 'Rotate encryption key',
    run: async (c) => {
      const answer = await vscode.window.showWarningMessage(
        'Rotate the journal encryption key? New entries are sealed with a new key; older entries stay readable with the previous one.',
        { modal: true },
        'Rotate',
      );
      if (answer !== 'Rotate') return;
      await c.database.close();
      const keyId = await c.keys.rotate();
      c.log.info(`rotated the master key; new key id ${keyId}`);
      await vscode.window.showInformationMessage(`Durable Sessions: new key ${keyId} is in use.`);
    },
  },
};

export const FOUNDATION_COMMANDS = Object.keys(commands);

export function registerCommands(container: Container): vscode.Disposable[] {
  return Object.entries(commands).map(([id, { action, run }]) =>
    vscode.commands.registerCommand(id, async () => {
      try {
        await run(container);
      } catch (error) {
        await reportError(container.log, action, error);
      }
    }),
  );
}
