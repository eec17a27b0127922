// The session panel's messages from the page: only exact, well-formed messages get through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePageMessage } from '../../src/shared/sessionProtocol';

test('well-formed page messages are accepted as they are', () => {
  const good = [
    { type: 'ready' },
    { type: 'start', task: 'Fix the bug' },
    { type: 'open', threadId: '01a20428-a5ab-77e8-b2f3-1e56cb092b12' },
    { type: 'newSession' },
    { type: 'decide', promiseId: 'd2b3f7218d44ecdf2254734415a903da', approved: true },
    { type: 'decide', promiseId: 'd2b3f7218d44ecdf2254734415a903da', approved: true, answer: 'README.md' },
    { type: 'resolveWindow', stepId: 4, decision: 'skip' },
    { type: 'cancel' },
    { type: 'resume' },
    { type: 'inspect' },
  ];
  for (const m of good) assert.deepEqual(parsePageMessage(m), m);
});

test('unknown, malformed or padded page messages are rejected', () => {
  const bad: unknown[] = [
    null,
    'start',
    [],
    {},
    { type: 'eval', code: 'x' },
    { type: 'start' },
    { type: 'start', task: '   ' },
    { type: 'start', task: 'x'.repeat(40_000) },
    { type: 'start', task: 'ok', extra: 1 },
    { type: 'ready', command: 'rm' },
    { type: 'open', threadId: '../../etc' },
    { type: 'decide', promiseId: 'p1', approved: 'yes' },
    { type: 'decide', promiseId: 'p 1; drop', approved: true },
    { type: 'decide', promiseId: 'p1', approved: true, answer: 42 },
    { type: 'resolveWindow', stepId: -1, decision: 'rerun' },
    { type: 'resolveWindow', stepId: 1.5, decision: 'rerun' },
    { type: 'resolveWindow', stepId: 1, decision: 'approve' },
  ];
  for (const m of bad) assert.equal(parsePageMessage(m), undefined, JSON.stringify(m)?.slice(0, 80));
});
