/**
 * How the agent's tools run shell commands: through a runner that can say,
 * after a crash, what became of a command it was asked to run. The real one
 * (supervisedCommands.ts) keeps each command under a detached supervisor
 * process; tests may substitute their own.
 */

export interface CommandResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly output: string;
  readonly truncatedBytes: number;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export interface CommandOptions {
  readonly cwd: string;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
}

/** Names one command: the step that runs it and that step's idempotency key (hex). */
export interface CommandKey {
  readonly executionId: string;
  readonly stepId: number;
  readonly key: string;
}

/** What is known of a command after an interruption. */
export type CommandProbe =
  | { readonly state: 'not_started' }
  | { readonly state: 'finished'; readonly result: CommandResult }
  | { readonly state: 'unknown'; readonly detail: string };

export interface CommandRunner {
  /**
   * Run the command named by `key` at most once: when it was already started
   * under that key (by an earlier host), wait for that run instead. Aborting
   * `signal` stops the command with its process group and rejects.
   */
  run(key: CommandKey, command: string, options: CommandOptions): Promise<CommandResult>;
  /** After an interruption: finished (with its outcome), never started, or unknown; waits while it still runs. */
  probe(key: CommandKey, options: CommandOptions): Promise<CommandProbe>;
  /** The outcome is in the journal: drop what the runner kept for the command. */
  forget(key: CommandKey): Promise<void>;
  /** Stop every command of an execution that is still running (a cancelled session); returns how many. */
  stopExecution(executionId: string): Promise<number>;
}
