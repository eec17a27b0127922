// Two machines, one journal: two code-server instances with their own profiles,
// workspace storage and checkouts of the same repository, sharing one
// PostgreSQL database. A session starts on A; A dies (every process SIGKILLed);
// B shows it Interrupted once A's lease expires, offers it (resumeOnStartup =
// ask), resumes it, and the person approves its command there; A comes back and
// shows it completed. The edit and the command happen once.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { log } from './lib.mjs';
import { CHROMIUM_ARGS, installExtension, processesMatching, profile, startServer } from './vscode.mjs';
import { openSessionPanel, sidebarRow, startScriptedSession, webview } from './vscodeUi.mjs';

const REMOTE = 'git@github.com:acme/durable-demo.git';

/** A checkout of the sample repository on one "machine", set to the shared journal. */
function checkout(sampleWorkspace, dir, url) {
  const ws = sampleWorkspace(dir);
  mkdirSync(join(ws, '.git'), { recursive: true });
  writeFileSync(join(ws, '.git', 'config'), `[core]\n\tbare = false\n[remote "origin"]\n\turl = ${REMOTE}\n`);
  const settingsFile = join(ws, '.vscode', 'settings.json');
  const settings = JSON.parse(readFileSync(settingsFile, 'utf8'));
  writeFileSync(settingsFile, JSON.stringify({ ...settings, 'durableSessions.store': 'postgres', 'durableSessions.postgres.connectionString': url, 'durableSessions.resumeOnStartup': 'ask' }, null, 2));
  return ws;
}

async function withAdmin(serverUrl, fn) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A new database on the test server for one run; `drop()` removes it (and logs, never throws). */
export async function freshDatabase(serverUrl, prefix) {
  const name = `${prefix}_${Date.now().toString(36)}`;
  await withAdmin(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch((e) => log(`dropping ${name}: ${e.message}`)),
  };
}

/**
 * Run the suite; `check(name, fn)` records each step as a UI result (the
 * caller's reporter). `postgresUrl` is the test server (its database is only
 * used to create and drop our own).
 */
export async function runTwoMachineSuite({ runDir, vsix, browserPath, postgresUrl, sampleWorkspace, check }) {
  const database = await freshDatabase(postgresUrl, 'durable_machines');
  const shared = database.url;
  const env = { DURABLE_SESSIONS_MASTER_KEY: randomBytes(32).toString('base64') };
  const machines = ['a', 'b'].map((name) => {
    const p = profile(join(runDir, `machine-${name}`, 'profile'));
    installExtension(p, vsix);
    return { name, p, ws: checkout(sampleWorkspace, join(runDir, `machine-${name}`, 'workspace'), shared) };
  });
  const [A, B] = machines;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_ARGS, timeout: 60_000 });
  const servers = [];
  const open = async (m) => {
    const server = await startServer(m.p, { folder: m.ws, env });
    servers.push(server);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${server.url}/?folder=${encodeURIComponent(m.ws)}`, { timeout: 60_000 });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    await page.locator('.activitybar [aria-label^="Durable Sessions"]').first().click({ timeout: 30_000 });
    return { server, page };
  };
  const file = (m, name) => (existsSync(join(m.ws, name)) ? readFileSync(join(m.ws, name), 'utf8') : undefined);
  const title = 'Greet from machine A, finish anywhere.';
  const figures = {};
  try {
    let a;
    let crashedAt = 0;
    await check('two machines: a session starts on A against the shared PostgreSQL journal', async (page) => {
      a = await open(A);
      page(a.page);
      await startScriptedSession(a.page, title);
      // Turn 2 is a 10 s model call: machine A dies in the middle of it.
      crashedAt = Date.now();
      await a.server.crash();
      await a.page.close();
    });
    let b;
    await check('two machines: B shows it Interrupted once A\'s lease expires and offers it (ask); Resume continues it on B', async (page) => {
      b = await open(B);
      page(b.page);
      const offer = b.page.locator('.notifications-toasts .notification-toast', { hasText: 'was interrupted' }).first();
      await offer.waitFor({ state: 'visible', timeout: 90_000 });
      figures.crashToOffer = (Date.now() - crashedAt) / 1000;
      await sidebarRow(b.page, 'Interrupted').waitFor({ state: 'visible', timeout: 10_000 });
      await sidebarRow(b.page, title.slice(0, 20)).waitFor({ state: 'visible', timeout: 10_000 });
      await offer.getByRole('button', { name: 'Resume' }).click();
      // The person opens the session on B and approves its command there.
      await openSessionPanel(b.page, title);
      const approve = webview(b.page).getByRole('button', { name: 'Approve' });
      await approve.waitFor({ state: 'visible', timeout: 60_000 });
      await webview(b.page).locator('.msg.approval', { hasText: 'sleep 3; echo checked >> checks.log' }).first().waitFor({ timeout: 5_000 });
      await approve.click();
      await webview(b.page).locator('.msg.status', { hasText: 'Finished after 4 turns' }).first().waitFor({ timeout: 60_000 });
      figures.crashToFinished = (Date.now() - crashedAt) / 1000;
      if (file(B, 'hello.txt') !== 'Hello from a durable session.\n') throw new Error(`hello.txt on B is ${JSON.stringify(file(B, 'hello.txt'))}`);
      if (file(B, 'checks.log') !== 'checked\n') throw new Error(`the command ran ${JSON.stringify(file(B, 'checks.log'))} on B`);
      if (file(A, 'hello.txt') !== undefined || file(A, 'checks.log') !== undefined) throw new Error('A wrote an effect after it died');
    });
    await check('two machines: A comes back and shows the session completed, with B\'s transcript', async (page) => {
      a = await open(A);
      page(a.page);
      await sidebarRow(a.page, 'Completed').click({ timeout: 30_000 });
      await sidebarRow(a.page, title.slice(0, 20)).waitFor({ timeout: 10_000 });
      await openSessionPanel(a.page, title);
      await webview(a.page).locator('.msg.status', { hasText: 'Finished after 4 turns' }).first().waitFor({ timeout: 30_000 });
      await webview(a.page).locator('.msg.tool', { hasText: 'exit code 0' }).first().waitFor({ timeout: 10_000 });
      if (await a.page.locator('.notifications-toasts .notification-toast', { hasText: 'was interrupted' }).first().isVisible()) throw new Error('A offered a finished session again');
      if (file(A, 'hello.txt') !== undefined) throw new Error('A replayed the edit into its own checkout');
    });
  } finally {
    await browser.close().catch(() => undefined);
    for (const s of servers) await s.stop();
    await database.drop();
  }
  const leftovers = machines.flatMap((m) => processesMatching(m.p.dir));
  if (leftovers.length > 0) throw new Error(`processes of the two machines left behind:\n${leftovers.join('\n')}`);
  if (figures.crashToOffer) log(`two machines: A died → B offered the session after ${figures.crashToOffer.toFixed(1)} s; finished on B ${figures.crashToFinished?.toFixed(1) ?? '?'} s after the crash`);
  return figures;
}
