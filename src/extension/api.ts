/**
 * What `activate` returns. The stable part is small; the `testing` part exists
 * only when the host was started with DURABLE_SESSIONS_TEST_API=1 (the
 * integration harness), so no other extension can reach the journal through it.
 */
import { workflowsApi, type DurableWorkflowsApi } from './workflowApi';
import * as vscode from 'vscode';
import { openConnectionCount, type DurableConfig, type DurableEngine, type ExecutionId } from '../durable';
import { durableChatHandler, type DurableChatStream } from './chatParticipant';
import type { Container } from './container';

export interface DurableSessionsApi {
  readonly apiVersion: 1;
  /** Path of this workspace's durable.db (undefined without a workspace). */
  databaseFile(): string | undefined;
  /** Another extension's workflows, journaled here (see workflowApi.ts). */
  readonly workflows: DurableWorkflowsApi;
  readonly testing?: {
    /** The engine, opening the database if needed. */
    engine(): Promise<DurableEngine>;
    config(): DurableConfig;
    isDatabaseOpen(): boolean;
    /** SQLite connections open in this extension host. */
    openConnections(): number;
    /** Executions shown in open journal explorer panels. */
    openExplorers(): string[];
    /** The status bar item's text and tooltip as last shown. */
    statusBar(): { text: string; tooltip: string; visible: boolean };
    /** The model a new session would use, as the settings name it now. */
    modelForNewSessions(): { readonly provider: string; readonly scriptFile?: string; readonly baseUrl?: string; readonly model?: string };
    /** Start an agent session with the model the settings name (as the panel's Start does). */
    startSession(task: string): Promise<string>;
    /** Resume a session as the panel's Resume does, without opening a panel. */
    resumeSession(id: string): Promise<void>;
    /**
     * Send a prompt to the `@durable` chat handler with a model from vscode.lm (as the chat view
     * does); returns what the response showed, as markdown and progress lines.
     */
    chat(prompt: string, selector: vscode.LanguageModelChatSelector): Promise<{ text: string; sessionId?: string }>;
    /** Dispose everything as deactivate does (the extension is unusable afterwards). */
    dispose(): Promise<void>;
  };
}

export function createApi(container: Container): DurableSessionsApi {
  const api: DurableSessionsApi = {
    apiVersion: 1,
    databaseFile: () => container.database.file,
    workflows: workflowsApi(container),
  };
  if (process.env.DURABLE_SESSIONS_TEST_API !== '1') return api;
  return {
    ...api,
    testing: {
      engine: () => container.database.get(),
      config: () => container.config(),
      isDatabaseOpen: () => container.database.isOpen,
      openConnections: openConnectionCount,
      openExplorers: () => container.explorers.openExecutions,
      statusBar: () => container.statusBar.current,
      modelForNewSessions: () => container.sessions.modelFromSettings(),
      startSession: (task) => container.sessions.start(task),
      resumeSession: (id) => container.sessions.resume(id as ExecutionId),
      chat: async (prompt, selector) => {
        const [model] = await vscode.lm.selectChatModels(selector);
        if (!model) throw new Error(`no chat model matches ${JSON.stringify(selector)}`);
        const lines: string[] = [];
        const stream: DurableChatStream = {
          markdown: (value) => void lines.push(typeof value === 'string' ? value : value.value),
          progress: (value) => void lines.push(`(progress) ${value}\n`),
          button: (command) => void lines.push(`[button] ${command.title}\n`),
        };
        const cancel = new vscode.CancellationTokenSource();
        try {
          const result = await durableChatHandler(container.sessions, container.log)({ prompt, model }, stream, cancel.token);
          return { text: lines.join(''), sessionId: (result.metadata as { sessionId?: string } | undefined)?.sessionId };
        } finally {
          cancel.dispose();
        }
      },
      dispose: () => container.dispose(),
    },
  };
}
