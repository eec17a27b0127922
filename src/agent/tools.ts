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
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { isSkipped, type DurableContext, type EffectClass, type ProbeFallback, type ProbeOutcome, type StepHandle } from '../durable';
import type { CommandKey, CommandOptions, CommandResult, CommandRunner } from './commandRunner';
import type { ToolSchema } from './model';
import { workspaceRelative, type WorkspaceAccess } from './workspaceAccess';

export interface ApprovalRequest {
  readonly kind: 'command' | 'question';
  readonly prompt: string;
}

export interface ApprovalDecision {
  readonly approved: boolean;
  readonly decidedBy: string;
  readonly answer?: string;
}

export interface ToolPolicy {
  readonly requireCommandApproval: boolean;
  /** When a command's outcome cannot be learned after a crash (its supervisor died too). */
  readonly commandAmbiguity: ProbeFallback;
  readonly commandTimeoutMs: number;
  readonly maxOutputBytes: number;
  readonly maxReadBytes: number;
}

export const DEFAULT_TOOL_POLICY: ToolPolicy = {
  requireCommandApproval: true,
  commandAmbiguity: 'ask',
  commandTimeoutMs: 120_000,
  maxOutputBytes: 64 * 1024,
  maxReadBytes: 64 * 1024,
};

export interface ToolEnv {
  readonly ctx: DurableContext;
  readonly workspace: WorkspaceAccess;
  readonly runCommand: CommandRunner;
  readonly policy: ToolPolicy;
  /** Park the session on a durable promise until a person decides (never the model). */
  requestApproval(request: ApprovalRequest): Promise<ApprovalDecision>;
}

export interface ToolOutcome {
  readonly ok: boolean;
  /** What the model reads. */
  readonly content: string;
  /** One line for the transcript. */
  readonly summary: string;
}

export interface AgentTool {
  readonly schema: ToolSchema;
  readonly effect: EffectClass;
  /** One line for the transcript, from the arguments (never file contents). */
  describe(args: Record<string, unknown>): string;
  run(args: Record<string, unknown>, env: ToolEnv): Promise<ToolOutcome>;
}

export function contentHash(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? 'absent' : bytesToHex(blake3(bytes));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

function stringArg(args: Record<string, unknown>, name: string, options: { optional?: boolean; max?: number } = {}): string {
  const v = args[name];
  if (v === undefined && options.optional) return '';
  if (typeof v !== 'string') throw new ToolArgumentError(`"${name}" must be a string`);
  if (v.length > (options.max ?? 1_000_000)) throw new ToolArgumentError(`"${name}" is longer than ${options.max ?? 1_000_000} characters`);
  return v;
}

export class ToolArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolArgumentError';
  }
}

function fail(summary: string, content = summary): ToolOutcome {
  return { ok: false, content: `error: ${content}`, summary };
}

