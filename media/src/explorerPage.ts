// The journal explorer's page. The timeline is virtualized: the list is as
// tall as all its rows, but only the rows in view (plus a margin) exist in the
// DOM, and rows are fetched from the host in windows as the user scrolls.
// Filter, selection, tab and scroll position live in the webview state, so
// hiding, showing or reloading the panel comes back to the same place.
import type { EntryView, ExplorerFilter, ExplorerOverview, HostMessage, PageMessage, RowView } from '../../src/shared/explorerProtocol';
import { button, el } from './dom';
import { ago, duration, STATUS_LABEL, table, time } from './explorerFormat';
import { confirmReveal, windowActions } from './explorerActions';

interface PageState {
  executionId?: string;
  filter?: ExplorerFilter;
  selected?: number;
  scrollTop?: number;
  tab?: Tab;
}
interface VsCodeApi {
  postMessage(message: PageMessage): void;
  getState(): PageState | undefined;
  setState(state: PageState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type Tab = 'timeline' | 'audit' | 'waits' | 'divergences';
const ROW_HEIGHT = 24;
const FETCH_MARGIN = 100;
const FETCH_MAX = 500;

const vscode = acquireVsCodeApi();
const post = (message: PageMessage): void => vscode.postMessage(message);
const saved: PageState = vscode.getState() ?? {};
const app = document.getElementById('app')!;

let overview: ExplorerOverview | undefined;
let total = 0;
let rows = new Map<number, RowView>();
let pending = new Set<number>();
let selected = saved.selected ?? -1;
let tab: Tab = saved.tab ?? 'timeline';
let filter: ExplorerFilter = saved.filter ?? { text: '', kind: '', status: '' };
let restoreScroll = saved.scrollTop ?? 0;
let details: { row: RowView; entries: readonly EntryView[] } | undefined;
const entryViews = new Map<number, HTMLElement>();

function save(): void {
  vscode.setState({ executionId: overview?.execution.id ?? saved.executionId, filter, selected, scrollTop: list.scrollTop, tab });
}

// ---- layout ------------------------------------------------------------------------------
const header = el('header');
const notice = el('div', { className: 'notice' });
notice.setAttribute('role', 'status');
const attention = el('section', { className: 'attention' });
const tabs = el('nav', { className: 'tabs' });
tabs.setAttribute('role', 'tablist');
const body = el('main');
app.append(header, notice, attention, tabs, body);

// Timeline tab: toolbar, virtual list, details.
const search = el('input');
search.type = 'search';
search.placeholder = 'Filter: step name, id, effect, key prefix…';
search.setAttribute('aria-label', 'Filter steps');
search.value = filter.text;
const kindSelect = el('select');
kindSelect.setAttribute('aria-label', 'Entry kind');
for (const k of ['', 'step_intent', 'step_result', 'step_failed', 'ambiguity_resolved', 'promise_created', 'promise_resolved', 'timer_armed', 'timer_fired', 'checkpoint', 'execution_started', 'execution_finished']) {
  kindSelect.append(Object.assign(el('option', { text: k ? k.replace(/_/g, ' ') : 'any entry kind' }), { value: k }));
}
kindSelect.value = filter.kind;
const statusSelect = el('select');
statusSelect.setAttribute('aria-label', 'Step status');
for (const s of ['', 'done', 'failed', 'open', 'running', 'decided', 'skipped', 'event']) statusSelect.append(Object.assign(el('option', { text: s || 'any status' }), { value: s }));
statusSelect.value = filter.status;
const count = el('span', { className: 'count' });
const toolbar = el('div', { className: 'toolbar' }, search, kindSelect, statusSelect, count);

const list = el('div', { className: 'list' });
list.tabIndex = 0;
list.setAttribute('role', 'listbox');
list.setAttribute('aria-label', 'Timeline: one row per step; arrow keys move, Enter shows details');
const spacer = el('div', { className: 'spacer' });
list.append(spacer);
const detailPane = el('aside', { className: 'details' });
detailPane.setAttribute('aria-label', 'Step details');
const timelineView = el('div', { className: 'timeline' }, toolbar, el('div', { className: 'split' }, list, detailPane));

let filterTimer: ReturnType<typeof setTimeout> | undefined;
function sendFilter(): void {
  filter = { text: search.value.slice(0, 200), kind: kindSelect.value, status: statusSelect.value };
  selected = -1;
  details = undefined;
  save();
  vscode.postMessage({ type: 'filter', filter });
}
search.addEventListener('input', () => {
  if (filterTimer) clearTimeout(filterTimer);
  filterTimer = setTimeout(sendFilter, 150);
});
kindSelect.addEventListener('change', sendFilter);
statusSelect.addEventListener('change', sendFilter);

// ---- virtual list ------------------------------------------------------------------------
function requestRows(first: number, last: number): void {
  let start = -1;
  for (let i = Math.max(0, first); i <= Math.min(total - 1, last); i++) {
    if (!rows.has(i) && !pending.has(i)) {
      start = i;
      break;
    }
  }
  if (start < 0) return;
  const n = Math.min(FETCH_MAX, Math.max(last - start + 1, 1) + FETCH_MARGIN, total - start);
  for (let i = start; i < start + n; i++) pending.add(i);
  vscode.postMessage({ type: 'rows', start, count: n });
}

function renderRow(index: number, row: RowView | undefined): HTMLElement {
  const node = el('div', { className: `row${index === selected ? ' selected' : ''}${row ? ` status-${row.status}` : ' loading'}` });
  node.style.top = `${index * ROW_HEIGHT}px`;
  node.id = `row-${index}`;
  node.setAttribute('role', 'option');
  node.setAttribute('aria-selected', String(index === selected));
  node.dataset.index = String(index);
  if (!row || !overview) return node;
  const span = Math.max(1, overview.execution.endedAt - overview.execution.startedAt);
  const left = ((row.startedAt - overview.execution.startedAt) / span) * 100;
  const width = Math.max(0.4, ((row.endedAt - row.startedAt) / span) * 100);
  const bar = el('div', { className: `bar lane-${row.lane % 8}`, title: `${time(row.startedAt)} → ${time(row.endedAt)}${overview.execution.lanes > 1 ? ` · lane ${row.lane + 1}` : ''}` });
  bar.style.left = `${Math.min(99.6, left)}%`;
  bar.style.width = `${Math.min(100 - Math.min(99.6, left), width)}%`;
  bar.style.top = `${6 + (row.lane % 4) * 3}px`;
  node.append(
    el('span', { className: 'c-id', text: row.stepId === null ? '·' : String(row.stepId) }),
    el('span', { className: 'c-name', text: row.name, title: row.name }),
    el('span', { className: `c-effect effect-${row.effect ?? 'none'}`, text: row.effect?.replace(/_/g, ' ') ?? '' }),
    el('span', { className: 'c-status', text: STATUS_LABEL[row.status] ?? row.status }),
    el('span', { className: 'c-span' }, bar),
    el('span', { className: 'c-dur', text: duration(row.endedAt - row.startedAt) }),
    el('span', { className: 'c-retries', text: row.retries ? `+${row.retries}` : '', title: row.retries ? `${row.retries} retries or reruns` : '' }),
  );
  if (overview.execution.attempt > 1) node.querySelector('.c-id')!.textContent = `${row.attempt}/${row.stepId ?? '·'}`;
  return node;
}

let rendered = { first: -1, last: -1 };
function renderList(force = false): void {
  spacer.style.height = `${total * ROW_HEIGHT}px`;
  const first = Math.max(0, Math.floor(list.scrollTop / ROW_HEIGHT) - 10);
  const last = Math.min(total - 1, Math.ceil((list.scrollTop + list.clientHeight) / ROW_HEIGHT) + 10);
  if (!force && first === rendered.first && last === rendered.last) return;
  rendered = { first, last };
  const nodes: Node[] = [spacer];
  for (let i = first; i <= last; i++) nodes.push(renderRow(i, rows.get(i)));
  list.replaceChildren(...nodes);
  if (selected >= 0) list.setAttribute('aria-activedescendant', `row-${selected}`);
  requestRows(first, last);
}

let scrollFrame = 0;
list.addEventListener('scroll', () => {
  if (scrollFrame) return;
  scrollFrame = requestAnimationFrame(() => {
    scrollFrame = 0;
    renderList();
    save();
  });
});
list.addEventListener('click', (e) => {
  const target = (e.target as HTMLElement).closest('.row') as HTMLElement | null;
  if (target?.dataset.index) select(Number(target.dataset.index));
});
list.addEventListener('keydown', (e) => {
  const page = Math.max(1, Math.floor(list.clientHeight / ROW_HEIGHT) - 1);
  const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, Home: -Infinity, End: Infinity };
  if (e.key in moves) {
    e.preventDefault();
    const next = Math.max(0, Math.min(total - 1, (selected < 0 ? -1 : selected) + moves[e.key]));
    select(Number.isFinite(next) ? next : 0);
  } else if (e.key === 'Enter' && selected >= 0) {
    e.preventDefault();
    (detailPane.querySelector('button, [tabindex]') as HTMLElement | null)?.focus();
  }
});

function select(index: number): void {
  if (index < 0 || index >= total) return;
  selected = index;
  const top = index * ROW_HEIGHT;
  if (top < list.scrollTop) list.scrollTop = top;
  else if (top + ROW_HEIGHT > list.scrollTop + list.clientHeight) list.scrollTop = top + ROW_HEIGHT - list.clientHeight;
  renderList(true);
  save();
  vscode.postMessage({ type: 'select', index });
}

// ---- details -----------------------------------------------------------------------------
function renderDetails(): void {
  entryViews.clear();
  if (!details || !overview) {
    detailPane.replaceChildren(el('p', { className: 'hint', text: total === 0 ? 'No steps match.' : 'Select a step to see its journal entries.' }));
    return;
  }
  const { row, entries } = details;
  const head = el('div', { className: 'detail-head' }, el('h2', { text: row.stepId === null ? row.name : `Step ${row.stepId}: ${row.name}` }));
  const facts = el('dl');
  const fact = (k: string, v: string): void => void facts.append(el('dt', { text: k }), el('dd', { text: v }));
  fact('status', STATUS_LABEL[row.status] || row.status);
  if (row.effect) fact('effect', row.effect);
  fact('attempt', String(row.attempt));
  fact('span', `${time(row.startedAt)} → ${time(row.endedAt)} (${duration(row.endedAt - row.startedAt) || '0 ms'})`);
  if (row.keyPrefix) fact('idempotency key', `${row.keyPrefix}…`);
  if (row.retries) fact('retries', String(row.retries));
  if (overview.execution.lanes > 1) fact('lane', String(row.lane + 1));
  head.append(facts);
  const open = overview.openWindows.find((w) => w.stepId === row.stepId && row.attempt === overview!.execution.attempt);
  if (open) head.append(windowActions(open.stepId, open.stepName, open.policy, overview.execution.decidable, post));
  const list = el('ol', { className: 'entries' });
  for (const e of entries) {
    const item = el('li', { className: `entry kind-${e.kind}` });
    const line = el(
      'div',
      { className: 'entry-line' },
      el('span', { className: 'seq', text: `#${e.seq}` }),
      el('span', { className: 'kind', text: e.kind.replace(/_/g, ' ') }),
      el('span', { className: 'meta', text: [e.payloadBearing ? `${e.size} B sealed` : 'control', e.keyPrefix ? `key ${e.keyPrefix}…` : '', time(e.createdAt)].filter(Boolean).join(' · ') }),
    );
    const slot = el('div', { className: 'entry-body' });
    if (e.payloadBearing) line.append(button('Reveal…', () => confirmReveal(e.seq, slot, post), { secondary: true, title: 'Decrypt and show this payload' }));
    else line.append(button('Verify', () => vscode.postMessage({ type: 'entry', seq: e.seq, reveal: false }), { secondary: true, title: 'Check its MAC and show its metadata' }));
    item.append(line, slot);
    entryViews.set(e.seq, slot);
    list.append(item);
  }
  detailPane.replaceChildren(head, el('h3', { text: `${entries.length} journal entr${entries.length === 1 ? 'y' : 'ies'}` }), list);
}

// ---- overview, tabs ----------------------------------------------------------------------
function renderHeader(o: ExplorerOverview): void {
  const x = o.execution;
  header.replaceChildren(
    el('h1', { text: x.title || x.kind }),
    el(
      'div',
      { className: 'meta' },
      el('span', { className: `badge state-${x.state}`, text: x.state }),
      el('span', { text: x.isSession ? 'agent session' : x.kind }),
      el('span', { text: `attempt ${x.attempt}` }),
      el('span', { text: `${x.steps.toLocaleString('en-US')} steps · ${x.entries.toLocaleString('en-US')} entries${x.lanes > 1 ? ` · ${x.lanes} lanes` : ''}` }),
      el('span', { text: `started ${ago(x.createdAt)}`, title: time(x.createdAt) }),
      el('code', { className: 'id', text: x.id }),
    ),
  );
  if (x.statusDetail) header.append(el('p', { className: 'status-detail', text: x.statusDetail }));
  const actions = el('div', { className: 'actions' });
  if (x.state === 'interrupted' || x.state === 'waiting') actions.append(button('Resume', () => vscode.postMessage({ type: 'command', command: 'resume' })));
  if (!['completed', 'failed', 'cancelled', 'aborted'].includes(x.status)) actions.append(button('Cancel', () => vscode.postMessage({ type: 'command', command: 'cancel' }), { secondary: true }));
  if (x.isSession) actions.append(button('Open session', () => vscode.postMessage({ type: 'command', command: 'openSession' }), { secondary: true }));
  if (x.isSession && x.state !== 'running') actions.append(button('Undo edits…', () => vscode.postMessage({ type: 'command', command: 'undoEdits' }), { secondary: true, title: 'Restore the files this session edited, from the journal (never git)' }));
  if (x.isUndo) actions.append(button('Redo', () => vscode.postMessage({ type: 'command', command: 'redoEdits' }), { secondary: true, title: 'Put back the edits this undo restored' }));
  actions.append(button('Export…', () => vscode.postMessage({ type: 'command', command: 'export' }), { secondary: true }), button('Refresh', () => vscode.postMessage({ type: 'command', command: 'refresh' }), { secondary: true }));
  header.append(actions);
}

function renderAttention(o: ExplorerOverview): void {
  attention.replaceChildren();
  const pendingApprovals = o.promises.filter((p) => p.status === 'pending');
  if (o.openWindows.length === 0 && pendingApprovals.length === 0) return;
  attention.append(el('h2', { text: 'Needs attention' }));
  for (const w of o.openWindows) attention.append(windowActions(w.stepId, w.stepName, w.policy, o.execution.decidable, post));
  for (const p of pendingApprovals) {
    const box = el('div', { className: 'decision' }, el('p', { text: `Approval pending: ${p.name} (step ${p.stepId}, asked ${ago(p.createdAt)})` }));
    if (o.execution.isSession && o.execution.decidable) {
      box.append(el('div', { className: 'actions' }, button('Approve', () => vscode.postMessage({ type: 'decide', promiseId: p.id, approved: true })), button('Deny', () => vscode.postMessage({ type: 'decide', promiseId: p.id, approved: false }), { secondary: true })));
    }
    attention.append(box);
  }
}

function renderTabs(o: ExplorerOverview): void {
  const defs: Array<[Tab, string]> = [
    ['timeline', `Timeline (${o.execution.steps.toLocaleString('en-US')})`],
    ['audit', `Audit records (${o.audit.length})`],
    ['waits', `Promises & timers (${o.promises.length + o.timers.length})`],
    ['divergences', `Divergences (${o.divergences.length})`],
  ];
  tabs.replaceChildren(
    ...defs.map(([id, label]) => {
      const b = button(label, () => {
        tab = id;
        save();
        renderBody();
        renderTabs(o);
      }, { secondary: id !== tab });
      b.setAttribute('role', 'tab');
      b.setAttribute('aria-selected', String(id === tab));
      b.dataset.tab = id;
      return b;
    }),
  );
}

function renderBody(): void {
  if (!overview) return;
  const o = overview;
  switch (tab) {
    case 'timeline':
      if (body.firstChild !== timelineView) body.replaceChildren(timelineView);
      count.textContent = `${total.toLocaleString('en-US')} of ${o.execution.rows.toLocaleString('en-US')} rows${o.execution.complete ? '' : ' (reading…)'}`;
      renderList(true);
      renderDetails();
      return;
    case 'audit':
      body.replaceChildren(
        el('p', { className: 'hint', text: 'Every interrupted step (intent committed, result not) is settled by its policy or by a person, and leaves one of these records.' }),
        table(
          ['seq', 'step', 'effect', 'key', 'policy', 'decision', 'decided by', 'when'],
          o.audit.map((a) => [`#${a.seq}`, `${a.stepId} ${a.stepName ?? ''}`, a.effect, `${a.keyPrefix}…`, a.policy, a.decision.replace(/_/g, ' '), a.decidedBy, time(a.decidedAt)]),
          'No ambiguous windows: every step that started also recorded its result.',
        ),
      );
      body.querySelector('table')?.classList.add('audit');
      return;
    case 'waits':
      body.replaceChildren(
        el('h3', { text: 'Durable promises' }),
        table(['step', 'name', 'status', 'created', 'settled'], o.promises.map((p) => [String(p.stepId), p.name, p.status, time(p.createdAt), p.resolvedAt ? time(p.resolvedAt) : '']), 'No promises.'),
        el('h3', { text: 'Durable timers' }),
        table(['step', 'due', 'status', 'fired'], o.timers.map((t) => [String(t.stepId), time(t.dueAt), t.status, t.firedAt ? time(t.firedAt) : '']), 'No timers.'),
      );
      return;
    case 'divergences':
      body.replaceChildren(
        el('p', { className: 'hint', text: 'A divergence is a replay that found the journal recorded a different step than the code asked for: the attempt is abandoned (its committed effects stay findable by idempotency key) and a fresh attempt starts.' }),
        table(['attempt', 'what happened'], o.divergences.map((d) => [String(d.attempt), d.detail]), 'No divergences.'),
      );
      return;
  }
}

// ---- messages ----------------------------------------------------------------------------
window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const m = event.data;
  switch (m.type) {
    case 'overview': {
      // A fresh overview means the journal read again: an error it replaces no longer holds.
      if (notice.className === 'notice error') {
        notice.className = 'notice';
        notice.textContent = '';
      }
      // Views refresh on any change in the workspace (a lease running out, another session's
      // commit). An overview identical to the one shown keeps its rows: starting over would
      // flash placeholder rows where the same rows were a moment before.
      if (overview && JSON.stringify(m.overview) === JSON.stringify(overview)) return;
      const first = !overview;
      overview = m.overview;
      total = m.overview.total;
      rows = new Map();
      pending = new Set();
      if (selected >= total) selected = -1;
      renderHeader(overview);
      renderAttention(overview);
      renderTabs(overview);
      renderBody();
      if (first && restoreScroll > 0) {
        list.scrollTop = restoreScroll;
        restoreScroll = 0;
      }
      save();
      if (selected >= 0) vscode.postMessage({ type: 'select', index: selected });
      return;
    }
    case 'rows':
      total = m.total;
      for (let i = 0; i < m.rows.length; i++) {
        rows.set(m.start + i, m.rows[i]);
        pending.delete(m.start + i);
      }
      if (tab === 'timeline') renderList(true);
      return;
    case 'details':
      details = { row: m.row, entries: m.entries };
      if (tab === 'timeline') renderDetails();
      return;
    case 'entry': {
      const slot = entryViews.get(m.seq);
      if (!slot) return;
      if (m.integrity === 'failed') {
        slot.replaceChildren(el('p', { className: 'error', text: `Authentication failed: this entry was altered or damaged, so its content is not shown. ${m.message ?? ''}` }));
      } else if (m.payload) {
        slot.replaceChildren(
          el('p', { className: 'hint', text: `${m.payload.bytes} bytes, seal verified${m.payload.truncated ? '; shown truncated' : ''}.` }),
          el('pre', { className: 'payload', text: m.payload.text }),
          button('Hide', () => slot.replaceChildren(), { secondary: true }),
        );
      } else if (m.meta !== undefined) {
        slot.replaceChildren(el('p', { className: 'hint', text: 'MAC verified.' }), el('pre', { className: 'payload', text: m.meta }));
      }
      return;
    }
    case 'error':
      notice.className = 'notice error';
      notice.textContent = m.message;
      return;
    case 'notice':
      notice.className = 'notice';
      notice.textContent = m.message;
      setTimeout(() => notice.textContent === m.message && (notice.textContent = ''), 8000);
      return;
  }
});

window.addEventListener('resize', () => tab === 'timeline' && renderList());
renderDetails();
vscode.postMessage({ type: 'ready' });
if (filter.text || filter.kind || filter.status) vscode.postMessage({ type: 'filter', filter });
