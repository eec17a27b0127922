/**
 * The agent session: a durable execution of kind `agent_session` that loops
 * model call → tool calls → model call until the model answers without tools,
 * or a turn or token limit stops it.
 *
 * Durability, point by point:
 * - Each model call is a guarded, cost-bearing step whose result (the
 *   assistant message and token usage) is journaled: a resumed session replays
 *   it and never pays for it again. Its fingerprint is a hash of the
 *   conversation it was asked, so a session whose history changed diverges
 *   visibly instead of being answered from a stale record.
 * - A provider failure is journaled as a reply (not a step failure) and parks
 *   the session on a durable "retry?" promise: nothing is lost; the user
 *   retries or stops it from the session panel.
 * - Tools run through their own steps (tools.ts). Approvals and questions are
 *   durable promises only a person can settle.
 * - Transcript events go to the session event log under keys that are
 *   deterministic for this point of the workflow, so replaying re-emits them
 *   as no-ops. No vscode import: the loop runs in plain Node tests.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import {
  isDurableError,
  isSkipped,
  StepFailedError,
  type ApprovalKind,
  type DurableContext,
  type SessionEvent,
  type SessionEventStore,
  type WorkflowDefinition,
} from '../durable';
import type { CommandRunner } from './commandRunner';
import { describeModel, isModelReply, type ChatMessage, type ModelClient, type ModelReply, type ModelSpec, type TokenUsage } from './model';
import { ToolArgumentError, type AgentTool, type ApprovalDecision, type ToolEnv, type ToolOutcome, type ToolPolicy } from './tools';
import { PathOutsideWorkspaceError, type WorkspaceAccess } from './workspaceAccess';
import { costOf, formatMoney, isCallCost, priceOf, type PriceTable } from './pricing';

export const AGENT_SESSION_KIND = 'agent_session';
export const AGENT_SESSION_VERSION = 1;

export type ModelAmbiguityPolicy = 'rerun' | 'ask' | 'fail';

export interface AgentInput {
  readonly task: string;
  readonly model: ModelSpec;
  readonly maxTurns: number;
  /** Total tokens (in + out) after which the session stops; 0 for no budget. */
  readonly tokenBudget: number;
  /** What to do with a model call interrupted before its reply was journaled. */
  readonly modelAmbiguity: ModelAmbiguityPolicy;
  /** Money after which the session stops, in millionths of `currency`; 0 or absent for no budget. */
  readonly costBudgetMicros?: number;
  /** The price table's currency ("USD"), for the transcript. */
  readonly currency?: string;
  /** Journal each turn's conversation (a `turn.conversation` step), so the session can be forked later. */
  readonly recordsTurns?: boolean;
  /** A fork: the parent's turns up to `turn`, served from its journal; `task` is the new instruction after them. */
  readonly fork?: ForkOrigin;
}

export interface ForkOrigin {
  readonly parentId: string;
  readonly parentTitle: string;
  readonly turn: number;
  readonly turns: readonly RecordedTurn[];
}

/** What one turn added to the conversation (the user's words, the model's reply, the tools' answers). */
export interface RecordedTurn {
  readonly turn: number;
  readonly messages: readonly ChatMessage[];
  /** The turn's messages were too large to journal again; a fork cannot start after it. */
  readonly tooLarge?: boolean;
}

/** Well under the journal's default payload limit (1 MiB): a turn larger than this is not recorded for forks. */
const MAX_RECORDED_TURN_CHARS = 384 * 1024;

const titleOf = (input: AgentInput): string => {
  const task = input.task.replace(/\s+/g, ' ').trim();
  return (input.fork ? `Fork of '${input.fork.parentTitle.slice(0, 40)}' at turn ${input.fork.turn}: ${task}` : task).slice(0, 80) || 'Agent session';
};

export type AgentOutcomeKind = 'answered' | 'budget_exceeded' | 'turn_limit' | 'stopped';

export interface AgentOutcome {
  readonly outcome: AgentOutcomeKind;
  readonly answer: string;
  readonly tokens: TokenUsage;
  /** What the journaled model calls cost, each once (millionths of the currency). */
  readonly costMicros: number;
  readonly turns: number;
}

