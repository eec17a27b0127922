/**
 * Forks, read from the parent's journal: the turns it recorded (what each turn
 * added to the conversation), and which files are no longer what they were when
 * that turn ended. A fork replays no model call and runs no tool again: it
 * starts from the recorded conversation. See the README, "Forks".
 */
import { committedSteps, InvalidStateError, type DurableEngine, type ExecutionRecord } from '../durable';
import type { RecordedTurn } from './agentWorkflow';
import { sessionEdits } from './sessionEdits';
import { contentHash } from './toolTypes';
import type { WorkspaceAccess } from './workspaceAccess';

type Engine = Pick<DurableEngine, 'backend' | 'codec' | 'config'>;

/** Under the journal's default payload limit (1 MiB) for the fork's sealed input. */
const MAX_INHERITED_CHARS = 768 * 1024;

function isRecordedTurn(value: unknown): value is RecordedTurn {
  const v = value as Partial<RecordedTurn> | null;
  return typeof v === 'object' && v !== null && Number.isInteger(v.turn) && Array.isArray(v.messages);
}

/** Turns 1..`upTo` as the parent recorded them; refuses a session that did not record them all. */
export async function recordedTurns(engine: Engine, parent: ExecutionRecord, upTo: number): Promise<RecordedTurn[]> {
  if (!Number.isInteger(upTo) || upTo < 1) throw new InvalidStateError(`a fork starts after a turn (1 or later), not ${upTo}`);
  const steps = await committedSteps(engine, parent, (name) => name === 'turn.conversation');
  const byTurn = new Map<number, RecordedTurn>();
  for (const s of steps) if (isRecordedTurn(s.value) && !byTurn.has(s.value.turn)) byTurn.set(s.value.turn, s.value);
  const turns: RecordedTurn[] = [];
  for (let t = 1; t <= upTo; t++) {
    const recorded = byTurn.get(t);
    if (!recorded) {
      throw new InvalidStateError(
        byTurn.size === 0
          ? `'${parent.title}' did not record its turns (it started before forks were possible); it cannot be forked`
          : `'${parent.title}' has no recorded turn ${t}; fork after one of turns ${[...byTurn.keys()].sort((a, b) => a - b).join(', ')}`,
      );
    }
    if (recorded.tooLarge) throw new InvalidStateError(`turn ${t} of '${parent.title}' was too large to keep for forks (its tool results); fork after an earlier turn`);
    turns.push(recorded);
  }
  // The fork carries its inherited turns in its input: refuse what the journal would refuse, with the reason.
  const size = JSON.stringify(turns).length;
  if (size > MAX_INHERITED_CHARS) throw new InvalidStateError(`the conversation up to turn ${upTo} of '${parent.title}' is ${Math.round(size / 1024)} KiB, more than a fork can carry (${MAX_INHERITED_CHARS / 1024} KiB); fork after an earlier turn`);
  return turns;
}

/** The turns a session recorded, for a person to choose from. */
export async function forkableTurns(engine: Engine, parent: ExecutionRecord): Promise<RecordedTurn[]> {
  const steps = await committedSteps(engine, parent, (name) => name === 'turn.conversation');
  const byTurn = new Map<number, RecordedTurn>();
  for (const s of steps) if (isRecordedTurn(s.value) && !byTurn.has(s.value.turn)) byTurn.set(s.value.turn, s.value);
  return [...byTurn.values()].sort((a, b) => a.turn - b.turn);
}

/**
 * Files the session edited whose content now differs from what it was when
 * turn `turn` ended (edited later by the session, or by anyone since). The fork
 * continues from the conversation as it was; these files are what it will not see.
 */
export async function filesChangedSince(engine: Engine, parent: ExecutionRecord, turn: number, workspace: WorkspaceAccess): Promise<string[]> {
  const expected = new Map<string, string>();
  const edits = await sessionEdits(engine, parent);
  // Edits come in order: a file edited by then has its last version; one edited only later, the one before.
  for (const e of edits) {
    if (e.turn <= turn) expected.set(e.path, e.afterHash);
    else if (!expected.has(e.path)) expected.set(e.path, e.beforeHash);
  }
  const changed: string[] = [];
  for (const [path, hash] of expected) if (contentHash(await workspace.readFile(path)) !== hash) changed.push(path);
  return changed;
}
