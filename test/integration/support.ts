// Shared by the integration tests that run inside the extension host.
import * as vscode from 'vscode';
import type { DurableSessionsApi } from '../../src/extension/api';

export const EXTENSION_ID = 'durable-sessions.durable-agent-sessions';
export const SURVIVOR_TITLE = 'survives the reload';

export async function api(): Promise<DurableSessionsApi & { testing: NonNullable<DurableSessionsApi['testing']> }> {
  const extension = vscode.extensions.getExtension<DurableSessionsApi>(EXTENSION_ID);
  if (!extension) throw new Error(`${EXTENSION_ID} is not installed`);
  const exports = await extension.activate();
  if (!exports.testing) throw new Error('the test API is off: start the host with DURABLE_SESSIONS_TEST_API=1');
  return exports as DurableSessionsApi & { testing: NonNullable<DurableSessionsApi['testing']> };
}

export function contributedCommands(): string[] {
  const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
  const contributes = (extension.packageJSON as { contributes: { commands: Array<{ command: string }> } }).contributes;
  return contributes.commands.map((c) => c.command);
}
