// A file the agent replaces is never seen truncated or half written: the new
// content is written beside it and renamed over it. (A SIGKILL between the
// truncation and the write of an in-place write left an empty file, which the
// edit's verify policy then took for someone else's change: the agent crash
// torture caught it.)
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NodeWorkspace } from '../../src/agent/workspaceAccess';
import { tempDir } from '../helpers';

test('replacing a file: a reader polling during the write sees the old content or the new, never a part; the mode is kept; no temp file stays', async (t) => {
  const root = tempDir(t, 'das-ws-write-');
  const oldText = 'o'.repeat(8 * 1024 * 1024);
  const newText = 'n'.repeat(8 * 1024 * 1024);
  writeFileSync(join(root, 'big.txt'), oldText);
  chmodSync(join(root, 'big.txt'), 0o640);
  const workspace = new NodeWorkspace(root);
  const seen = new Set<string>();
  let writing = true;
  const poll = (async () => {
    while (writing) {
      const text = readFileSync(join(root, 'big.txt'), 'utf8');
      seen.add(text === oldText ? 'old' : text === newText ? 'new' : `partial ${text.length}`);
      await new Promise((r) => setImmediate(r));
    }
  })();
  await workspace.writeFile('big.txt', new TextEncoder().encode(newText));
  writing = false;
  await poll;
  assert.deepEqual([...seen].filter((s) => s.startsWith('partial')), [], `a reader saw ${[...seen].join(', ')}`);
  assert.equal(readFileSync(join(root, 'big.txt'), 'utf8'), newText);
  assert.equal(statSync(join(root, 'big.txt')).mode & 0o777, 0o640, 'the file keeps its permissions');
  assert.deepEqual(readdirSync(root), ['big.txt'], 'nothing left beside it');
});
