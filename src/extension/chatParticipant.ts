/**
 * `@durable` in VS Code's chat: runs the request as a durable agent session
 * with the model the user picked in the chat view, and streams its progress
 * (assistant text, tool calls, approvals) into the chat response. The session
 * lives on in the journal: if the window reloads, it resumes and can be
 * followed in the session panel.
 */
import * as vscode from 'vscode';
import { ensureError, isTerminal, type ExecutionId, type ExecutionStatus, type TranscriptMessage } from '../durable';
import type { SessionService } from './sessionService';


/** What the handler reads of a chat request: the prompt and the model the person picked. */
export type DurableChatRequest = Pick<vscode.ChatRequest, 'prompt'> & { readonly model: Pick<vscode.LanguageModelChat, 'vendor' | 'family' | 'id'> };
/** What the handler writes to a chat response. */
export type DurableChatStream = Pick<vscode.ChatResponseStream, 'markdown' | 'progress' | 'button'>;

export function registerChatParticipant(service: SessionService, extensionUri: vscode.Uri, log: vscode.LogOutputChannel): vscode.Disposable {
  // Chat may be missing (older hosts, or disabled): the rest of the extension works without it.
  if (typeof vscode.chat?.createChatParticipant !== 'function') return new vscode.Disposable(() => undefined);
  const handler = durableChatHandler(service, log);
  const participant = vscode.chat.createChatParticipant('durableSessions.agent', (request, _context, stream, token) => handler(request, stream, token));
  participant.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'durable.svg');
  return participant;
}

/** The `@durable` handler: start the session on the request's model, follow its transcript into the response. */
export function durableChatHandler(
  service: SessionService,
  log: vscode.LogOutputChannel,
): (request: DurableChatRequest, stream: DurableChatStream, token: vscode.CancellationToken) => Promise<vscode.ChatResult> {
  return async (request, stream, token) => {
    let id: ExecutionId;
    try {
      id = await service.start(request.prompt, { provider: 'vscode-lm', vendor: request.model.vendor, family: request.model.family, id: request.model.id });
    } catch (error) {
      stream.markdown(`Could not start a durable session: ${ensureError(error).message}`);
      return {};
    }
    stream.progress('Durable session started; every step is journaled.');
    const host = await service.host();
    let shown = 0;
    const seen = new Map<number, string>();
    const show = async (): Promise<string> => {
      const messages = await host.engine.sessions.messages(id, 0);
      for (const m of messages) {
        const key = `${m.state ?? ''}`;
        if (seen.get(m.index) === key) continue;
        const first = !seen.has(m.index);
        seen.set(m.index, key);
        if (m.role === 'user') continue;
        renderMessage(stream, m, first);
      }
      shown = messages.length;
      const execution = await host.runtime.get(id);
      return host.runtime.isActive(id) ? 'running' : (execution?.status ?? 'failed');
    };
    const changed = new vscode.EventEmitter<void>();
    const sub = service.onDidChange((changedId) => (changedId === undefined || changedId === id) && changed.fire());
    const cancel = token.onCancellationRequested(() => void service.cancel(id).catch(() => undefined));
    try {
      for (;;) {
        const status = await show();
        if ((status !== 'running' && isTerminal(status as ExecutionStatus)) || token.isCancellationRequested) break;
        if (status === 'suspended') {
          stream.markdown('\n\nThe session is waiting for you. ');
          stream.button({ command: 'durableSessions.openSession', arguments: [id], title: 'Open the session panel' });
          break;
        }
        await new Promise<void>((resolve) => {
          const once = changed.event(() => {
            once.dispose();
            resolve();
          });
          setTimeout(() => {
            once.dispose();
            resolve();
          }, 2_000);
        });
      }
    } finally {
      sub.dispose();
      cancel.dispose();
      changed.dispose();
    }
    log.info(`@durable: session ${id} shown (${shown} transcript rows)`);
    return { metadata: { sessionId: id } };
  };
}

function renderMessage(stream: DurableChatStream, m: TranscriptMessage, first: boolean): void {
  switch (m.role) {
    case 'assistant':
      if (m.text) stream.markdown(`${m.text}\n\n`);
      break;
    case 'tool':
      if (first) stream.progress(m.text);
      else if (m.state === 'failed') stream.markdown(`- ✖ ${m.text}: ${m.detail ?? 'failed'}\n`);
      else stream.markdown(`- ✔ ${m.detail ?? m.text}\n`);
      break;
    case 'approval':
      if (m.state === 'pending') stream.markdown(`**Needs your decision:** \`${m.text.slice(0, 200)}\`\n\n`);
      else stream.markdown(`- ${m.detail ?? m.state}\n`);
      break;
    case 'error':
      stream.markdown(`> ${m.text}\n\n`);
      break;
    case 'status':
      stream.markdown(`\n_${m.text}_\n`);
      break;
    default:
      break;
  }
}
