// Faults of the real-VS-Code harness: each ends with a clear message within a
// bounded time and leaves no process behind. Runs after the tools are installed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertBrowser, freePort, processesMatching, profile, startServer, waitForFile } from '../../scripts/vscode.mjs';

function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'das-harness-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a port already taken is refused with a clear message', async (t) => {
  const blocker = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  t.after(() => blocker.close());
  const { port } = blocker.address();
  await assert.rejects(freePort(port), new RegExp(`port ${port} on 127.0.0.1 is already in use`));
  const p = profile(join(tempDir(t), 'profile'));
  await assert.rejects(startServer(p, { folder: tempDir(t), port }), /already in use/);
  assert.deepEqual(processesMatching(p.dir), []);
});

test('code-server failing to start ends with its output, quickly, and leaves nothing running', async (t) => {
  const p = profile(join(tempDir(t), 'profile'));
  writeFileSync(p.config, 'auth: [this is: not valid yaml\n');
  const started = Date.now();
  await assert.rejects(startServer(p, { folder: tempDir(t), startTimeoutMs: 60_000 }), /code-server exited during start|did not answer/);
  assert.ok(Date.now() - started < 60_000);
  assert.deepEqual(processesMatching(p.dir), []);
});

test('a server that starts is stopped with its whole process group', async (t) => {
  const p = profile(join(tempDir(t), 'profile'));
  const server = await startServer(p, { folder: tempDir(t) });
  assert.ok(processesMatching(p.dir).length > 0);
  await server.stop();
  await server.stop();
  assert.deepEqual(processesMatching(p.dir), []);
});

test('a missing browser is reported by path with the fix', () => {
  assert.throws(() => assertBrowser('/nonexistent/chromium'), /the browser is missing \(\/nonexistent\/chromium\): install it with {2}apt-get install -y chromium/);
});

test('a hanging test phase ends at its timeout with a message naming it', async () => {
  const started = Date.now();
  await assert.rejects(waitForFile('/nonexistent/phase.done', 300, 'integration phase 9'), /integration phase 9 did not finish within 0.3 s/);
  assert.ok(Date.now() - started < 2_000);
});
