/**
 * The workspace tools: read_file, list_directory, search_workspace (idempotent:
 * re-running is harmless), and write_file, edit_file: a plan step records the
 * file's hash before and after (and the old text for a revert), then the write
 * runs exactly once with the `verify` policy, whose probe compares the file's
 * hash with the planned one after a crash. A file changed by someone else in
 * between is a conflict, reported to the model, never overwritten.
 */
import type { ProbeOutcome } from '../durable';
import { contentHash, fail, stringArg, ToolArgumentError, type AgentTool, type ToolEnv, type ToolOutcome } from './toolTypes';
import { workspaceRelative } from './workspaceAccess';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

export const readFileTool: AgentTool = {
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

export const listDirectoryTool: AgentTool = {
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

export const searchTool: AgentTool = {
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
  /** The new text (absent when large, and in plans recorded before undo showed it). */
  readonly after?: string;
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
      ...(next.text.length <= MAX_REVERT_TEXT ? { after: next.text } : {}),
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

export const writeFileTool: AgentTool = {
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

export const editFileTool: AgentTool = {
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

