/**
 * Shell commands under a supervisor that outlives the extension host.
 *
 * Each command runs in a detached supervisor process (supervisor/supervisorMain.ts)
 * that records its start, output and exit code in a folder named after the
 * step's idempotency key, next to the journal. So after a crash the restarted
 * host can tell what really happened instead of guessing: finished (the
 * recorded outcome is taken), still running (it waits, or stops it when the
 * session is cancelled), never started (it runs it), or unknown (the
 * supervisor itself died: a person decides).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledError } from '../durable';
import type { CommandKey, CommandOptions, CommandProbe, CommandResult, CommandRunner } from './commandRunner';
import {
  OUTPUT_FILE,
  STOP_FILE,
  claimOf,
  exitOf,
  isProcessAlive,
  launchOf,
  pendingLaunches,
  prepareLaunch,
  runningPidOf,
  withdrawLaunch,
  type CommandExit,
  type CommandSpec,
} from './supervisor/commandRecord';

export { isProcessAlive };

export interface SupervisedCommandsOptions {
  /** The folder that holds one record folder per command (next to the journal). */
  readonly root: string;
  /** The bundled supervisor script. */
  readonly script: string;
  /** The Node binary to run it with (the extension host's own, in Node mode). */
  readonly nodePath?: string;
  readonly pollMs?: number;
  /** How long a stop waits for the command's group to end before it gives up waiting. */
  readonly stopWaitMs?: number;
  readonly log?: (message: string) => void;
}

/** The supervisor died before recording how the command ended. */
export class CommandOutcomeLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandOutcomeLostError';
  }
}

/** A supervisor that is alive past its command's timeout by this much is not trusted to be ours (pid reuse). */
const OVERDUE_GRACE_MS = 60_000;
/** How long a freshly started supervisor may take to claim its folder. */
const CLAIM_TIMEOUT_MS = 30_000;
const decoder = new TextDecoder('utf-8', { fatal: false });

function pathSegment(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80) || '_';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    if (process.platform === 'win32') spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on('error', () => undefined);
    else process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/** A supervisor this host started, as seen from here. */
interface Launch {
  readonly at: number;
  /** The folder its supervisor claims the command with (see commandRecord.ts). */
  readonly pending: string;
  exited: boolean;
  code: number | null;
  failure?: Error;
  stderr: string;
}

export class SupervisedCommands implements CommandRunner {
  private readonly pollMs: number;

  constructor(private readonly options: SupervisedCommandsOptions) {
    this.pollMs = options.pollMs ?? 100;
  }

  folder(key: CommandKey): string {
    return join(this.options.root, pathSegment(key.executionId), `${key.stepId}-${pathSegment(key.key).slice(0, 32)}`);
  }

  async run(key: CommandKey, command: string, options: CommandOptions): Promise<CommandResult> {
    options.signal.throwIfAborted();
    const dir = this.folder(key);
    mkdirSync(join(dir, '..'), { recursive: true, mode: 0o700 });
    if (existsSync(dir) && this.outcomeLost(dir)) {
      // Only a person's "run it again" reaches here with a lost outcome: keep the old record aside.
      renameSync(dir, `${dir}.superseded-${Date.now()}`);
      this.options.log?.(`command ${key.executionId} step ${key.stepId}: its earlier run's outcome was lost; running it again as decided`);
    }
    const spec: CommandSpec = {
      command,
      cwd: options.cwd,
      timeoutMs: options.timeoutMs,
      maxOutputBytes: options.maxOutputBytes,
      electronRunAsNode: process.env.ELECTRON_RUN_AS_NODE ?? null,
    };
    const launch = existsSync(dir) ? undefined : this.launch(dir, spec);
    return this.outcome(dir, options.signal, launch);
  }

  async probe(key: CommandKey, options: CommandOptions): Promise<CommandProbe> {
    const dir = this.folder(key);
    if (!existsSync(dir)) await this.settleLaunches(key, dir, options.signal);
    if (!existsSync(dir)) return { state: 'not_started' };
    const exit = exitOf(dir);
    if (exit) return { state: 'finished', result: this.result(dir, exit) };
    if (this.outcomeLost(dir)) return { state: 'unknown', detail: this.lostDetail(dir) };
    // Still running under the supervisor an earlier host started: wait for it.
    this.options.log?.(`command ${key.executionId} step ${key.stepId} is still running from before the interruption; waiting for it`);
    try {
      return { state: 'finished', result: await this.outcome(dir, options.signal, undefined) };
    } catch (error) {
      if (error instanceof CommandOutcomeLostError) return { state: 'unknown', detail: error.message };
      throw error;
    }
  }

