#!/usr/bin/env node
// Takes the README's and the walkthrough's pictures (media/screenshots/*.png)
// from a real session in code-server, with the universal package installed:
//   session.png        a session waiting for approval, the tree's Needs attention
//   explorer.png       the journal explorer on the finished session, a step open
//   after-a-crash.png  the extension host SIGKILLed mid-model-call: the session
//                      Interrupted in the tree, and the offer to resume it
// Run after a visible change, look at the pictures, commit them:
//   node scripts/screenshots.mjs
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { log, root } from './lib.mjs';
import { packageVsix } from './package.mjs';
import { assertBrowser, CHROMIUM_ARGS, ensureTools, installExtension, profile, setUserSettings, startServer } from './vscode.mjs';
import { extensionHostPids, palette, sidebarRow, startScriptedSession, webview } from './vscodeUi.mjs';
import { sampleWorkspace } from './vscode-test.mjs';

const out = join(root, 'media', 'screenshots');
const runDir = join(root, 'test-results', 'screenshots');
rmSync(runDir, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
ensureTools();
const { file: vsix } = await packageVsix();
const p = profile(join(runDir, 'profile'));
setUserSettings(p, { 'workbench.secondarySideBar.defaultVisibility': 'hidden', 'chat.commandCenter.enabled': false, 'workbench.colorTheme': 'Default Dark Modern' });
installExtension(p, vsix);
const workspace = sampleWorkspace(join(runDir, 'workspace'));
const server = await startServer(p, { folder: workspace });
const browser = await chromium.launch({ executablePath: assertBrowser(), args: CHROMIUM_ARGS });
const clearToasts = () => palette(page, 'Notifications: Clear All Notifications', '>Notifications: Clear All Notifications');
const shoot = async (name) => {
  await page.mouse.move(0, 0);
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(out, name) });
  log(`took media/screenshots/${name}`);
};
let page;
try {
  page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`, { timeout: 60_000 });
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
  await page.locator('.activitybar [aria-label^="Durable Sessions"]').first().click({ timeout: 30_000 });

  await startScriptedSession(page, 'Add a greeting file and run the check.');
  const approve = webview(page).getByRole('button', { name: 'Approve' });
  await approve.waitFor({ state: 'visible', timeout: 60_000 });
  await sidebarRow(page, 'Needs attention').waitFor({ timeout: 20_000 });
  await clearToasts();
  await shoot('session.png');

  await approve.click();
  await webview(page).locator('.msg.status', { hasText: 'Finished after 4 turns' }).first().waitFor({ timeout: 60_000 });
  await palette(page, 'Inspect Execution');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Add a greeting file' }).first().click({ timeout: 20_000 });
  await webview(page).locator('h1', { hasText: 'Add a greeting file' }).waitFor({ timeout: 30_000 });
  await webview(page).locator('.list .row', { hasText: 'write_file' }).first().click({ timeout: 10_000 });
  await clearToasts();
  await shoot('explorer.png');

  await startScriptedSession(page, 'Greet again, and rerun the check.');
  // Turn 2 thinks for 10 s: the extension host dies in the middle of it.
  const [host] = extensionHostPids(server.pid);
  process.kill(host, 'SIGKILL');
  const offer = page.locator('.notifications-toasts .notification-toast', { hasText: 'was interrupted' }).first();
  await offer.waitFor({ state: 'visible', timeout: 90_000 });
  await sidebarRow(page, 'Interrupted').waitFor({ timeout: 20_000 });
  // The session's own tab, replaced by a live panel after the crash, in front.
  await page.locator('.tabs-container .tab', { hasText: 'Greet again' }).first().click({ timeout: 10_000 });
  await webview(page).locator('.badge', { hasText: 'Interrupted' }).first().waitFor({ timeout: 20_000 });
  await shoot('after-a-crash.png');
} finally {
  await browser.close().catch(() => undefined);
  await server.stop();
}
