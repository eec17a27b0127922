// Commands under a supervisor that outlives the host: each test plays a host
// that dies (its supervisor is left running, or is killed too) and a new host
// that learns from the record what really happened.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isDurableError } from '../../src/durable/model/errors';
import type { CommandKey, CommandOptions } from '../../src/agent/commandRunner';
import { ALREADY_CLAIMED_EXIT, claimOf, pendingLaunches, prepareLaunch, runningPidOf } from '../../src/agent/supervisor/commandRecord';
import { SupervisedCommands } from '../../src/agent/supervisedCommands';
import { SUPERVISOR_SCRIPT, processAlive, tempDir, until } from '../helpers';

const posix = process.platform !== 'win32';
const KEY: CommandKey = { executionId: 'exec-1', stepId: 7, key: 'ab'.repeat(32) };

function fixture(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t, 'das-supervisor-');
  const commands = new SupervisedCommands({ root: join(dir, 'commands'), script: SUPERVISOR_SCRIPT, pollMs: 20, stopWaitMs: 2_000 });
  const options = (signal = new AbortController().signal, extra: Partial<CommandOptions> = {}): CommandOptions => ({ cwd: dir, signal, timeoutMs: 10_000, maxOutputBytes: 1024, ...extra });
  const lines = (name: string): string[] => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8').trim().split('\n').filter(Boolean) : []);
  return { dir, commands, options, lines };
}

/** A host that starts the command and dies: its supervisor runs on, nobody waits for it here. */
function orphanedRun(commands: SupervisedCommands, command: string, cwd: string, pending = prepareLaunch(commands.folder(KEY), 30_000), held = false): Promise<number | null> {
  const spec = Buffer.from(JSON.stringify({ command, cwd, timeoutMs: 10_000, maxOutputBytes: 1024 })).toString('base64url');
  const child = spawn(process.execPath, [SUPERVISOR_SCRIPT, commands.folder(KEY), spec, pending], { detached: true, stdio: 'ignore' });
  return new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    // Not waited for, it must not keep the test process alive; a caller that awaits its exit holds it.
    if (!held) child.unref();
  });
}


test('a command runs under its supervisor: exit code and output (capped) come back, forget drops the record', async (t) => {
  const { commands, options } = fixture(t);
  const result = await commands.run(KEY, 'printf "hello\\n"; head -c 3000 /dev/zero | tr "\\0" x; exit 3', options());
  assert.equal(result.exitCode, 3);
  assert.ok(result.output.startsWith('hello\nxxx'));
  assert.equal(Buffer.byteLength(result.output), 1024);
  assert.equal(result.truncatedBytes, 6 + 3000 - 1024);
  assert.ok(existsSync(commands.folder(KEY)));
  await commands.forget(KEY);
  assert.equal(existsSync(commands.folder(KEY)), false);
  assert.deepEqual(await commands.probe(KEY, options()), { state: 'not_started' });
});

test('two runs of one key race: the command runs once and both get its outcome', async (t) => {
  const { commands, options, lines } = fixture(t);
  const other = new SupervisedCommands({ root: join(commands.folder(KEY), '..', '..'), script: SUPERVISOR_SCRIPT, pollMs: 20 });
  const [a, b] = await Promise.all([commands.run(KEY, 'echo ran >> runs.log; echo out', options()), other.run(KEY, 'echo ran >> runs.log; echo out', options())]);
  assert.deepEqual(lines('runs.log'), ['ran']);
  assert.equal(a.output, 'out\n');
  assert.equal(b.output, 'out\n');
  // The losing supervisor may still be starting (a loaded machine): once the record is forgotten it must not claim the key anew.
  await commands.forget(KEY);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(lines('runs.log'), ['ran'], 'never twice, also after the record is gone');
  assert.equal(existsSync(commands.folder(KEY)), false);
});

