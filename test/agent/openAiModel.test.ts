// The OpenAI-compatible model against a local test server on 127.0.0.1 with scripted replies.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OpenAiCompatibleModel, retryAfterMs } from '../../src/agent/openAiModel';
import type { ModelRequest } from '../../src/agent/model';
import { until } from '../helpers';
import { agentFixture } from './agentFixture';

type Handler = (req: IncomingMessage, body: Record<string, unknown>, res: ServerResponse) => void;

async function server(t: { after(fn: () => void | Promise<void>): void }, handlers: Handler[]): Promise<{ url: string; requests: Array<{ headers: IncomingMessage['headers']; body: Record<string, unknown> }> }> {
  const requests: Array<{ headers: IncomingMessage['headers']; body: Record<string, unknown> }> = [];
  const srv = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as Record<string, unknown>;
      requests.push({ headers: req.headers, body });
      const handler = handlers[Math.min(requests.length - 1, handlers.length - 1)];
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    srv.closeAllConnections();
    srv.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v1`, requests };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Handler => (_req, _body, res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

const sse = (chunks: unknown[]): Handler => (_req, _body, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const c of chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
  res.end('data: [DONE]\n\n');
};

function request(over: Partial<ModelRequest> = {}): ModelRequest {
  return { messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'read_file', description: 'read', parameters: { type: 'object' } }], signal: new AbortController().signal, ...over };
}

const model = (url: string, extra: Partial<ConstructorParameters<typeof OpenAiCompatibleModel>[0]> = {}) =>
  new OpenAiCompatibleModel({ baseUrl: url, model: 'test-model', apiKey: async () => 'sk-test', timeoutMs: 1_000, maxRetryWaitMs: 100, ...extra });

test('a streamed reply with text and a tool call split across chunks is assembled, with usage', async (t) => {
  const s = await server(t, [
    sse([
      { choices: [{ delta: { content: 'Let me ' } }] },
      { choices: [{ delta: { content: 'look.' } }] },
      { choices: [{ delta: { tool_calls: [{ index: 0, id: 'call_a', function: { name: 'read_', arguments: '{"pa' } }] } }] },
      { choices: [{ delta: { tool_calls: [{ index: 0, function: { name: 'file', arguments: 'th":"a.txt"}' } }] } }] },
      { choices: [], usage: { prompt_tokens: 12, completion_tokens: 7 } },
    ]),
  ]);
  const streamed: string[] = [];
  const reply = await model(s.url).chat(request({ onText: (d) => streamed.push(d) }));
  assert.deepEqual(reply, { ok: true, content: 'Let me look.', toolCalls: [{ id: 'call_a', name: 'read_file', arguments: { path: 'a.txt' } }], usage: { input: 12, output: 7 }, model: 'test-model' });
  assert.deepEqual(streamed, ['Let me ', 'look.']);
  assert.equal(s.requests[0].headers.authorization, 'Bearer sk-test');
  assert.equal(s.requests[0].body.stream, true);
  assert.deepEqual((s.requests[0].body.tools as Array<{ function: { name: string } }>)[0].function.name, 'read_file');
});

test('a plain JSON reply works too, and garbled tool arguments reach the model as an error, not a crash', async (t) => {
  const s = await server(t, [
    json(200, { choices: [{ message: { content: 'ok', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read_file', arguments: '{not json' } }] } }], usage: { prompt_tokens: 1, completion_tokens: 2 } }),
  ]);
  const reply = await model(s.url).chat(request());
  assert.equal(reply.ok, true);
  assert.match(String((reply as unknown as { toolCalls: Array<{ arguments: Record<string, unknown> }> }).toolCalls[0].arguments.__invalid), /not valid JSON/);
});

test('429 with Retry-After is retried after the wait, then succeeds', async (t) => {
  const s = await server(t, [json(429, { error: { message: 'rate limited' } }, { 'retry-after': '0.05' }), json(200, { choices: [{ message: { content: 'fine' } }] })]);
  const started = Date.now();
  const reply = await model(s.url).chat(request());
  assert.equal(reply.ok, true);
  assert.equal(s.requests.length, 2);
  assert.ok(Date.now() - started >= 45, 'waited for Retry-After');
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs(new Date(Date.now() + 2000).toUTCString(), Date.now()) !== undefined, true);
  assert.equal(retryAfterMs('soon'), undefined);
});

test('errors become typed replies with clear messages: 429 exhausted, 500, 401, garbage, timeout, unreachable', async (t) => {
  const limited = await server(t, [json(429, 'slow down', { 'retry-after': '0' })]);
  assert.deepEqual(await model(limited.url, { maxTries: 2 }).chat(request()), { ok: false, error: { kind: 'rate_limited', message: `${limited.url}/chat/completions answered 429: slow down` } });
  assert.equal(limited.requests.length, 2);

  const broken = await server(t, [json(500, 'boom', { 'retry-after': '0' })]);
  const r500 = await model(broken.url, { maxTries: 1 }).chat(request());
  assert.equal(r500.ok === false && r500.error.kind, 'http');

  const denied = await server(t, [json(401, { error: { message: 'bad key' } })]);
  const r401 = await model(denied.url).chat(request());
  assert.equal(r401.ok === false && r401.error.kind, 'refused');
  assert.equal(denied.requests.length, 1, 'a refusal is not retried');
  assert.ok(r401.ok === false && !r401.error.message.includes('sk-test'), 'the key never appears in a message');

  const garbage = await server(t, [json(200, '<html>proxy error</html>')]);
  const rg = await model(garbage.url, { stream: false }).chat(request());
  assert.deepEqual(rg.ok === false && rg.error.kind, 'malformed');
  assert.match(rg.ok === false ? rg.error.message : '', /did not answer with JSON/);

  const shapeless = await server(t, [json(200, { hello: 'world' })]);
  const rs = await model(shapeless.url).chat(request());
  assert.match(rs.ok === false ? rs.error.message : '', /no "choices" array/);

  const badStream = await server(t, [(_q, _b, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end('data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {oops\n\n');
  }]);
  const rb = await model(badStream.url).chat(request());
  assert.match(rb.ok === false ? rb.error.message : '', /streamed a chunk that is not JSON/);

  const silent = await server(t, [() => undefined]);
  const rt = await model(silent.url, { timeoutMs: 100 }).chat(request());
  assert.equal(rt.ok === false && rt.error.kind, 'timeout');
  assert.equal(silent.requests.length, 1, 'a timed-out call (maybe charged) is not retried');

  const ru = await model('http://127.0.0.1:9/v1', { maxTries: 1 }).chat(request());
  assert.equal(ru.ok === false && ru.error.kind, 'unavailable');
});

test('cancellation reaches the request and throws (it is not a model error)', async (t) => {
  const s = await server(t, [() => undefined]);
  const controller = new AbortController();
  const pending = model(s.url, { timeoutMs: 5_000 }).chat(request({ signal: controller.signal }));
  await until(() => s.requests.length === 1);
  controller.abort();
  await assert.rejects(pending, (e: Error & { code?: string }) => e.code === 'cancelled');
});

test('a session on the HTTP model: tool calls run, garbage suspends the session with nothing lost, a retry finishes it', async (t) => {
  let phase = 'tools';
  const s = await server(t, [
    (_q, body, res) => {
      const messages = body.messages as Array<{ role: string }>;
      const answered = messages.filter((m) => m.role === 'tool').length;
      if (phase === 'garbage' && answered === 1) return json(200, 'Internal gateway said: ¯\\_(ツ)_/¯')(_q, body, res);
      if (answered === 0) {
        return sse([{ choices: [{ delta: { tool_calls: [{ index: 0, id: 'w1', function: { name: 'write_file', arguments: JSON.stringify({ path: 'out.txt', content: 'from http\n' }) } }] } }] }, { choices: [], usage: { prompt_tokens: 30, completion_tokens: 5 } }])(_q, body, res);
      }
      return sse([{ choices: [{ delta: { content: 'All done.' } }] }, { choices: [], usage: { prompt_tokens: 40, completion_tokens: 3 } }])(_q, body, res);
    },
  ]);
  phase = 'garbage';
  const f = await agentFixture(t, { apiKey: 'sk-local' });
  const handle = await f.host.startSession('Write out.txt', { provider: 'openai', baseUrl: s.url, model: 'local' });
  const first = await handle.done;
  assert.equal(first.status, 'suspended', 'garbage parks the session');
  assert.equal(readFileSync(join(f.workspace, 'out.txt'), 'utf8'), 'from http\n');
  const [retry] = await f.host.pendingApprovals(handle.id);
  assert.equal(retry.kind, 'retry');
  assert.match(retry.text, /did not answer with JSON|not JSON/);
  phase = 'fixed';
  await f.host.resume(handle.id);
  await until(async () => (await f.host.runtime.get(handle.id))?.status === 'completed');
  assert.equal(readFileSync(join(f.workspace, 'out.txt'), 'utf8'), 'from http\n', 'the write is not repeated by the retry');
  const thread = (await f.engine.sessions.thread(handle.id))!;
  assert.equal(thread.outcome, 'answered');
  assert.equal(thread.tokensIn, 70);
  assert.equal(s.requests.length, 3);
});
