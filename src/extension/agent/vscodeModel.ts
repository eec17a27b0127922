/**
 * The user's own model through VS Code's Language Model API (e.g. Copilot),
 * with tool calling. The step's AbortSignal becomes the request's
 * CancellationToken. Problems come back as typed error replies (model.ts).
 */
import * as vscode from 'vscode';
import { CancelledError } from '../../durable';
import type { ChatMessage, ModelClient, ModelReply, ModelRequest, ToolCall } from '../../agent/model';

function toLm(messages: readonly ChatMessage[]): vscode.LanguageModelChatMessage[] {
  return messages.map((m) => {
    switch (m.role) {
      case 'assistant': {
        const parts: Array<vscode.LanguageModelTextPart | vscode.LanguageModelToolCallPart> = [];
        if (m.content) parts.push(new vscode.LanguageModelTextPart(m.content));
        for (const c of m.toolCalls ?? []) parts.push(new vscode.LanguageModelToolCallPart(c.id, c.name, c.arguments));
        return vscode.LanguageModelChatMessage.Assistant(parts);
      }
      case 'tool':
        return vscode.LanguageModelChatMessage.User([new vscode.LanguageModelToolResultPart(m.toolCallId, [new vscode.LanguageModelTextPart(m.content)])]);
      default:
        // The API has no system role: instructions go first as a user message.
        return vscode.LanguageModelChatMessage.User(m.content);
    }
  });
}

function tokenFrom(signal: AbortSignal): { token: vscode.CancellationToken; dispose(): void } {
  const source = new vscode.CancellationTokenSource();
  const onAbort = (): void => source.cancel();
  if (signal.aborted) source.cancel();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    token: source.token,
    dispose: () => {
      signal.removeEventListener('abort', onAbort);
      source.dispose();
    },
  };
}

export class VsCodeLanguageModel implements ModelClient {
  readonly label: string;

  constructor(private readonly selector: vscode.LanguageModelChatSelector) {
    this.label = `vscode-lm: ${[selector.vendor, selector.family, selector.id].filter(Boolean).join('/') || 'any'}`;
  }

  async chat(request: ModelRequest): Promise<ModelReply> {
    const [model] = await vscode.lm.selectChatModels(this.selector);
    if (!model) {
      return {
        ok: false,
        error: {
          kind: 'unavailable',
          message: 'no chat model is available through VS Code (install and sign in to a chat extension such as GitHub Copilot, or pick another model in the Durable Sessions settings)',
        },
      };
    }
    const cancel = tokenFrom(request.signal);
    // The request crosses to the provider's extension (through the window): when the window is
    // closing, its cancellation may never come back. Aborting stops waiting here at once, so the
    // session is interrupted cleanly (and its lease released) instead of hanging until shutdown ends.
    let stopWaiting: (() => void) | undefined;
    const abandoned = new Promise<never>((_, reject) => {
      stopWaiting = () => reject(new CancelledError('the model call was cancelled'));
      if (request.signal.aborted) stopWaiting();
      else request.signal.addEventListener('abort', stopWaiting, { once: true });
    });
    try {
      return await Promise.race([this.exchange(model, request, cancel.token), abandoned]);
    } catch (error) {
      if (request.signal.aborted) throw new CancelledError('the model call was cancelled');
      if (error instanceof vscode.LanguageModelError) {
        const refused = error.code === vscode.LanguageModelError.NoPermissions.name || error.code === vscode.LanguageModelError.Blocked.name;
        return { ok: false, error: { kind: refused ? 'refused' : 'unavailable', message: `${model.name}: ${error.message}` } };
      }
      return { ok: false, error: { kind: 'unavailable', message: `${model.name}: ${(error as Error).message}` } };
    } finally {
      if (stopWaiting) request.signal.removeEventListener('abort', stopWaiting);
      cancel.dispose();
    }
  }

  private async exchange(model: vscode.LanguageModelChat, request: ModelRequest, token: vscode.CancellationToken): Promise<ModelReply> {
    const response = await model.sendRequest(
      toLm(request.messages),
      { tools: request.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.parameters })) },
      token,
    );
    let content = '';
    const toolCalls: ToolCall[] = [];
    for await (const part of response.stream) {
      if (part instanceof vscode.LanguageModelTextPart) {
        content += part.value;
        request.onText?.(part.value);
      } else if (part instanceof vscode.LanguageModelToolCallPart) {
        toolCalls.push({ id: part.callId, name: part.name, arguments: (part.input ?? {}) as Record<string, unknown> });
      }
    }
    const prompt = request.messages.map((m) => m.content).join('\n');
    const usage = { input: await model.countTokens(prompt, token), output: await model.countTokens(content || JSON.stringify(toolCalls), token) };
    return { ok: true, content, toolCalls, usage, model: `${model.vendor}/${model.family}` };
  }
}
