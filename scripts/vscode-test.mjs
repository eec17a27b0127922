#!/usr/bin/env node
// Integration and UI suites in a real VS Code (code-server) driven by headless
// Chromium: installs the tools once, packages both VSIX (ours and the test
// harness), starts an isolated code-server, runs the integration tests inside
// the extension host (phase 1), drives the workbench, reloads the window (phase
// 2 runs in the new host), and always stops every process it started.
// Prints `integration: N passed, N failed` and `ui: N passed, N failed`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { log, root } from './lib.mjs';
import { assertBrowser, CHROMIUM_ARGS, codeServerDir, ensureTools, extensionLog, installExtension, processesMatching, profile, setUserSettings, startServer, waitForFile } from './vscode.mjs';
import { currentTarget, packageVsix } from './package.mjs';
import { runPackageSuite } from './vscode-packages.mjs';
import { startPostgres } from './postgres.mjs';
import { freshDatabase, runTwoMachineSuite } from './vscode-machines.mjs';
import { extensionHostPids, openSessionPanel, palette as runPalette, startScriptedSession as startScripted, webview as webviewOf } from './vscodeUi.mjs';

const PHASE_TIMEOUT_MS = 180_000;
const SUITE_TIMEOUT_MS = 15 * 60_000;

function packageHarness(outDir) {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--harness'], { cwd: root, stdio: 'inherit' });
  const vsix = join(outDir, 'durable-sessions-test-harness.vsix');
  execFileSync(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--out', vsix], {
    cwd: join(root, 'test', 'harness-extension'),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return vsix;
}

/** Both of our packages: the universal one (installed by the main suites) and this platform's. */
async function ourPackages() {
  const universal = await packageVsix();
  const platform = await packageVsix({ target: currentTarget(), build: false });
  log(`packaged ${basename(universal.file)} (${(universal.bytes / 1024).toFixed(0)} KiB, ${universal.entries.size} files) and ${basename(platform.file)} (${(platform.bytes / 1024).toFixed(0)} KiB, ${platform.entries.size} files)`);
  return { universal: universal.file, platform: platform.file };
}

/** The sample workspace the tests (and the start command) open. */
export function sampleWorkspace(dir) {
  cpSync(join(root, 'test', 'fixtures', 'sample-workspace'), dir, { recursive: true });
  return dir;
}

function findFiles(dir, predicate) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).filter((f) => predicate(basename(f))).map((f) => join(dir, f));
}

function extensionHostLog(p) {
  const logs = findFiles(p.userData, (n) => /exthost.*\.log$/i.test(n) || n === 'remoteexthost.log');
  return logs.map((f) => `--- ${f}\n${readFileSync(f, 'utf8').slice(-4000)}`).join('\n');
}

/**
 * A UI check: runs `fn`, records passed/failed with the error, and takes a
 * screenshot of the page `fn` names (through the function it is given), else
 * of `page`.
 */
function checker(ui, shots, page) {
  return async (name, fn) => {
    const t0 = Date.now();
    let shotPage = page;
    try {
      await fn((other) => (shotPage = other));
      ui.push({ title: name, state: 'passed', durationMs: Date.now() - t0 });
    } catch (error) {
      ui.push({ title: name, state: 'failed', durationMs: Date.now() - t0, error: String(error?.stack ?? error) });
    }
    await shotPage.screenshot({ path: join(shots, `${String(ui.length).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`) }).catch(() => undefined);
  };
}

