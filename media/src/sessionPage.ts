// The session panel's page. Renders the host's state with DOM APIs only
// (text is never parsed as HTML) and sends typed messages back.
import type { HostMessage, MessageView, PageMessage, SessionState } from '../../src/shared/sessionProtocol';
import { button, el } from './dom';

interface VsCodeApi {
  postMessage(message: PageMessage): void;
  getState(): { threadId?: string } | undefined;
  setState(state: { threadId?: string }): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;

const header = el('header');
const transcript = el('section', { className: 'transcript' });
transcript.setAttribute('aria-label', 'Transcript');
const live = el('div', { className: 'live' });
const composer = el('section', { className: 'composer' });
const notice = el('div', { className: 'notice' });
notice.setAttribute('role', 'alert');
app.append(header, notice, transcript, live, composer);

const task = el('textarea');
task.placeholder = 'Describe a task for the agent… (Ctrl+Enter to start)';
task.rows = 4;
task.setAttribute('aria-label', 'Task');
const startButton = button('Start session', () => start());
const modelLine = el('div', { className: 'model' });
composer.append(el('label', { text: 'New session' }), task, el('div', { className: 'row' }, startButton, modelLine));
task.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) start();
});

function start(): void {
  const text = task.value.trim();
  if (!text) return task.focus();
  vscode.postMessage({ type: 'start', task: text });
  task.value = '';
}

const ROLE_LABEL: Record<MessageView['role'], string> = { user: 'Task', assistant: 'Agent', tool: 'Tool', approval: 'Approval', error: 'Error', status: 'Session' };

function renderMessage(m: MessageView, forkable: boolean): HTMLElement {
  const row = el('article', { className: `msg ${m.role}${m.state ? ` state-${m.state.replace(/\s+/g, '-')}` : ''}` });
  row.dataset.index = String(m.index);
  const head = el('div', { className: 'msg-head' }, el('span', { className: 'role', text: ROLE_LABEL[m.role] }));
  if (m.kind) head.append(el('span', { className: 'kind', text: m.kind }));
  if (m.cost) head.append(el('span', { className: 'turn-cost', text: `turn ${m.turn}: ${m.cost}`, title: "What this turn's model calls cost, each once" }));
  // The state's mark is drawn by CSS (a coloured dot), not a glyph: emoji fonts are not everywhere.
  if (m.state) head.append(el('span', { className: 'state', text: m.state }));
  row.append(head);
  if (m.text) row.append(el(m.role === 'tool' || m.kind === 'command' ? 'pre' : 'div', { className: 'text', text: m.text }));
  if (m.detail) row.append(el('pre', { className: 'detail', text: m.detail }));
  // A turn's reply is a point to fork from: the conversation up to here comes from the journal.
  if (forkable && m.role === 'assistant' && m.turn >= 1) {
    row.append(el('div', { className: 'actions' }, button('Fork from here', () => vscode.postMessage({ type: 'fork', turn: m.turn }), { secondary: true, title: `A new session after turn ${m.turn}, with a new instruction` })));
  }
  if (m.role === 'approval' && m.actionable && m.ref) {
    const ref = m.ref;
    const actions = el('div', { className: 'actions' });
    if (m.kind === 'question') {
      const answer = el('input');
      answer.type = 'text';
      answer.placeholder = 'Your answer';
      answer.setAttribute('aria-label', 'Answer');
      actions.append(answer, button('Answer', () => vscode.postMessage({ type: 'decide', promiseId: ref, approved: true, answer: answer.value })), button('Decline', () => vscode.postMessage({ type: 'decide', promiseId: ref, approved: false }), { secondary: true }));
    } else if (m.kind === 'retry') {
      actions.append(button('Retry', () => vscode.postMessage({ type: 'decide', promiseId: ref, approved: true })), button('Stop session', () => vscode.postMessage({ type: 'decide', promiseId: ref, approved: false }), { secondary: true }));
    } else {
      actions.append(button('Approve', () => vscode.postMessage({ type: 'decide', promiseId: ref, approved: true }), { title: 'Run this command' }), button('Deny', () => vscode.postMessage({ type: 'decide', promiseId: ref, approved: false }), { secondary: true }));
    }
    row.append(actions);
  }
  return row;
}

