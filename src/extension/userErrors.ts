/**
 * How errors reach the user: one line in a notification (with a way to the log),
 * the full metadata in the log. Payloads never appear in either: the core's
 * messages carry metadata only.
 */
import * as vscode from 'vscode';
import { isCancellation, isDurableError } from '../durable';
import { NoWorkspaceError } from './database';

export async function reportError(log: vscode.LogOutputChannel, action: string, error: unknown): Promise<void> {
  if (isCancellation(error)) {
    log.info(`${action}: cancelled`);
    return;
  }
  if (error instanceof NoWorkspaceError) {
    await vscode.window.showInformationMessage(error.message);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = isDurableError(error) ? ` [${error.code}]` : '';
  log.error(`${action} failed${code}: ${message}`);
  const choice = await vscode.window.showErrorMessage(`Durable Sessions: ${action} failed: ${message}`, 'Show Log');
  if (choice === 'Show Log') log.show(true);
}
