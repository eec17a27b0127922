// Agent sessions with the scripted model: the loop, its tools, approvals, limits, and resume.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ExecutionId } from '../../src/durable/model/ids';
import { until } from '../helpers';
import { agentFixture, settled } from './agentFixture';


const EDIT_SCRIPT = [
  { say: 'Looking around.', toolCalls: [{ name: 'list_directory', arguments: { path: '.' } }, { name: 'read_file', arguments: { path: 'notes.txt' } }] },
  { say: 'Fixing the note.', toolCalls: [{ name: 'edit_file', arguments: { path: 'notes.txt', old_text: 'teh', new_text: 'the' } }] },
  { toolCalls: [{ name: 'run_command', arguments: { command: 'echo ran >> cmd.log' } }] },
  { say: 'Done: fixed the typo and ran the command.', usage: { input: 50, output: 10 } },
];

test('a session that reads, edits and runs an approved command completes, and its transcript is projected', async (t) => {
  const f = await agentFixture(t);
  writeFileSync(join(f.workspace, 'notes.txt'), 'fix teh typo\n');
  f.script(EDIT_SCRIPT);
  const handle = await f.host.startSession('Fix the typo in notes.txt, then run the command.', f.spec);
  const first = await handle.done;
  assert.equal(first.status, 'suspended', 'the command waits for approval');
  assert.equal(readFileSync(join(f.workspace, 'notes.txt'), 'utf8'), 'fix the typo\n', 'the edit happened before the approval');
  assert.equal(existsSync(join(f.workspace, 'cmd.log')), false, 'nothing ran before the approval');
  const [pending] = await f.host.pendingApprovals(handle.id);
  assert.equal(pending.kind, 'command');
  assert.equal(pending.text, 'echo ran >> cmd.log');

  await f.decideNext(handle.id, true);
  assert.equal(await settled(f, handle.id), 'completed');
  assert.equal(readFileSync(join(f.workspace, 'cmd.log'), 'utf8'), 'ran\n');
  const thread = (await f.engine.sessions.thread(handle.id))!;
  assert.equal(thread.outcome, 'answered');
  assert.equal(thread.turnCount, 4);
  assert.equal(thread.toolCalls, 4);
  assert.equal(thread.pendingApprovals, 0);
  assert.ok(thread.tokensIn >= 50 && thread.tokensOut >= 10, 'tokens add up across turns');
  const messages = await f.engine.sessions.messages(handle.id);
  assert.deepEqual(
    messages.map((m) => `${m.role}${m.state ? `:${m.state}` : ''}`),
    ['user', 'assistant', 'tool:done', 'tool:done', 'assistant', 'tool:done', 'assistant', 'tool:done', 'approval:approved', 'assistant', 'status'],
  );
  assert.match(messages.at(-2)!.text, /fixed the typo/);
  assert.equal((await f.engine.sessions.checkpoints(handle.id)).length, 3);
  const execution = (await f.host.runtime.get(handle.id))!;
  assert.equal(execution.kind, 'agent_session');
  assert.equal(execution.title, 'Fix the typo in notes.txt, then run the command.');
});

test('a denied command is not run, and the model hears that it was denied', async (t) => {
  const f = await agentFixture(t);
  f.script([{ toolCalls: [{ name: 'run_command', arguments: { command: 'echo no >> cmd.log' } }] }, { say: 'Understood.' }]);
  const handle = await f.host.startSession('Run something', f.spec);
  assert.equal((await handle.done).status, 'suspended');
  await f.decideNext(handle.id, false);
  assert.equal(await settled(f, handle.id), 'completed');
  assert.equal(existsSync(join(f.workspace, 'cmd.log')), false);
  const tool = (await f.engine.sessions.messages(handle.id)).find((m) => m.role === 'tool')!;
  assert.equal(tool.state, 'failed');
  assert.match(tool.detail ?? '', /denied/);
});

test('ask_user parks the session until the answer arrives, and the model reads the answer', async (t) => {
  const f = await agentFixture(t);
  f.script([{ toolCalls: [{ name: 'ask_user', arguments: { question: 'Which file?' } }] }, { say: 'Thanks.' }]);
  const handle = await f.host.startSession('Ask me', f.spec);
  assert.equal((await handle.done).status, 'suspended');
  await f.decideNext(handle.id, true, 'README.md');
  assert.equal(await settled(f, handle.id), 'completed');
  const approval = (await f.engine.sessions.messages(handle.id)).find((m) => m.role === 'approval')!;
  assert.equal(approval.state, 'approved');
  assert.match(approval.detail ?? '', /README\.md/);
});

