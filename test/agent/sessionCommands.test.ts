// Agent sessions whose window goes away while a shell command runs, and
// sessions carried to another workspace by export and import: what the next
// host does, and what the transcript says, must be what really happened.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportExecutions, importExecutions } from '../../src/durable/journal/exportArtifact';
import { runningPidOf } from '../../src/agent/supervisor/commandRecord';
import { processAlive, tempDir, until } from '../helpers';
import { agentFixture, settled } from './agentFixture';


/** The pid of the one command running under a supervisor for this journal file. */
function runningCommandPid(file: string): number | undefined {
  const root = `${file}-commands`;
  if (!existsSync(root)) return undefined;
  for (const execution of readdirSync(root)) {
    for (const entry of readdirSync(join(root, execution))) {
      const pid = runningPidOf(join(root, execution, entry));
      if (pid !== undefined) return pid;
    }
  }
  return undefined;
}


test('the window closes while a command runs: it finishes under its supervisor, and the next window records how it ended without running it again', async (t) => {
  const file = join(tempDir(t, 'das-cmd-'), 'durable.db');
  const first = await agentFixture(t, { file, policy: { requireCommandApproval: false } });
  const log = join(first.workspace, 'cmd.log');
  first.script([{ toolCalls: [{ name: 'run_command', arguments: { command: 'sleep 0.5; echo ran >> cmd.log; echo finished' } }] }, { say: 'done' }]);
  const handle = await first.host.startSession('Run the slow command', first.spec);
  await until(() => runningCommandPid(file) !== undefined);
  await first.host.dispose(); // the window closes mid-command
  assert.equal((await handle.done).status, 'interrupted');
  await until(() => existsSync(log), 5_000);

  const second = await agentFixture(t, { file, policy: { requireCommandApproval: false } });
  const [item] = await second.host.plan();
  assert.equal(item.decision.action, 'resume', 'the command step is verified, not left to a person');
  const [resumed] = await second.host.applyPlan([item], () => true);
  assert.equal((await resumed.done).status, 'completed');
  assert.equal(readFileSync(log, 'utf8'), 'ran\n', 'the command ran once');
  const audit = await second.engine.backend.listAudit(handle.id);
  assert.deepEqual(audit.map((a) => [a.stepName, a.policy, a.decision, a.decidedBy]), [['tool.run_command', 'verify', 'verified_done', 'probe']]);
  const tool = (await second.engine.sessions.messages(handle.id)).find((m) => m.role === 'tool')!;
  assert.equal(tool.state, 'done');
  assert.equal(tool.detail, 'exit code 0 (it finished while the session was interrupted)');
  assert.equal(existsSync(`${file}-commands`) && readdirSync(`${file}-commands`).length, 0, 'the record is dropped once the journal holds the outcome');
});

test('a command interrupted on one machine is never run again by another that shares the journal: its record is out of reach there, so a person decides', async (t) => {
  const file = join(tempDir(t, 'das-cmd-'), 'durable.db');
  const laptop = await agentFixture(t, { file, policy: { requireCommandApproval: false }, machine: 'laptop:aa' });
  const log = join(laptop.workspace, 'cmd.log');
  laptop.script([{ toolCalls: [{ name: 'run_command', arguments: { command: `sleep 0.5; echo ran >> ${JSON.stringify(log)}; echo finished` } }] }, { say: 'done' }]);
  await laptop.host.startSession('Run the slow command', laptop.spec);
  await until(() => runningCommandPid(file) !== undefined);
  await laptop.host.dispose(); // the laptop goes away mid-command; its supervisor finishes it there
  await until(() => existsSync(log), 5_000);

  const devBox = await agentFixture(t, { file, policy: { requireCommandApproval: false }, machine: 'devbox:bb', commandsRoot: `${file}-commands-devbox` });
  const [item] = await devBox.host.plan();
  const [resumed] = await devBox.host.applyPlan([item], () => true);
  const outcome = await resumed.done;
  assert.equal(outcome.status, 'suspended', JSON.stringify(outcome));
  assert.match(outcome.status === 'suspended' ? outcome.reason : '', /could not be verified \(it was started on another machine sharing this journal; whether it ran is recorded there, not here\); a decision is needed/);
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(readFileSync(log, 'utf8'), 'ran\n', 'the dev box did not run it a second time');
});

