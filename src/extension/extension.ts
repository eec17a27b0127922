/**
 * Entry point: wires features and nothing else. Activation does no database
 * work; the journal opens on first use.
 */
import type * as vscode from 'vscode';
import { createApi, type DurableSessionsApi } from './api';
import { registerCommands } from './commands';
import { Container } from './container';

// The one piece of module state: deactivate() must await the disposal, which context.subscriptions cannot.
let container: Container | undefined;

export function activate(context: vscode.ExtensionContext): DurableSessionsApi {
  const started = performance.now();
  container = new Container(context);
  context.subscriptions.push(...registerCommands(container));
  const current = container;
  current.sessions.scheduleRecovery((id) => current.panels.open(id));
  current.statusBar.schedule();
  current.replaceDeadTabs().catch((error: unknown) => current.log.error(`could not reconnect the panels after a crash: ${error instanceof Error ? error.message : String(error)}`));
  container.log.info(`activated in ${(performance.now() - started).toFixed(1)} ms`);
  return createApi(container);
}

export async function deactivate(): Promise<void> {
  const current = container;
  container = undefined;
  await current?.dispose();
}
