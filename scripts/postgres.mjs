// A private PostgreSQL server for the test command: its own cluster under
// .cache/postgres/<name> (ignored by git), on a free port on 127.0.0.1, with its
// Unix socket in that folder too, so it neither touches nor depends on a system
// server. Node built-ins only: this runs before `npm ci`.
//
//   node scripts/postgres.mjs start [--name NAME] [--port PORT]
//     prints the URL and runs until Ctrl-C / SIGTERM, then stops the server.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log, root } from './lib.mjs';

const LIB_DIR = '/usr/lib/postgresql';
// Everything we run; on Debian all of it is in /usr/lib/postgresql/<major>/bin.
const BINARIES = ['initdb', 'postgres', 'psql', 'pg_isready'];
export const HOST = '127.0.0.1';
export const USER = 'postgres';
const SETTINGS = { listen_addresses: HOST, max_connections: '200', shared_buffers: '128MB' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  return result;
}

/** The highest major in /usr/lib/postgresql that has the server binaries (a client-only major has psql but no initdb). */
function findBinDir() {
  if (!existsSync(LIB_DIR)) return null;
  const majors = readdirSync(LIB_DIR).filter((d) => /^\d+$/.test(d)).map(Number).sort((a, b) => b - a);
  for (const major of majors) {
    const binDir = join(LIB_DIR, String(major), 'bin');
    if (BINARIES.every((b) => existsSync(join(binDir, b)))) return { major, binDir };
  }
  return null;
}

/** Debian's postgresql package when the server binaries are missing; a warm machine skips apt. Returns { major, binDir }. */
export function ensurePostgresInstalled() {
  const found = findBinDir();
  if (found) return found;
  if (!existsSync('/usr/bin/apt-get')) {
    throw new Error(`PostgreSQL server binaries not found in ${LIB_DIR}/<major>/bin (${BINARIES.join(', ')}); install Debian's postgresql package`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error('missing Debian package postgresql: run  sudo apt-get install -y postgresql  and try again');
  }
  log('installing Debian package postgresql (about a minute)…');
  // We only want private clusters: keep the package from creating (and starting) a system one on port 5432.
  mkdirSync('/etc/postgresql-common/createcluster.d', { recursive: true });
  writeFileSync('/etc/postgresql-common/createcluster.d/durable-sessions.conf', 'create_main_cluster = false\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql'], { env });
  const installed = findBinDir();
  if (!installed) throw new Error(`installed postgresql, but ${LIB_DIR}/<major>/bin still lacks ${BINARIES.join(', ')}`);
  return installed;
}

/** uid/gid of the postgres OS user when we are root (the server refuses to run as root); null otherwise: it runs as us. */
function serverIds() {
  if (process.getuid?.() !== 0) return null;
  const lookup = () => {
    const uid = spawnSync('id', ['-u', USER], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', USER], { encoding: 'utf8' });
    return uid.status === 0 && gid.status === 0 ? { uid: Number(uid.stdout), gid: Number(gid.stdout) } : null;
  };
  let ids = lookup();
  if (!ids) {
    // The Debian package creates it; this covers binaries installed some other way.
    run('useradd', ['--system', '--no-create-home', USER]);
    ids = lookup();
  }
  return ids;
}

/** Environment for PostgreSQL programs: no inherited PG* variables (PGHOST, PGDATABASE, …) can redirect them. */
function pgEnv() {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));
  return { ...env, LC_ALL: 'C', LANG: 'C' };
}

/** A free TCP port on 127.0.0.1, or a check that `wanted` is free. */
function freePort(wanted) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) => reject(error.code === 'EADDRINUSE' ? new Error(`port ${wanted} on ${HOST} is already in use`) : error));
    server.listen(wanted ?? 0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Processes via /proc: a zombie counts as gone.
function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), state, ppid: Number(ppid) };
  } catch {
    return null;
  }
}

