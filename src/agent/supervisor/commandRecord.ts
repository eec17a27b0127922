/**
 * The files a command supervisor keeps for one command, shared by the
 * supervisor process and the extension host that reads them back.
 *
 * One folder per command, named after the step's idempotency key, appears
 * atomically (renamed into place with its `claim.json`): whoever renames it
 * first runs the command, anyone later waits for that run's outcome. So a
 * command runs at most once per key, whatever crashes or races around it.
 *
 * The folder a supervisor renames into place is one its host prepared before
 * starting it (`<folder>.pending-<id>`, holding `launch.json` with a claim
 * deadline). A host that gives up on a supervisor (it did not start in time,
 * the record is forgotten, a probe found it past its deadline) withdraws that
 * folder by renaming it away first: rename against rename, only one wins, so
 * a supervisor that starts late can never claim a command someone already
 * settled, and never runs it a second time after its record was removed.
 *
 *   claim.json    who claimed it (supervisor pid, when, the spec's limits)
 *   running.json  the command's pid (and process group) once it is spawned
 *   output.log    stdout and stderr, up to the cap
 *   exit.json     how it ended; written last, atomically
 *   stop          present when someone asked for the command to be stopped
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface CommandSpec {
  readonly command: string;
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  /**
   * The host's own ELECTRON_RUN_AS_NODE (null: unset). The supervisor needs it set to run as
   * Node; the command gets the host's environment as it was, so `code` and other Electron apps work.
   */
  readonly electronRunAsNode?: string | null;
}

export interface CommandClaim {
  readonly supervisorPid: number;
  readonly claimedAt: number;
  readonly timeoutMs: number;
}

export interface CommandExit {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** Somebody stopped it (a cancelled session). */
  readonly stopped: boolean;
  readonly truncatedBytes: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Set when the shell could not be started at all. */
  readonly spawnError?: string;
}

export const CLAIM_FILE = 'claim.json';
export const RUNNING_FILE = 'running.json';
export const OUTPUT_FILE = 'output.log';
export const EXIT_FILE = 'exit.json';
export const STOP_FILE = 'stop';
export const LAUNCH_FILE = 'launch.json';

/** What a host writes in a launch folder: until when its supervisor may claim the command. */
export interface CommandLaunch {
  readonly claimBy: number;
}

const PENDING = '.pending-';

/** Prepare the folder a supervisor will claim the command with; returns its path (the supervisor's third argument). */
export function prepareLaunch(dir: string, claimWindowMs: number): string {
  const pending = `${dir}${PENDING}${randomUUID()}`;
  mkdirSync(pending, { recursive: true, mode: 0o700 });
  writeJsonAtomically(join(pending, LAUNCH_FILE), { claimBy: Date.now() + claimWindowMs } satisfies CommandLaunch);
  return pending;
}

/**
 * Take a launch folder out of its supervisor's reach. Atomic against the
 * supervisor's claim (both are renames of it): true when it was withdrawn, so
 * that supervisor runs nothing; false when it was no longer there (claimed, or
 * withdrawn already).
 */
export function withdrawLaunch(pending: string): boolean {
  const abandoned = pending.replace(PENDING, '.abandoned-');
  try {
    renameSync(pending, abandoned);
  } catch {
    return false;
  }
  rmSync(abandoned, { recursive: true, force: true, maxRetries: 3 });
  return true;
}

/** The launch folders prepared for `dir` that no supervisor has claimed yet. */
export function pendingLaunches(dir: string): string[] {
  const parent = dirname(dir);
  if (!existsSync(parent)) return [];
  const prefix = `${basename(dir)}${PENDING}`;
  return readdirSync(parent).filter((entry) => entry.startsWith(prefix)).map((entry) => join(parent, entry));
}

export function launchOf(pending: string): CommandLaunch | undefined {
  return readJson<CommandLaunch>(join(pending, LAUNCH_FILE));
}

/** The supervisor's exit code when the key was already claimed (it ran nothing). */
export const ALREADY_CLAIMED_EXIT = 3;

/** Write a small JSON file so that readers see all of it or none of it. */
export function writeJsonAtomically(file: string, value: unknown): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(value), { mode: 0o600 });
  renameSync(temp, file);
}

export function readJson<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    // Files are renamed into place whole; an unreadable one is damage, treated as absent by callers that re-check.
    return undefined;
  }
}

export function claimOf(dir: string): CommandClaim | undefined {
  return readJson<CommandClaim>(join(dir, CLAIM_FILE));
}

export function runningPidOf(dir: string): number | undefined {
  return readJson<{ pid: number }>(join(dir, RUNNING_FILE))?.pid;
}

export function exitOf(dir: string): CommandExit | undefined {
  return readJson<CommandExit>(join(dir, EXIT_FILE));
}

/** Whether a process exists (one we may not signal counts: it is someone else's, but alive). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
