// The two packages in a real VS Code, each in a profile of its own:
//  1. the universal VSIX told to use only a bundled SQLite it does not carry
//     (durableSessions.sqlite.binding = bundled): no binding loads, the
//     extension host stays up, and the tree says why the journal is unavailable;
//  2. the platform VSIX, same setting: the journal opens through its bundled
//     copy, as the log says, and a check of the journal passes.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { root } from './lib.mjs';
import { extensionLog, installExtension, processesMatching, profile, setMachineSettings, startServer } from './vscode.mjs';
import { palette, sidebarRow } from './vscodeUi.mjs';

export async function runPackageSuite({ runDir, packages, browser, sampleWorkspace, check }) {
  const p = profile(join(runDir, 'packages', 'profile'));
  const workspace = sampleWorkspace(join(runDir, 'packages', 'workspace'));
  setMachineSettings(p, { 'durableSessions.sqlite.binding': 'bundled' });
  const open = async () => {
    const server = await startServer(p, { folder: workspace });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`, { timeout: 60_000 });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    await page.locator('.activitybar [aria-label^="Durable Sessions"]').first().click({ timeout: 30_000 });
    return { server, page };
  };
  let current;
  try {
    installExtension(p, packages.universal);
    await check('packages: the universal VSIX with no SQLite it may load says so in the tree, and the window stays usable', async (page) => {
      current = await open();
      page(current.page);
      const row = sidebarRow(current.page, 'Journal unavailable');
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      // The row's description is the message in full: what was tried, and the setting that narrowed the choice.
      const text = `${await row.innerText()} ${(await row.getAttribute('aria-label')) ?? ''}`;
      if (!/no usable SQLite binding for durable\.db/.test(text) || !text.includes('durableSessions.sqlite.binding is "bundled"')) throw new Error(`the tree's row reads ${JSON.stringify(text)}`);
      // The extension host is alive: another command of ours still runs and answers.
      await palette(current.page, 'Show Log');
      // Pressed right after the tree's first row, while the window is still settling: the command must still open the log.
      await current.page.locator('.part.panel', { hasText: 'no SQLite binding could be loaded' }).first().waitFor({ timeout: 20_000 }).catch(async (error) => {
        const panel = current.page.locator('.part.panel');
        const shown = (await panel.isVisible()) ? `the panel shows ${JSON.stringify((await panel.innerText()).slice(0, 300))}` : 'the panel stayed closed';
        throw new Error(`Show Log did not show our log: ${shown} (${error.message.split('\n')[0]})`);
      });
      if (!/bundled at .*: not found/.test(extensionLog(p))) throw new Error('the log does not list the attempt that failed');
    });
    await current?.server.stop();
    current = undefined;
    installExtension(p, packages.platform);
    await check('packages: the platform VSIX opens durable.db through its bundled SQLite, as its log says', async (page) => {
      current = await open();
      page(current.page);
      await palette(current.page, 'Check Journal Integrity');
      await current.page.locator('.notifications-toasts', { hasText: 'journal is intact' }).first().waitFor({ state: 'visible', timeout: 30_000 });
      const version = JSON.parse(readFileSync(join(root, 'node_modules', '@vscode', 'sqlite3', 'package.json'), 'utf8')).version;
      const line = extensionLog(p).split('\n').reverse().find((l) => l.includes('SQLite binding:'));
      const installed = join(p.extensions, 'durable-sessions.durable-agent-sessions-' + JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
      if (!line?.includes(`SQLite binding: the bundled copy of @vscode/sqlite3 ${version} (${installed}/node_modules/@vscode/sqlite3), SQLite 3.`)) {
        throw new Error(`the log says ${JSON.stringify(line)}`);
      }
      if (await sidebarRow(current.page, 'Journal unavailable').isVisible()) throw new Error('the tree still says the journal is unavailable');
    });
  } finally {
    await current?.server.stop();
  }
  const leftovers = processesMatching(p.dir);
  if (leftovers.length > 0) throw new Error(`processes of the package runs left behind:\n${leftovers.join('\n')}`);
}