function readResults(file) {
  if (!existsSync(file)) return [{ title: 'results file missing', state: 'failed', error: file }];
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** `postgresUrl`: the test command's PostgreSQL; without one (run alone), a private server is started for the two-machine suite. */
export async function runVsCodeSuites({ postgresUrl } = {}) {
  const started = Date.now();
  const toolSeconds = ensureTools();
  const browserPath = assertBrowser();
  const runDir = join(root, 'test-results', 'vscode');
  rmSync(runDir, { recursive: true, force: true });
  const shots = join(runDir, 'screenshots');
  mkdirSync(shots, { recursive: true });
  const p = profile(join(runDir, 'profile'));
  // Prices are the user's (no workspace may change what money reads): the scripted demo model is priced here.
  setUserSettings(p, { 'durableSessions.agent.prices': { 'scripted: demo-agent.json': { input: 2, output: 10 } } });
  const workspace = sampleWorkspace(join(runDir, 'workspace'));

  log('packaging the extension and the test harness…');
  const packages = await ourPackages();
  const vsixes = [packages.universal, packageHarness(runDir)];
  for (const vsix of vsixes) installExtension(p, vsix);

  const harnessDist = join(root, 'test', 'harness-extension', 'dist', 'tests');
  const installedHarness = readdirSync(p.extensions).find((d) => d.startsWith('durable-sessions.durable-sessions-test-harness'));
  const testsDir = join(p.extensions, installedHarness, 'dist', 'tests');
  if (!existsSync(testsDir)) throw new Error(`integration tests missing in the installed harness (${harnessDist})`);
  const phase = (n, files) => ({ files: files.map((f) => join(testsDir, f)), results: join(runDir, `phase${n}.json`), done: join(runDir, `phase${n}.done`) });
  const config = {
    mochaPath: join(root, 'node_modules', 'mocha'),
    stateFile: join(runDir, 'harness-state'),
    timeoutMs: 30_000,
    phases: [phase(1, ['extension.itest.js', 'explorer.itest.js', 'languageModel.itest.js', 'undo.itest.js', 'workflowApi.itest.js']), phase(2, ['afterReload.itest.js']), phase(3, ['sharedStore.itest.js', 'dispose.itest.js'])],
  };
  const configFile = join(runDir, 'harness.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));

  const ui = [];
  let server;
  let browser;
  // Run alone, the suites start a PostgreSQL of their own (the shared-journal checks need one).
  const ownPostgres = postgresUrl ? undefined : await startPostgres({ name: 'vscode' });
  postgresUrl ??= ownPostgres.url;
  // A database of this run's own: the shared journal's key check is per database, and this profile's key is new.
  const itest = await freshDatabase(postgresUrl, 'durable_itest');
  const watchdog = setTimeout(() => {
    log(`the VS Code suites exceeded ${SUITE_TIMEOUT_MS / 60_000} minutes: stopping`);
    void server?.stop().finally(() => process.exit(1));
  }, SUITE_TIMEOUT_MS);
  try {
    server = await startServer(p, { folder: workspace, env: { DAS_TEST_CONFIG: configFile, DURABLE_SESSIONS_TEST_API: '1', DURABLE_TEST_PG_URL: itest.url } });
    log(`code-server ${server.url} (pid ${server.pid})`);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_ARGS, timeout: 60_000 });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const check = checker(ui, shots, page);

    await check('workbench loads', async () => {
      await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`, { timeout: 60_000 });
      await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    });
    await check('integration phase 1 ran in the extension host', () => waitForFile(config.phases[0].done, PHASE_TIMEOUT_MS, 'integration phase 1'));
    await check('@durable in the chat view (asked by phase 1 through the chat command) shows the durable session\'s transcript as its response', async () => {
      // The chat view (secondary side bar) shows the request, then our participant's response.
      const chat = page.locator('.part.auxiliarybar');
      await chat.getByText('Count the files [lm chat view]').first().waitFor({ timeout: 30_000 });
      await chat.getByText('The workspace has a README and a src folder.').first().waitFor({ timeout: 30_000 });
      await chat.getByText(/Finished after 2 turns/).first().waitFor({ timeout: 5_000 });
    });
    const webview = () => webviewOf(page);
    const palette = (title, query) => runPalette(page, title, query);
    // VS Code's own Reload Window runs the workbench's shutdown (which persists the editor layout and
    // webview state) before the page reloads; a bare page.reload() can race that save.
    const reloadWindow = async () => {
      await page.keyboard.press('Escape');
      const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 60_000 });
      // Awaited below; if the palette fails first, its later timeout must not crash the whole run unhandled.
      navigated.catch(() => undefined);
      await palette('Developer: Reload Window', '>Developer: Reload Window');
      await navigated;
      await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    };
    await check('our view container and the executions view appear', async () => {
      await page.locator('.activitybar [aria-label^="Durable Sessions"]').first().click({ timeout: 20_000 });
      // A container with one view shows "Durable Sessions: Executions" as its title.
      await page.locator('.part.sidebar .title-label', { hasText: 'Durable Sessions' }).first().waitFor({ state: 'visible', timeout: 20_000 });
      await page.locator('.part.sidebar .monaco-list-row', { hasText: 'survives the reload' }).first().waitFor({ state: 'visible', timeout: 20_000 });
    });
    await check('a command runs from the command palette', async () => {
      await palette('Check Journal Integrity');
      await page.locator('.notifications-toasts', { hasText: 'journal is intact' }).first().waitFor({ state: 'visible', timeout: 20_000 });
    });
    await check("the universal VSIX (no native module inside) opens durable.db through code-server's own SQLite, as its log says", async () => {
      const installed = readdirSync(p.extensions).find((d) => d.startsWith('durable-sessions.durable-agent-sessions-'));
      if (!installed || existsSync(join(p.extensions, installed, 'node_modules'))) throw new Error(`the installed package ${installed} is not the universal one`);
      const own = join(codeServerDir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules', '@vscode', 'sqlite3');
      const version = JSON.parse(readFileSync(join(own, 'package.json'), 'utf8')).version;
      const line = extensionLog(p).split('\n').find((l) => l.includes('SQLite binding:'));
      const expected = `SQLite binding: VS Code's own @vscode/sqlite3 ${version} (${own}), SQLite 3.`;
      if (!line?.includes(expected)) throw new Error(`the log says ${JSON.stringify(line)}, not ${JSON.stringify(expected)}`);
      log(line.trim());
    });
    const sidebarRow = (text) => page.locator('.part.sidebar .monaco-list-row', { hasText: text }).first();
    await check('the tree shows the seeded journal: Needs attention, Interrupted, and a status-bar count', async () => {
      await sidebarRow('Needs attention').waitFor({ state: 'visible', timeout: 20_000 });
      await sidebarRow('Interrupted step 0: deploy').waitFor({ state: 'visible', timeout: 10_000 });
      await sidebarRow('Interrupted').waitFor({ state: 'visible', timeout: 10_000 });
      await sidebarRow('seeded: deploy to staging').waitFor({ state: 'visible', timeout: 10_000 });
      await page.locator('.statusbar-item', { hasText: /\d/ }).filter({ has: page.locator('.codicon-warning') }).first().waitFor({ state: 'visible', timeout: 10_000 });
    });
    await check('Inspect (from the Needs attention node) opens the journal explorer with the timeline', async () => {
      await sidebarRow('Interrupted step 0: deploy').click();
      await webview().locator('h1', { hasText: 'seeded: deploy to staging' }).waitFor({ timeout: 30_000 });
      await webview().locator('.row.status-open', { hasText: 'deploy' }).first().waitFor({ timeout: 10_000 });
      await webview().locator('.row', { hasText: 'execution started' }).first().waitFor({ timeout: 10_000 });
    });
    await check('an interrupted step is resolved from the webview and its audit record appears', async () => {
      await webview().locator('.attention').getByRole('button', { name: 'Skip' }).click();
      await webview().locator('.notice', { hasText: 'skip recorded in the journal' }).waitFor({ timeout: 20_000 });
      await webview().getByRole('tab', { name: /Audit records \(1\)/ }).click({ timeout: 20_000 });
      const record = webview().locator('table tbody tr').first();
      await record.waitFor({ timeout: 10_000 });
      const text = await record.innerText();
      if (!/decided skip/.test(text) || !/user:/.test(text) || !/deploy/.test(text)) throw new Error(`audit row reads ${JSON.stringify(text)}`);
    });
    /** The filtered timeline shows its rows' names (not placeholders), in step order. */
    const filteredRowsPainted = async (w) => {
      await w.locator('.list .row:not(.loading) .c-name', { hasText: /^chunk 1239$/ }).waitFor({ timeout: 10_000 });
      const names = await w.locator('.list .row .c-name').allInnerTexts();
      const expected = ['chunk 123', ...Array.from({ length: 10 }, (_, i) => `chunk 123${i}`)];
      if (names.join(', ') !== expected.join(', ')) throw new Error(`the filtered rows read ${JSON.stringify(names)}`);
      if ((await w.locator('.list .row.loading').count()) > 0) throw new Error('placeholder rows left in the filtered list');
    };
    await check('a 3,000-step timeline is virtualized, keyboard-navigable, and reveals a payload on request', async () => {
      // From the tree: the Completed group starts collapsed; a non-session execution's row opens the explorer.
      await sidebarRow('Completed').click();
      await sidebarRow('seeded: nightly batch').click();
      const w = webview();
      await w.locator('h1', { hasText: 'seeded: nightly batch' }).waitFor({ timeout: 30_000 });
      await w.locator('.row', { hasText: 'chunk 0' }).first().waitFor({ timeout: 10_000 });
      const rendered = await w.locator('.list .row').count();
      if (rendered > 150) throw new Error(`${rendered} rows in the DOM for a 3,000-row timeline: not virtualized`);
      await w.locator('.list').focus();
      await page.keyboard.press('End');
      await w.locator('.row.selected', { hasText: 'chunk 2999' }).waitFor({ timeout: 10_000 });
      await w.locator('.details h2', { hasText: 'chunk 2999' }).waitFor({ timeout: 10_000 });
      await w.getByRole('button', { name: 'Reveal…' }).first().click();
      await w.getByRole('button', { name: 'Reveal payload' }).click();
      await w.locator('pre.payload', { hasText: '2999' }).waitFor({ timeout: 10_000 });
      await w.locator('.list').focus();
      await page.keyboard.press('Home');
      await w.locator('.row.selected', { hasText: 'chunk 0' }).waitFor({ timeout: 10_000 });
      await w.locator('input[type=search]').fill('chunk 123');
      await w.locator('.count', { hasText: /^11 of 3,000 rows/ }).waitFor({ timeout: 10_000 });
      await filteredRowsPainted(w);
    });
    const startScriptedSession = (text) => startScripted(page, text);
    await check('a session starts from the session panel with the scripted model', async () => {
      // The reload comes in the middle of turn 2's model call.
      await startScriptedSession('Add a greeting file and run the check.');
    });
    await check('a window reload re-activates the extension with the database intact', async () => {
      await reloadWindow();
      await page.locator('.part.sidebar .monaco-list-row', { hasText: 'survives the reload' }).first().waitFor({ state: 'visible', timeout: 30_000 });
      await waitForFile(config.phases[1].done, PHASE_TIMEOUT_MS, 'integration phase 2');
    });
    await check('after the reload the interrupted session is offered, resumed, approved in the panel and finished', async () => {
      // Also phase 1's vscode.lm session may be listed ("2 agent sessions were interrupted").
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: /was interrupted|were interrupted/ }).first();
      await toast.waitFor({ state: 'visible', timeout: 30_000 });
      await toast.getByRole('button', { name: 'Resume' }).click();
      // The panel came back by itself (webview serializer) and follows the resumed session.
      const approve = webview().getByRole('button', { name: 'Approve' });
      await approve.waitFor({ state: 'visible', timeout: 60_000 });
      await webview().locator('.msg.approval', { hasText: 'sleep 3; echo checked >> checks.log' }).first().waitFor({ timeout: 5_000 });
      // Until the person approves, the command has not started, and its row says so.
      const waiting = await webview().locator('.msg.tool', { hasText: '$ sleep 3; echo checked' }).first().locator('.state').innerText();
      if (waiting !== 'awaiting approval') throw new Error(`before its approval the command's row says ${JSON.stringify(waiting)}`);
      await approve.click();
      await webview().locator('.msg.status', { hasText: 'Finished after 4 turns' }).first().waitFor({ timeout: 30_000 });
      // Money, counted once: the four replies at 2 and 10 per million tokens (1,190 + 1,700 + 1,620 + 1,660 millionths),
      // whatever the reload did; the call it cut off was made again, and that is said apart with what it cost.
      const cost = await webview().locator('.meta .cost').innerText();
      if (cost !== '$0.0062') throw new Error(`the panel says the session cost ${JSON.stringify(cost)}`);
      const note = await webview().locator('.cost-note').innerText();
      if (note !== '1 model call made again after an interruption: the provider may have charged about $0.0017 more for their first tries') throw new Error(`the cost note reads ${JSON.stringify(note)}`);
      await webview().locator('.msg.status', { hasText: 'This model call was interrupted and made again (see its audit record): the provider may have charged its first try too, about $0.0017.' }).first().waitFor({ timeout: 5_000 });
      await webview().locator('.msg.status', { hasText: 'Finished after 4 turns, 2609 tokens, $0.0062.' }).first().waitFor({ timeout: 5_000 });
      // Per turn, on its reply: turn 2 (the call the reload cut off) once, not twice.
      const turnCosts = await webview().locator('.msg.assistant .turn-cost').allInnerTexts();
      if (turnCosts.join(' | ') !== 'turn 1: $0.0012 | turn 2: $0.0017 | turn 3: $0.0016 | turn 4: $0.0017') throw new Error(`the turns' costs read ${JSON.stringify(turnCosts)}`);
      const hello = readFileSync(join(workspace, 'hello.txt'), 'utf8');
      if (hello !== 'Hello from a durable session.\n') throw new Error(`hello.txt is ${JSON.stringify(hello)}`);
      const checks = readFileSync(join(workspace, 'checks.log'), 'utf8');
      if (checks !== 'checked\n') throw new Error(`the command ran ${checks.split('\n').length - 1} times: ${JSON.stringify(checks)}`);
    });
    await check('a reload keeps the views: opening the execution again from the tree shows its restored explorer tab (no second tab), with its filter', async () => {
      // The explorer tab came back in the background; the tree opens the same tab, not a new one.
      if (!(await sidebarRow('seeded: nightly batch').isVisible().catch(() => false))) await sidebarRow('Completed').click();
      await sidebarRow('seeded: nightly batch').click({ timeout: 20_000 });
      await page.locator('.tabs-container .tab.active', { hasText: 'Journal: seeded: nightly batch' }).first().waitFor({ timeout: 20_000 });
      const tabs = await page.locator('.tabs-container .tab', { hasText: 'Journal: seeded: nightly batch' }).count();
      if (tabs !== 1) throw new Error(`${tabs} tabs show the nightly batch journal`);
      const w = webview();
      await w.locator('h1', { hasText: 'seeded: nightly batch' }).waitFor({ timeout: 30_000 });
      const filter = await w.locator('input[type=search]').inputValue();
      if (filter !== 'chunk 123') throw new Error(`the filter came back as ${JSON.stringify(filter)}`);
      await w.locator('.count', { hasText: /^11 of 3,000 rows/ }).waitFor({ timeout: 10_000 });
      await filteredRowsPainted(w);
      await sidebarRow('Completed').waitFor({ state: 'visible', timeout: 10_000 });
    });
    /** SIGKILL the extension host (what an out-of-memory kill does) and wait until code-server started a new one. */
    const killExtensionHost = async () => {
      // The extension host is a `bootstrap-fork --type=extensionHost` process below this test's code-server.
      const hostPids = () => extensionHostPids(server.pid);
      const [victim, ...others] = hostPids();
      if (victim === undefined || others.length > 0) throw new Error(`expected one extension host below code-server ${server.pid}, found ${others.length + (victim ? 1 : 0)}`);
      process.kill(victim, 'SIGKILL');
      const deadline = Date.now() + 30_000;
      while (!hostPids().some((pid) => pid !== victim)) {
        if (Date.now() > deadline) throw new Error('no new extension host within 30 s of the crash');
        // After 3 crashes in 5 minutes VS Code stops restarting the host by itself and asks: do what a person does.
        const restart = page.locator('.notifications-toasts .notification-toast', { hasText: /terminated unexpectedly/ }).getByRole('button', { name: /Restart/ });
        if (await restart.first().isVisible().catch(() => false)) await restart.first().click().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
      await sidebarRow('Check Journal Integrity').or(sidebarRow('Completed')).or(page.locator('.part.sidebar .welcome-view-content')).first().waitFor({ timeout: 30_000 }).catch(() => undefined);
    };
    await check('disposal on deactivate leaves no open handle (phase 3, after another reload)', async () => {
      await reloadWindow();
      await waitForFile(config.phases[2].done, PHASE_TIMEOUT_MS, 'integration phase 3');
      // Phase 3 copied the journal to PostgreSQL: the report names both ends as they are, not the store in use.
      const copied = extensionLog(p).split('\n').find((l) => l.includes('[info] copied '));
      if (!copied || !/from durable\.db \(\/.*durable\.db\) to PostgreSQL \(postgres:\/\/.* · project itest-/.test(copied)) throw new Error(`the copy was reported as ${JSON.stringify(copied)}`);
    });
    /** The number the tree shows next to its Interrupted group (0 when the group is absent). */
    const interruptedCount = async () => {
      const row = page.locator('.part.sidebar .monaco-list-row', { hasText: /^\s*Interrupted\s*\d+\s*$/ }).first();
      if (!(await row.isVisible().catch(() => false))) return 0;
      return Number(((await row.innerText()).match(/(\d+)\s*$/) ?? [])[1] ?? 0);
    };
    const checksLog = () => (existsSync(join(workspace, 'checks.log')) ? readFileSync(join(workspace, 'checks.log'), 'utf8') : '');
    const offer = () => page.locator('.notifications-toasts .notification-toast', { hasText: 'was interrupted' }).first();
    /** The session panel's own badge and buttons: the page the person looks at. */
    const panelBadge = (text) => webview().locator('.badge', { hasText: text }).first();
    const setResumeOnStartup = (value) => {
      const file = join(workspace, '.vscode', 'settings.json');
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), 'durableSessions.resumeOnStartup': value }, null, 2));
    };
    /** Approve the command, kill the host while it runs (3 s), and check the truth afterwards. */
    const crashDuringCommand = async () => {
      const approve = webview().getByRole('button', { name: 'Approve' });
      await approve.waitFor({ state: 'visible', timeout: 60_000 });
      await webview().locator('.msg.approval', { hasText: 'sleep 3; echo checked' }).first().waitFor({ timeout: 5_000 });
      await approve.click();
      await webview().locator('.msg.tool.state-running', { hasText: 'sleep 3' }).first().waitFor({ timeout: 10_000 });
      // The row shows the call; the kill must land once the shell really runs (its intent is journaled by then).
      const deadline = Date.now() + 10_000;
      const shellRuns = () => execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).includes('sleep 3; echo checked');
      while (!shellRuns()) {
        if (Date.now() > deadline) throw new Error('the approved command did not start within 10 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      await killExtensionHost();
    };
    await check('a crash of the extension host mid-model-call (ask): nothing resumes by itself, the tree and the open panel say Interrupted, the offer comes when the dead lease expires', async () => {
      // Phase 3 deactivated the extension in this host: a first crash brings up a fresh host.
      await killExtensionHost();
      await sidebarRow('Completed').waitFor({ state: 'visible', timeout: 30_000 });
      const interruptedBefore = await interruptedCount();
      await startScriptedSession('Add a greeting file and run the check, again.');
      // Turn 2 is a 10 s model call: kill the extension host in the middle of it.
      const crashedAt = Date.now();
      await killExtensionHost();
      // The panel left by the dead host was replaced by a live one, in place: one tab, working buttons.
      await panelBadge('interrupted').waitFor({ timeout: 60_000 });
      await webview().getByRole('button', { name: 'Resume' }).waitFor({ timeout: 5_000 });
      const tabs = await page.locator('.tabs-container .tab', { hasText: 'run the check,' }).count();
      if (tabs !== 1) throw new Error(`${tabs} tabs show the crashed session`);
      // resumeOnStartup is "ask": the new host must not resume it, it must ask (once the dead run's lease expires).
      await offer().waitFor({ state: 'visible', timeout: 60_000 });
      log(`crash to offer (ask): ${((Date.now() - crashedAt) / 1000).toFixed(1)} s`);
      if (checksLog() !== 'checked\n') throw new Error(`before any consent the command log is ${JSON.stringify(checksLog())}`);
      // The tree moved it to Interrupted by itself when the lease expired (no Refresh clicked).
      const deadline = Date.now() + 5_000;
      while ((await interruptedCount()) !== interruptedBefore + 1) {
        if (Date.now() > deadline) throw new Error(`the tree's Interrupted group counts ${await interruptedCount()}, expected ${interruptedBefore + 1}`);
        await page.waitForTimeout(200);
      }
    });
    await check('Resume from the offer continues in the same live panel; a crash while the approved command runs: it finishes under its supervisor and the transcript says so; it ran once', async () => {
      await offer().getByRole('button', { name: 'Resume' }).click();
      await crashDuringCommand();
      await offer().waitFor({ state: 'visible', timeout: 60_000 });
      await offer().getByRole('button', { name: 'Resume' }).click();
      await webview().locator('.msg.tool', { hasText: 'it finished while the session was interrupted' }).first().waitFor({ timeout: 30_000 });
      await webview().locator('.msg.status', { hasText: 'Finished after 4 turns' }).first().waitFor({ timeout: 30_000 });
      if (checksLog() !== 'checked\nchecked\n') throw new Error(`the second session's command ran ${checksLog().split('\n').length - 2} times: ${JSON.stringify(checksLog())}`);
    });
    await check('resumeOnStartup "never": after a crash nothing is offered and nothing resumes; the panel offers Resume, which the person uses', async () => {
      setResumeOnStartup('never');
      await startScriptedSession('Never resume this one by itself.');
      const crashedAt = Date.now();
      await killExtensionHost();
      await panelBadge('interrupted').waitFor({ timeout: 60_000 });
      // Well past the dead lease's expiry (the ask offer came within ~15 s): still no offer, no progress.
      await page.waitForTimeout(Math.max(0, 25_000 - (Date.now() - crashedAt)));
      if (await offer().isVisible()) throw new Error('an offer appeared although resumeOnStartup is "never"');
      if (await webview().getByRole('button', { name: 'Approve' }).isVisible()) throw new Error('the session moved on by itself');
      await sidebarRow('Never resume this one').waitFor({ state: 'visible', timeout: 5_000 });
      await webview().getByRole('button', { name: 'Resume' }).click();
      const approve = webview().getByRole('button', { name: 'Approve' });
      await approve.waitFor({ state: 'visible', timeout: 60_000 });
      await approve.click();
      await webview().locator('.msg.status', { hasText: 'Finished after 4 turns' }).first().waitFor({ timeout: 30_000 });
    });
    await check('resumeOnStartup "automatic": after a crash the session resumes by itself once the dead lease expires', async () => {
      setResumeOnStartup('automatic');
      await startScriptedSession('Resume this one by itself.');
      const crashedAt = Date.now();
      await killExtensionHost();
      const approve = webview().getByRole('button', { name: 'Approve' });
      await approve.waitFor({ state: 'visible', timeout: 90_000 });
      log(`crash to automatic resume: ${((Date.now() - crashedAt) / 1000).toFixed(1)} s`);
      if (await offer().isVisible()) throw new Error('"automatic" asked anyway');
      await approve.click();
      await webview().locator('.msg.status', { hasText: 'Finished after 4 turns' }).first().waitFor({ timeout: 30_000 });
      if (checksLog().split('\n').filter(Boolean).length !== 4) throw new Error(`the command log is ${JSON.stringify(checksLog())}`);
      setResumeOnStartup('ask');
    });
    await check("Undo Edits… in the session panel restores the session's file from the journal (no git), the transcript says so, and Redo puts it back", async () => {
      await openSessionPanel(page, 'Add a greeting file and run the check.');
      await webview().getByRole('button', { name: 'Undo Edits…' }).click({ timeout: 20_000 });
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'All 1 edit of the session' }).first().click({ timeout: 10_000 });
      await page.locator('.monaco-dialog-box').getByRole('button', { name: 'Undo', exact: true }).click({ timeout: 10_000 });
      await webview().locator('.msg.status', { hasText: "Undid 1 edit of 'Add a greeting file and run the check.' from the journal, without git: 1 file restored (hello.txt)." }).first().waitFor({ timeout: 20_000 });
      if (existsSync(join(workspace, 'hello.txt'))) throw new Error('hello.txt is still there after the undo');
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Undid 1 edit' }).first();
      await toast.getByRole('button', { name: 'Redo' }).click({ timeout: 10_000 });
      await page.locator('.monaco-dialog-box').getByRole('button', { name: 'Redo', exact: true }).click({ timeout: 10_000 });
      await webview().locator('.msg.status', { hasText: "Redid 1 edit of 'Add a greeting file and run the check.' from the journal" }).first().waitFor({ timeout: 20_000 });
      if (readFileSync(join(workspace, 'hello.txt'), 'utf8') !== 'Hello from a durable session.\n') throw new Error('hello.txt did not come back with the session\'s text');
    });
    await check("Fork from here on turn 1 of the same session starts a fork whose first turn comes from the journal, after naming the file that changed since", async () => {
      await webview().locator('.msg.assistant', { hasText: 'Let me look at the workspace first.' }).first().getByRole('button', { name: 'Fork from here' }).click({ timeout: 10_000 });
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill('Only list the files, change nothing.');
      await page.keyboard.press('Enter');
      // hello.txt did not exist after turn 1: the person is told before the fork starts.
      const dialog = page.locator('.monaco-dialog-box', { hasText: 'hello.txt is no longer what it was after turn 1.' });
      await dialog.getByRole('button', { name: 'Fork Anyway' }).click({ timeout: 10_000 });
      await webview().locator('h1', { hasText: "Fork of 'Add a greeting file and run the check.' at turn 1" }).waitFor({ timeout: 20_000 });
      await webview().locator('.msg.status', { hasText: "Forked from 'Add a greeting file and run the check.' at turn 1: its first turn is served from its journal (no model call, no tool run again, no tokens)." }).first().waitFor({ timeout: 10_000 });
      await sidebarRow("Fork of 'Add a greeting file").waitFor({ timeout: 20_000 });
    });
    await check('the walkthrough lists its five steps, renders its pages and pictures, and its first button chooses the model', async () => {
      // The walkthrough shows its pages beside the steps only in a wide editor: a wide window, as on a desktop.
      await page.setViewportSize({ width: 2400, height: 1100 });
      await palette('Open Walkthrough', '>Welcome: Open Walkthrough');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Get Started with Durable Agent Sessions' }).first().click({ timeout: 10_000 });
      const steps = page.locator('.gettingStartedContainer .getting-started-step');
      await steps.first().waitFor({ timeout: 20_000 });
      const titles = (await page.locator('.gettingStartedContainer .getting-started-step .step-title').allInnerTexts()).map((t) => t.trim());
      const expected = ['Choose a model', 'Start a session', 'Watch the journal', 'Reload, or crash', 'Where the data lives, and how it is sealed'];
      if (titles.join(' | ') !== expected.join(' | ')) throw new Error(`the walkthrough's steps read ${JSON.stringify(titles)}`);
      // A markdown page renders in the walkthrough's webview.
      await page.locator('.getting-started-step', { hasText: 'Where the data lives' }).first().click();
      await page.frameLocator('.gettingStartedContainer iframe.webview').frameLocator('#active-frame').getByText('One file per workspace').first().waitFor({ timeout: 20_000 });
      // A picture step shows the screenshot from the package (loaded, not a broken image).
      await page.locator('.getting-started-step', { hasText: 'Watch the journal' }).first().click();
      const picture = page.locator('.gettingStartedContainer .getting-started-media img').first();
      await picture.waitFor({ state: 'visible', timeout: 20_000 });
      await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await picture.elementHandle(), { timeout: 20_000 });
      // The first step's button runs Choose Agent Model…: its quick pick offers the three kinds of model.
      await page.locator('.getting-started-step', { hasText: 'Choose a model' }).first().click();
      await page.locator('.gettingStartedContainer .button-link, .gettingStartedContainer a.monaco-button', { hasText: 'Choose Agent Model' }).first().click({ timeout: 10_000 });
      for (const kind of ['Language models in VS Code', 'OpenAI-compatible endpoint', 'Scripted tour']) {
        await page.locator('.quick-input-list .monaco-list-row', { hasText: kind }).first().waitFor({ timeout: 10_000 });
      }
      await page.keyboard.press('Escape');
    });
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  }
  // Two machines, one PostgreSQL journal: after the single-machine suite, so the two servers have the cores.
  try {
    const machineBrowser = await (await import('playwright-core')).chromium.launch({ executablePath: browserPath, args: CHROMIUM_ARGS, timeout: 60_000 });
    const page = await machineBrowser.newPage();
    const check = checker(ui, shots, page);
    try {
      await runTwoMachineSuite({ runDir, vsix: vsixes[0], browserPath, postgresUrl, sampleWorkspace, check });
    } finally {
      await machineBrowser.close().catch(() => undefined);
    }
  } catch (error) {
    ui.push({ title: 'two machines: the suite ran', state: 'failed', durationMs: 0, error: String(error?.stack ?? error) });
  }
  // The packages on their own: without any SQLite module to load, then the platform package's fallback.
  try {
    const packageBrowser = await (await import('playwright-core')).chromium.launch({ executablePath: browserPath, args: CHROMIUM_ARGS, timeout: 60_000 });
    const page = await packageBrowser.newPage();
    const check = checker(ui, shots, page);
    try {
      await runPackageSuite({ runDir, packages, browser: packageBrowser, sampleWorkspace, check });
    } finally {
      await packageBrowser.close().catch(() => undefined);
    }
  } catch (error) {
    ui.push({ title: 'packages: the suite ran', state: 'failed', durationMs: 0, error: String(error?.stack ?? error) });
  } finally {
    clearTimeout(watchdog);
    await itest.drop();
    await ownPostgres?.stop().catch(() => undefined);
  }
  const leftovers = processesMatching(p.dir);
  ui.push(
    leftovers.length === 0
      ? { title: 'no process left behind', state: 'passed', durationMs: 0 }
      : { title: 'no process left behind', state: 'failed', durationMs: 0, error: leftovers.join('\n') },
  );

  const integration = config.phases.flatMap((ph, i) => (i === 0 || existsSync(ph.done) ? readResults(ph.results) : []));
  const failures = [...integration, ...ui].filter((r) => r.state === 'failed');
  for (const f of failures) log(`FAILED ${f.title}\n${f.error ?? ''}`);
  if (failures.length > 0) console.log(`extension host log:\n${extensionHostLog(p)}`);
  const count = (rs) => {
    const failed = rs.filter((r) => r.state === 'failed');
    const names = failed.map((r) => `${r.title} — ${String(r.error ?? '').split('\n')[0].slice(0, 300)}`);
    return { passed: rs.filter((r) => r.state === 'passed').length, failed: failed.length, names };
  };
  log(`screenshots in ${shots}; tools ${toolSeconds.toFixed(0)} s; VS Code suites ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { integration: count(integration), ui: count(ui) };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  runVsCodeSuites()
    .then((r) => {
      console.log(`integration: ${r.integration.passed} passed, ${r.integration.failed} failed`);
      console.log(`ui: ${r.ui.passed} passed, ${r.ui.failed} failed`);
      process.exit(r.integration.failed + r.ui.failed > 0 ? 1 : 0);
    })
    .catch((error) => {
      console.error(`VS Code suites could not run: ${error.message}`);
      process.exit(1);
    });
}