function render(state: SessionState): void {
  vscode.setState({ threadId: state.threadId });
  header.replaceChildren();
  notice.textContent = state.error ?? '';
  const t = state.thread;
  const picker = el('select');
  picker.setAttribute('aria-label', 'Sessions');
  picker.append(Object.assign(el('option', { text: t ? 'Switch session…' : 'Open a recent session…' }), { value: '' }));
  for (const s of state.sessions) picker.append(Object.assign(el('option', { text: `${s.title} · ${s.status}` }), { value: s.id, selected: s.id === t?.id }));
  picker.addEventListener('change', () => picker.value && vscode.postMessage({ type: 'open', threadId: picker.value }));
  if (t) {
    const tokens = t.tokensIn + t.tokensOut;
    header.append(
      el('h1', { text: t.title }),
      el('div', { className: 'meta' },
        el('span', { className: `badge status-${t.status}`, text: t.outcome && t.status === 'completed' ? t.outcome.replace('_', ' ') : t.status }),
        el('span', { text: t.model }),
        el('span', { className: 'tokens', text: `${tokens.toLocaleString()} tokens (${t.tokensIn.toLocaleString()} in / ${t.tokensOut.toLocaleString()} out)${t.budget ? ` of ${t.budget.toLocaleString()}` : ''}` }),
        el('span', { text: `${t.turns} turn${t.turns === 1 ? '' : 's'} · ${t.toolCalls} tool call${t.toolCalls === 1 ? '' : 's'}` }),
        ...(t.cost ? [el('span', { className: 'cost', text: t.cost })] : []),
      ),
      ...(t.costNote ? [el('div', { className: 'cost-note', text: t.costNote })] : []),
    );
    const actions = el('div', { className: 'actions' });
    const stopped = t.status === 'suspended' || t.status === 'interrupted';
    if (stopped || (t.status === 'running' && state.decision)) actions.append(button('Resume', () => vscode.postMessage({ type: 'resume' })));
    if (stopped) actions.append(button('Inspect', () => vscode.postMessage({ type: 'inspect' }), { secondary: true }));
    if (t.status === 'running' || stopped) actions.append(button(t.status === 'interrupted' ? 'Discard' : 'Cancel', () => vscode.postMessage({ type: 'cancel' }), { secondary: true }));
    // A session that no longer runs can have its edits undone (from the journal; never git).
    if (t.status !== 'running' && t.toolCalls > 0) actions.append(button('Undo Edits…', () => vscode.postMessage({ type: 'undo' }), { secondary: true, title: 'Restore the files this session edited, from the journal' }));
    actions.append(button('New session', () => vscode.postMessage({ type: 'newSession' }), { secondary: true }), picker);
    header.append(actions);
    if (t.statusDetail && t.status !== 'completed') header.append(el('div', { className: 'detail', text: t.statusDetail }));
  } else {
    header.append(el('h1', { text: 'Durable agent session' }), el('p', { className: 'hint', text: 'Sessions are journaled step by step: reload the window at any time and the session resumes where it was, without repeating an edit, a command or a paid model call.' }), el('div', { className: 'actions' }, picker));
  }
  if (state.decision) {
    const d = state.decision;
    const box = el('div', { className: 'decision' }, el('strong', { text: `Step ${d.stepId} (${d.stepName}) was interrupted` }), el('p', { text: 'It may or may not have taken effect. Decide what the session does with it:' }));
    box.append(el('div', { className: 'actions' },
      button('Run it again', () => vscode.postMessage({ type: 'resolveWindow', stepId: d.stepId, decision: 'rerun' })),
      button('Skip it', () => vscode.postMessage({ type: 'resolveWindow', stepId: d.stepId, decision: 'skip' }), { secondary: true }),
      button('Fail the session', () => vscode.postMessage({ type: 'resolveWindow', stepId: d.stepId, decision: 'fail' }), { secondary: true }),
    ));
    header.append(box);
  }
  const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
  const forkable = state.thread !== undefined && state.thread.status !== 'running';
  transcript.replaceChildren(...state.messages.map((m) => renderMessage(m, forkable)));
  if (atBottom) transcript.scrollTop = transcript.scrollHeight;
  live.textContent = '';
  composer.hidden = !!t && (t.status === 'running' || t.status === 'suspended' || t.status === 'interrupted');
  startButton.disabled = !!state.modelProblem;
  modelLine.textContent = state.modelProblem ? `Cannot start: ${state.modelProblem}` : `Model: ${state.modelLabel}`;
  modelLine.className = state.modelProblem ? 'model problem' : 'model';
}

// The host pushes the whole state on every change and whenever the tab is shown again. An identical
// one is not drawn again: rebuilding the buttons would pull them from under a pointer about to click,
// and would clear a notice the person has not read yet.
let lastDrawn = '';

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  if (message?.type === 'state') {
    const drawn = JSON.stringify(message.state);
    if (drawn === lastDrawn) return;
    lastDrawn = drawn;
    render(message.state);
  } else if (message?.type === 'stream') {
    live.textContent += message.text;
  } else if (message?.type === 'notice') notice.textContent = message.message;
});

vscode.postMessage({ type: 'ready' });