export interface AgentDeps {
  createModel(spec: ModelSpec): Promise<ModelClient>;
  readonly workspace: () => WorkspaceAccess;
  readonly tools: () => readonly AgentTool[];
  readonly runCommand: CommandRunner;
  readonly policy: () => ToolPolicy;
  readonly sessions: () => SessionEventStore;
  /** Streamed model text, for live display only. */
  readonly onText?: (executionId: string, delta: string) => void;
  /** The price table as the settings say when a call is made (its cost is journaled with the reply). */
  readonly prices?: () => PriceTable;
}

export const SYSTEM_PROMPT =
  'You are a careful coding agent working inside the user\'s VS Code workspace. ' +
  'Use the tools to read before you change anything; prefer small edits (edit_file) over rewriting files. ' +
  'Commands run only after the user approves them. When the task is done, answer with a short summary and no tool call.';

const MAX_TOOL_CONTENT = 64 * 1024;

function fingerprintOf(model: ModelSpec, messages: readonly ChatMessage[], tools: readonly AgentTool[]): string {
  const material = JSON.stringify({ model, tools: tools.map((t) => t.schema.name), messages });
  return bytesToHex(blake3(new TextEncoder().encode(material)));
}

/** A tool recorded for this session that this window does not have (its extension is gone). */
function unavailableTool(name: string): AgentTool {
  return {
    schema: { name, description: `${name} (not available in this window)`, parameters: { type: 'object' } },
    effect: 'idempotent',
    describe: () => `${name} (not available)`,
    run: async () => ({ ok: false, content: `error: the tool ${name} is not available any more`, summary: 'tool not available' }),
  };
}

function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return { input: a.input + b.input, output: a.output + b.output };
}

/** Emits transcript events under deterministic keys (see the module comment). */
class TranscriptEmitter {
  private next = 0;

  constructor(
    private readonly store: SessionEventStore,
    private readonly ctx: DurableContext,
  ) {}

  /** `key` names a point that occurs once per session; otherwise a per-attempt counter is used. */
  emit(event: SessionEvent, key?: string): Promise<unknown> {
    return this.store.append(this.ctx.executionId, [{ key: key ?? `a${this.ctx.attempt}.${this.next++}`, event }]);
  }
}

/** Errors a tool turns into a message for the model; everything else (suspension, cancellation, divergence, storage) propagates. */
function isToolFailure(error: unknown): boolean {
  if (error instanceof ToolArgumentError || error instanceof PathOutsideWorkspaceError || error instanceof StepFailedError) return true;
  if (isDurableError(error)) return error.code === 'ambiguous_effect' || error.code === 'step_failed';
  return error instanceof Error && error.name !== 'SuspendExecution' && error.name !== 'AbortError';
}

function parseDecision(value: unknown): ApprovalDecision {
  const v = value as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || typeof v.approved !== 'boolean') return { approved: false, decidedBy: 'unknown (malformed decision)' };
  return {
    approved: v.approved,
    decidedBy: typeof v.decidedBy === 'string' ? v.decidedBy.slice(0, 200) : 'unknown',
    ...(typeof v.answer === 'string' ? { answer: v.answer.slice(0, 16_000) } : {}),
  };
}

