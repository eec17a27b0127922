/**
 * The agent's tools. Each declares its effect class (and, when guarded, its
 * ambiguity policy) and runs through the durable context, so a resumed session
 * never repeats what the journal committed:
 *
 * - read_file, list_directory, search_workspace: idempotent (re-running is harmless).
 * - write_file, edit_file: a plan step (idempotent: the file's hash before, the
 *   hash it will have after, the old text for a revert) then the write as an
 *   exactly-once step with the `verify` policy: after a crash in the write, the
 *   probe compares the file's hash with the planned one to decide whether the
 *   write happened. A file changed by someone else in between is a conflict,
 *   reported to the model, never overwritten.
 * - run_command: destructive; asks the user first (a durable promise; the model
 *   can never approve) unless approval is switched off; runs under a supervisor
 *   that outlives the host (supervisedCommands.ts), so after a crash the `verify`
 *   policy reads how the command ended; when even that record is lost, the
 *   configured policy (default `ask`) decides.
 * - ask_user: a durable promise answered in the session panel.
 *
 * Tools return values, not exceptions, for everything the model should hear
 * about (missing file, conflict, exit code): those are journaled and replayed.
 */
import { isSkipped, type EffectClass } from '../durable';
import { runCommandTool } from './commandTool';
import { editFileTool, listDirectoryTool, readFileTool, searchTool, writeFileTool } from './fileTools';
import type { ToolSchema } from './model';
import { fail, stringArg, type AgentTool } from './toolTypes';

export {
  contentHash,
  DEFAULT_TOOL_POLICY,
  ToolArgumentError,
  type AgentTool,
  type ApprovalDecision,
  type ApprovalRequest,
  type ToolEnv,
  type ToolOutcome,
  type ToolPolicy,
} from './toolTypes';

const askUserTool: AgentTool = {
  schema: {
    name: 'ask_user',
    description: 'Ask the user a question and wait for the answer.',
    parameters: { type: 'object', properties: { question: { type: 'string' } }, required: ['question'] },
  },
  effect: 'exactly_once',
  describe: (a) => `ask: ${String(a.question).slice(0, 120)}`,
  async run(args, env) {
    const question = stringArg(args, 'question', { max: 4_000 });
    const decision = await env.requestApproval({ kind: 'question', prompt: question });
    if (!decision.approved) return fail('the user declined to answer');
    return { ok: true, content: decision.answer ?? '', summary: `answered by ${decision.decidedBy}` };
  },
};

export const BUILTIN_TOOLS: readonly AgentTool[] = [readFileTool, listDirectoryTool, searchTool, writeFileTool, editFileTool, runCommandTool, askUserTool];

/**
 * A tool contributed by another extension (vscode.lm.tools): we cannot know what
 * it does, so it is at-least-once unless configured otherwise.
 */
export function externalTool(
  schema: ToolSchema,
  effect: EffectClass,
  invoke: (args: Record<string, unknown>, signal: AbortSignal) => Promise<string>,
): AgentTool {
  return {
    schema,
    effect,
    describe: () => `${schema.name} (from another extension)`,
    async run(args, env) {
      const descriptor =
        effect === 'exactly_once'
          ? ({ name: `tool.ext.${schema.name}`, effect, intent: 'custom', policy: 'ask', fingerprint: JSON.stringify(args) } as const)
          : ({ name: `tool.ext.${schema.name}`, effect, fingerprint: JSON.stringify(args) } as const);
      const text = await env.ctx.step(descriptor, async (h) => {
        try {
          return { ok: true, text: await invoke(args, h.signal) };
        } catch (error) {
          if (h.signal.aborted) throw error;
          return { ok: false, text: (error as Error).message };
        }
      });
      if (isSkipped(text)) return fail(`${schema.name} was interrupted and skipped`);
      return text.ok ? { ok: true, content: text.text, summary: `${text.text.length} characters` } : fail(`${schema.name}: ${text.text}`);
    },
  };
}
