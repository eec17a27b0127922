/**
 * Command palette entries of the foundation: log, database folder, integrity
 * check, key rotation, refresh. Each command is a small function of the
 * container; every failure goes through `reportError`. Commands accept an
 * optional options object so automation (and tests) can skip confirmations.
 */
import * as vscode from 'vscode';
import type { Container } from './container';
import { NoWorkspaceError } from './database';
import { notify, reportError } from './userErrors';
import type { ExecutionId } from '../durable';
import { executionIdOf, formatAge, formatBytes } from '../views/explorerTreeModel';
import { journalCommands } from './journalCommands';
import { sharedStoreCommands } from './sharedStoreCommands';
import { modelCommands } from './modelCommands';
import { undoCommands } from './undoCommands';
import { forkCommands } from './forkCommands';
import { API_KEY_SECRET } from './sessionService';
import type { CommandOptions, CommandTable } from './commandTable';

/** A session id from a tree node or an id argument, else a quick pick of agent sessions. */
async function sessionFrom(c: Container, arg: unknown, placeHolder: string): Promise<ExecutionId | undefined> {
  const given = executionIdOf(arg);
  if (given) return given as ExecutionId;
  const sessions = await c.sessions.list(200);
  if (sessions.length === 0) {
    notify('Durable Sessions: no agent sessions yet. Run "Durable Sessions: New Agent Session".');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    sessions.map((s) => ({ label: s.title, description: `${s.status} · ${formatAge(Date.now() - s.updatedAt)}`, detail: s.id, id: s.id })),
    { placeHolder, matchOnDescription: true, matchOnDetail: true },
  );
  return picked?.id;
}

function parseOptions(arg: unknown): CommandOptions {
  // Commands run from a tree item receive the item as their argument: only a plain options object counts.
  if (typeof arg === 'object' && arg !== null && 'confirmed' in arg) return { confirmed: (arg as CommandOptions).confirmed === true };
  return {};
}

