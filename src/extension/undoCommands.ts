/**
 * Undo Session Edits… and Redo Undone Edits…: the person's side of undo from
 * the journal (src/agent/undoWorkflow.ts). Pick what to undo (the session, one
 * turn, one edit); a file changed since the session is shown in a diff editor
 * (what the session wrote, and what undo would put back, each against the file
 * now) and left alone unless the person says otherwise; then an undo execution
 * restores the files, once, even through a crash. Git is never run.
 * Automation: `{executionId, scope: 'session' | 'turn' | 'edit', turn, stepId, onConflict: 'keep' | 'restore', confirmed}`.
 */
import * as vscode from 'vscode';
import { isInterrupted, type ExecutionId } from '../durable';
import { restoresOf, sessionEdits, type FileRestore, type SessionEdit } from '../agent/sessionEdits';
import { contentHash } from '../agent/toolTypes';
import { redoOf, UNDO_KIND, type UndoOutcome } from '../agent/undoWorkflow';
import { executionIdOf } from '../views/explorerTreeModel';
import type { CommandTable } from './commandTable';
import type { Container } from './container';
import { notify } from './userErrors';
import { versions } from './versionDocuments';

const decoder = new TextDecoder();

interface UndoArgs {
  readonly executionId?: string;
  readonly scope?: 'session' | 'turn' | 'edit';
  readonly turn?: number;
  readonly stepId?: number;
  readonly onConflict?: 'keep' | 'restore';
  readonly confirmed?: boolean;
}

