/**
 * Command palette and tree commands of the journal explorer: Inspect, Resume,
 * Cancel, Export, Import, Reveal payload, Resolve an interrupted step, Decide
 * an approval. Each takes an execution from its argument (a tree node, an id,
 * or `{executionId}`), else asks with a quick pick listing status and age.
 * Automation (and the tests) pass an options object to skip dialogs.
 */
import { AGENT_SESSION_KIND } from '../agent/agentWorkflow';
import * as vscode from 'vscode';
import { ImportError, isTerminal, type AttentionItem, type ExecutionId, type ExecutionRecord } from '../durable';
import { executionIdOf, formatAge, groupOf, type GroupId } from '../views/explorerTreeModel';
import type { CommandTable } from './commandTable';
import type { Container } from './container';
import { NoWorkspaceError } from './database';
import { notify } from './userErrors';

const GROUP_ICONS: Record<GroupId, string> = {
  running: '$(sync)',
  interrupted: '$(debug-disconnect)',
  suspended: '$(debug-pause)',
  failed: '$(error)',
  cancelled: '$(circle-slash)',
  completed: '$(pass)',
};

type Item = vscode.QuickPickItem & { id: ExecutionId };

function requireWorkspace(c: Container): void {
  if (!c.journal.hasWorkspace) throw new NoWorkspaceError();
}

/** An execution id from the argument, or from a quick pick of executions that pass `accept`. */
async function pickExecution(c: Container, arg: unknown, placeHolder: string, accept: (e: ExecutionRecord, group: GroupId) => boolean = () => true): Promise<ExecutionId | undefined> {
  const given = executionIdOf(arg);
  if (given) return given as ExecutionId;
  requireWorkspace(c);
  const snapshot = await c.journal.snapshot(500);
  const candidates = snapshot.executions.filter((e) => accept(e, groupOf(e, snapshot.live)));
  if (candidates.length === 0) {
    notify(snapshot.executions.length === 0 ? 'Durable Sessions: the journal has no executions yet.' : 'Durable Sessions: no execution is in a state for that.');
    return undefined;
  }
  const items: Item[] = candidates.map((e) => {
    const group = groupOf(e, snapshot.live);
    return {
      label: `${GROUP_ICONS[group]} ${e.title || e.kind}`,
      description: `${group} · ${formatAge(snapshot.live.now - e.updatedAt)}`,
      detail: `${e.kind === AGENT_SESSION_KIND ? 'agent session' : e.kind} · ${e.stepCount} steps · attempt ${e.attempt} · ${e.id}`,
      id: e.id,
    };
  });
  const picked = await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, matchOnDetail: true });
  return picked?.id;
}

async function existing(c: Container, id: ExecutionId): Promise<ExecutionRecord> {
  const execution = await c.journal.execution(id);
  if (!execution) throw new Error(`execution ${id} does not exist in this workspace's journal (it may have been pruned)`);
  return execution;
}

function withCancellation<T>(title: string, run: (signal: AbortSignal, progress: vscode.Progress<{ message?: string }>) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    try {
      return await run(controller.signal, progress);
    } finally {
      sub.dispose();
    }
  });
}

type AttentionOf<K extends AttentionItem['type']> = Extract<AttentionItem, { type: K }>;

/**
 * The attention item a command acts on: the tree node it was invoked on, else
 * the first of that type for the execution in the argument (narrowed by
 * `matches`), else a quick pick of all of them (or a message when none).
 */
async function pickAttention<K extends AttentionItem['type']>(
  c: Container,
  arg: unknown,
  type: K,
  ask: { none: string; placeHolder: string; describe: (item: AttentionOf<K>, now: number) => vscode.QuickPickItem; matches?: (item: AttentionOf<K>) => boolean },
): Promise<AttentionOf<K> | undefined> {
  requireWorkspace(c);
  const ref = (arg as { ref?: { type?: string; item?: AttentionItem } } | undefined)?.ref;
  if (ref?.type === 'attention' && ref.item?.type === type) return ref.item as AttentionOf<K>;
  const snapshot = await c.journal.snapshot(500);
  const items = snapshot.attention.filter((a): a is AttentionOf<K> => a.type === type);
  const id = executionIdOf(arg);
  const mine = id ? items.filter((a) => a.execution.id === id) : [];
  const given = mine.find((a) => ask.matches?.(a) ?? false) ?? mine[0];
  if (given) return given;
  if (items.length === 0) {
    notify(ask.none);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    items.map((item) => ({ ...ask.describe(item, snapshot.live.now), item })),
    { placeHolder: ask.placeHolder, matchOnDescription: true },
  );
  return picked?.item;
}