test('garbage from the model becomes tool errors the model reads, and the session goes on', async (t) => {
  const f = await agentFixture(t);
  f.script([
    {
      toolCalls: [
        { name: 'no_such_tool', arguments: {} },
        { name: 'read_file', arguments: { path: '../../etc/passwd' } },
        { name: 'read_file', arguments: { path: 42 } },
        { name: 'edit_file', arguments: { path: 'a.txt', old_text: 'x', new_text: 'y' } },
        { name: 'read_file', arguments: { __invalid: 'tool arguments are not valid JSON' } },
      ],
    },
    { say: 'I give up politely.' },
  ]);
  writeFileSync(join(f.workspace, 'a.txt'), 'x x\n');
  const handle = await f.host.startSession('Do odd things', f.spec);
  assert.equal((await handle.done).status, 'completed');
  const tools = (await f.engine.sessions.messages(handle.id)).filter((m) => m.role === 'tool');
  assert.deepEqual(tools.map((m) => m.state), ['failed', 'failed', 'failed', 'failed', 'failed']);
  assert.match(tools[0].detail!, /unknown tool/);
  assert.match(tools[1].detail!, /outside the workspace/);
  assert.match(tools[2].detail!, /must be a string/);
  assert.match(tools[3].detail!, /more than once/);
  assert.equal(readFileSync(join(f.workspace, 'a.txt'), 'utf8'), 'x x\n');
});

test('a failed model call parks the session with nothing lost; Resume retries it', async (t) => {
  const f = await agentFixture(t);
  f.script([{ error: { kind: 'rate_limited', message: 'slow down' } }]);
  const handle = await f.host.startSession('Say hi', f.spec);
  const first = await handle.done;
  assert.equal(first.status, 'suspended');
  const [retry] = await f.host.pendingApprovals(handle.id);
  assert.equal(retry.kind, 'retry');
  assert.match(retry.text, /slow down/);
  f.script([{ say: 'hi' }]);
  await f.host.resume(handle.id);
  assert.equal(await settled(f, handle.id), 'completed');
  const roles = (await f.engine.sessions.messages(handle.id)).map((m) => m.role);
  assert.deepEqual(roles, ['user', 'error', 'approval', 'assistant', 'status']);
});

test('a token budget stops the session once exceeded, and the total survives in the projection', async (t) => {
  const f = await agentFixture(t, { limits: { tokenBudget: 100 } });
  f.script([
    { toolCalls: [{ name: 'list_directory', arguments: {} }], usage: { input: 60, output: 10 } },
    { toolCalls: [{ name: 'list_directory', arguments: {} }], usage: { input: 60, output: 10 } },
    { say: 'never reached' },
  ]);
  const handle = await f.host.startSession('Spend', f.spec);
  const outcome = await handle.done;
  assert.equal(outcome.status, 'completed');
  assert.equal((outcome as { output: { outcome: string } }).output.outcome, 'budget_exceeded');
  const thread = (await f.engine.sessions.thread(handle.id))!;
  assert.equal(thread.tokensIn + thread.tokensOut, 140);
  assert.equal(thread.outcome, 'budget_exceeded');
});

test('money: each call is priced once, by the model the provider names; a money budget stops the session and its transcript says so', async (t) => {
  const f = await agentFixture(t, { limits: { costBudgetMicros: 3_000, currency: 'EUR' }, prices: { 'scripted: script.json': { input: 10, output: 30 } } });
  f.script([
    { toolCalls: [{ name: 'list_directory', arguments: {} }], usage: { input: 100, output: 10 } },
    { toolCalls: [{ name: 'list_directory', arguments: {} }], usage: { input: 150, output: 20 } },
    { say: 'never reached', usage: { input: 1, output: 1 } },
  ]);
  const handle = await f.host.startSession('Spend money', f.spec);
  const outcome = (await handle.done) as { status: string; output: { outcome: string; costMicros: number } };
  assert.equal(outcome.status, 'completed');
  assert.equal(outcome.output.outcome, 'budget_exceeded');
  // 100 × 10 + 10 × 30 = 1,300; then 150 × 10 + 20 × 30 = 2,100: 3,400 > 3,000.
  assert.equal(outcome.output.costMicros, 3_400);
  const thread = (await f.engine.sessions.thread(handle.id))!;
  assert.deepEqual([thread.costMicros, thread.unpricedCalls, thread.rerunCalls], [3_400, 0, 0]);
  assert.deepEqual((await f.engine.sessions.turns(handle.id)).map((turn) => turn.costMicros), [1_300, 2_100]);
  const last = (await f.engine.sessions.messages(handle.id)).at(-1)!;
  assert.equal(last.text, 'Stopped: €0.0034 spent, over the budget of €0.0030.');
});

test('money: a model the price table does not name is counted as unpriced, never as free', async (t) => {
  const f = await agentFixture(t, { prices: { 'gpt-4o': { input: 2.5, output: 10 } } });
  f.script([{ say: 'done', usage: { input: 500, output: 50 } }]);
  const handle = await f.host.startSession('Unpriced', f.spec);
  await handle.done;
  const thread = (await f.engine.sessions.thread(handle.id))!;
  assert.deepEqual([thread.costMicros, thread.unpricedCalls], [0, 1]);
  const last = (await f.engine.sessions.messages(handle.id)).at(-1)!;
  assert.equal(last.text, 'Finished after 1 turns, 550 tokens.', 'no amount is claimed for an unpriced call');
});

