/**
 * The command supervisor: a small Node process, started detached by the
 * extension host for each shell command, that outlives a crash of that host.
 * It claims the command's folder, runs the shell in a process group of its own,
 * captures output up to the cap, enforces the timeout, and records how the
 * command ended, so a restarted host can learn what really happened.
 *
 *   node supervisor.js <folder> <spec as base64url JSON> <launch folder>
 *
 * Bundled on its own (dist/commandSupervisor.js); no vscode, no journal access.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, openSync, rmSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  ALREADY_CLAIMED_EXIT,
  CLAIM_FILE,
  EXIT_FILE,
  launchOf,
  OUTPUT_FILE,
  RUNNING_FILE,
  STOP_FILE,
  withdrawLaunch,
  writeJsonAtomically,
  type CommandClaim,
  type CommandExit,
  type CommandSpec,
} from './commandRecord';

const windows = process.platform === 'win32';
/** How long output may still arrive after the shell exited (see the 'exit' handler). */
const EXIT_DRAIN_MS = 1_000;

/**
 * Make the folder appear with its claim in one rename of the launch folder the
 * host prepared. False, and nothing runs, when someone claimed the key first,
 * when the host withdrew the launch (it gave up, or the record was forgotten),
 * or when this supervisor started after the launch's deadline.
 */
function claim(dir: string, spec: CommandSpec, pending: string): boolean {
  const launch = launchOf(pending);
  if (!launch || Date.now() > launch.claimBy) {
    withdrawLaunch(pending);
    return false;
  }
  const record: CommandClaim = { supervisorPid: process.pid, claimedAt: Date.now(), timeoutMs: spec.timeoutMs };
  try {
    writeFileSync(join(pending, CLAIM_FILE), JSON.stringify(record), { mode: 0o600 });
    renameSync(pending, dir);
    return true;
  } catch {
    // Withdrawn under us (the write or the rename found no folder), or the key was claimed first.
    rmSync(pending, { recursive: true, force: true });
    return false;
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    if (windows) spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true });
    else process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function run(dir: string, spec: CommandSpec): void {
  const startedAt = Date.now();
  const out = openSync(join(dir, OUTPUT_FILE), 'w', 0o600);
  let kept = 0;
  let truncatedBytes = 0;
  let timedOut = false;
  let finished = false;
  const finish = (result: Omit<CommandExit, 'startedAt' | 'finishedAt' | 'truncatedBytes' | 'stopped'>): void => {
    if (finished) return;
    finished = true;
    try {
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    const exit: CommandExit = { ...result, truncatedBytes, stopped: existsSync(join(dir, STOP_FILE)), startedAt, finishedAt: Date.now() };
    writeJsonAtomically(join(dir, EXIT_FILE), exit);
    process.exit(0);
  };
  const env = { ...process.env };
  if (spec.electronRunAsNode === null || spec.electronRunAsNode === undefined) delete env.ELECTRON_RUN_AS_NODE;
  else env.ELECTRON_RUN_AS_NODE = spec.electronRunAsNode;
  const child = spawn(spec.command, { cwd: spec.cwd, shell: true, detached: !windows, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true, env });
  if (child.pid !== undefined) writeJsonAtomically(join(dir, RUNNING_FILE), { pid: child.pid, startedAt });
  const collect = (data: Buffer): void => {
    const room = Math.max(0, spec.maxOutputBytes - kept);
    if (room > 0) writeSync(out, data, 0, Math.min(room, data.length));
    kept += Math.min(room, data.length);
    truncatedBytes += Math.max(0, data.length - room);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, spec.timeoutMs);
  child.on('error', (error) => {
    clearTimeout(timer);
    finish({ exitCode: null, signal: null, timedOut: false, spawnError: error.message });
  });
  child.on('close', (exitCode, signal) => {
    clearTimeout(timer);
    finish({ exitCode, signal, timedOut });
  });
  // A background process the command left behind can hold its pipes open for good: once the shell
  // has exited, the output gets a moment to drain and the record is written anyway.
  child.on('exit', (exitCode, signal) => {
    setTimeout(() => {
      clearTimeout(timer);
      finish({ exitCode, signal, timedOut });
    }, EXIT_DRAIN_MS).unref();
  });
}

function main(): void {
  const [dir, encoded, pending] = process.argv.slice(2);
  if (!dir || !encoded || !pending) {
    process.stderr.write('usage: supervisor <folder> <spec> <launch folder>\n');
    process.exit(2);
  }
  const spec = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as CommandSpec;
  // Detached from the host: its terminal hang-up or interrupt must not end the record.
  process.on('SIGHUP', () => undefined);
  process.on('SIGINT', () => undefined);
  if (!claim(dir, spec, pending)) process.exit(ALREADY_CLAIMED_EXIT);
  run(dir, spec);
}

try {
  main();
} catch (error) {
  process.stderr.write(`command supervisor failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