const readFileTool: AgentTool = {
  schema: {
    name: 'read_file',
    description: 'Read a text file of the workspace (path relative to the workspace root).',
    parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
  effect: 'idempotent',
  describe: (a) => `read ${String(a.path)}`,
  async run(args, env) {
    const path = workspaceRelative(stringArg(args, 'path'));
    const result = await env.ctx.step({ name: 'tool.read_file', effect: 'idempotent', fingerprint: path }, async () => {
      const bytes = await env.workspace.readFile(path);
      if (bytes === undefined) return { found: false as const };
      const text = decoder.decode(bytes.subarray(0, env.policy.maxReadBytes));
      return { found: true as const, text, size: bytes.length };
    });
    if (!result.found) return fail(`${path} does not exist`);
    const more = result.size > env.policy.maxReadBytes ? `\n… (${result.size - env.policy.maxReadBytes} more bytes not shown)` : '';
    return { ok: true, content: result.text + more, summary: `${path}: ${result.size} bytes` };
  },
};

const listDirectoryTool: AgentTool = {
  schema: {
    name: 'list_directory',
    description: 'List the entries of a workspace folder ("." for the root).',
    parameters: { type: 'object', properties: { path: { type: 'string' } } },
  },
  effect: 'idempotent',
  describe: (a) => `list ${String(a.path ?? '.')}`,
  async run(args, env) {
    const path = workspaceRelative(stringArg(args, 'path', { optional: true }) || '.');
    const entries = await env.ctx.step({ name: 'tool.list_directory', effect: 'idempotent', fingerprint: path }, async () => {
      try {
        return { ok: true as const, entries: (await env.workspace.listDirectory(path)).slice(0, 500) };
      } catch (error) {
        return { ok: false as const, message: `${path} cannot be listed: ${(error as Error).message.split('\n')[0]}` };
      }
    });
    if (!entries.ok) return fail(entries.message);
    return {
      ok: true,
      content: entries.entries.map((e) => (e.type === 'directory' ? `${e.name}/` : e.name)).join('\n') || '(empty)',
      summary: `${path}: ${entries.entries.length} entries`,
    };
  },
};

const searchTool: AgentTool = {
  schema: {
    name: 'search_workspace',
    description: 'Find lines containing a text in the workspace files.',
    parameters: { type: 'object', properties: { query: { type: 'string' }, maxResults: { type: 'number' } }, required: ['query'] },
  },
  effect: 'idempotent',
  describe: (a) => `search ${JSON.stringify(String(a.query ?? '')).slice(0, 80)}`,
  async run(args, env) {
    const query = stringArg(args, 'query', { max: 500 });
    if (query.length === 0) throw new ToolArgumentError('"query" must not be empty');
    const max = Math.min(200, Math.max(1, Number(args.maxResults) || 50));
    const hits = await env.ctx.step({ name: 'tool.search_workspace', effect: 'idempotent', fingerprint: `${max}:${query}` }, (h) =>
      env.workspace.search(query, max, h.signal),
    );
    return {
      ok: true,
      content: hits.map((h) => `${h.path}:${h.line}: ${h.text}`).join('\n') || 'no matches',
      summary: `${hits.length} matches`,
    };
  },
};

interface EditPlan {
  readonly ok: boolean;
  readonly message?: string;
  readonly beforeHash: string;
  readonly afterHash: string;
  /** The old text, kept sealed in the journal so the edit can be reverted (absent when large). */
  readonly before?: string | null;
}

interface EditApplied {
  readonly ok: boolean;
  readonly message?: string;
  readonly path: string;
  readonly beforeHash: string;
  readonly afterHash: string;
}

const MAX_REVERT_TEXT = 256 * 1024;

/** The planned file content, from its current text; undefined when the edit does not apply. */
type Transform = (current: string | undefined) => { ok: true; text: string } | { ok: false; message: string };

async function editFile(env: ToolEnv, toolName: string, path: string, transform: Transform): Promise<ToolOutcome> {
  const plan = await env.ctx.step({ name: `tool.${toolName}.plan`, effect: 'idempotent', fingerprint: path }, async (): Promise<EditPlan> => {
    const bytes = await env.workspace.readFile(path);
    const current = bytes === undefined ? undefined : decoder.decode(bytes);
    const next = transform(current);
    if (!next.ok) return { ok: false, message: next.message, beforeHash: contentHash(bytes), afterHash: contentHash(bytes) };
    return {
      ok: true,
      beforeHash: contentHash(bytes),
      afterHash: contentHash(encoder.encode(next.text)),
      before: current === undefined ? null : current.length <= MAX_REVERT_TEXT ? current : undefined,
    };
  });
  if (!plan.ok) return fail(`${path}: ${plan.message}`);
  if (plan.beforeHash === plan.afterHash) return { ok: true, content: `${path} already has that content; nothing changed`, summary: `${path} unchanged` };
  const probe = async (): Promise<ProbeOutcome<EditApplied>> => {
    const now = contentHash(await env.workspace.readFile(path));
    return now === plan.afterHash ? { done: true, value: { ok: true, path, beforeHash: plan.beforeHash, afterHash: plan.afterHash } } : { done: false };
  };
  const applied = await env.ctx.step(
    {
      name: `tool.${toolName}`,
      effect: 'exactly_once',
      intent: 'destructive',
      policy: 'verify',
      fingerprint: `${path}\n${plan.beforeHash}\n${plan.afterHash}`,
      probe,
    },
    async (h): Promise<EditApplied> => {
      const bytes = await env.workspace.readFile(path);
      const nowHash = contentHash(bytes);
      if (nowHash === plan.afterHash) return { ok: true, path, beforeHash: plan.beforeHash, afterHash: plan.afterHash };
      if (nowHash !== plan.beforeHash) {
        return { ok: false, path, beforeHash: plan.beforeHash, afterHash: plan.afterHash, message: `${path} changed since the edit was planned; it was left as it is` };
      }
      const next = transform(bytes === undefined ? undefined : decoder.decode(bytes));
      if (!next.ok) return { ok: false, path, beforeHash: plan.beforeHash, afterHash: plan.afterHash, message: next.message };
      await h.ensureOwner();
      await env.workspace.writeFile(path, encoder.encode(next.text));
      return { ok: true, path, beforeHash: plan.beforeHash, afterHash: plan.afterHash };
    },
  );
  if (!applied.ok) return fail(applied.message ?? `${path} was not changed`);
  const verb = plan.beforeHash === 'absent' ? 'created' : 'edited';
  return { ok: true, content: `${path} ${verb}`, summary: `${path} ${verb} (${plan.beforeHash.slice(0, 8)} → ${plan.afterHash.slice(0, 8)})` };
}

const writeFileTool: AgentTool = {
  schema: {
    name: 'write_file',
    description: 'Create a file, or replace its whole content.',
    parameters: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path', 'content'] },
  },
  effect: 'exactly_once',
  describe: (a) => `write ${String(a.path)}`,
  async run(args, env) {
    const path = workspaceRelative(stringArg(args, 'path'));
    const content = stringArg(args, 'content', { max: 4 * 1024 * 1024 });
    return editFile(env, 'write_file', path, () => ({ ok: true, text: content }));
  },
};

const editFileTool: AgentTool = {
  schema: {
    name: 'edit_file',
    description: 'Replace one exact occurrence of old_text with new_text in a file.',
    parameters: {
      type: 'object',
      properties: { path: { type: 'string' }, old_text: { type: 'string' }, new_text: { type: 'string' } },
      required: ['path', 'old_text', 'new_text'],
    },
  },
  effect: 'exactly_once',
  describe: (a) => `edit ${String(a.path)}`,
  async run(args, env) {
    const path = workspaceRelative(stringArg(args, 'path'));
    const oldText = stringArg(args, 'old_text');
    const newText = stringArg(args, 'new_text');
    if (oldText.length === 0) throw new ToolArgumentError('"old_text" must not be empty');
    return editFile(env, 'edit_file', path, (current) => {
      if (current === undefined) return { ok: false, message: 'the file does not exist' };
      const first = current.indexOf(oldText);
      if (first < 0) return { ok: false, message: 'old_text was not found' };
      if (current.indexOf(oldText, first + 1) >= 0) return { ok: false, message: 'old_text occurs more than once; give more context' };
      return { ok: true, text: current.slice(0, first) + newText + current.slice(first + oldText.length) };
    });
  },
};

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

const runCommandTool: AgentTool = {
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
