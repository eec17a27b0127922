/**
 * Undo (and redo) of a session's edits: a durable execution of its own, kind
 * `session_undo`, one exactly-once step per file. A step touches a file only
 * when its hash is the one the undo expects (what the session's edits left, or
 * what the person saw and chose to replace); a file changed since is left as it
 * is and reported. After a crash the step is verified by hash: the file has the
 * restored version (done), or it is written now, once. Never git: no index, no
 * branch, no stash, no file the session did not edit.
 */
import type { DurableContext, ExecutionId, ProbeOutcome, SessionEventStore, WorkflowDefinition } from '../durable';
import type { FileRestore } from './sessionEdits';
import { contentHash } from './toolTypes';
import type { WorkspaceAccess } from './workspaceAccess';

export const UNDO_KIND = 'session_undo';
export const UNDO_VERSION = 1;

export interface UndoInput {
  /** The session whose edits these are (its transcript gets the line saying what was done). */
  readonly sessionId: string;
  /** "2 files of turn 3", for titles and the transcript. */
  readonly label: string;
  readonly restores: readonly FileRestore[];
  /** Set when this undoes an undo (a redo): the undo execution it reverses. */
  readonly redoOf?: string;
}

export type RestoreState = 'restored' | 'already' | 'conflict';

export interface UndoOutcome {
  readonly sessionId: string;
  readonly redoOf?: string;
  /** The restores carried out (a redo reverses exactly these). */
  readonly restored: readonly FileRestore[];
  readonly already: readonly string[];
  readonly conflicts: readonly string[];
}

export interface UndoDeps {
  readonly workspace: () => WorkspaceAccess;
  readonly sessions: () => SessionEventStore;
}

const encoder = new TextEncoder();
const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

async function restoreOne(ctx: DurableContext, workspace: WorkspaceAccess, r: FileRestore): Promise<RestoreState> {
  const probe = async (): Promise<ProbeOutcome<RestoreState>> =>
    contentHash(await workspace.readFile(r.path)) === r.targetHash ? { done: true, value: 'restored' } : { done: false };
  return ctx.step(
    {
      name: 'undo.restore',
      effect: 'exactly_once',
      intent: 'destructive',
      policy: 'verify',
      fingerprint: `${r.path}\n${r.expectHash}\n${r.targetHash}`,
      probe,
    },
    async (h): Promise<RestoreState> => {
      const now = contentHash(await workspace.readFile(r.path));
      if (now === r.targetHash) return 'already';
      if (now !== r.expectHash) return 'conflict';
      await h.ensureOwner();
      if (r.targetText === null) await workspace.deleteFile(r.path);
      else await workspace.writeFile(r.path, encoder.encode(r.targetText));
      return 'restored';
    },
  );
}

export function undoWorkflow(deps: UndoDeps): WorkflowDefinition<UndoInput, UndoOutcome> {
  return {
    kind: UNDO_KIND,
    version: UNDO_VERSION,
    title: (input) => `${input.redoOf ? 'Redo' : 'Undo'}: ${input.label}`.slice(0, 200),
    async run(ctx, input) {
      const workspace = deps.workspace();
      const restored: FileRestore[] = [];
      const already: string[] = [];
      const conflicts: string[] = [];
      for (const r of input.restores) {
        const state = await restoreOne(ctx, workspace, r);
        if (state === 'restored') restored.push(r);
        else if (state === 'already') already.push(r.path);
        else conflicts.push(r.path);
      }
      const verb = input.redoOf ? 'Redid' : 'Undid';
      const parts = [`${verb} ${input.label} from the journal, without git: ${plural(restored.length, 'file')} restored${restored.length ? ` (${restored.map((r) => r.path).join(', ')})` : ''}`];
      if (already.length) parts.push(`${already.join(', ')} already had that version`);
      if (conflicts.length) parts.push(`${conflicts.join(', ')} changed since and ${conflicts.length === 1 ? 'was' : 'were'} left as ${conflicts.length === 1 ? 'it is' : 'they are'}`);
      // Keyed by this execution: a replay of the undo writes the line once.
      await deps.sessions().append(input.sessionId as ExecutionId, [{ key: `undo:${ctx.executionId}`, event: { type: 'message_appended', turn: 0, role: 'status', text: `${parts.join('; ')}.` } }]);
      return { sessionId: input.sessionId, ...(input.redoOf ? { redoOf: input.redoOf } : {}), restored, already, conflicts };
    },
  };
}

/** The restores that put back what an undo replaced (those it carried out and whose text the journal kept). */
export function redoOf(outcome: UndoOutcome): { restores: FileRestore[]; refused: string[] } {
  const restores: FileRestore[] = [];
  const refused: string[] = [];
  for (const r of outcome.restored) {
    if (r.expectText === undefined) {
      refused.push(`${r.path}: the text the session wrote was not kept (recorded before undo kept it, or larger than 256 KiB)`);
      continue;
    }
    restores.push({ path: r.path, expectHash: r.targetHash, ...(r.targetText !== null ? { expectText: r.targetText } : {}), targetHash: r.expectHash, targetText: r.expectText });
  }
  return { restores, refused };
}
