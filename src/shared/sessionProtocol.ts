/**
 * The session panel's message protocol, typed once and shared by the host
 * (sessionPanel.ts) and the page (media/src/sessionPage.ts). Every message
 * from the page is validated by `parsePageMessage` before the host acts on it:
 * anything unknown or malformed is rejected (and logged), never executed.
 */
import { messageShape } from './pageMessage';

export interface ThreadView {
  readonly id: string;
  readonly title: string;
  readonly model: string;
  /** running (here or in a live window), interrupted (a `running` row nobody runs), suspended, completed, failed, cancelled, aborted. */
  readonly status: string;
  readonly outcome: string | null;
  readonly statusDetail: string | null;
  readonly turns: number;
  readonly toolCalls: number;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly budget: number;
  /** What the session's model calls cost ("$0.0123 of $1.00"), or null when nothing is priced. */
  readonly cost: string | null;
  /** What that amount leaves out (calls without a price, calls made again after an interruption). */
  readonly costNote: string | null;
}

export interface MessageView {
  readonly index: number;
  readonly turn: number;
  readonly role: 'user' | 'assistant' | 'tool' | 'approval' | 'error' | 'status';
  readonly state: string | null;
  readonly ref: string | null;
  readonly text: string;
  readonly detail?: string;
  readonly kind?: string;
  /** For approvals: can a person still decide it (the promise is pending)? */
  readonly actionable?: boolean;
  /** On a turn's reply: what that turn's model calls cost ("$0.0017"), when priced. */
  readonly cost?: string;
}

/** An interrupted guarded step parked for a person's decision (the `ask` policy). */
export interface DecisionView {
  readonly stepId: number;
  readonly stepName: string;
  readonly policy: string;
}

export interface SessionListItem {
  readonly id: string;
  readonly title: string;
  readonly status: string;
}

export interface SessionState {
  /** The session this panel is bound to (kept by the page for restore after a reload, even when loading it failed). */
  readonly threadId?: string;
  readonly thread?: ThreadView;
  readonly messages: readonly MessageView[];
  readonly decision?: DecisionView;
  readonly sessions: readonly SessionListItem[];
  /** The model new sessions would use, or why none can start. */
  readonly modelLabel: string;
  readonly modelProblem?: string;
  readonly error?: string;
}

export type HostMessage =
  | { readonly type: 'state'; readonly state: SessionState }
  | { readonly type: 'stream'; readonly threadId: string; readonly text: string }
  | { readonly type: 'notice'; readonly message: string };

export type PageMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'start'; readonly task: string }
  | { readonly type: 'open'; readonly threadId: string }
  | { readonly type: 'newSession' }
  | { readonly type: 'decide'; readonly promiseId: string; readonly approved: boolean; readonly answer?: string }
  | { readonly type: 'resolveWindow'; readonly stepId: number; readonly decision: 'rerun' | 'skip' | 'fail' }
  | { readonly type: 'cancel' }
  | { readonly type: 'resume' }
  | { readonly type: 'inspect' }
  | { readonly type: 'undo' }
  | { readonly type: 'fork'; readonly turn: number };

const ID = /^[0-9a-zA-Z-]{1,100}$/;
const MAX_TASK = 32_000;

/** Validate a message from the page; returns undefined for anything not exactly one of ours. */
export function parsePageMessage(value: unknown): PageMessage | undefined {
  const shape = messageShape(value);
  if (!shape) return undefined;
  const { m, only } = shape;
  switch (m.type) {
    case 'ready':
    case 'newSession':
    case 'cancel':
    case 'resume':
    case 'inspect':
    case 'undo':
      return only() ? { type: m.type } : undefined;
    case 'fork':
      return only('turn') && Number.isInteger(m.turn) && (m.turn as number) >= 1 && (m.turn as number) <= 100_000 ? { type: 'fork', turn: m.turn as number } : undefined;
    case 'start':
      return only('task') && typeof m.task === 'string' && m.task.trim().length > 0 && m.task.length <= MAX_TASK ? { type: 'start', task: m.task } : undefined;
    case 'open':
      return only('threadId') && typeof m.threadId === 'string' && ID.test(m.threadId) ? { type: 'open', threadId: m.threadId } : undefined;
    case 'decide':
      if (!only('promiseId', 'approved', 'answer') || typeof m.promiseId !== 'string' || !ID.test(m.promiseId) || typeof m.approved !== 'boolean') return undefined;
      if (m.answer !== undefined && (typeof m.answer !== 'string' || m.answer.length > 16_000)) return undefined;
      return { type: 'decide', promiseId: m.promiseId, approved: m.approved, ...(m.answer !== undefined ? { answer: m.answer as string } : {}) };
    case 'resolveWindow':
      if (!only('stepId', 'decision') || !Number.isInteger(m.stepId) || (m.stepId as number) < 0) return undefined;
      return m.decision === 'rerun' || m.decision === 'skip' || m.decision === 'fail' ? { type: 'resolveWindow', stepId: m.stepId as number, decision: m.decision } : undefined;
    default:
      return undefined;
  }
}