const DECISIONS: ReadonlyArray<vscode.QuickPickItem & { decision: 'rerun' | 'skip' | 'fail' }> = [
  { label: '$(debug-restart) Re-run it', description: 'rerun', detail: 'Run the step again with the same idempotency key (the effect may happen twice).', decision: 'rerun' },
  { label: '$(debug-step-over) Skip it', description: 'skip', detail: 'Treat it as not needed; the workflow receives a "skipped" outcome.', decision: 'skip' },
  { label: '$(error) Fail the execution', description: 'fail', detail: 'Stop here with an error rather than guess.', decision: 'fail' },
];

export const journalCommands: CommandTable = {
  'durableSessions.inspect': {
    action: 'Inspect',
    run: async (c, _options, arg) => {
      const id = await pickExecution(c, arg, 'Inspect which execution?');
      if (!id) return undefined;
      await existing(c, id);
      c.explorers.open(id);
      return id;
    },
  },
  'durableSessions.resume': {
    action: 'Resume',
    run: async (c, _options, arg) => {
      const id = await pickExecution(c, arg, 'Resume which execution?', (_e, g) => g === 'interrupted' || g === 'suspended');
      if (!id) return undefined;
      const execution = await existing(c, id);
      if (isTerminal(execution.status)) throw new Error(`"${execution.title || execution.kind}" already ${execution.status}: only unfinished executions resume`);
      if (c.sessions.isActive(id)) {
        notify(`Durable Sessions: "${execution.title || execution.kind}" is already running in this window.`);
        return id;
      }
      await c.sessions.resume(id);
      if (execution.kind === AGENT_SESSION_KIND) c.panels.open(id);
      return id;
    },
  },
  'durableSessions.cancel': {
    action: 'Cancel',
    run: async (c, options, arg) => {
      const id = await pickExecution(c, arg, 'Cancel which execution?', (e) => !isTerminal(e.status));
      if (!id) return undefined;
      const execution = await existing(c, id);
      if (isTerminal(execution.status)) throw new Error(`"${execution.title || execution.kind}" already ${execution.status}`);
      if (!options.confirmed) {
        const answer = await vscode.window.showWarningMessage(
          `Cancel "${execution.title || execution.kind}"?`,
          { modal: true, detail: 'A cancelled execution is never resumed. Its journal stays until retention prunes it.' },
          'Cancel Execution',
        );
        if (answer !== 'Cancel Execution') return undefined;
      }
      return c.sessions.cancel(id);
    },
  },
  'durableSessions.export': {
    action: 'Export',
    run: async (c, options, arg) => {
      requireWorkspace(c);
      const o = (arg ?? {}) as { target?: unknown; all?: unknown; reveal?: unknown };
      let ids: ExecutionId[] | undefined;
      const given = executionIdOf(arg);
      if (given) ids = [given as ExecutionId];
      else if (o.all !== true) {
        const snapshot = await c.journal.snapshot(500);
        if (snapshot.executions.length === 0) {
          notify('Durable Sessions: the journal has no executions to export.');
          return undefined;
        }
        const picked = await vscode.window.showQuickPick(
          snapshot.executions.map((e) => ({ label: e.title || e.kind, description: `${groupOf(e, snapshot.live)} · ${formatAge(snapshot.live.now - e.updatedAt)}`, detail: e.id, id: e.id })),
          { canPickMany: true, placeHolder: 'Export which executions? (none picked: all)' },
        );
        if (!picked) return undefined;
        ids = picked.length > 0 ? picked.map((p) => p.id) : undefined;
      }
      let reveal = o.reveal === true;
      if (!options.confirmed && o.reveal === undefined) {
        const choice = await vscode.window.showQuickPick(
          [
            { label: '$(lock) Keep payloads sealed', detail: 'Only this workspace (with its key) can open them after import. Recommended.', reveal: false },
            { label: '$(unlock) Reveal payloads in the file', detail: 'Payloads (code, prompts, command output, maybe secrets) are written in plain text.', reveal: true },
          ],
          { placeHolder: 'Payloads in the export' },
        );
        if (!choice) return undefined;
        reveal = choice.reveal;
      }
      let target = typeof o.target === 'string' ? vscode.Uri.file(o.target) : undefined;
      if (!target) {
        target = await vscode.window.showSaveDialog({
          title: 'Export durable executions',
          defaultUri: vscode.Uri.joinPath(vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(c.database.folder ?? '.'), `durable-export-${new Date().toISOString().slice(0, 10)}.json`),
          filters: { 'Durable export': ['json'] },
        });
        if (!target) return undefined;
      }
      const file = target;
      const bytes = await withCancellation('Durable Sessions: exporting…', (signal) => c.journal.exportTo(file, ids, reveal, signal));
      notify(`Durable Sessions: exported ${ids ? ids.length : 'all'} execution${ids?.length === 1 ? '' : 's'} (${(bytes / 1024).toFixed(1)} KB) to ${file.fsPath}.`);
      return file.fsPath;
    },
  },
  'durableSessions.import': {
    action: 'Import',
    run: async (c, _options, arg) => {
      requireWorkspace(c);
      const source = (arg as { source?: unknown } | undefined)?.source;
      let uri = typeof source === 'string' ? vscode.Uri.file(source) : undefined;
      if (!uri) {
        const picked = await vscode.window.showOpenDialog({ title: 'Import durable executions', canSelectMany: false, filters: { 'Durable export': ['json'] } });
        if (!picked?.[0]) return undefined;
        uri = picked[0];
      }
      const file = uri;
      let report: Awaited<ReturnType<typeof c.journal.importFrom>>;
      try {
        report = await withCancellation('Durable Sessions: importing…', () => c.journal.importFrom(file));
      } catch (error) {
        // A revealed file from another key (or an older version) is not authenticated here: only a person may let it in, read-only.
        if (!(error instanceof ImportError && error.untrustedPossible)) throw error;
        const choice = await vscode.window.showWarningMessage(
          'Durable Sessions: this export is not authenticated with this workspace\'s key (another key, an older version, or edited after export). ' +
            'Import it anyway as untrusted read-only history? It will never resume.',
          { modal: true },
          'Import as Read-Only History',
        );
        if (choice !== 'Import as Read-Only History') return undefined;
        report = await withCancellation('Durable Sessions: importing…', () => c.journal.importFrom(file, true));
      }
      notify(
        `Durable Sessions: imported ${report.imported} execution${report.imported === 1 ? '' : 's'} (${report.rows} journal entries` +
          `${report.events > 0 ? `, ${report.events} transcript events` : ''}${report.promises > 0 ? `, ${report.promises} approval${report.promises === 1 ? '' : 's'}` : ''})` +
          `${report.trusted ? '' : ' as untrusted read-only history'}.`,
      );
      c.journal.notifyChanged();
      return report;
    },
  },
  'durableSessions.revealPayload': {
    action: 'Reveal payload',
    run: async (c, options, arg) => {
      // From a tree entry node, or {executionId, seq} (automation).
      const o = (arg ?? {}) as { seq?: unknown; ref?: { type?: string; entry?: { seq?: unknown } } };
      const given = o.ref?.type === 'entry' ? o.ref.entry?.seq : o.seq;
      let seq = Number.isInteger(given) && (given as number) > 0 ? (given as number) : undefined;
      const id = await pickExecution(c, arg, 'Reveal a payload of which execution?');
      if (!id) return undefined;
      if (seq === undefined) {
        const timeline = await c.journal.timeline(id);
        const items = timeline.entries
          .filter((e) => e.size > 0)
          .slice(-1000)
          .reverse()
          .map((e) => ({ label: `#${e.seq} ${e.kind.replace(/_/g, ' ')}`, description: `${e.stepName ?? ''} · ${e.size} B`, seq: e.seq }));
        if (items.length === 0) {
          notify('Durable Sessions: this execution has no payloads.');
          return undefined;
        }
        const picked = await vscode.window.showQuickPick(items, { placeHolder: 'Reveal which entry? (newest first)', matchOnDescription: true });
        if (!picked) return undefined;
        seq = picked.seq;
      }
      if (!options.confirmed) {
        const answer = await vscode.window.showWarningMessage(
          `Reveal the payload of entry #${seq}?`,
          { modal: true, detail: 'It is decrypted into an editor: it may contain source code, prompts, command output or secrets. The reveal is logged (the content is not).' },
          'Reveal',
        );
        if (answer !== 'Reveal') return undefined;
      }
      const detail = await c.journal.entry(id, seq, true);
      if (detail.integrity === 'failed') throw new Error(`entry #${seq} failed authentication: it was altered or damaged, so it is not shown`);
      const text = detail.payload?.text ?? (detail.meta !== undefined ? JSON.stringify(detail.meta, null, 2) : '');
      if (options.confirmed) return text;
      const document = await vscode.workspace.openTextDocument({ content: text + (detail.payload?.truncated ? '\n… (truncated)' : ''), language: 'json' });
      await vscode.window.showTextDocument(document, { preview: true });
      return text;
    },
  },
  'durableSessions.resolveAmbiguity': {
    action: 'Resolve interrupted step',
    run: async (c, _options, arg) => {
      const o = (arg ?? {}) as { stepId?: unknown; decision?: unknown };
      const item = await pickAttention(c, arg, 'ambiguous', {
        none: 'Durable Sessions: no interrupted step is waiting for a decision.',
        placeHolder: 'Which interrupted step?',
        matches: (w) => w.stepId === o.stepId,
        describe: (w, now) => ({ label: `Step ${w.stepId}: ${w.stepName}`, description: `${w.execution.title || w.execution.kind} · policy ${w.policy}`, detail: `interrupted ${formatAge(now - w.since)}` }),
      });
      if (!item) return undefined;
      let decision: 'rerun' | 'skip' | 'fail' | undefined = o.decision === 'rerun' || o.decision === 'skip' || o.decision === 'fail' ? o.decision : undefined;
      if (!decision) {
        const picked = await vscode.window.showQuickPick(DECISIONS, {
          placeHolder: `Step ${item.stepId} (${item.stepName}) started but its result was never recorded. What now?`,
        });
        if (!picked) return undefined;
        decision = picked.decision;
      }
      await c.journal.resolveWindow(item.execution.id, item.stepId, decision);
      notify(`Durable Sessions: step ${item.stepId} (${item.stepName}): ${decision} recorded in the journal.`);
      return decision;
    },
  },
  'durableSessions.decide': {
    action: 'Decide approval',
    run: async (c, _options, arg) => {
      const o = (arg ?? {}) as { approved?: unknown };
      const item = await pickAttention(c, arg, 'approval', {
        none: 'Durable Sessions: no approval is pending.',
        placeHolder: 'Which approval?',
        describe: (a, now) => ({
          label: a.prompt ? `$ ${a.prompt.split('\n')[0]}` : a.name,
          description: a.execution.title || a.execution.kind,
          detail: `${a.prompt && a.prompt.includes('\n') ? `${a.prompt.replace(/\n/g, ' ⏎ ')} · ` : ''}asked ${formatAge(now - a.since)}`,
        }),
      });
      if (!item) return undefined;
      if (item.execution.kind !== AGENT_SESSION_KIND) throw new Error(`approvals of ${item.execution.kind} executions are decided by that workflow's own UI`);
      let approved = typeof o.approved === 'boolean' ? o.approved : undefined;
      if (approved === undefined) {
        const picked = await vscode.window.showQuickPick([{ label: '$(check) Approve', approved: true }, { label: '$(close) Deny', approved: false }], {
          placeHolder: item.prompt ? `Run \`${item.prompt}\` in the workspace folder?` : item.name,
        });
        if (!picked) return undefined;
        approved = picked.approved;
      }
      await c.journal.decide(item.promiseId, approved);
      return approved;
    },
  },
};