  async forget(key: CommandKey): Promise<void> {
    const dir = this.folder(key);
    const parent = join(dir, '..');
    try {
      if (!existsSync(parent)) return;
      // Launches first: a supervisor still starting must not claim the key once its record is gone.
      for (const pending of pendingLaunches(dir)) withdrawLaunch(pending);
      const name = dir.slice(parent.length + 1);
      for (const entry of readdirSync(parent)) {
        if (entry === name || entry.startsWith(`${name}.superseded-`) || entry.startsWith(`${name}.abandoned-`)) rmSync(join(parent, entry), { recursive: true, force: true });
      }
      if (readdirSync(parent).length === 0) rmSync(parent, { recursive: true, force: true });
    } catch (error) {
      // The outcome is in the journal already: a record left behind is tidied by the next sweep.
      this.options.log?.(`could not remove the record of command ${key.executionId} step ${key.stepId}: ${(error as Error).message}`);
    }
  }

  async stopExecution(executionId: string): Promise<number> {
    const parent = join(this.options.root, pathSegment(executionId));
    if (!existsSync(parent)) return 0;
    let stopped = 0;
    for (const entry of readdirSync(parent)) {
      const dir = join(parent, entry);
      // A supervisor still starting is stopped before it begins: its launch is withdrawn.
      if (entry.includes('.pending-') && withdrawLaunch(dir)) stopped++;
      if (entry.includes('.') || exitOf(dir) || !this.supervisorAlive(dir)) continue;
      await this.stop(dir);
      stopped++;
    }
    return stopped;
  }

