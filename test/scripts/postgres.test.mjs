// The private PostgreSQL server of the test command: it answers on its URL, runs
// as postgres (never root), stops completely, is reused warm, and survives an
// earlier run that died without stopping it. Uses its own cluster, so it never
// disturbs the `test` cluster a real test run may be using.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { root } from '../../scripts/lib.mjs';
import { serverProcesses, startPostgres } from '../../scripts/postgres.mjs';

const NAME = 'script-test';
const script = join(root, 'scripts', 'postgres.mjs');

function psql(server, sql) {
  return execFileSync(join(server.binDir, 'psql'), ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', server.url, '-c', sql], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  }).trim();
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Processes whose command line names `needle` (the postmaster names its data dir). */
function processesNaming(needle) {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(needle) && !l.includes('ps -eo'));
}

async function assertGone(server) {
  // After a SIGKILL the kernel may take a moment to end them.
  for (let i = 0; i < 40 && serverProcesses(server.dataDir).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(serverProcesses(server.dataDir), []);
  assert.deepEqual(processesNaming(server.dataDir), []);
  if (server.port) assert.equal(await portIsFree(server.port), true, `port ${server.port} is still taken`);
}

test('a cold start answers on its URL as user postgres, stops completely, and a warm start reuses the cluster', { timeout: 20_000 }, async (t) => {
  // A cold start every time: wipe this test's cluster (and anything an aborted run left running in it).
  const dir = join(root, '.cache', 'postgres', NAME);
  for (const pid of serverProcesses(join(dir, 'data'))) process.kill(pid, 'SIGKILL');
  await assertGone({ dataDir: join(dir, 'data') });
  rmSync(dir, { recursive: true, force: true });
  const cold = await startPostgres({ name: NAME });
  t.after(() => cold.stop());
  assert.equal(cold.created, true);
  assert.match(cold.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/durable_test$/);
  assert.equal(psql(cold, 'select 1'), '1');
  assert.equal(psql(cold, 'select current_database()'), 'durable_test');
  psql(cold, 'create table kept (v int); insert into kept values (42)');

  const owner = execFileSync('ps', ['-o', 'user=', '-p', String(cold.pid)], { encoding: 'utf8' }).trim();
  assert.equal(owner, process.getuid() === 0 ? 'postgres' : userInfo().username);
  assert.ok(serverProcesses(cold.dataDir).length > 1, 'the postmaster and its backends are found');

  await cold.stop();
  await cold.stop(); // idempotent
  assert.ok(!existsSync(`/proc/${cold.pid}`), 'stop() resolves after the server exited');
  await assertGone(cold);

  const warm = await startPostgres({ name: NAME });
  t.after(() => warm.stop());
  assert.equal(warm.created, false, 'initdb did not run again');
  assert.equal(warm.dataDir, cold.dataDir);
  assert.equal(psql(warm, 'select v from kept'), '42');
  await warm.stop();
  await assertGone(warm);
});

/** Start the server in a separate Node process; resolve with that process, its exit, and the server it printed. */
function startInChild(code) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise((r) => child.once('exit', r));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c) => {
      out += c;
      const m = out.match(/^(\{.*\})$/m);
      if (m) resolve({ child, exited, info: JSON.parse(m[1]) });
    });
    exited.then((code) => reject(new Error(`child exited (${code}) before starting the server: ${out}`)));
  });
}

const startCode = (after) => `
  import { startPostgres } from ${JSON.stringify(script)};
  const s = await startPostgres({ name: ${JSON.stringify(NAME)} });
  console.log(JSON.stringify({ pid: s.pid, port: s.port, dataDir: s.dataDir }));
  ${after}
`;

test('a run killed without stop() leaves a server that the next start clears; a crashing run leaves nothing', { timeout: 20_000 }, async (t) => {
  // SIGKILL: no exit hook can run, so the server is orphaned.
  const { child, exited, info } = await startInChild(startCode('setInterval(() => {}, 1000);'));
  t.after(() => serverProcesses(info.dataDir).forEach((pid) => process.kill(pid, 'SIGKILL')));
  child.kill('SIGKILL');
  await exited;
  assert.ok(serverProcesses(info.dataDir).includes(info.pid), 'the orphaned server is still running');

  const next = await startPostgres({ name: NAME });
  t.after(() => next.stop());
  assert.equal(next.created, false);
  assert.ok(!serverProcesses(info.dataDir).includes(info.pid), 'the orphaned server was stopped');
  assert.equal(psql(next, 'select 1'), '1');
  await next.stop();
  await assertGone(next);

  // An uncaught exception: the exit hook kills the server with the process.
  const crashing = await startInChild(startCode('setTimeout(() => { throw new Error("test command crashed"); }, 100);'));
  assert.notEqual(await crashing.exited, 0);
  await assertGone(crashing.info);
});
