// Playwright helpers for driving the VS Code workbench, shared by the UI
// suites (vscode-test.mjs, vscode-machines.mjs): the command palette, our
// webviews, the sidebar tree, and starting the scripted demo session.
import { execFileSync } from 'node:child_process';

/** Our webview's inner frame (the last one opened is the active panel). */
export const webview = (page) => page.frameLocator('iframe.webview').last().frameLocator('#active-frame');

/** Run a palette command by its title. */
export async function palette(page, title, query = `>Durable Sessions: ${title}`) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(query);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
}

export const sidebarRow = (page, text) => page.locator('.part.sidebar .monaco-list-row', { hasText: text }).first();

/** Start a scripted session from a new panel; resolves once turn 1's tools are journaled (turn 2 is a 10 s model call). */
export async function startScriptedSession(page, text) {
  await palette(page, 'New Agent Session');
  const task = webview(page).locator('textarea');
  await task.waitFor({ state: 'visible', timeout: 30_000 });
  await task.fill(text);
  await webview(page).getByRole('button', { name: 'Start session' }).click();
  await webview(page).locator('.msg.tool.state-done', { hasText: 'README.md' }).first().waitFor({ timeout: 30_000 });
}

/** The extension host processes (`--type=extensionHost`) below a code-server. */
export function extensionHostPids(serverPid) {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).split('\n').map((l) => l.trim().split(/\s+/));
  const below = new Set([serverPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of rows) {
      if (!below.has(Number(ppid)) || below.has(Number(pid))) continue;
      below.add(Number(pid));
      grew = true;
    }
  }
  return rows.filter((r) => below.has(Number(r[0])) && r.includes('--type=extensionHost')).map((r) => Number(r[0]));
}

/**
 * Open a session's panel from the palette (Open Session → its quick-pick row).
 * A toast or a panel that takes focus can close the quick pick under the click:
 * then it is opened again, as a person would (at most three times).
 */
export async function openSessionPanel(page, title) {
  for (let attempt = 1; ; attempt++) {
    await palette(page, 'Open Session');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ timeout: 20_000 });
      await row.click({ timeout: 10_000 });
      return;
    } catch (error) {
      if (attempt >= 3) throw error;
      await page.keyboard.press('Escape');
    }
  }
}
