/**
 * Fork from Here: a new session that starts after a chosen turn of another,
 * with the conversation so far served from the parent's journal (no model call,
 * no tool run again, no tokens) and a new instruction, live. Files that are no
 * longer what they were after that turn are named before the fork starts.
 * Automation: `{executionId, turn, instruction, confirmed}`.
 */
import * as vscode from 'vscode';
import type { ExecutionId } from '../durable';
import { filesChangedSince, forkableTurns } from '../agent/fork';
import { executionIdOf } from '../views/explorerTreeModel';
import type { CommandTable } from './commandTable';
import type { Container } from './container';

interface ForkArgs {
  readonly executionId?: string;
  readonly turn?: number;
  readonly instruction?: string;
  readonly confirmed?: boolean;
}

const argsOf = (arg: unknown): ForkArgs => (typeof arg === 'object' && arg !== null ? (arg as ForkArgs) : {});

function firstWords(turn: { messages: ReadonlyArray<{ role: string; content: string }> }): string {
  const reply = turn.messages.find((m) => m.role === 'assistant');
  return (reply?.content || '(tool calls)').replace(/\s+/g, ' ').slice(0, 80);
}

async function forkSession(c: Container, arg: unknown): Promise<string | undefined> {
  const args = argsOf(arg);
  let id = (executionIdOf(arg) ?? args.executionId) as ExecutionId | undefined;
  if (!id) {
    const sessions = (await c.sessions.list(200)).filter((s) => s.status !== 'running');
    const picked = await vscode.window.showQuickPick(sessions.map((s) => ({ label: s.title, description: s.status, detail: s.id, id: s.id })), { title: 'Fork which session?' });
    id = picked?.id;
  }
  if (!id) return undefined;
  const host = await c.sessions.host();
  const parent = await host.runtime.get(id);
  if (!parent) throw new Error(`session ${id} does not exist (it may have been pruned)`);
  if (c.sessions.isActive(id)) throw new Error(`'${parent.title}' is running: fork it once it has stopped`);
  let turn = args.turn;
  if (turn === undefined) {
    const turns = await forkableTurns(host.engine, parent);
    if (turns.length === 0) throw new Error(`'${parent.title}' did not record its turns (it started before forks were possible); it cannot be forked`);
    const picked = await vscode.window.showQuickPick(
      turns.map((t) => ({ label: `After turn ${t.turn}`, description: firstWords(t), turn: t.turn })),
      { title: `Fork '${parent.title}' after which turn?` },
    );
    turn = picked?.turn;
  }
  if (turn === undefined) return undefined;
  const instruction =
    args.instruction ??
    (await vscode.window.showInputBox({
      title: `Fork '${parent.title}' after turn ${turn}`,
      prompt: 'What should the fork do from here? Turns up to here come from the journal: no model call, no tool run again, no tokens.',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'say what the fork should do'),
    }));
  if (!instruction) return undefined;
  const changed = await filesChangedSince(host.engine, parent, turn, c.sessions.workspace());
  if (changed.length > 0) {
    c.log.info(`fork of ${id} after turn ${turn}: files changed since: ${changed.join(', ')}`);
    if (!args.confirmed) {
      const answer = await vscode.window.showWarningMessage(
        `${changed.join(', ')} ${changed.length === 1 ? 'is' : 'are'} no longer what ${changed.length === 1 ? 'it was' : 'they were'} after turn ${turn}.`,
        { modal: true, detail: 'The fork continues from the conversation as it was after that turn; it does not change any file before it starts. Undo Session Edits… can restore them first.' },
        'Fork Anyway',
      );
      if (answer !== 'Fork Anyway') return undefined;
    }
  }
  const handle = await host.forkSession(id, turn, instruction, c.sessions.modelFromSettings());
  c.log.info(`session ${handle.id} forked from ${id} after turn ${turn}`);
  c.panels.open(handle.id);
  return handle.id;
}

export const forkCommands: CommandTable = {
  'durableSessions.forkSession': { action: 'Fork session', run: (c, _options, arg) => forkSession(c, arg) },
};
