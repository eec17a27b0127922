/**
 * Our webview tabs as the tab API sees them, for the two cases where a tab
 * exists that no live panel of this extension host stands behind:
 *
 * - after a reload, VS Code restores background tabs but hands them to our
 *   serializer only when they are first shown: opening that session again
 *   must take the restored tab's place instead of adding a second one;
 * - after a crash of the extension host, the tabs the dead host served stay
 *   on screen with dead buttons: they are replaced by live panels.
 *
 * A restored tab is revealed (VS Code then hands it to our serializer with the
 * page's saved state); a dead one is taken over: closed, and the live panel
 * opened in its group.
 */
import * as vscode from 'vscode';

/** Tabs of a webview type (VS Code prefixes the type with an internal marker, so the end is compared). */
export function webviewTabs(viewType: string): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((group) =>
    group.tabs.filter((tab) => tab.input instanceof vscode.TabInputWebview && (tab.input.viewType === viewType || tab.input.viewType.endsWith(`-${viewType}`))),
  );
}

/** Close a tab we are about to replace; returns the column its live successor should open in. */
export async function takeOverTab(tab: vscode.Tab): Promise<vscode.ViewColumn> {
  const column = tab.group.viewColumn;
  await vscode.window.tabGroups.close(tab, true);
  return column;
}

/** Our tabs that no live panel of this host stands behind (matched by label, one live panel per tab). */
export function unbackedTabs(viewType: string, live: Iterable<{ readonly panel: vscode.WebviewPanel }>): vscode.Tab[] {
  const titles = new Map<string, number>();
  for (const p of live) titles.set(p.panel.title, (titles.get(p.panel.title) ?? 0) + 1);
  return webviewTabs(viewType).filter((tab) => {
    const n = titles.get(tab.label) ?? 0;
    if (n === 0) return true;
    titles.set(tab.label, n - 1);
    return false;
  });
}

/**
 * After the previous extension host crashed: replace each dead tab by a live panel of what it
 * showed (`byLabel` maps the labels of what this window had open to their keys), in the same
 * group. `open` receives undefined for a tab whose label matches nothing it had open.
 */
export async function replaceDeadTabs<K>(
  viewType: string,
  live: Iterable<{ readonly panel: vscode.WebviewPanel }>,
  byLabel: ReadonlyMap<string, K>,
  isOpen: (key: K) => boolean,
  open: (key: K | undefined, column: vscode.ViewColumn, preserveFocus: boolean) => void,
): Promise<number> {
  let replaced = 0;
  for (const tab of unbackedTabs(viewType, live)) {
    const key = byLabel.get(tab.label);
    if (key !== undefined && isOpen(key)) continue;
    const column = await takeOverTab(tab);
    open(key, column, !tab.isActive);
    replaced++;
  }
  return replaced;
}

const FOCUS_GROUP = ['First', 'Second', 'Third', 'Fourth', 'Fifth', 'Sixth', 'Seventh', 'Eighth'].map((n) => `workbench.action.focus${n}EditorGroup`);

/**
 * Show a tab VS Code restored but has not handed to us yet: focus its group, open the editor at
 * its index (VS Code then deserializes it). Resolves true once `restored()` says our serializer
 * has it, false if that did not happen in time (the caller takes the tab over instead).
 */
export async function revealRestoredTab(tab: vscode.Tab, restored: () => boolean, timeoutMs = 3_000): Promise<boolean> {
  const group = tab.group;
  const index = group.tabs.indexOf(tab);
  if (index < 0) return false;
  const focus = FOCUS_GROUP[group.viewColumn - 1];
  if (!group.isActive && focus) await vscode.commands.executeCommand(focus);
  await vscode.commands.executeCommand('workbench.action.openEditorAtIndex', index);
  const deadline = Date.now() + timeoutMs;
  while (!restored()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