function argsOf(arg: unknown): UndoArgs {
  return typeof arg === 'object' && arg !== null ? (arg as UndoArgs) : {};
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
const files = (edits: readonly SessionEdit[]): string => [...new Set(edits.map((e) => e.path))].join(', ');

async function pickSession(c: Container, arg: unknown): Promise<ExecutionId | undefined> {
  const given = executionIdOf(arg) ?? argsOf(arg).executionId;
  if (given) return given as ExecutionId;
  const sessions = (await c.sessions.list(200)).filter((s) => s.status !== 'running');
  const picked = await vscode.window.showQuickPick(
    sessions.map((s) => ({ label: s.title, description: s.status, detail: s.id, id: s.id })),
    { title: 'Undo the edits of which session?', matchOnDetail: true },
  );
  return picked?.id as ExecutionId | undefined;
}

/** Which edits: from the arguments, else a quick pick of the session, its turns and its single edits. */
async function pickEdits(edits: readonly SessionEdit[], args: UndoArgs, title: string): Promise<{ chosen: SessionEdit[]; label: string } | undefined> {
  if (args.scope === 'session') return { chosen: [...edits], label: `${plural(edits.length, 'edit')} of '${title}'` };
  if (args.scope === 'turn') return { chosen: edits.filter((e) => e.turn === args.turn), label: `turn ${args.turn} of '${title}'` };
  if (args.scope === 'edit') return { chosen: edits.filter((e) => e.stepId === args.stepId), label: `one edit of '${title}'` };
  const turns = [...new Set(edits.map((e) => e.turn))];
  const items = [
    { label: `$(discard) All ${plural(edits.length, 'edit')} of the session`, description: files(edits), chosen: [...edits], what: `${plural(edits.length, 'edit')} of '${title}'` },
    ...turns.map((turn) => {
      const inTurn = edits.filter((e) => e.turn === turn);
      return { label: `Turn ${turn}`, description: `${plural(inTurn.length, 'edit')}: ${files(inTurn)}`, chosen: inTurn, what: `turn ${turn} of '${title}'` };
    }),
    ...edits.map((e) => ({ label: `${e.path}`, description: `turn ${e.turn} · ${e.beforeHash === 'absent' ? 'created' : 'edited'}`, chosen: [e], what: `one edit of '${title}'` })),
  ];
  const picked = await vscode.window.showQuickPick(items, { title: `Undo which edits of '${title}'?`, placeHolder: 'Files are restored from the journal; git is never run' });
  return picked ? { chosen: picked.chosen, label: picked.what } : undefined;
}

/**
 * Each file as it is now: what undo expects (it goes ahead), what it would put
 * back already (nothing to do), or changed since (the person decides, with the diffs open).
 */
async function settleConflicts(c: Container, restores: readonly FileRestore[], edits: readonly SessionEdit[], onConflict: UndoArgs['onConflict'], verb: 'Undo' | 'Redo'): Promise<FileRestore[] | undefined> {
  // An undo puts back the version before the session; a redo, the one the session wrote.
  const target = verb === 'Undo' ? 'before the session' : 'what the session wrote';
  const since = verb === 'Undo' ? 'the session edited it' : 'it was undone';
  const workspace = c.sessions.workspace();
  const settled: FileRestore[] = [];
  for (const r of restores) {
    const bytes = await workspace.readFile(r.path);
    const now = contentHash(bytes);
    if (now === r.expectHash || now === r.targetHash) {
      settled.push(r);
      continue;
    }
    let choice = onConflict;
    if (!choice) {
      const file = vscode.Uri.joinPath(vscode.Uri.file(workspace.root), r.path);
      const last = [...edits].reverse().find((e) => e.path === r.path);
      if (last?.after !== undefined) await vscode.commands.executeCommand('vscode.diff', versions.uri('session', r.path, last.after), file, `${r.path}: what the session wrote ↔ now`, { preview: false });
      await vscode.commands.executeCommand('vscode.diff', versions.uri('target', r.path, r.targetText ?? ''), file, `${r.path}: ${target} ↔ now`, { preview: false });
      const answer = await vscode.window.showWarningMessage(
        `${r.path} changed since ${since}.`,
        { modal: true, detail: `The diff editor shows what ${verb.toLowerCase()} would put back (${target}) against the file now. Restoring discards the changes made since.` },
        'Restore Anyway',
        'Keep This File',
      );
      if (answer === undefined) return undefined;
      choice = answer === 'Restore Anyway' ? 'restore' : 'keep';
    }
    // Replacing what is there now is the person's choice: the undo then expects exactly this version.
    if (choice === 'restore') settled.push({ ...r, expectHash: now, ...(bytes ? { expectText: decoder.decode(bytes) } : {}) });
    else settled.push(r);
  }
  return settled;
}

async function confirm(label: string, restores: readonly FileRestore[], confirmed: boolean, verb: 'Undo' | 'Redo'): Promise<boolean> {
  if (confirmed) return true;
  const answer = await vscode.window.showWarningMessage(
    `${verb} ${label}? ${plural(restores.length, 'file')}: ${restores.map((r) => r.path).join(', ')}.`,
    { modal: true, detail: 'Files are restored from the journal, each only where it is still the expected version. Git, its index, branches, stashes and untracked files are not touched.' },
    verb,
  );
  return answer === verb;
}

function report(c: Container, verb: 'Undid' | 'Redid', label: string, undoId: string, outcome: UndoOutcome | undefined, status: string): void {
  const what = verb === 'Undid' ? 'undo' : 'redo';
  if (!outcome && status === 'interrupted') throw new Error(`the ${what} was interrupted; it is offered again like a session (Resume Execution…), and each file is checked by hash before it is written`);
  if (!outcome) throw new Error(`the ${what} ended ${status}; files it had not restored are as they were (see its journal: Inspect Execution…)`);
  const parts = [`${verb} ${label}: ${plural(outcome.restored.length, 'file')} restored`];
  if (outcome.conflicts.length) parts.push(`left as they are: ${outcome.conflicts.join(', ')}`);
  c.log.info(`${parts.join('; ')} (execution ${undoId})`);
  notify(`Durable Sessions: ${parts.join('; ')}.`, outcome.restored.length && verb === 'Undid' ? { Redo: () => void vscode.commands.executeCommand('durableSessions.redoEdits', { executionId: undoId }) } : {});
}

async function undoEdits(c: Container, arg: unknown): Promise<UndoOutcome | undefined> {
  const args = argsOf(arg);
  const id = await pickSession(c, arg);
  if (!id) return undefined;
  const host = await c.sessions.host();
  const execution = await host.runtime.get(id);
  if (!execution) throw new Error(`session ${id} does not exist (it may have been pruned)`);
  if (c.sessions.isActive(id) || (execution.status === 'running' && !isInterrupted(execution, Date.now(), (x) => c.sessions.isActive(x)))) throw new Error(`'${execution.title}' is running: let it finish, or stop it, before undoing its edits`);
  const edits = await sessionEdits(host.engine, execution);
  if (edits.length === 0) {
    notify(`Durable Sessions: '${execution.title}' edited no files; there is nothing to undo.`);
    return undefined;
  }
  const picked = await pickEdits(edits, args, execution.title);
  if (!picked || picked.chosen.length === 0) return undefined;
  const { restores, refused } = restoresOf(picked.chosen);
  for (const why of refused) c.log.warn(`undo: ${why}`);
  if (restores.length === 0) throw new Error(`nothing can be undone from the journal: ${refused.join('; ')}`);
  try {
    const settled = await settleConflicts(c, restores, picked.chosen, args.onConflict, 'Undo');
    if (!settled || !(await confirm(picked.label, settled, args.confirmed === true, 'Undo'))) return undefined;
    const handle = await host.startUndo({ sessionId: id, label: picked.label, restores: settled });
    const done = await handle.done;
    const outcome = done.status === 'completed' ? (done as { output: UndoOutcome }).output : undefined;
    report(c, 'Undid', picked.label, handle.id, outcome, done.status);
    return outcome;
  } finally {
    versions.clear();
  }
}

async function redoEdits(c: Container, arg: unknown): Promise<UndoOutcome | undefined> {
  const args = argsOf(arg);
  const host = await c.sessions.host();
  let undoId = executionIdOf(arg) ?? args.executionId;
  if (!undoId) {
    const undos = (await host.runtime.list({ kind: UNDO_KIND, limit: 100 })).filter((e) => e.status === 'completed' && e.title.startsWith('Undo:'));
    const picked = await vscode.window.showQuickPick(
      undos.map((e) => ({ label: e.title, detail: e.id, id: e.id })),
      { title: 'Redo which undo?' },
    );
    undoId = picked?.id;
  }
  if (!undoId) return undefined;
  const done = await host.runtime.outcome(undoId as ExecutionId);
  if (done?.status !== 'completed') throw new Error(`execution ${undoId} is not a finished undo`);
  const undone = (done as { output: UndoOutcome }).output;
  const { restores, refused } = redoOf(undone);
  for (const why of refused) c.log.warn(`redo: ${why}`);
  if (restores.length === 0) throw new Error(refused.length ? `nothing can be redone: ${refused.join('; ')}` : 'that undo restored no file');
  const label = (await host.runtime.get(undoId as ExecutionId))?.title.replace(/^Undo: /, '') ?? 'the undone edits';
  try {
    const settled = await settleConflicts(c, restores, [], args.onConflict, 'Redo');
    if (!settled || !(await confirm(label, settled, args.confirmed === true, 'Redo'))) return undefined;
    const handle = await host.startUndo({ sessionId: undone.sessionId, label, restores: settled, redoOf: undoId });
    const finished = await handle.done;
    const outcome = finished.status === 'completed' ? (finished as { output: UndoOutcome }).output : undefined;
    report(c, 'Redid', label, handle.id, outcome, finished.status);
    return outcome;
  } finally {
    versions.clear();
  }
}

export const undoCommands: CommandTable = {
  'durableSessions.undoEdits': { action: 'Undo session edits', run: (c, _options, arg) => undoEdits(c, arg) },
  'durableSessions.redoEdits': { action: 'Redo undone edits', run: (c, _options, arg) => redoEdits(c, arg) },
};
