// A command waiting for the person's approval has not started: its transcript row must not say "running".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { honestToolStates } from '../../src/views/transcriptStates';

const row = (role: string, state: string | null, text = '') => ({ role, state, text });

test('a tool row whose approval is pending says "awaiting approval"; once decided, or without an approval, it keeps its state', () => {
  const shown = honestToolStates([
    row('tool', 'done', 'read README.md'),
    row('tool', 'running', '$ sleep 3; echo checked >> checks.log'),
    row('approval', 'pending', 'sleep 3; echo checked >> checks.log'),
  ]);
  assert.deepEqual(
    shown.map((m) => `${m.role}: ${m.state}`),
    ['tool: done', 'tool: awaiting approval', 'approval: pending'],
  );
  const approved = honestToolStates([row('tool', 'running', '$ make'), row('approval', 'approved', 'make')]);
  assert.equal(approved[0]?.state, 'running', 'approved: the command runs now');
  const alone = honestToolStates([row('tool', 'running', 'write hello.txt')]);
  assert.equal(alone[0]?.state, 'running');
});
