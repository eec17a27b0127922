/**
 * Any OpenAI-compatible chat-completions endpoint (OpenAI, Azure-style
 * proxies, local servers such as llama.cpp, vLLM or Ollama's /v1).
 *
 * Streams when the server streams (SSE), accepts a plain JSON reply too. A
 * provider problem becomes a typed error reply, never an exception:
 * - 429 and 5xx are retried a few times, honouring `Retry-After` (capped);
 * - a request that outlives `timeoutMs` is a `timeout`;
 * - a body that is not the expected JSON is `malformed`, with what was wrong.
 * Cancellation (the step's signal) throws, as everywhere in the core.
 * The API key is read per call and never logged or journaled.
 */
import { abortableDelay, CancelledError } from '../durable';
import { parseToolArguments, type ChatMessage, type ModelClient, type ModelReply, type ModelRequest, type ToolCall, type TokenUsage } from './model';

export interface OpenAiOptions {
  readonly baseUrl: string;
  readonly model: string;
  readonly apiKey: () => Promise<string | undefined>;
  readonly timeoutMs?: number;
  /** Tries for 429/5xx, including the first. */
  readonly maxTries?: number;
  /** Longest wait for one Retry-After. */
  readonly maxRetryWaitMs?: number;
  readonly stream?: boolean;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

type Failure = Extract<ModelReply, { ok: false }>;

function failure(kind: Failure['error']['kind'], message: string): Failure {
  return { ok: false, error: { kind, message } };
}

function toWire(m: ChatMessage): Record<string, unknown> {
  switch (m.role) {
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls?.length
          ? { tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } })) }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    default:
      return { role: m.role, content: m.content };
  }
}

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

interface Accumulated {
  content: string;
  calls: Map<number, { id?: string; name: string; args: string }>;
  usage?: TokenUsage;
  model?: string;
}

function readUsage(raw: unknown): TokenUsage | undefined {
  const u = raw as Record<string, unknown> | undefined;
  if (typeof u !== 'object' || u === null) return undefined;
  const input = Number(u.prompt_tokens ?? u.input_tokens);
  const output = Number(u.completion_tokens ?? u.output_tokens);
  return Number.isFinite(input) && Number.isFinite(output) ? { input, output } : undefined;
}

/** Fold one chunk (a streamed delta, or a whole non-streamed message) into the reply being built. */
function absorb(acc: Accumulated, chunk: unknown, streamed: boolean, onText?: (t: string) => void): string | undefined {
  const c = chunk as Record<string, unknown>;
  if (typeof c !== 'object' || c === null) return 'a chunk is not a JSON object';
  if (c.error) return `the server reported an error: ${String((c.error as Record<string, unknown>).message ?? JSON.stringify(c.error)).slice(0, 300)}`;
  acc.usage = readUsage(c.usage) ?? acc.usage;
  if (typeof c.model === 'string') acc.model = c.model;
  if (!Array.isArray(c.choices)) return acc.usage ? undefined : 'no "choices" array';
  const choice = c.choices[0] as Record<string, unknown> | undefined;
  if (!choice) return undefined;
  const part = (streamed ? choice.delta : choice.message) as Record<string, unknown> | undefined;
  if (typeof part !== 'object' || part === null) return streamed ? undefined : 'the choice has no "message"';
  if (typeof part.content === 'string' && part.content) {
    acc.content += part.content;
    onText?.(part.content);
  }
  if (part.tool_calls !== undefined) {
    if (!Array.isArray(part.tool_calls)) return '"tool_calls" is not an array';
    part.tool_calls.forEach((raw: Record<string, unknown>, i: number) => {
      const index = typeof raw?.index === 'number' ? raw.index : i;
      const fn = (raw?.function ?? {}) as Record<string, unknown>;
      const slot = acc.calls.get(index) ?? { name: '', args: '' };
      if (typeof raw?.id === 'string') slot.id = raw.id;
      if (typeof fn.name === 'string') slot.name += fn.name;
      if (typeof fn.arguments === 'string') slot.args += fn.arguments;
      else if (typeof fn.arguments === 'object' && fn.arguments !== null) slot.args = JSON.stringify(fn.arguments);
      acc.calls.set(index, slot);
    });
  }
  return undefined;
}

async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let total = 0;
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    total += bytes.length;
    if (total > MAX_BODY_BYTES) throw new Error('the streamed reply is larger than 8 MB');
    buffer += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (data) yield data;
    }
  }
  if (buffer.trim().startsWith('data:')) yield buffer.trim().slice(5).trimStart();
}

export class OpenAiCompatibleModel implements ModelClient {
  readonly label: string;