const commands: CommandTable = {
  'durableSessions.showLog': {
    action: 'Show log',
    run: async (c) => c.logRevealer.show(),
  },
  'durableSessions.openDatabaseFolder': {
    action: 'Open database folder',
    run: async (c) => {
      const folder = c.database.folder;
      if (folder === undefined) throw new NoWorkspaceError();
      if (c.database.storeKind === 'postgres') {
        notify(`Durable Sessions: the journal is shared on ${c.database.describe()}; this window's command records are in ${folder}`);
        return folder;
      }
      const uri = vscode.Uri.file(folder);
      await vscode.workspace.fs.createDirectory(uri);
      // In a browser or a remote window the folder is on the server: show its path instead of an OS file manager.
      if (vscode.env.uiKind === vscode.UIKind.Web || vscode.env.remoteName !== undefined) {
        notify(`Durable Sessions: the journal is in ${folder}`, { 'Copy Path': () => void vscode.env.clipboard.writeText(folder) });
      } else {
        await vscode.commands.executeCommand('revealFileInOS', uri);
      }
      return folder;
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
        notify(`Durable Sessions: journal is intact (${report.rowsChecked} ${report.rowsChecked === 1 ? 'entry' : 'entries'} verified).`);
      } else {
        void vscode.window
          .showErrorMessage(
            `Durable Sessions: ${report.failures.length} of ${report.rowsChecked} entries failed authentication` +
              (sqliteOk ? '.' : '; SQLite reports damage.') +
              ' Affected executions will not resume.',
            'Show Log',
          )
          .then((choice) => choice === 'Show Log' && c.logRevealer.show(true));
      }
      return report;
    },
  },
  'durableSessions.rotateKey': {
    action: 'Rotate encryption key',
    run: async (c, options) => {
      if (!options.confirmed) {
        const answer = await vscode.window.showWarningMessage(
          'Rotate the journal encryption key? New entries are sealed with a new key; older entries stay readable with the previous one.',
          { modal: true },
          'Rotate',
        );
        if (answer !== 'Rotate') return undefined;
      }
      await c.sessions.shutdownHost();
      await c.database.close();
      const keyId = await c.keys.rotate();
      c.log.info(`rotated the master key; new key id ${keyId}`);
      notify(`Durable Sessions: new key ${keyId} is in use.`);
      c.journal.notifyChanged();
      return keyId;
    },
  },
  'durableSessions.prune': {
    action: 'Prune',
    run: async (c, options) => {
      const preview = await c.retention.runNow({ dryRun: true });
      if (preview.executionsRemoved === 0 && preview.staleAborted === 0) {
        notify('Durable Sessions: nothing to prune: every execution is within the retention settings.');
        return preview;
      }
      if (!options.confirmed) {
        const answer = await vscode.window.showWarningMessage(
          `Prune ${preview.executionsRemoved} finished executions (${preview.rowsRemoved.journal} journal entries, ${formatBytes(preview.bytesRemoved)})?`,
          {
            modal: true,
            detail:
              `${preview.expired} past their retention period, ${preview.overExecutionCap} over the execution cap, ${preview.overByteCap} over the size cap. ` +
              `${preview.staleAborted} abandoned runs will be marked aborted. Running and waiting executions are never pruned.`,
          },
          'Prune',
        );
        if (answer !== 'Prune') return undefined;
      }
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Durable Sessions: pruning', cancellable: true },
        async (progress, token) => {
          const controller = new AbortController();
          const sub = token.onCancellationRequested(() => controller.abort());
          let last = 0;
          try {
            return await c.retention.runNow({
              signal: controller.signal,
              onProgress: (done, total) => {
                progress.report({ message: `${done} of ${total}`, increment: ((done - last) / Math.max(total, 1)) * 100 });
                last = done;
              },
            });
          } finally {
            sub.dispose();
          }
        },
      );
      notify(`Durable Sessions: pruned ${report.executionsRemoved} executions (${report.rowsRemoved.journal} journal entries).`);
      c.journal.notifyChanged();
      return report;
    },
  },
  'durableSessions.refresh': {
    action: 'Refresh',
    run: async (c) => c.journal.notifyChanged(),
  },
  'durableSessions.newSession': {
    action: 'Start a session',
    // With {task} (automation, tests) the session starts at once; otherwise the panel opens to write one.
    run: async (c, _options, arg) => {
      if (vscode.workspace.workspaceFolders === undefined) throw new NoWorkspaceError();
      const task = (arg as { task?: unknown } | undefined)?.task;
      if (typeof task === 'string') {
        const id = await c.sessions.start(task);
        c.panels.open(id);
        return id;
      }
      c.panels.open();
      return undefined;
    },
  },
  'durableSessions.openSession': {
    action: 'Open session',
    run: async (c, _options, arg) => {
      const id = await sessionFrom(c, arg, 'Open which session?');
      if (id) c.panels.open(id);
      return id;
    },
  },
  'durableSessions.setApiKey': {
    action: 'Set API key',
    run: async (c) => {
      const key = await vscode.window.showInputBox({
        title: 'API key for the OpenAI-compatible endpoint',
        prompt: 'Kept in VS Code secret storage; never written to the journal or the log. Leave empty to remove it.',
        password: true,
        ignoreFocusOut: true,
      });
      if (key === undefined) return undefined;
      if (key.trim() === '') await c.context.secrets.delete(API_KEY_SECRET);
      else await c.context.secrets.store(API_KEY_SECRET, key.trim());
      notify(key.trim() === '' ? 'Durable Sessions: API key removed.' : 'Durable Sessions: API key saved.');
      return true;
    },
  },
};

export function registerCommands(container: Container): vscode.Disposable[] {
  return Object.entries({ ...commands, ...journalCommands, ...sharedStoreCommands, ...modelCommands, ...undoCommands, ...forkCommands }).map(([id, { action, run }]) =>
    vscode.commands.registerCommand(id, async (arg: unknown) => {
      try {
        return await run(container, parseOptions(arg), arg);
      } catch (error) {
        reportError(container.log, container.logRevealer, action, error);
        return undefined;
      }
    }),
  );
}