const alive = (pid) => (procStat(pid)?.state ?? 'Z') !== 'Z';

/**
 * Live PostgreSQL processes of the cluster in `dataDir`: the postmaster and
 * every backend chdir into it. (Each backend calls setsid(), so the
 * postmaster's process group does not hold them, and their command lines no
 * longer name the data dir.)
 */
export function serverProcesses(dataDir) {
  let real;
  try {
    real = realpathSync(dataDir);
  } catch {
    return [];
  }
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat === null || stat.state === 'Z' || (stat.comm !== 'postgres' && stat.comm !== 'postmaster')) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === real) found.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to inspect
    }
  }
  return found;
}

function kill(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function waitFor(condition, ms) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/**
 * Stop the postmaster `pid` and every process of its cluster. SIGINT is
 * PostgreSQL's fast shutdown (what `pg_ctl stop -m fast` sends): sessions are
 * rolled back, a checkpoint written, the pid file removed. If that hangs for
 * 10 s, SIGQUIT (immediate shutdown), then SIGKILL.
 */
async function shutdown(pid, dataDir, exited) {
  // Never signal a pid after it exited: it may belong to someone else by now.
  if (!exited()) kill(pid, 'SIGINT');
  if (!(await waitFor(exited, 10_000))) {
    kill(pid, 'SIGQUIT');
    if (!(await waitFor(exited, 2_000))) kill(pid, 'SIGKILL');
    await waitFor(exited, 5_000);
  }
  // No backend may outlive its postmaster (after a SIGKILL they would linger a moment).
  if (!(await waitFor(() => serverProcesses(dataDir).length === 0, 5_000))) {
    serverProcesses(dataDir).forEach((p) => kill(p, 'SIGKILL'));
    await waitFor(() => serverProcesses(dataDir).length === 0, 2_000);
  }
}

/**
 * What an earlier run that died without stop() left: a server still running
 * from our data dir (stopped, unless its owner is alive: then a concurrent run
 * or `postgres.mjs start` is using the cluster and we refuse), orphaned
 * backends (killed), a stale postmaster.pid (removed).
 */
async function clearLeftover(dataDir, ownerFile) {
  const pidFile = join(dataDir, 'postmaster.pid');
  const leftovers = serverProcesses(dataDir);
  if (!existsSync(pidFile) && leftovers.length === 0) return;
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : 0;
  if (leftovers.includes(pid)) {
    const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : 0;
    if (procStat(pid)?.ppid === owner) {
      throw new Error(
        `the PostgreSQL cluster ${relative(root, dataDir)} is in use by process ${owner} (another test run or \`node scripts/postgres.mjs start\`): stop it, or pass another name`,
      );
    }
    log(`stopping a PostgreSQL server left running by an earlier run (pid ${pid})…`);
    await shutdown(pid, dataDir, () => !alive(pid));
  } else if (leftovers.length > 0) {
    leftovers.forEach((p) => kill(p, 'SIGKILL'));
    await waitFor(() => serverProcesses(dataDir).length === 0, 2_000);
  }
  rmSync(pidFile, { force: true });
}

/** Make `dir` the server user's (a cluster first made by a non-root run, say), or fail clearly when we can't. */
function ownDir(dir, ids) {
  const { uid } = statSync(dir);
  if (ids) {
    if (uid !== ids.uid) run('chown', ['-R', `${ids.uid}:${ids.gid}`, dir]);
  } else if (uid !== process.getuid()) {
    throw new Error(`${dir} belongs to uid ${uid}, not to you: run as root, or remove ${relative(root, dir)} and try again`);
  }
}

// Data dirs of servers this process started: whatever happens to it, they go with it.
const running = new Set();
let hooksInstalled = false;

function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Best effort, synchronous: SIGKILL every process of the cluster. The next start clears the stale pid file.
  process.on('exit', () => running.forEach((dataDir) => serverProcesses(dataDir).forEach((p) => kill(p, 'SIGKILL'))));
  // Node's default on these signals ends without 'exit' handlers; exit properly
  // unless someone else handles the signal (their process.exit runs ours too).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (process.listenerCount(signal) === 1) process.exit(128 + constants.signals[signal]);
    });
  }
}