  /**
   * Drop the records of finished executions (`keep` says which executions still
   * need theirs). Records whose command still runs are left alone.
   */
  async sweep(keep: (executionId: string) => Promise<boolean>): Promise<number> {
    if (!existsSync(this.options.root)) return 0;
    let removed = 0;
    for (const execution of readdirSync(this.options.root)) {
      if (await keep(execution)) continue;
      const parent = join(this.options.root, execution);
      const running = readdirSync(parent).some((entry) => !entry.includes('.') && !exitOf(join(parent, entry)) && this.supervisorAlive(join(parent, entry)));
      if (running) continue;
      rmSync(parent, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /**
   * No record, but a supervisor an earlier host started may not have claimed
   * the command yet: wait until each launch is claimed or past its deadline,
   * and withdraw the late ones (they can then never run it).
   */
  private async settleLaunches(key: CommandKey, dir: string, signal: AbortSignal): Promise<void> {
    let told = false;
    for (;;) {
      let waiting = false;
      for (const pending of pendingLaunches(dir)) {
        const launch = launchOf(pending);
        if (launch && Date.now() <= launch.claimBy) waiting = true;
        else withdrawLaunch(pending);
      }
      if (!waiting || existsSync(dir) || signal.aborted) return;
      if (!told) {
        told = true;
        this.options.log?.(`command ${key.executionId} step ${key.stepId}: a supervisor started before the interruption has not claimed it yet; waiting for it`);
      }
      await sleep(this.pollMs, signal);
    }
  }

  private launch(dir: string, spec: CommandSpec): Launch {
    const pending = prepareLaunch(dir, CLAIM_TIMEOUT_MS);
    const state: Launch = { at: Date.now(), pending, exited: false, code: null, stderr: '' };
    const child = spawn(this.options.nodePath ?? process.execPath, [this.options.script, dir, Buffer.from(JSON.stringify(spec)).toString('base64url'), pending], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      // The extension host's binary may be Electron: this makes it a plain Node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      windowsHide: true,
    });
    child.stderr?.on('data', (data: Buffer) => (state.stderr = (state.stderr + data.toString('utf8')).slice(-2_000)));
    child.on('error', (error) => (state.failure = error));
    child.on('exit', (code) => {
      state.exited = true;
      state.code = code;
    });
    child.unref();
    return state;
  }

  /** Wait for the record's exit; a cancelled wait stops the command first (a shutdown does not). */
  private async outcome(dir: string, signal: AbortSignal, launch: Launch | undefined): Promise<CommandResult> {
    for (;;) {
      const exit = exitOf(dir);
      if (exit) return this.result(dir, exit);
      if (signal.aborted) {
        // A closing window leaves the command to its supervisor (the next window reads how it ended);
        // a cancelled session stops it.
        if (signal.reason instanceof CancelledError && signal.reason.stopping) {
          throw new CancelledError('the window is closing; the command goes on under its supervisor', { stopping: true });
        }
        // A supervisor that has not claimed it yet never will.
        if (launch) withdrawLaunch(launch.pending);
        await this.stop(dir);
        throw new CancelledError('the command was stopped');
      }
      if (launch?.failure && withdrawLaunch(launch.pending)) throw new Error(`the command supervisor could not be started: ${launch.failure.message}`);
      if (!existsSync(dir)) {
        if (!launch) throw new CommandOutcomeLostError('its record disappeared before the command finished');
        if (launch.exited) {
          withdrawLaunch(launch.pending);
          throw new Error(`the command supervisor exited (code ${launch.code}) before starting the command${launch.stderr ? `: ${launch.stderr.trim()}` : ''}`);
        }
        // Given up only once the launch is withdrawn: a supervisor claiming at this very moment wins, and is waited for.
        if (Date.now() - launch.at > CLAIM_TIMEOUT_MS && withdrawLaunch(launch.pending)) {
          throw new Error(`the command supervisor did not start the command within ${CLAIM_TIMEOUT_MS / 1000} s; it will not run`);
        }
      } else if (this.outcomeLost(dir)) {
        // Ours or an earlier host's (ours lost the claim to it): either way nobody will record the end.
        throw new CommandOutcomeLostError(this.lostDetail(dir));
      }
      await sleep(this.pollMs, signal);
    }
  }

  private async stop(dir: string): Promise<void> {
    if (existsSync(dir)) writeFileSync(join(dir, STOP_FILE), '', { mode: 0o600 });
    const pid = runningPidOf(dir);
    if (pid === undefined) return;
    killGroup(pid, 'SIGTERM');
    const waitMs = this.options.stopWaitMs ?? 5_000;
    const deadline = Date.now() + waitMs;
    let forced = false;
    while (!exitOf(dir) && this.supervisorAlive(dir) && Date.now() < deadline) {
      if (!forced && Date.now() > deadline - waitMs / 2) {
        killGroup(pid, 'SIGKILL');
        forced = true;
      }
      await sleep(this.pollMs);
    }
  }

  /**
   * The supervisor is gone without having recorded the end. Its exit record is written before it
   * exits, so the record is read after the supervisor was seen gone: a supervisor that finished
   * between two looks is never mistaken for a lost one.
   */
  private outcomeLost(dir: string): boolean {
    return !this.supervisorAlive(dir) && !exitOf(dir);
  }

  private supervisorAlive(dir: string): boolean {
    const claim = claimOf(dir);
    if (!claim) return false;
    if (Date.now() > claim.claimedAt + claim.timeoutMs + OVERDUE_GRACE_MS) return false;
    return isProcessAlive(claim.supervisorPid);
  }

  private lostDetail(dir: string): string {
    const pid = runningPidOf(dir);
    return pid === undefined
      ? 'its supervisor stopped before recording that the command started'
      : `the command started (pid ${pid}) but its supervisor stopped before recording how it ended`;
  }

  private result(dir: string, exit: CommandExit): CommandResult {
    let output = '';
    try {
      output = decoder.decode(readFileSync(join(dir, OUTPUT_FILE)));
    } catch {
      output = '';
    }
    if (exit.spawnError) output = `the shell could not be started: ${exit.spawnError}\n${output}`;
    return {
      exitCode: exit.exitCode,
      signal: exit.stopped ? (exit.signal ?? 'stopped') : exit.signal,
      output,
      truncatedBytes: exit.truncatedBytes,
      timedOut: exit.timedOut,
      durationMs: Math.max(0, exit.finishedAt - exit.startedAt),
    };
  }
}
