// The explorer's page→host messages: exactly ours, or rejected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_ROWS_PER_REQUEST, parseExplorerMessage, rowMatches, type RowView } from '../../src/shared/explorerProtocol';

test('well-formed messages parse to themselves', () => {
  const good = [
    { type: 'ready' },
    { type: 'rows', start: 0, count: 200 },
    { type: 'filter', filter: { text: 'write', kind: 'step_intent', status: 'open' } },
    { type: 'select', index: 99_999 },
    { type: 'entry', seq: 12, reveal: true },
    { type: 'resolve', stepId: 3, decision: 'skip' },
    { type: 'decide', promiseId: 'a1b2-c3', approved: false },
    { type: 'command', command: 'export' },
  ];
  for (const m of good) assert.deepEqual(parseExplorerMessage(m), m);
});

test('malformed, unknown or over-limit messages are rejected', () => {
  const bad: unknown[] = [
    null,
    'ready',
    [],
    { type: 'nope' },
    { type: 'ready', extra: 1 },
    { type: 'rows', start: -1, count: 10 },
    { type: 'rows', start: 0, count: MAX_ROWS_PER_REQUEST + 1 },
    { type: 'rows', start: 0, count: 0 },
    { type: 'rows', start: 1.5, count: 10 },
    { type: 'filter', filter: { text: 'x'.repeat(201), kind: '', status: '' } },
    { type: 'filter', filter: { text: '', kind: 'DROP TABLE', status: '' } },
    { type: 'filter', filter: { text: '', kind: '', status: '', extra: 1 } },
    { type: 'filter', filter: null },
    { type: 'entry', seq: 0, reveal: true },
    { type: 'entry', seq: 5, reveal: 'yes' },
    { type: 'resolve', stepId: 1, decision: 'delete' },
    { type: 'resolve', stepId: 2 ** 32, decision: 'skip' },
    { type: 'decide', promiseId: '../../etc', approved: true },
    { type: 'decide', promiseId: 'p', approved: 1 },
    { type: 'command', command: 'rm -rf' },
    { type: 'select', index: '3' },
  ];
  for (const m of bad) assert.equal(parseExplorerMessage(m), undefined, JSON.stringify(m));
});

test('filter matches name, step id, effect, status, key prefix and entry kinds', () => {
  const row: RowView = { index: 0, attempt: 1, stepId: 7, name: 'write_file', effect: 'exactly_once', status: 'open', startedAt: 0, endedAt: 1, entries: 1, retries: 0, lane: 0, keyPrefix: 'deadbeef', bytes: 0, kinds: ['step_intent'] };
  const f = (text: string, kind = '', status = '') => rowMatches(row, { text, kind, status });
  assert.ok(f('WRITE'));
  assert.ok(f('7'));
  assert.ok(!f('77'));
  assert.ok(f('exactly'));
  assert.ok(f('dead'));
  assert.ok(f('intent'));
  assert.ok(f('', 'step_intent', 'open'));
  assert.ok(!f('', 'step_result'));
  assert.ok(!f('', '', 'done'));
});