function psql(binDir, port, sql) {
  return new Promise((resolve, reject) => {
    const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', HOST, '-p', String(port), '-U', USER, '-d', 'postgres', '-c', sql];
    execFile(join(binDir, 'psql'), args, { env: pgEnv(), timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`psql -c ${JSON.stringify(sql)} failed: ${stderr || error.message}`)) : resolve(stdout.trim()),
    );
  });
}

function accepting(binDir, port) {
  return new Promise((resolve) => {
    execFile(join(binDir, 'pg_isready'), ['-q', '-h', HOST, '-p', String(port), '-U', USER, '-d', 'postgres', '-t', '2'], { env: pgEnv() }, (error) =>
      resolve(!error),
    );
  });
}

/**
 * Start a private PostgreSQL server (creating its cluster on first use) and
 * resolve once `database` exists on it. `created` says whether initdb ran.
 */
export async function startPostgres({ name = 'test', database = 'durable_test', port, settings = {}, startTimeoutMs = 30_000 } = {}) {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`invalid cluster name ${JSON.stringify(name)}`);
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`invalid database name ${JSON.stringify(database)}`);
  const { major, binDir } = ensurePostgresInstalled();
  const ids = serverIds();
  const asServer = ids ? { uid: ids.uid, gid: ids.gid } : {};
  const env = pgEnv();

  const clusterDir = join(root, '.cache', 'postgres', name);
  const dataDir = join(clusterDir, 'data');
  const marker = join(clusterDir, 'initialized');
  const ownerFile = join(clusterDir, 'owner.pid');
  const logFile = join(clusterDir, 'server.log');
  mkdirSync(clusterDir, { recursive: true });
  await clearLeftover(dataDir, ownerFile);

  // Reuse the cluster only if initdb finished (our marker) for this same major.
  const readTrimmed = (f) => (existsSync(f) ? readFileSync(f, 'utf8').trim() : null);
  const created = !(readTrimmed(marker) === String(major) && readTrimmed(join(dataDir, 'PG_VERSION')) === String(major));
  if (created) {
    log(`creating a PostgreSQL ${major} cluster in ${relative(root, dataDir)} (once)…`);
    rmSync(marker, { force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  ownDir(dataDir, ids);
  // The server user must be able to reach the folder (not so under a 0700 /root, say).
  if (ids && spawnSync('test', ['-w', dataDir], asServer).status !== 0) {
    throw new Error(`user ${USER} cannot write ${dataDir}: a parent folder is not searchable by others (chmod o+x it) or move the checkout`);
  }
  if (created) {
    const args = ['-D', dataDir, `--username=${USER}`, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-instructions'];
    const result = spawnSync(join(binDir, 'initdb'), args, { ...asServer, cwd: clusterDir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`initdb failed (${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
    writeFileSync(marker, `${major}\n`);
  }

  // Socket paths are limited to 107 bytes; fall back to a temporary folder for a deep checkout.
  let socketDir = join(clusterDir, 'run');
  let tempSocketDir = false;
  if (join(socketDir, '.s.PGSQL.65535.lock').length > 100) {
    socketDir = mkdtempSync(join(tmpdir(), 'das-pg-'));
    tempSocketDir = true;
  }
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  ownDir(socketDir, ids);

  installHooks();
  for (let attempt = 1; ; attempt++) {
    const chosen = await freePort(port);
    const all = { ...SETTINGS, unix_socket_directories: socketDir, ...settings };
    const args = ['-D', dataDir, '-p', String(chosen), ...Object.entries(all).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    // The server writes its log straight to the file, so it never blocks on a pipe we stopped reading.
    const fd = openSync(logFile, 'w');
    // Node switches uid/gid itself: no runuser/su/sudo, and the child is the postmaster, not a wrapper.
    // Detached, so a Ctrl-C in the terminal reaches us, not the server, and we stop it in order.
    const child = spawn(join(binDir, 'postgres'), args, { ...asServer, cwd: clusterDir, env, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    // Not ref'd: a test command that forgets stop() still exits (and the exit hook kills the server).
    child.unref();
    let exitState = null;
    const exited = new Promise((resolve) => {
      child.once('error', (error) => resolve((exitState = { error: error.message })));
      child.once('exit', (code, signal) => resolve((exitState = { code, signal })));
    });
    const pid = child.pid;
    if (pid !== undefined) {
      running.add(dataDir);
      writeFileSync(ownerFile, `${process.pid}\n`);
    }
    const serverLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
    let stopping = null;
    const stop = () =>
      (stopping ??= (async () => {
        if (pid !== undefined) await shutdown(pid, dataDir, () => exitState !== null);
        running.delete(dataDir);
        if (tempSocketDir) rmSync(socketDir, { recursive: true, force: true });
      })());

    const deadline = Date.now() + startTimeoutMs;
    let ready = false;
    while (!ready) {
      if (exitState) break;
      if (await accepting(binDir, chosen)) ready = true;
      else if (Date.now() > deadline) {
        await stop();
        throw new Error(`PostgreSQL did not accept connections on ${HOST}:${chosen} within ${startTimeoutMs / 1000} s; its log:\n${serverLog().slice(-3000)}`);
      } else await sleep(100);
    }
    if (!ready) {
      await stop();
      // Someone took the free port between our check and the server's bind: pick another.
      if (port === undefined && attempt < 3 && /could not bind|Address already in use/.test(serverLog())) continue;
      throw new Error(`PostgreSQL exited during start (${JSON.stringify(exitState)}); its log:\n${serverLog().slice(-3000)}`);
    }

    try {
      if ((await psql(binDir, chosen, `select 1 from pg_database where datname = '${database}'`)) !== '1') {
        await psql(binDir, chosen, `create database "${database}"`);
      }
    } catch (error) {
      await stop();
      throw error;
    }
    return {
      url: `postgres://${USER}@${HOST}:${chosen}/${database}`,
      host: HOST,
      port: chosen,
      user: USER,
      database,
      dataDir,
      socketDir,
      pid,
      major,
      binDir,
      created,
      exited,
      log: serverLog,
      stop,
    };
  }
}

async function main(argv) {
  const usage = 'usage: node scripts/postgres.mjs start [--name NAME] [--port PORT]';
  const [command, ...rest] = argv;
  const options = {};
  let valid = command === 'start' && rest.length % 2 === 0;
  for (let i = 0; valid && i < rest.length; i += 2) {
    if (rest[i] === '--name') options.name = rest[i + 1];
    else if (rest[i] === '--port' && Number.isInteger(Number(rest[i + 1]))) options.port = Number(rest[i + 1]);
    else valid = false;
  }
  if (!valid) {
    console.error(usage);
    process.exit(2);
  }
  const started = Date.now();
  const server = await startPostgres(options);
  log(
    `PostgreSQL ${server.major} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (${server.created ? 'new' : 'reused'} cluster ${relative(root, server.dataDir)}); Ctrl-C stops it`,
  );
  console.log(server.url);
  // The server child is unref'd; this keeps us running until a signal.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    clearInterval(keepAlive);
    log('PostgreSQL stopped');
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, stop);
  const ended = await server.exited;
  if (!stopping) {
    console.error(`PostgreSQL exited unexpectedly (${JSON.stringify(ended)}); its log:\n${server.log().slice(-3000)}`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(`[durable-sessions] ${error.message}`);
    process.exit(1);
  });
}
