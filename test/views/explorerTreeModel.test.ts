// The Executions tree as data: grouping (incl. interrupted), the Needs attention node, steps and entries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttentionItem, ExecutionRecord, ExecutionStatus, Timeline, TimelineRow } from '../../src/durable';
import { attentionLabel, attentionNodes, entryNodes, executionIdOf, executionNode, groupOf, nextLeaseExpiry, rootNodes, shortTitle, stepNodes, type Liveness } from '../../src/views/explorerTreeModel';

const NOW = 1_700_000_000_000;
let counter = 0;

function execution(status: ExecutionStatus, extra: Partial<ExecutionRecord> = {}): ExecutionRecord {
  counter++;
  return {
    id: `0190a000-0000-7000-8000-${String(counter).padStart(12, '0')}` as ExecutionRecord['id'],
    kind: 'agent_session',
    version: 1,
    title: `exec ${counter}`,
    status,
    attempt: 1,
    createdAt: NOW - 60_000,
    updatedAt: NOW - 30_000,
    finishedAt: null,
    stepCount: 3,
    statusDetail: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    leaseEpoch: 0,
    ...extra,
  };
}

const live = (active: string[] = []): Liveness => ({ now: NOW, isActive: (id) => active.includes(id) });

test('a running row is "running" when this window runs it or a live lease holds it, else "interrupted"', () => {
  const here = execution('running');
  const elsewhere = execution('running', { leaseOwner: 'w2', leaseExpiresAt: NOW + 10_000 });
  const expired = execution('running', { leaseOwner: 'w2', leaseExpiresAt: NOW - 1 });
  const orphan = execution('running');
  assert.equal(groupOf(here, live([here.id])), 'running');
  assert.equal(groupOf(elsewhere, live()), 'running');
  assert.equal(groupOf(expired, live()), 'interrupted');
  assert.equal(groupOf(orphan, live()), 'interrupted');
  assert.equal(groupOf(execution('suspended'), live()), 'suspended');
  assert.equal(groupOf(execution('aborted'), live()), 'failed');
});

test('the views look again when a live lease held elsewhere runs out, never for one already expired', () => {
  const soon = execution('running', { leaseOwner: 'w2', leaseExpiresAt: NOW + 4_000 });
  const later = execution('running', { leaseOwner: 'w3', leaseExpiresAt: NOW + 9_000 });
  const expired = execution('running', { leaseOwner: 'w2', leaseExpiresAt: NOW - 1 });
  const here = execution('running', { leaseOwner: 'me', leaseExpiresAt: NOW + 1_000 });
  const done = execution('completed', { leaseExpiresAt: NOW + 500 });
  assert.equal(nextLeaseExpiry([later, soon, expired, here, done], live([here.id])), NOW + 4_000);
  // A crashed host's session reads "interrupted" already: waiting for its lease re-rendered the panel every 100 ms.
  assert.equal(groupOf(expired, live()), 'interrupted');
  assert.equal(nextLeaseExpiry([expired, here, done, execution('running')], live([here.id])), undefined);
});

test('root: Needs attention first (only when something needs it), then non-empty groups in a fixed order', () => {
  const a = execution('completed');
  const b = execution('running');
  const c = execution('failed');
  const none = rootNodes([a, b, c], [], live());
  assert.deepEqual(none.map((n) => n.label), ['Interrupted', 'Failed', 'Completed']);
  assert.equal(none.find((n) => n.label === 'Completed')?.collapsible, 'collapsed', 'finished executions start closed');
  const attention: AttentionItem = { type: 'ambiguous', execution: b, stepId: 4, stepName: 'run_command', effect: 'exactly_once', policy: 'ask', intent: 'destructive', since: NOW - 5_000 };
  const withAttention = rootNodes([a, b, c], [attention], live());
  assert.equal(withAttention[0].label, 'Needs attention');
  assert.equal(withAttention[0].description, '1');
  const [child] = attentionNodes([attention], live());
  assert.equal(child.label, 'Interrupted step 4: run_command');
  assert.equal(child.contextValue, 'attention.ambiguous.session');
  assert.deepEqual(child.command?.args, [b.id]);
  assert.equal(executionIdOf(child), b.id, 'commands invoked on the node find the execution');
});

