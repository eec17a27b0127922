// A language model chat provider of the test harness's own, so the vscode.lm
// path of Durable Sessions (and its @durable chat handler) runs against a
// real provider in the real extension host. Replies are scripted by turn:
//   turn 1: a sentence and a list_directory tool call
//   turn 2: the answer; for "[lm-slow]" tasks the first turn-2 call never answers
//           (it waits until cancelled: a reload lands in it), later ones answer at once
// Every request is appended to `lm-calls.log` next to the harness state, as
// "<task> turn <n>", so tests can count what was paid for.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import * as vscode from 'vscode';

export const TEST_VENDOR = 'durable-test';
const MODEL = { id: 'durable-test-scripted', name: 'Durable test model', family: 'durable-test', version: '1', maxInputTokens: 100_000, maxOutputTokens: 4_000 };

// The provider API is newer than the @types/vscode the project builds against: declared here.
interface ProviderApi {
  registerLanguageModelChatProvider(
    vendor: string,
    provider: {
      provideLanguageModelChatInformation(options: unknown, token: vscode.CancellationToken): unknown[];
      provideLanguageModelChatResponse(
        model: unknown,
        messages: ReadonlyArray<{ role: number; content: readonly unknown[] }>,
        options: unknown,
        progress: { report(part: unknown): void },
        token: vscode.CancellationToken,
      ): Promise<void>;
      provideTokenCount(model: unknown, text: string | { content: readonly unknown[] }, token: vscode.CancellationToken): Promise<number>;
    },
  ): vscode.Disposable;
}

function textOf(content: readonly unknown[]): string {
  return content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('');
}

function wait(ms: number, token: vscode.CancellationToken): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      resolve();
    }, ms);
    const sub = token.onCancellationRequested(() => {
      clearTimeout(timer);
      sub.dispose();
      reject(new vscode.CancellationError());
    });
  });
}

export function registerTestModels(callLog: string): vscode.Disposable {
  const lm = vscode.lm as unknown as Partial<ProviderApi>;
  if (typeof lm.registerLanguageModelChatProvider !== 'function') return new vscode.Disposable(() => undefined);
  return lm.registerLanguageModelChatProvider(TEST_VENDOR, {
    provideLanguageModelChatInformation: () => [{ ...MODEL, capabilities: { toolCalling: true }, isUserSelectable: true }],
    async provideLanguageModelChatResponse(_model, messages, _options, progress, token) {
      const user = messages.filter((m) => m.role === vscode.LanguageModelChatMessageRole.User).map((m) => textOf(m.content));
      // The agent sends its instructions first, then the task.
      const task = (user[1] ?? user[0] ?? '').split('\n')[0].slice(0, 120);
      const turn = messages.filter((m) => m.role === vscode.LanguageModelChatMessageRole.Assistant).length + 1;
      const line = `${task} turn ${turn}`;
      const before = existsSync(callLog) ? readFileSync(callLog, 'utf8').split('\n').filter((l) => l === line).length : 0;
      appendFileSync(callLog, `${line}\n`);
      if (turn === 1) {
        progress.report(new vscode.LanguageModelTextPart('I will list the files.'));
        progress.report(new vscode.LanguageModelToolCallPart(`call-${Date.now()}`, 'list_directory', { path: '.' }));
        return;
      }
      if (task.includes('[lm-slow]') && before === 0) await wait(10 * 60_000, token);
      progress.report(new vscode.LanguageModelTextPart('The workspace has a README and a src folder.'));
    },
    provideTokenCount: async (_model, text) => Math.ceil((typeof text === 'string' ? text : textOf(text.content)).length / 4),
  });
}
