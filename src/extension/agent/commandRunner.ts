/**
 * Runs one shell command for the agent: in the workspace, with a timeout, a
 * cancellation signal that kills the whole process group, and output captured
 * up to a cap (the rest is counted, not kept).
 */
import { spawn } from 'node:child_process';
import { CancelledError } from '../../durable';

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

export type CommandRunner = (command: string, options: CommandOptions) => Promise<CommandResult>;

export const runShellCommand: CommandRunner = (command, options) =>
  new Promise((resolve, reject) => {
    options.signal.throwIfAborted();
    const started = Date.now();
    const windows = process.platform === 'win32';
    const child = spawn(command, { cwd: options.cwd, shell: true, detached: !windows, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    const chunks: Buffer[] = [];
    let kept = 0;
    let truncatedBytes = 0;
    let timedOut = false;
    const collect = (data: Buffer): void => {
      const room = options.maxOutputBytes - kept;
      if (room > 0) chunks.push(data.subarray(0, room));
      kept += Math.min(room > 0 ? room : 0, data.length);
      truncatedBytes += Math.max(0, data.length - Math.max(room, 0));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const kill = (): void => {
      try {
        if (!windows && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    const onAbort = (): void => kill();
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      if (options.signal.aborted) return reject(new CancelledError('the command was cancelled'));
      resolve({
        exitCode,
        signal,
        output: Buffer.concat(chunks).toString('utf8'),
        truncatedBytes,
        timedOut,
        durationMs: Date.now() - started,
      });
    });
  });
