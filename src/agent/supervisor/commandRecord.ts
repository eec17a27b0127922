/**
 * The files a command supervisor keeps for one command, shared by the
 * supervisor process and the extension host that reads them back.
 *
 * One folder per command, named after the step's idempotency key, appears
 * atomically (renamed into place with its `claim.json`): whoever renames it
 * first runs the command, anyone later waits for that run's outcome. So a
 * command runs at most once per key, whatever crashes or races around it.
 *
 *   claim.json    who claimed it (supervisor pid, when, the spec's limits)
 *   running.json  the command's pid (and process group) once it is spawned
 *   output.log    stdout and stderr, up to the cap
 *   exit.json     how it ended; written last, atomically
 *   stop          present when someone asked for the command to be stopped
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
