/**
 * Choose Agent Model…: the first step of the walkthrough. Pick VS Code's own
 * language models (Copilot, or another extension's), an OpenAI-compatible
 * endpoint (a local Ollama by default), or the scripted tour; the command writes
 * the settings new sessions read. Automation passes the choice as an argument.
 */
import * as vscode from 'vscode';
import type { CommandTable } from './commandTable';
import type { Container } from './container';
import { notify } from './userErrors';
import { SECTION } from './settings';

type Provider = 'vscode-lm' | 'openai' | 'scripted';

interface ModelChoice {
  readonly model: Provider;
  /** vscode-lm: a family (empty: the first available). */
  readonly family?: string;
  /** openai: where, and which model the endpoint serves. */
  readonly baseUrl?: string;
  readonly openaiModel?: string;
}

const OLLAMA = 'http://127.0.0.1:11434/v1';

function choiceArg(arg: unknown): ModelChoice | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const { model, family, baseUrl, openaiModel } = arg as Record<string, unknown>;
  if (model !== 'vscode-lm' && model !== 'openai' && model !== 'scripted') return undefined;
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v.trim() : undefined);
  return { model, family: text(family), baseUrl: text(baseUrl), openaiModel: text(openaiModel) };
}

/** A setting goes where it takes effect: the workspace when the workspace already sets it (it would win over the user's). */
async function write(key: string, value: string): Promise<void> {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const inspected = cfg.inspect(key);
  const target = inspected?.workspaceFolderValue !== undefined || inspected?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await cfg.update(key, value, target);
}

async function pickLanguageModel(): Promise<ModelChoice | undefined> {
  const models = await vscode.lm.selectChatModels({});
  if (models.length === 0) {
    const choice = await vscode.window.showWarningMessage(
      'Durable Sessions: VS Code offers no language model yet. Install GitHub Copilot Chat and sign in (or another extension that provides models), then choose again.',
      'Use the Scripted Tour',
    );
    return choice ? { model: 'scripted' } : undefined;
  }
  const families = [...new Map(models.map((m) => [m.family, m])).values()];
  const picked = await vscode.window.showQuickPick(
    [{ label: 'The first available', description: models[0]?.name ?? '', family: '' }, ...families.map((m) => ({ label: m.family, description: `${m.name} · ${m.vendor}`, family: m.family }))],
    { title: 'Which language model family?', placeHolder: 'New sessions ask VS Code for this family' },
  );
  return picked ? { model: 'vscode-lm', family: picked.family } : undefined;
}

async function askEndpoint(): Promise<ModelChoice | undefined> {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const baseUrl = await vscode.window.showInputBox({
    title: 'OpenAI-compatible endpoint (1/2)',
    prompt: `The base URL, up to /v1. Ollama serves ${OLLAMA}; the requests go from where the workspace runs (the remote host in a remote window).`,
    value: cfg.get<string>('agent.openai.baseUrl') || OLLAMA,
    ignoreFocusOut: true,
    validateInput: (v) => {
      try {
        const url = new URL(v.trim());
        return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'an http:// or https:// URL';
      } catch {
        return 'an http:// or https:// URL';
      }
    },
  });
  if (baseUrl === undefined) return undefined;
  const openaiModel = await vscode.window.showInputBox({
    title: 'OpenAI-compatible endpoint (2/2)',
    prompt: 'The model name the endpoint serves (for Ollama, as `ollama list` shows it, e.g. qwen2.5-coder:7b).',
    value: cfg.get<string>('agent.openai.model') ?? '',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? 'a model name' : undefined),
  });
  if (openaiModel === undefined) return undefined;
  return { model: 'openai', baseUrl, openaiModel };
}

async function ask(): Promise<ModelChoice | undefined> {
  const picked = await vscode.window.showQuickPick(
    [
      { label: '$(sparkle) Language models in VS Code', detail: 'GitHub Copilot, or any extension that provides models to VS Code', provider: 'vscode-lm' as const },
      { label: '$(server) OpenAI-compatible endpoint', detail: 'A local Ollama or LM Studio, a proxy, or a hosted API (an API key is optional)', provider: 'openai' as const },
      { label: '$(beaker) Scripted tour', detail: 'No model and no network: a built-in session that shows the journal, a reload and an approval', provider: 'scripted' as const },
    ],
    { title: 'Durable Sessions: which model should new sessions use?', ignoreFocusOut: true },
  );
  if (!picked) return undefined;
  if (picked.provider === 'vscode-lm') return pickLanguageModel();
  if (picked.provider === 'openai') return askEndpoint();
  return { model: 'scripted' };
}

function describe(choice: ModelChoice): string {
  switch (choice.model) {
    case 'vscode-lm':
      return choice.family ? `VS Code's ${choice.family} models` : "VS Code's first available language model";
    case 'openai':
      return `${choice.openaiModel ?? '?'} at ${choice.baseUrl ?? OLLAMA}`;
    case 'scripted':
      return 'the scripted tour (or durableSessions.agent.scriptFile when set)';
  }
}

async function chooseModel(c: Container, arg: unknown): Promise<ModelChoice | undefined> {
  const choice = choiceArg(arg) ?? (await ask());
  if (!choice) return undefined;
  await write('agent.model', choice.model);
  if (choice.model === 'vscode-lm' && choice.family !== undefined) await write('agent.vscodeLm.family', choice.family);
  if (choice.model === 'openai') {
    await write('agent.openai.baseUrl', choice.baseUrl || OLLAMA);
    await write('agent.openai.model', choice.openaiModel ?? '');
  }
  c.log.info(`model for new sessions: ${describe(choice)}`);
  const actions: Record<string, () => void> = { 'New Session': () => void vscode.commands.executeCommand('durableSessions.newSession') };
  if (choice.model === 'openai') actions['Set API Key'] = () => void vscode.commands.executeCommand('durableSessions.setApiKey');
  notify(`Durable Sessions: new sessions use ${describe(choice)}.`, actions);
  return choice;
}

export const modelCommands: CommandTable = {
  'durableSessions.chooseModel': {
    action: 'Choose agent model',
    run: (c, _options, arg) => chooseModel(c, arg),
  },
};