test('execution node: kind, steps, tokens, age; contextValue drives the inline actions; markdown in titles is escaped', () => {
  const e = execution('running', { title: 'fix *all* the [bugs](x)', kind: 'agent_session' });
  const node = executionNode(e, live(), { in: 1200, out: 300 });
  assert.equal(node.description, 'session · 3 steps · 1,500 tokens · 30s ago');
  assert.equal(node.contextValue, 'execution.interrupted.session');
  assert.match(node.tooltip ?? '', /fix \\\*all\\\* the \\\[bugs\\\]\\\(x\\\)/);
  assert.match(node.tooltip ?? '', /interrupted: nobody is running it/);
  assert.equal(executionNode(execution('completed', { kind: 'etl' }), live()).contextValue, 'execution.completed.other');
  assert.equal(executionNode(execution('completed', { kind: 'etl' }), live()).command?.id, 'durableSessions.inspect');
});

function row(index: number, stepId: number | null, status: TimelineRow['status'], entryIndexes: number[]): TimelineRow {
  return { index, attempt: 1, stepId, name: `s${index}`, effect: 'exactly_once', status, startedAt: NOW, endedAt: NOW + 1500, firstSeq: index + 1, lastSeq: index + 1, kinds: [], entryIndexes, retries: status === 'failed' ? 1 : 0, lane: 0, keyPrefix: 'abcd0123', bytes: 10 };
}

test('steps are capped with a node that opens the rest in the explorer; entries show seq, size, key and kind', () => {
  const e = execution('completed');
  const rows = Array.from({ length: 5 }, (_, i) => row(i, i, i === 2 ? 'failed' : 'done', [i]));
  const timeline: Timeline = {
    execution: e,
    rows,
    entries: rows.map((_, i) => ({ seq: i + 1, attempt: 1, stepId: i, kind: i === 0 ? 'step_intent' : 'step_result', stepName: `s${i}`, effect: 'exactly_once', keyPrefix: 'abcd0123', size: i === 0 ? 0 : 42, createdAt: NOW })),
    lanes: 1,
    startedAt: NOW,
    endedAt: NOW + 1500,
    complete: true,
  };
  const nodes = stepNodes(timeline, 3);
  assert.deepEqual(nodes.map((n) => n.label), ['0 s0', '1 s1', '2 s2', '2 more steps…']);
  assert.equal(nodes[2].contextValue, 'step.failed');
  assert.match(nodes[2].description ?? '', /failed · exactly_once · 1.5 s · 1 retry/);
  assert.deepEqual(nodes[3].command?.args, [e.id]);
  const [control] = entryNodes(timeline, rows[0]);
  const [payload] = entryNodes(timeline, rows[1]);
  assert.equal(control.contextValue, 'entry.control');
  assert.equal(payload.contextValue, 'entry.payload');
  assert.match(payload.description ?? '', /^#2 · step 1 · exactly_once · 42 B · key abcd0123… · /);
  assert.equal(executionIdOf(payload), e.id);
});

test('executionIdOf accepts ids, {executionId} and nodes, and nothing else', () => {
  const id = '0190a000-0000-7000-8000-000000000001';
  assert.equal(executionIdOf(id), id);
  assert.equal(executionIdOf({ executionId: id }), id);
  assert.equal(executionIdOf({ confirmed: true }), undefined);
  assert.equal(executionIdOf('not an id'), undefined);
  assert.equal(executionIdOf({ ref: { type: 'group' } }), undefined);
});

test('tab titles are cut at a word boundary with an ellipsis, never inside a word or a character', () => {
  assert.equal(shortTitle('Fix the flaky integration test in the payment service please'), 'Fix the flaky integration test in the…');
  assert.equal(shortTitle('short'), 'short');
  assert.equal(shortTitle('🦀'.repeat(50)), `${'🦀'.repeat(39)}…`);
});

test('an approval shows what is approved: the command in full, not the promise name', () => {
  const e = execution('suspended', { kind: 'agent_session', title: 'Fix the build' });
  const item = { type: 'approval' as const, execution: e, promiseId: 'p1', name: 'approval:command', stepId: 7, since: 0, prompt: 'npm run build -- --prod' };
  assert.equal(attentionLabel(item).label, 'Approve: npm run build -- --prod');
  const [node] = attentionNodes([item], live());
  assert.match(String(node.tooltip), /```\nnpm run build -- --prod\n```/);
  assert.equal(attentionLabel({ ...item, prompt: undefined }).label, 'Approval: approval:command', 'other workflows keep their promise name');
});
