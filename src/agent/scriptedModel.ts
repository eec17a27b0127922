/**
 * A deterministic model for demos and tests: a JSON file of scripted turns.
 *
 *   { "turns": [ { "say": "text", "toolCalls": [{ "name": "read_file", "arguments": { "path": "a.txt" } }],
 *                  "usage": { "input": 100, "output": 20 }, "delayMs": 0 },
 *                { "error": { "kind": "rate_limited", "message": "try later" } } ],
 *     "ledger": "calls.log" }
 *
 * The reply to a request is the turn whose index is the number of assistant
 * messages already in the conversation, so a resumed session gets the same
 * answers. `ledger` (relative to the script) gets one line per call actually
 * made: what a provider would have charged.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { abortableDelay } from '../durable';
import { describeModel, type ModelClient, type ModelReply, type ModelRequest, type ToolCall } from './model';

interface ScriptTurn {
  readonly say?: string;
  readonly toolCalls?: ReadonlyArray<{ readonly id?: string; readonly name: string; readonly arguments?: unknown }>;
  readonly usage?: { readonly input: number; readonly output: number };
  readonly delayMs?: number;
  readonly error?: { readonly kind?: string; readonly message: string };
}

interface Script {
  readonly turns: readonly ScriptTurn[];
  readonly ledger?: string;
}

const MAX_SCRIPT_BYTES = 4 * 1024 * 1024;

export function parseScript(text: string, file: string): Script {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`model script ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const script = value as Script;
  if (typeof script !== 'object' || script === null || !Array.isArray(script.turns)) {
    throw new Error(`model script ${file} must be an object with a "turns" array`);
  }
  script.turns.forEach((turn, i) => {
    const where = `model script ${file}, turn ${i + 1}`;
    if (typeof turn !== 'object' || turn === null) throw new Error(`${where}: must be an object`);
    if (turn.say !== undefined && typeof turn.say !== 'string') throw new Error(`${where}: "say" must be a string`);
    if (turn.error !== undefined && typeof turn.error?.message !== 'string') throw new Error(`${where}: "error.message" must be a string`);
    if (turn.delayMs !== undefined && !(Number.isFinite(turn.delayMs) && turn.delayMs >= 0)) throw new Error(`${where}: "delayMs" must be a number ≥ 0`);
    for (const call of turn.toolCalls ?? []) {
      if (typeof call?.name !== 'string') throw new Error(`${where}: every tool call needs a "name"`);
    }
  });
  if (script.ledger !== undefined && typeof script.ledger !== 'string') throw new Error(`model script ${file}: "ledger" must be a path`);
  return script;
}

function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export class ScriptedModel implements ModelClient {
  readonly label: string;

  constructor(private readonly file: string) {
    this.label = describeModel({ provider: 'scripted', scriptFile: file });
  }

  async chat(request: ModelRequest): Promise<ModelReply> {
    let script: Script;
    try {
      const text = await readFile(this.file, 'utf8');
      if (text.length > MAX_SCRIPT_BYTES) throw new Error(`model script ${this.file} is larger than 4 MB`);
      script = parseScript(text, this.file);
    } catch (error) {
      return { ok: false, error: { kind: 'script', message: (error as Error).message } };
    }
    const index = request.messages.filter((m) => m.role === 'assistant').length;
    const turn = script.turns[index];
    if (script.ledger) await appendFile(resolve(dirname(this.file), script.ledger), `turn ${index + 1}\n`);
    if (turn?.delayMs) await abortableDelay(turn.delayMs, request.signal);
    request.signal.throwIfAborted();
    if (!turn) return { ok: false, error: { kind: 'script', message: `the model script has ${script.turns.length} turns; turn ${index + 1} was asked for` } };
    if (turn.error) return { ok: false, error: { kind: (turn.error.kind as 'script') ?? 'script', message: turn.error.message } };
    const content = turn.say ?? '';
    for (const word of content.match(/\S+\s*/g) ?? []) request.onText?.(word);
    const toolCalls: ToolCall[] = (turn.toolCalls ?? []).map((c, i) => ({
      id: c.id ?? `call_${index + 1}_${i + 1}`,
      name: c.name,
      arguments: (typeof c.arguments === 'object' && c.arguments !== null ? c.arguments : {}) as Record<string, unknown>,
    }));
    const prompt = request.messages.map((m) => m.content).join('\n');
    return {
      ok: true,
      content,
      toolCalls,
      usage: turn.usage ?? { input: estimateTokens(prompt), output: estimateTokens(content + JSON.stringify(toolCalls)) },
      model: this.label,
    };
  }
}