test('a supervisor that starts after its launch was withdrawn (the record forgotten) or after its deadline runs nothing', async (t) => {
  const { dir, commands, lines } = fixture(t);
  const withdrawn = prepareLaunch(commands.folder(KEY), 30_000);
  await commands.forget(KEY);
  assert.equal(await orphanedRun(commands, 'echo ran >> runs.log', dir, withdrawn, true), ALREADY_CLAIMED_EXIT);
  const late = prepareLaunch(commands.folder(KEY), -1);
  assert.equal(await orphanedRun(commands, 'echo ran >> runs.log', dir, late, true), ALREADY_CLAIMED_EXIT);
  assert.deepEqual(lines('runs.log'), [], 'nothing ran');
  assert.equal(existsSync(commands.folder(KEY)), false, 'nothing was claimed');
  assert.deepEqual(pendingLaunches(commands.folder(KEY)), [], 'the late launch took itself away');
});

test('stopExecution withdraws a launch whose supervisor has not started yet: it never runs', async (t) => {
  const { dir, commands, lines } = fixture(t);
  const pending = prepareLaunch(commands.folder(KEY), 30_000);
  assert.equal(await commands.stopExecution(KEY.executionId), 1);
  assert.equal(await orphanedRun(commands, 'echo ran >> runs.log', dir, pending, true), ALREADY_CLAIMED_EXIT);
  assert.deepEqual(lines('runs.log'), []);
});

test('a probe finds a supervisor that has not claimed yet: it waits for the claim and returns the outcome, never "not started"', async (t) => {
  const { dir, commands, options, lines } = fixture(t);
  const pending = prepareLaunch(commands.folder(KEY), 30_000); // the host died right after preparing the launch
  setTimeout(() => void orphanedRun(commands, 'echo ran >> runs.log; echo late', dir, pending), 400);
  const probe = await commands.probe(KEY, options());
  assert.equal(probe.state, 'finished');
  assert.equal(probe.state === 'finished' && probe.result.output, 'late\n');
  assert.deepEqual(lines('runs.log'), ['ran']);
});

test('a probe past the deadline of a launch withdraws it and says "not started": the late supervisor can no longer run it', async (t) => {
  const { dir, commands, options, lines } = fixture(t);
  const pending = prepareLaunch(commands.folder(KEY), 200);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await commands.probe(KEY, options()), { state: 'not_started' });
  assert.equal(await orphanedRun(commands, 'echo ran >> runs.log', dir, pending, true), ALREADY_CLAIMED_EXIT);
  assert.deepEqual(lines('runs.log'), []);
});

test('after a crash the probe waits for a command that still runs and returns how it ended; running it again adopts that run', async (t) => {
  const { dir, commands, options, lines } = fixture(t);
  void orphanedRun(commands, 'sleep 0.4; echo done >> runs.log; echo finished; exit 0', dir);
  await until(() => runningPidOf(commands.folder(KEY)) !== undefined, 5_000);
  const probe = await commands.probe(KEY, options());
  assert.equal(probe.state, 'finished');
  assert.equal(probe.state === 'finished' && probe.result.output, 'finished\n');
  const again = await commands.run(KEY, 'sleep 0.4; echo done >> runs.log; echo finished; exit 0', options());
  assert.equal(again.output, 'finished\n');
  assert.deepEqual(lines('runs.log'), ['done'], 'never twice');
});

test('a host that dies before its supervisor claims the command: a rerun and the late supervisor still run it once', async (t) => {
  const { dir, commands, options, lines } = fixture(t);
  // The "dead host's" supervisor and the new host's run start at the same time; one claim wins.
  void orphanedRun(commands, 'echo ran >> runs.log', dir);
  await commands.run(KEY, 'echo ran >> runs.log', options());
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(lines('runs.log'), ['ran']);
});

