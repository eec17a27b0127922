/**
 * Which files a session edited, read from its journal: each applied
 * write_file/edit_file with the hashes its plan recorded before and after, the
 * old text (to restore) and the new text (to show and to redo), and the turn it
 * belongs to. An undo plan says, per file, what it must find there (the last
 * version the edits left) and what it puts back (the version before the first
 * of them). Undo never looks at git: only these files, only these versions.
 * See the README, "Undo, from the journal".
 */
import { committedSteps, type DurableEngine, type ExecutionRecord } from '../durable';
import { isModelReply } from './model';

export interface SessionEdit {
  readonly stepId: number;
  readonly turn: number;
  readonly path: string;
  /** 'absent' when the edit created the file. */
  readonly beforeHash: string;
  readonly afterHash: string;
  /** The text before (null: the file did not exist; undefined: too large to have been kept). */
  readonly before: string | null | undefined;
  /** The text the edit wrote (undefined when it was not kept). */
  readonly after: string | undefined;
}

/** One file an undo restores. */
export interface FileRestore {
  readonly path: string;
  /** What the file must be now for the undo to touch it. */
  readonly expectHash: string;
  /** Its text now, when the journal kept it (a redo puts it back). */
  readonly expectText?: string;
  readonly targetHash: string;
  /** null: remove the file (the edits created it). */
  readonly targetText: string | null;
}

interface PlanValue {
  readonly ok?: unknown;
  readonly beforeHash?: unknown;
  readonly afterHash?: unknown;
  readonly before?: unknown;
  readonly after?: unknown;
}

const EDIT_TOOLS = new Set(['tool.write_file', 'tool.edit_file']);
const isPlan = (name: string): boolean => name === 'tool.write_file.plan' || name === 'tool.edit_file.plan';

/** The session's applied edits, in the order they happened. */
export async function sessionEdits(engine: Pick<DurableEngine, 'backend' | 'codec' | 'config'>, execution: ExecutionRecord): Promise<SessionEdit[]> {
  const steps = await committedSteps(engine, execution, (n) => n === 'model.call' || n === 'turn.conversation' || isPlan(n) || EDIT_TOOLS.has(n));
  const edits: SessionEdit[] = [];
  let turn = 0;
  let plan: { stepId: number; value: PlanValue } | undefined;
  for (const step of steps) {
    if (step.name === 'turn.conversation') {
      // A fork starts with its parent's turns (recorded before its first call): its own are numbered after them.
      const recorded = (step.value as { turn?: unknown }).turn;
      if (typeof recorded === 'number' && recorded > turn) turn = recorded;
      continue;
    }
    if (step.name === 'model.call') {
      // A turn is a model reply (a failed call is retried within the same turn).
      if (isModelReply(step.value) && step.value.ok) turn++;
      continue;
    }
    if (isPlan(step.name)) {
      plan = { stepId: step.stepId, value: step.value as PlanValue };
      continue;
    }
    const applied = step.value as { ok?: unknown; path?: unknown; beforeHash?: unknown; afterHash?: unknown };
    // The write follows its plan as the next step; anything else is not an edit we can account for.
    if (!plan || plan.stepId !== step.stepId - 1 || applied.ok !== true || typeof applied.path !== 'string') continue;
    const p = plan.value;
    if (typeof applied.beforeHash !== 'string' || typeof applied.afterHash !== 'string' || p.beforeHash !== applied.beforeHash || p.afterHash !== applied.afterHash) continue;
    edits.push({
      stepId: step.stepId,
      turn,
      path: applied.path,
      beforeHash: applied.beforeHash,
      afterHash: applied.afterHash,
      before: p.before === null ? null : typeof p.before === 'string' ? p.before : undefined,
      after: typeof p.after === 'string' ? p.after : undefined,
    });
    plan = undefined;
  }
  return edits;
}

/** Why an edit cannot be undone from the journal, or undefined when it can. */
export function cannotRestore(edits: readonly SessionEdit[]): string | undefined {
  const first = edits[0];
  if (!first) return 'nothing to undo';
  return first.before === undefined ? `${first.path} was larger than the journal keeps for an undo (256 KiB)` : undefined;
}

/**
 * Per file, from a chosen set of edits (in order): restore the version before
 * the first of them, provided the file is still what the last one left.
 */
export function restoresOf(edits: readonly SessionEdit[]): { restores: FileRestore[]; refused: string[] } {
  const byPath = new Map<string, SessionEdit[]>();
  for (const e of edits) byPath.set(e.path, [...(byPath.get(e.path) ?? []), e]);
  const restores: FileRestore[] = [];
  const refused: string[] = [];
  for (const [path, list] of byPath) {
    const why = cannotRestore(list);
    if (why) {
      refused.push(why);
      continue;
    }
    const first = list[0]!;
    const last = list[list.length - 1]!;
    restores.push({ path, expectHash: last.afterHash, ...(last.after !== undefined ? { expectText: last.after } : {}), targetHash: first.beforeHash, targetText: first.before ?? null });
  }
  return { restores, refused };
}
