/**
 * Tools other extensions contribute through `vscode.lm.tools`, offered to the
 * agent next to ours. We cannot know their effects: at-least-once unless the
 * user declares otherwise in `durableSessions.agent.externalToolEffects`.
 */
import * as vscode from 'vscode';
import type { EffectClass } from '../../durable';
import { externalTool, type AgentTool } from '../../agent/tools';

export type ExternalEffect = EffectClass | 'exclude';

export function externalTools(builtinNames: ReadonlySet<string>, effects: Readonly<Record<string, ExternalEffect>>): AgentTool[] {
  const tools: AgentTool[] = [];
  for (const info of vscode.lm.tools) {
    const effect = effects[info.name] ?? 'at_least_once';
    if (effect === 'exclude' || builtinNames.has(info.name)) continue;
    tools.push(
      externalTool(
        { name: info.name, description: info.description, parameters: (info.inputSchema as Record<string, unknown> | undefined) ?? { type: 'object' } },
        effect,
        async (args, signal) => {
          const source = new vscode.CancellationTokenSource();
          const onAbort = (): void => source.cancel();
          signal.addEventListener('abort', onAbort, { once: true });
          try {
            const result = await vscode.lm.invokeTool(info.name, { input: args, toolInvocationToken: undefined }, source.token);
            return result.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('');
          } finally {
            signal.removeEventListener('abort', onAbort);
            source.dispose();
          }
        },
      ),
    );
  }
  return tools;
}