test('a supervisor killed with its host: the outcome is unknown (never guessed), and a decided rerun runs it again', { skip: !posix }, async (t) => {
  const { dir, commands, options, lines } = fixture(t);
  void orphanedRun(commands, 'echo started >> runs.log; sleep 30', dir);
  await until(() => runningPidOf(commands.folder(KEY)) !== undefined, 5_000);
  const claim = claimOf(commands.folder(KEY))!;
  const commandPid = runningPidOf(commands.folder(KEY))!;
  process.kill(claim.supervisorPid, 'SIGKILL');
  t.after(() => {
    try {
      process.kill(-commandPid, 'SIGKILL');
    } catch {
      // already stopped
    }
  });
  await until(() => !processAlive(claim.supervisorPid), 5_000);
  const probe = await commands.probe(KEY, options());
  assert.equal(probe.state, 'unknown');
  assert.match(probe.state === 'unknown' ? probe.detail : '', new RegExp(`the command started \\(pid ${commandPid}\\) but its supervisor stopped before recording how it ended`));
  process.kill(-commandPid, 'SIGKILL');
  const rerun = await commands.run(KEY, 'echo started >> runs.log', options());
  assert.equal(rerun.exitCode, 0);
  assert.deepEqual(lines('runs.log'), ['started', 'started'], 'a person chose to run it again');
});

test('cancelling stops the command with its whole process group and rejects with CancelledError', { skip: !posix }, async (t) => {
  const { commands, options, lines } = fixture(t);
  const controller = new AbortController();
  const running = commands.run(KEY, '(sleep 0.6; echo grandchild >> runs.log) & sleep 30', options(controller.signal));
  await until(() => runningPidOf(commands.folder(KEY)) !== undefined, 5_000);
  controller.abort();
  await assert.rejects(running, (e: unknown) => isDurableError(e, 'cancelled'));
  const probe = await commands.probe(KEY, options());
  assert.equal(probe.state === 'finished' && probe.result.signal, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 900));
  assert.deepEqual(lines('runs.log'), [], 'the background child was stopped too');
});

test('stopExecution stops a command an earlier host left running', { skip: !posix }, async (t) => {
  const { dir, commands, lines } = fixture(t);
  void orphanedRun(commands, '(sleep 0.6; echo late >> runs.log) & sleep 30', dir);
  await until(() => runningPidOf(commands.folder(KEY)) !== undefined, 5_000);
  assert.equal(await commands.stopExecution(KEY.executionId), 1);
  await new Promise((r) => setTimeout(r, 900));
  assert.deepEqual(lines('runs.log'), []);
  assert.equal(await commands.stopExecution(KEY.executionId), 0, 'nothing left to stop');
});

test('the supervisor enforces the timeout; a sweep keeps records of unfinished executions only', async (t) => {
  const { commands, options } = fixture(t);
  const result = await commands.run(KEY, 'sleep 30', options(undefined, { timeoutMs: 300 }));
  assert.equal(result.timedOut, true);
  assert.equal(await commands.sweep(async (id) => id === KEY.executionId), 0);
  assert.ok(existsSync(commands.folder(KEY)));
  assert.equal(await commands.sweep(async () => false), 1);
  assert.equal(existsSync(commands.folder(KEY)), false);
});

test('a supervisor that cannot be started is a clear error', async (t) => {
  const { dir, options } = fixture(t);
  const broken = new SupervisedCommands({ root: join(dir, 'commands'), script: join(dir, 'missing.js'), pollMs: 20 });
  await assert.rejects(broken.run(KEY, 'true', options()), /the command supervisor exited \(code 1\) before starting the command: .*Cannot find module/s);
});

test('a background process that keeps the pipes open does not hold the record back; the command sees the host environment as it was', { skip: !posix }, async (t) => {
  const { commands, options } = fixture(t);
  const saved = process.env.ELECTRON_RUN_AS_NODE;
  delete process.env.ELECTRON_RUN_AS_NODE;
  t.after(() => (saved === undefined ? undefined : (process.env.ELECTRON_RUN_AS_NODE = saved)));
  const started = Date.now();
  const result = await commands.run(KEY, '(sleep 4 &); echo "[${ELECTRON_RUN_AS_NODE:-unset}]"', options());
  assert.equal(result.output, '[unset]\n', 'the supervisor runs as Node, the command does not inherit that');
  assert.equal(result.exitCode, 0);
  assert.ok(Date.now() - started < 3_500, 'recorded soon after the shell exited, not when the background sleep ended');
});
