/**
 * run_command: destructive, approved by a person first (a durable promise the
 * model can never settle) unless approval is switched off. It runs under a
 * supervisor that outlives the host (supervisedCommands.ts), so after a crash
 * the `verify` policy reads how the command ended; only when even that record
 * is lost does the configured policy (default `ask`) decide.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { isSkipped, type ProbeOutcome, type StepHandle } from '../durable';
import type { CommandKey, CommandOptions, CommandResult } from './commandRunner';
import { fail, stringArg, ToolArgumentError, type AgentTool } from './toolTypes';

interface CommandOutcome {
  readonly exitCode: number | null;
  readonly output: string;
  readonly truncatedBytes: number;
  readonly timedOut: boolean;
  /** The supervisor was asked to stop it (the session was cancelled). */
  readonly stopped?: boolean;
  /** It finished while the session was interrupted; the supervisor's record told us how. */
  readonly finishedWhileInterrupted?: boolean;
}

function commandOutcome(r: CommandResult, finishedWhileInterrupted: boolean): CommandOutcome {
  return {
    exitCode: r.exitCode,
    output: r.output,
    truncatedBytes: r.truncatedBytes,
    timedOut: r.timedOut,
    ...(r.signal === 'stopped' ? { stopped: true } : {}),
    ...(finishedWhileInterrupted ? { finishedWhileInterrupted: true } : {}),
  };
}

export const runCommandTool: AgentTool = {
  schema: {
    name: 'run_command',
    description: 'Run a shell command in the workspace root (the user approves it first). Output is captured and capped.',
    parameters: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
  },
  effect: 'exactly_once',
  describe: (a) => `$ ${String(a.command).slice(0, 120)}`,
  async run(args, env) {
    const command = stringArg(args, 'command', { max: 8_000 });
    if (command.trim().length === 0) throw new ToolArgumentError('"command" must not be empty');
    if (env.policy.requireCommandApproval) {
      const decision = await env.requestApproval({ kind: 'command', prompt: command });
      if (!decision.approved) return fail(`not run: ${decision.decidedBy} denied it`, `the user denied running this command`);
    }
    // The command runs under a supervisor keyed by the step, so after a crash the probe reads what
    // really happened; only when that record was lost does the configured policy (default: ask) decide.
    let key: CommandKey | undefined;
    const keyOf = (h: StepHandle): CommandKey => (key = { executionId: env.ctx.executionId, stepId: h.stepId, key: bytesToHex(h.idempotencyKey) });
    const options = (h: StepHandle): CommandOptions => ({ cwd: env.workspace.root, signal: h.signal, timeoutMs: env.policy.commandTimeoutMs, maxOutputBytes: env.policy.maxOutputBytes });
    const result = await env.ctx.step(
      {
        name: 'tool.run_command',
        effect: 'exactly_once',
        intent: 'destructive',
        policy: 'verify',
        fallback: env.policy.commandAmbiguity,
        fingerprint: command,
        probe: async (h): Promise<ProbeOutcome<CommandOutcome>> => {
          const found = await env.runCommand.probe(keyOf(h), options(h));
          // No record here, but the run that was interrupted ran on another machine: its record is there, not here.
          if (found.state === 'not_started' && h.startedHere === false) {
            return { done: 'unknown', detail: 'it was started on another machine sharing this journal; whether it ran is recorded there, not here' };
          }
          if (found.state === 'finished') return { done: true, value: commandOutcome(found.result, true) };
          if (found.state === 'unknown') return { done: 'unknown', detail: found.detail };
          return { done: false };
        },
      },
      async (h): Promise<CommandOutcome> => {
        await h.ensureOwner();
        return commandOutcome(await env.runCommand.run(keyOf(h), command, options(h)), false);
      },
    );
    if (key) await env.runCommand.forget(key);
    if (isSkipped(result)) {
      return fail(
        'skipped after an interruption: whether it ran is unknown',
        'the command was interrupted and its outcome could not be learned; it was skipped (it may or may not have run)',
      );
    }
    const tail = result.truncatedBytes > 0 ? `\n… (${result.truncatedBytes} more bytes not captured)` : '';
    const status = result.stopped ? 'stopped' : result.timedOut ? 'timed out' : `exit code ${result.exitCode ?? 'none'}`;
    const when = result.finishedWhileInterrupted ? ' (it finished while the session was interrupted)' : '';
    return { ok: result.exitCode === 0, content: `${status}${when}\n${result.output}${tail}`, summary: `${status}${when}` };
  },
};