export function agentSessionWorkflow(deps: AgentDeps): WorkflowDefinition<AgentInput, AgentOutcome> {
  return {
    kind: AGENT_SESSION_KIND,
    version: AGENT_SESSION_VERSION,
    title: titleOf,
    async run(ctx, input) {
      const transcript = new TranscriptEmitter(deps.sessions(), ctx);
      await transcript.emit({ type: 'thread_created', title: titleOf(input), model: describeModel(input.model), task: input.task }, 'thread');
      if (input.fork) {
        const n = input.fork.turn;
        await transcript.emit(
          { type: 'message_appended', turn: 0, role: 'status', text: `Forked from '${input.fork.parentTitle}' at turn ${n}: its ${n === 1 ? 'first turn is' : `first ${n} turns are`} served from its journal (no model call, no tool run again, no tokens).` },
          'forked',
        );
      }
      if (ctx.attempt > 1) {
        await transcript.emit({ type: 'message_appended', turn: 0, role: 'status', text: `Restarted as attempt ${ctx.attempt}: the recorded history no longer matched the session.` });
      }
      // The tool set is journaled once: tools other extensions register come and go between
      // windows, and the model calls' fingerprints must not change with them on replay.
      const available = deps.tools();
      const names = await ctx.step({ name: 'session.tools', effect: 'idempotent' }, () => available.map((t) => t.schema.name));
      const tools = names.map((n) => available.find((t) => t.schema.name === n) ?? unavailableTool(n));
      const byName = new Map(tools.map((t) => [t.schema.name, t]));
      const inherited = input.fork?.turns.flatMap((t) => t.messages) ?? [];
      const messages: ChatMessage[] = [{ role: 'system', content: SYSTEM_PROMPT }, ...inherited, { role: 'user', content: input.task }];
      // A fork keeps its parent's turns in its own journal too: a fork of the fork needs them.
      for (const inheritedTurn of input.fork?.turns ?? []) await ctx.step({ name: 'turn.conversation', effect: 'idempotent' }, () => inheritedTurn);
      let turnStart = messages.length - 1;
      let tokens: TokenUsage = { input: 0, output: 0 };
      let spent = 0;
      let turn = input.fork?.turn ?? 0;
      const currency = input.currency ?? 'USD';
      const budget = input.costBudgetMicros ?? 0;
      let model: ModelClient | undefined;

      const approval = async (kind: ApprovalKind, prompt: string): Promise<ApprovalDecision> => {
        const handle = await ctx.promise(`approval:${kind}`);
        await transcript.emit({ type: 'approval_requested', turn, promiseId: handle.id, kind, prompt: prompt.slice(0, 16_000) });
        const decision = parseDecision(await ctx.awaitPromise(handle));
        await transcript.emit({ type: 'approval_decided', promiseId: handle.id, approved: decision.approved, decidedBy: decision.decidedBy, ...(decision.answer !== undefined ? { answer: decision.answer } : {}) });
        return decision;
      };

      /** The turn's new messages, journaled for forks (sessions that record their turns). */
      const recordTurn = async (): Promise<void> => {
        if (!input.recordsTurns) return;
        const added = messages.slice(turnStart);
        // A turn with very large tool results is not kept for forks (the session itself goes on).
        const tooLarge = JSON.stringify(added).length > MAX_RECORDED_TURN_CHARS;
        const recorded: RecordedTurn = tooLarge ? { turn, messages: [], tooLarge: true } : { turn, messages: added };
        await ctx.step({ name: 'turn.conversation', effect: 'idempotent' }, () => recorded);
        turnStart = messages.length;
      };

      const finish = async (outcome: AgentOutcomeKind, answer: string, why?: string): Promise<AgentOutcome> => {
        const money = spent > 0 ? `, ${formatMoney(spent, currency)}` : '';
        const overMoney = budget > 0 && spent > budget;
        const summary = why ?? (
          outcome === 'answered'
            ? `Finished after ${turn} turns, ${tokens.input + tokens.output} tokens${money}.`
            : outcome === 'budget_exceeded'
              ? overMoney
                ? `Stopped: ${formatMoney(spent, currency)} spent, over the budget of ${formatMoney(budget, currency)}.`
                : `Stopped: ${tokens.input + tokens.output} tokens used, over the budget of ${input.tokenBudget}.`
              : outcome === 'turn_limit'
                ? `Stopped: reached the limit of ${input.maxTurns} turns.`
                : 'Stopped by the user.');
        await transcript.emit({ type: 'session_finished', outcome, summary }, 'finished');
        return { outcome, answer, tokens, costMicros: spent, turns: turn };
      };

      const env: ToolEnv = {
        ctx,
        workspace: deps.workspace(),
        runCommand: deps.runCommand,
        policy: deps.policy(),
        requestApproval: (request) => approval(request.kind, request.prompt),
      };

      // A fork's limit counts its own turns, after the ones it inherited.
      const lastTurn = (input.fork?.turn ?? 0) + input.maxTurns;
      while (turn < lastTurn) {
        turn++;
        await transcript.emit({ type: 'turn_started', turn });
        let reply: ModelReply;
        for (;;) {
          const asked = [...messages];
          const result = await ctx.step(
            {
              name: 'model.call',
              effect: 'exactly_once',
              intent: 'cost_bearing',
              policy: input.modelAmbiguity,
              fingerprint: fingerprintOf(input.model, asked, tools),
            },
            async (h): Promise<ModelReply> => {
              model ??= await deps.createModel(input.model);
              const r = await model.chat({ messages: asked, tools: tools.map((t) => t.schema), signal: h.signal, onText: (d) => deps.onText?.(ctx.executionId, d) });
              if (!isModelReply(r)) return { ok: false, error: { kind: 'malformed', message: `${model.label} returned a reply of the wrong shape` } };
              // Priced now, journaled with the reply: a replay returns this cost, never a new one.
              return r.ok ? { ...r, cost: costOf(r.usage, priceOf(deps.prices?.() ?? {}, r.model), h.afterInterruption === true) } : r;
            },
          );
          reply = isSkipped(result) ? { ok: false, error: { kind: 'unavailable', message: 'the interrupted model call was skipped by decision' } } : result;
          if (reply.ok) break;
          await transcript.emit({ type: 'message_appended', turn, role: 'error', text: `The model call failed (${reply.error.kind}): ${reply.error.message}` });
          const retry = await approval('retry', `The model call failed: ${reply.error.message}\nRetry the call?`);
          if (!retry.approved) return finish('stopped', '');
        }
        tokens = addUsage(tokens, reply.usage);
        // A reply journaled before costs were has none: its cost is unknown, not zero.
        const cost = isCallCost(reply.cost) ? reply.cost : { micros: 0, priced: false, rerun: false };
        spent += cost.micros;
        messages.push({ role: 'assistant', content: reply.content, ...(reply.toolCalls.length ? { toolCalls: reply.toolCalls } : {}) });
        if (cost.rerun) {
          const paid = cost.priced ? `, about ${formatMoney(cost.micros, currency)}` : '';
          await transcript.emit({ type: 'message_appended', turn, role: 'status', text: `This model call was interrupted and made again (see its audit record): the provider may have charged its first try too${paid}.` });
        }
        await transcript.emit({
          type: 'message_appended',
          turn,
          role: 'assistant',
          text: reply.content || (reply.toolCalls.length ? '' : '(empty answer)'),
          usage: { ...reply.usage, costMicros: cost.micros, priced: cost.priced, rerun: cost.rerun },
        });
        if (input.tokenBudget > 0 && tokens.input + tokens.output > input.tokenBudget) return finish('budget_exceeded', reply.content);
        if (budget > 0 && spent > budget) return finish('budget_exceeded', reply.content);
        // A money budget that cannot count a call fails closed: spending goes on only where it is counted.
        if (budget > 0 && !cost.priced) return finish('budget_exceeded', reply.content, `Stopped: ${reply.model} has no price in durableSessions.agent.prices, so the money budget cannot count its calls.`);
        if (reply.toolCalls.length === 0) {
          await recordTurn();
          return finish('answered', reply.content);
        }

        for (const call of reply.toolCalls) {
          const tool = byName.get(call.name);
          const ref = `${turn}:${call.id}`;
          await transcript.emit({
            type: 'tool_called',
            turn,
            callId: ref,
            name: call.name.slice(0, 100),
            summary: tool ? tool.describe(call.arguments).slice(0, 500) : `${call.name.slice(0, 100)} (unknown tool)`,
            effect: tool?.effect ?? 'none',
          });
          let outcome: ToolOutcome;
          if (!tool) {
            outcome = { ok: false, content: `error: there is no tool named ${JSON.stringify(call.name)}; available: ${[...byName.keys()].join(', ')}`, summary: 'unknown tool' };
          } else if (typeof call.arguments.__invalid === 'string') {
            outcome = { ok: false, content: `error: ${call.arguments.__invalid}`, summary: 'invalid arguments' };
          } else {
            try {
              outcome = await tool.run(call.arguments, env);
            } catch (error) {
              if (!isToolFailure(error)) throw error;
              const message = (error as Error).message.split('\n')[0].slice(0, 500);
              outcome = { ok: false, content: `error: ${message}`, summary: message };
            }
          }
          await transcript.emit({ type: 'tool_result', callId: ref, ok: outcome.ok, summary: outcome.summary.slice(0, 2_000) });
          const content = outcome.content.length > MAX_TOOL_CONTENT ? `${outcome.content.slice(0, MAX_TOOL_CONTENT)}\n… (truncated)` : outcome.content;
          messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content });
        }
        await recordTurn();
        await transcript.emit({ type: 'checkpoint_created', turn, label: `turn ${turn}: ${reply.toolCalls.length} tool call${reply.toolCalls.length === 1 ? '' : 's'}` });
      }
      return finish('turn_limit', '');
    },
  };
}
