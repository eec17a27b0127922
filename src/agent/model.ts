/**
 * What the agent asks of a model, whatever serves it (VS Code's Language Model
 * API, an OpenAI-compatible endpoint, a scripted file). Pure data plus one
 * interface; no `vscode` import, so the agent runs in plain Node tests.
 *
 * A model call never throws for a provider problem (HTTP error, timeout, rate
 * limit, garbage): it returns `{ ok: false, error }`. That reply is journaled
 * like an answer, so the session parks with a clear message instead of
 * recording a failure that a resume would replay forever. Only cancellation
 * throws.
 */

export interface ToolCall {
  /** The provider's id for the call (or one we make up): ties the tool's answer to it. */
  readonly id: string;
  readonly name: string;
  readonly arguments: Record<string, unknown>;
}

export type ChatMessage =
  | { readonly role: 'system' | 'user'; readonly content: string }
  | { readonly role: 'assistant'; readonly content: string; readonly toolCalls?: readonly ToolCall[] }
  | { readonly role: 'tool'; readonly toolCallId: string; readonly name: string; readonly content: string };

/** A tool as the model sees it: JSON-schema parameters. */
export interface ToolSchema {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
}

export interface TokenUsage {
  readonly input: number;
  readonly output: number;
}

export type ModelErrorKind = 'rate_limited' | 'timeout' | 'http' | 'malformed' | 'unavailable' | 'refused' | 'script';

export type ModelReply =
  | {
      readonly ok: true;
      readonly content: string;
      readonly toolCalls: readonly ToolCall[];
      readonly usage: TokenUsage;
      readonly model: string;
      /** Added by the agent when the call is made, and journaled with the reply (see pricing.ts). */
      readonly cost?: { readonly micros: number; readonly priced: boolean; readonly rerun: boolean };
    }
  | { readonly ok: false; readonly error: { readonly kind: ModelErrorKind; readonly message: string } };

export interface ModelRequest {
  readonly messages: readonly ChatMessage[];
  readonly tools: readonly ToolSchema[];
  readonly signal: AbortSignal;
  /** Streamed text as it arrives (for live display only; the journal keeps the final reply). */
  readonly onText?: (delta: string) => void;
}

export interface ModelClient {
  /** A short, non-secret label ("scripted: demo.json", "openai: gpt-4o-mini @ http://…"). */
  readonly label: string;
  chat(request: ModelRequest): Promise<ModelReply>;
}

/** Which model a session uses; recorded with the session (never an API key). */
export type ModelSpec =
  | { readonly provider: 'scripted'; readonly scriptFile: string }
  | { readonly provider: 'openai'; readonly baseUrl: string; readonly model: string }
  | { readonly provider: 'vscode-lm'; readonly vendor?: string; readonly family?: string; readonly id?: string };

export function describeModel(spec: ModelSpec): string {
  switch (spec.provider) {
    case 'scripted':
      return `scripted: ${spec.scriptFile.split(/[\\/]/).pop()}`;
    case 'openai':
      return `openai: ${spec.model} @ ${spec.baseUrl}`;
    case 'vscode-lm':
      return `vscode-lm: ${[spec.vendor, spec.family, spec.id].filter(Boolean).join('/') || 'any'}`;
  }
}

/** How the session panel names the model new sessions will use (for people; the journal keeps `describeModel`). */
export function modelDisplayName(spec: ModelSpec): string {
  switch (spec.provider) {
    case 'scripted':
      return describeModel(spec);
    case 'openai':
      return `${spec.model} @ ${spec.baseUrl}`;
    case 'vscode-lm':
      return `VS Code model${spec.family ? ` (${spec.family})` : ''}`;
  }
}

/** Model replies are stored and replayed: check one read back from anywhere (journal, network) has the right shape. */
export function isModelReply(value: unknown): value is ModelReply {
  const v = value as Record<string, unknown>;
  if (typeof v !== 'object' || v === null) return false;
  if (v.ok === false) {
    const e = v.error as Record<string, unknown>;
    return typeof e === 'object' && e !== null && typeof e.kind === 'string' && typeof e.message === 'string';
  }
  const usage = v.usage as Record<string, unknown>;
  return (
    v.ok === true &&
    typeof v.content === 'string' &&
    Array.isArray(v.toolCalls) &&
    v.toolCalls.every((c: Record<string, unknown>) => typeof c?.id === 'string' && typeof c.name === 'string' && typeof c.arguments === 'object' && c.arguments !== null) &&
    typeof usage === 'object' &&
    usage !== null &&
    Number.isFinite(usage.input) &&
    Number.isFinite(usage.output)
  );
}

/** Parse a tool call's arguments (a JSON string from most APIs); garbage becomes a clear error for the model. */
export function parseToolArguments(raw: unknown): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } {
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) return { ok: true, value: raw as Record<string, unknown> };
  if (typeof raw !== 'string') return { ok: false, message: 'tool arguments must be a JSON object' };
  try {
    const value: unknown = JSON.parse(raw.trim() === '' ? '{}' : raw);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { ok: true, value: value as Record<string, unknown> };
    return { ok: false, message: 'tool arguments must be a JSON object' };
  } catch (error) {
    return { ok: false, message: `tool arguments are not valid JSON (${(error as Error).message})` };
  }
}