  constructor(private readonly options: OpenAiOptions) {
    this.label = `openai: ${options.model} @ ${options.baseUrl}`;
  }

  async chat(request: ModelRequest): Promise<ModelReply> {
    const tries = Math.max(1, this.options.maxTries ?? 3);
    let last: Failure = failure('unavailable', 'no attempt was made');
    for (let attempt = 1; attempt <= tries; attempt++) {
      const outcome = await this.once(request);
      if (outcome.reply) return outcome.reply;
      last = outcome.failure;
      if (outcome.retryInMs === undefined || attempt === tries) break;
      const wait = Math.min(outcome.retryInMs, this.options.maxRetryWaitMs ?? 30_000);
      await abortableDelay(wait, request.signal);
    }
    return last;
  }

  private async once(request: ModelRequest): Promise<{ reply: ModelReply; failure?: never; retryInMs?: never } | { reply?: never; failure: Failure; retryInMs?: number }> {
    const timeoutMs = this.options.timeoutMs ?? 120_000;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const signal = AbortSignal.any([request.signal, timeout.signal]);
    const stream = this.options.stream ?? true;
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    try {
      const key = await this.options.apiKey();
      const response = await fetch(url, {
        method: 'POST',
        signal,
        headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream, application/json' : 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({
          model: this.options.model,
          messages: request.messages.map(toWire),
          ...(request.tools.length ? { tools: request.tools.map((t) => ({ type: 'function', function: t })) } : {}),
          ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
        }),
      });
      if (response.status === 429 || response.status >= 500) {
        const snippet = (await response.text().catch(() => '')).slice(0, 200);
        const retryIn = retryAfterMs(response.headers.get('retry-after')) ?? 1000;
        return {
          failure: failure(response.status === 429 ? 'rate_limited' : 'http', `${url} answered ${response.status}${snippet ? `: ${snippet}` : ''}`),
          retryInMs: retryIn,
        };
      }
      if (!response.ok) {
        const snippet = (await response.text().catch(() => '')).slice(0, 300);
        const kind = response.status === 401 || response.status === 403 ? 'refused' : 'http';
        return { failure: failure(kind, `${url} answered ${response.status}${snippet ? `: ${snippet}` : ''}`) };
      }
      const acc: Accumulated = { content: '', calls: new Map() };
      const isStream = (response.headers.get('content-type') ?? '').includes('text/event-stream');
      if (isStream && response.body) {
        for await (const data of sseData(response.body)) {
          if (data === '[DONE]') break;
          let chunk: unknown;
          try {
            chunk = JSON.parse(data);
          } catch {
            return { failure: failure('malformed', `${url} streamed a chunk that is not JSON: ${data.slice(0, 80)}`) };
          }
          const problem = absorb(acc, chunk, true, request.onText);
          if (problem) return { failure: failure('malformed', `${url}: ${problem}`) };
        }
      } else {
        const text = await response.text();
        if (text.length > MAX_BODY_BYTES) return { failure: failure('malformed', `${url}: the reply is larger than 8 MB`) };
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return { failure: failure('malformed', `${url} did not answer with JSON (it began with ${JSON.stringify(text.slice(0, 60))})`) };
        }
        const problem = absorb(acc, body, false, request.onText);
        if (problem) return { failure: failure('malformed', `${url}: ${problem}`) };
      }
      const toolCalls: ToolCall[] = [];
      for (const [index, call] of [...acc.calls.entries()].sort((a, b) => a[0] - b[0])) {
        if (!call.name) return { failure: failure('malformed', `${url}: tool call ${index} has no function name`) };
        const args = parseToolArguments(call.args);
        // Arguments the model garbled stay visible to it as an error from the tool, not as a failed call.
        toolCalls.push({ id: call.id ?? `call_${index}`, name: call.name, arguments: args.ok ? args.value : { __invalid: args.message } });
      }
      const usage = acc.usage ?? { input: 0, output: Math.ceil(acc.content.length / 4) };
      return { reply: { ok: true, content: acc.content, toolCalls, usage, model: acc.model ?? this.options.model } };
    } catch (error) {
      if (request.signal.aborted) throw new CancelledError('the model call was cancelled');
      // Not retried: the provider may have charged for the call that timed out.
      if (timeout.signal.aborted) return { failure: failure('timeout', `${url} did not answer within ${Math.round(timeoutMs / 1000)} s`) };
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return { failure: failure('unavailable', `${url} could not be reached${cause ? ` (${cause})` : ''}: ${(error as Error).message}`), retryInMs: 1000 };
    } finally {
      clearTimeout(timer);
    }
  }
}
