/**
 * How errors reach the user: one line in a notification (with a way to the log),
 * the full metadata in the log. Payloads never appear in either: the core's
 * messages carry metadata only.
 *
 * Notifications are never awaited by commands: a toast nobody dismisses must
 * not keep a command (or a test that runs it) pending.
 */
import * as vscode from 'vscode';
import { isCancellation, isDurableError } from '../durable';
import { NoWorkspaceError } from './database';
import type { LogRevealer } from './logRevealer';

/** `reveal` answers the toast's Show Log the way the command does (see logRevealer.ts). */
export function reportError(log: vscode.LogOutputChannel, reveal: Pick<LogRevealer, 'show'>, action: string, error: unknown): void {
  if (isCancellation(error)) {
    log.info(`${action}: cancelled`);
    return;
  }
  if (error instanceof NoWorkspaceError) {
    void vscode.window.showInformationMessage(error.message);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = isDurableError(error) ? ` [${error.code}]` : '';
  log.error(`${action} failed${code}: ${message}`);
  void vscode.window.showErrorMessage(`Durable Sessions: ${action} failed: ${message}`, 'Show Log').then((choice) => {
    if (choice === 'Show Log') reveal.show(true);
  });
}

/** An informational toast with optional actions, not awaited by the caller. */
export function notify(message: string, actions: Record<string, () => void> = {}): void {
  void vscode.window.showInformationMessage(message, ...Object.keys(actions)).then((choice) => {
    if (choice !== undefined) actions[choice]?.();
  });
}