test('money: a money budget with a model that has no price fails closed after its first call, and says why', async (t) => {
  const f = await agentFixture(t, { limits: { costBudgetMicros: 1_000_000 }, prices: {} });
  f.script([{ toolCalls: [{ name: 'list_directory', arguments: {} }], usage: { input: 10, output: 1 } }, { say: 'never reached' }]);
  const handle = await f.host.startSession('Unpriced with a budget', f.spec);
  const outcome = (await handle.done) as { output: { outcome: string } };
  assert.equal(outcome.output.outcome, 'budget_exceeded');
  const last = (await f.engine.sessions.messages(handle.id)).at(-1)!;
  assert.equal(last.text, 'Stopped: scripted: script.json has no price in durableSessions.agent.prices, so the money budget cannot count its calls.');
});

test('a turn limit stops a model that never stops calling tools', async (t) => {
  const f = await agentFixture(t, { limits: { maxTurns: 2 } });
  f.script([{ toolCalls: [{ name: 'list_directory', arguments: {} }] }, { toolCalls: [{ name: 'list_directory', arguments: {} }] }, { say: 'x' }]);
  const outcome = await (await f.host.startSession('Loop', f.spec)).done;
  assert.equal((outcome as { output: { outcome: string } }).output.outcome, 'turn_limit');
});

test('cancelling a parked session closes its transcript', async (t) => {
  const f = await agentFixture(t);
  f.script([{ toolCalls: [{ name: 'ask_user', arguments: { question: 'ok?' } }] }]);
  const handle = await f.host.startSession('Wait', f.spec);
  await handle.done;
  assert.equal(await f.host.cancel(handle.id), true);
  await until(async () => (await f.engine.sessions.thread(handle.id))?.outcome === 'cancelled');
});

test('a session stopped mid-model-call resumes in a new host without repeating committed calls or edits', async (t) => {
  const dir = join((await import('node:os')).tmpdir(), `das-agent-resume-${process.pid}-${Date.now()}`);
  const file = `${dir}.db`;
  t.after(async () => (await import('node:fs')).rmSync(file, { force: true }));
  const first = await agentFixture(t, { file });
  writeFileSync(join(first.workspace, 'log.txt'), '');
  const turns = [
    { toolCalls: [{ name: 'write_file', arguments: { path: 'log.txt', content: 'one\n' } }] },
    { say: 'slow answer', delayMs: 60_000 },
  ];
  first.script(turns, { ledger: 'calls.log' });
  const handle = await first.host.startSession('Write then think', first.spec);
  await until(() => existsSync(join(first.scriptFile, '..', 'calls.log')) && readFileSync(join(first.scriptFile, '..', 'calls.log'), 'utf8').split('\n').length > 2);
  await first.host.dispose(); // the window closes while the second model call is in flight
  assert.equal((await handle.done).status, 'interrupted');

  // The next window: same database, same workspace, same script (now fast).
  writeFileSync(first.scriptFile, JSON.stringify({ turns: [turns[0], { say: 'done' }], ledger: 'calls.log' }));
  const second = await agentFixture(t, { file });
  const plan = await second.host.plan();
  assert.equal(plan.length, 1);
  assert.equal(plan[0].decision.action, 'resume');
  // The session's input names the script file, so the new host asks the same script.
  const [resumed] = await second.host.applyPlan(plan, () => true);
  // The second fixture's workspace differs: the write is not repeated there either (its result is replayed).
  assert.equal((await resumed.done).status, 'completed');
  const calls = readFileSync(join(first.scriptFile, '..', 'calls.log'), 'utf8').trim().split('\n');
  assert.deepEqual(calls, ['turn 1', 'turn 2', 'turn 2'], 'only the interrupted call ran again; the committed one was replayed');
  assert.equal(existsSync(join(second.workspace, 'log.txt')), false, 'the committed write was not applied again');
  assert.equal(readFileSync(join(first.workspace, 'log.txt'), 'utf8'), 'one\n');
  const audit = await second.engine.backend.listAudit(handle.id as ExecutionId);
  assert.deepEqual(audit.map((a) => [a.stepName, a.policy, a.decision]), [['model.call', 'rerun', 'reran']]);
  const thread = (await second.engine.sessions.thread(handle.id))!;
  assert.equal(thread.outcome, 'answered');
  // The call made again is counted once in the total, and apart as a rerun; the transcript says what it may have cost.
  assert.deepEqual([thread.rerunCalls, thread.unpricedCalls], [1, 2]);
  const told = (await second.engine.sessions.messages(handle.id)).filter((m) => m.role === 'status').map((m) => m.text);
  assert.ok(told.includes('This model call was interrupted and made again (see its audit record): the provider may have charged its first try too.'), JSON.stringify(told));
});