test('cancelling a session stops the command an earlier window left running, with its process group', { skip: process.platform === 'win32' }, async (t) => {
  const file = join(tempDir(t, 'das-cmd-'), 'durable.db');
  const first = await agentFixture(t, { file, policy: { requireCommandApproval: false } });
  first.script([{ toolCalls: [{ name: 'run_command', arguments: { command: '(sleep 1; echo late >> cmd.log) & sleep 30' } }] }, { say: 'done' }]);
  const handle = await first.host.startSession('Run the long command', first.spec);
  await until(() => runningCommandPid(file) !== undefined);
  const pid = runningCommandPid(file)!;
  await first.host.dispose();
  assert.ok(processAlive(pid), 'the command outlived the window');

  const second = await agentFixture(t, { file });
  assert.equal(await second.host.cancel(handle.id), true);
  await until(() => !processAlive(pid), 5_000);
  await new Promise((r) => setTimeout(r, 1_300));
  assert.equal(existsSync(join(first.workspace, 'cmd.log')), false, 'its background child was stopped too');
  await until(async () => (await second.engine.sessions.thread(handle.id))?.outcome === 'cancelled');
});

test('an exported session carries its transcript and its pending approval; approved in the other workspace, it runs on there', async (t) => {
  const source = await agentFixture(t);
  source.script([{ say: 'I will run it.', toolCalls: [{ name: 'run_command', arguments: { command: 'echo imported >> cmd.log' } }] }, { say: 'All done.' }]);
  const handle = await source.host.startSession('Run one command', source.spec);
  assert.equal((await handle.done).status, 'suspended');
  const before = await source.engine.sessions.messages(handle.id);
  const bytes = await exportExecutions(source.engine, { executions: [handle.id] });
  assert.ok(!Buffer.from(bytes).includes(Buffer.from('echo imported')), 'the sealed export shows neither the command nor the transcript');

  const target = await agentFixture(t);
  const report = await importExecutions(target.engine, bytes);
  assert.deepEqual([report.imported, report.events > 0, report.promises], [1, true, 1]);
  const after = await target.engine.sessions.messages(handle.id);
  assert.deepEqual(after.map((m) => [m.role, m.state, m.text]), before.map((m) => [m.role, m.state, m.text]), 'the same transcript');
  const [pending] = await target.host.pendingApprovals(handle.id);
  assert.equal(pending.text, 'echo imported >> cmd.log');
  assert.equal((await target.engine.sessions.thread(handle.id))?.title, 'Run one command');

  await target.decideNext(handle.id, true);
  assert.equal(await settled(target, handle.id), 'completed');
  assert.equal(readFileSync(join(target.workspace, 'cmd.log'), 'utf8'), 'imported\n', 'it ran once, in the workspace that approved it');
  assert.equal(existsSync(join(source.workspace, 'cmd.log')), false);
  const messages = await target.engine.sessions.messages(handle.id);
  assert.deepEqual(messages.filter((m) => m.role === 'approval').map((m) => m.state), ['approved']);
  assert.equal(messages.at(-2)?.text, 'All done.');
});

test('a revealed export of a session carries its transcript in plain text and is sealed again on import', async (t) => {
  const source = await agentFixture(t);
  source.script([{ say: 'Reading.', toolCalls: [{ name: 'list_directory', arguments: { path: '.' } }] }, { say: 'Nothing to do.' }]);
  const handle = await source.host.startSession('Look around', source.spec);
  assert.equal(await settled(source, handle.id), 'completed');
  const bytes = await exportExecutions(source.engine, { executions: [handle.id], reveal: true });
  const file = JSON.parse(Buffer.from(bytes).toString('utf8'));
  assert.equal(file.executions[0].events.find((e: { event: { type: string } }) => e.event.type === 'thread_created').event.task, 'Look around');
  const target = await agentFixture(t);
  await importExecutions(target.engine, bytes);
  const messages = await target.engine.sessions.messages(handle.id);
  assert.deepEqual(messages.map((m) => m.text).slice(0, 2), ['Look around', 'Reading.']);
});
