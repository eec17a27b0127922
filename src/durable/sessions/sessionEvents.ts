/**
 * The session event log's pure logic: the events, their validation, and what
 * each one does to the projections (threads, turns, transcript rows,
 * checkpoints; `projectionOf`). A store keeps the log and applies the
 * projection operations in the same transaction as the event they come from
 * (sessionEventStore.ts over store/sessionStore.ts), so listing sessions and
 * rendering a transcript never replays the log.
 *
 * - Events are sealed at rest like journal payloads; their location (thread and
 *   event key) is bound as associated data.
 * - Every event carries a key that is deterministic for the point of the
 *   session workflow that emits it. A workflow replayed after a crash emits the
 *   same keys again: those appends are no-ops, so the transcript never shows a
 *   message twice and never misses one that the journal committed.
 * - The event's type is written once, by `typeColumn(event)`, from the tag
 *   inside the event; reading checks that the column and the tag agree.
 * - `replayAll()` and `replayFrom(seq)` rebuild projections from the log.
 */
import { InvalidStateError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { CheckpointSummary, MessageBody, MessageRow, ProjectionOp, ThreadSummary, TranscriptRole, TurnSummary } from '../store/sessionStore';

export type { CheckpointSummary, ThreadSummary, TranscriptRole, TurnSummary };

export type MessageRole = 'user' | 'assistant' | 'error' | 'status';
export type ApprovalKind = 'command' | 'question' | 'retry';

/** The closed union of session events. `type` is the tag stored in the event and in its column. */
export type SessionEvent =
  | { readonly type: 'thread_created'; readonly title: string; readonly model: string; readonly task: string }
  | { readonly type: 'turn_started'; readonly turn: number }
  | {
      readonly type: 'message_appended';
      readonly turn: number;
      readonly role: MessageRole;
      readonly text: string;
      /** A model call's tokens, and its cost as journaled with its reply (absent from sessions recorded before costs were). */
      readonly usage?: { readonly input: number; readonly output: number; readonly costMicros?: number; readonly priced?: boolean; readonly rerun?: boolean };
    }
  | { readonly type: 'tool_called'; readonly turn: number; readonly callId: string; readonly name: string; readonly summary: string; readonly effect: string }
  | { readonly type: 'tool_result'; readonly callId: string; readonly ok: boolean; readonly summary: string }
  | { readonly type: 'approval_requested'; readonly turn: number; readonly promiseId: string; readonly kind: ApprovalKind; readonly prompt: string }
  | { readonly type: 'approval_decided'; readonly promiseId: string; readonly approved: boolean; readonly decidedBy: string; readonly answer?: string }
  | { readonly type: 'checkpoint_created'; readonly turn: number; readonly label: string }
  | { readonly type: 'session_finished'; readonly outcome: string; readonly summary: string };

export type SessionEventType = SessionEvent['type'];

export const SESSION_EVENT_TYPES: readonly SessionEventType[] = [
  'thread_created',
  'turn_started',
  'message_appended',
  'tool_called',
  'tool_result',
  'approval_requested',
  'approval_decided',
  'checkpoint_created',
  'session_finished',
];

/** The one place the `type` column is derived: from the event's own tag. */
export function typeColumn(event: SessionEvent): SessionEventType {
  if (!SESSION_EVENT_TYPES.includes(event.type)) throw new InvalidStateError(`unknown session event type ${JSON.stringify(event.type)}`);
  return event.type;
}

export interface StoredSessionEvent {
  readonly seq: number;
  readonly threadId: ExecutionId;
  readonly key: string;
  readonly at: number;
  readonly event: SessionEvent;
}

/** A transcript row as the views read it: the stored row with its body opened. */
export type TranscriptMessage = Omit<MessageRow, 'body'> & MessageBody;

/** Sealing as the journal codec provides it. */
export interface DetachedSealer {
  sealDetached(label: string, id: string, payload: Uint8Array): Uint8Array;
  openDetached(label: string, id: string, blob: Uint8Array): Uint8Array;
}

export const EVENT_LABEL = 'session-event';
export const MESSAGE_LABEL = 'session-message';
const MAX_TEXT = 64 * 1024;

export function isText(v: unknown, max = MAX_TEXT * 4): v is string {
  return typeof v === 'string' && v.length <= max;
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/** Validate a decoded event against its variant: a sealed blob opened fine but its shape is still checked. */
export function parseSessionEvent(value: unknown): SessionEvent {
  const e = value as Record<string, unknown>;
  const fail = (why: string): never => {
    throw new InvalidStateError(`session event is malformed: ${why}`);
  };
  if (typeof e !== 'object' || e === null) return fail('not an object');
  const ok = ((): boolean => {
    switch (e.type) {
      case 'thread_created':
        return isText(e.title) && isText(e.model) && isText(e.task);
      case 'turn_started':
      case 'checkpoint_created':
        return isCount(e.turn) && (e.type === 'turn_started' || isText(e.label));
      case 'message_appended': {
        const usage = e.usage as Record<string, unknown> | undefined;
        return (
          isCount(e.turn) &&
          ['user', 'assistant', 'error', 'status'].includes(e.role as string) &&
          isText(e.text) &&
          (usage === undefined ||
            (typeof usage === 'object' &&
              usage !== null &&
              isCount(usage.input) &&
              isCount(usage.output) &&
              (usage.costMicros === undefined || isCount(usage.costMicros)) &&
              (usage.priced === undefined || typeof usage.priced === 'boolean') &&
              (usage.rerun === undefined || typeof usage.rerun === 'boolean')))
        );
      }
      case 'tool_called':
        return isCount(e.turn) && isText(e.callId, 200) && isText(e.name, 200) && isText(e.summary) && isText(e.effect, 40);
      case 'tool_result':
        return isText(e.callId, 200) && typeof e.ok === 'boolean' && isText(e.summary);
      case 'approval_requested':
        return isCount(e.turn) && isText(e.promiseId, 200) && ['command', 'question', 'retry'].includes(e.kind as string) && isText(e.prompt);
      case 'approval_decided':
        return isText(e.promiseId, 200) && typeof e.approved === 'boolean' && isText(e.decidedBy, 200) && (e.answer === undefined || isText(e.answer));
      case 'session_finished':
        return isText(e.outcome, 100) && isText(e.summary);
      default:
        return fail(`unknown type ${JSON.stringify(e.type)}`);
    }
  })();
  if (!ok) fail(`fields of a ${String(e.type)} event are missing or of the wrong type`);
  return e as unknown as SessionEvent;
}

export function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n… (${text.length - MAX_TEXT} more characters)` : text;
}

/**
 * What one event does to the projections: pure logic, the same for every
 * store (an adapter applies the operations in the event's transaction).
 */
export function projectionOf(ev: SessionEvent): ProjectionOp[] {
  const message = (turn: number, role: TranscriptRole, state: string | null, ref: string | null, body: MessageBody): ProjectionOp => ({ op: 'add_message', turn, role, state, ref, body });
  switch (ev.type) {
    case 'thread_created':
      return [{ op: 'create_thread', title: ev.title.slice(0, 200), model: ev.model.slice(0, 200) }, message(0, 'user', null, null, { text: clip(ev.task) })];
    case 'turn_started':
      return [{ op: 'start_turn', turn: ev.turn }];
    case 'message_appended':
      return [
        message(ev.turn, ev.role, null, null, { text: clip(ev.text) }),
        ...(ev.usage
          ? [
              {
                op: 'add_usage',
                turn: ev.turn,
                input: ev.usage.input,
                output: ev.usage.output,
                costMicros: ev.usage.costMicros ?? 0,
                // A session recorded before costs were has no price to tell: unknown, not free.
                priced: ev.usage.priced ?? false,
                rerun: ev.usage.rerun ?? false,
              } as const,
            ]
          : []),
      ];
    case 'tool_called':
      return [message(ev.turn, 'tool', 'running', ev.callId, { text: clip(ev.summary), kind: `${ev.name} · ${ev.effect}` }), { op: 'count_tool_call', turn: ev.turn }];
    case 'tool_result':
      return [{ op: 'update_message', ref: ev.callId, state: ev.ok ? 'done' : 'failed', patch: { detail: clip(ev.summary) } }];
    case 'approval_requested':
      return [message(ev.turn, 'approval', 'pending', ev.promiseId, { text: clip(ev.prompt), kind: ev.kind }), { op: 'approval_opened' }];
    case 'approval_decided': {
      const detail = `${ev.approved ? 'approved' : 'denied'} by ${ev.decidedBy}${ev.answer !== undefined ? `: ${ev.answer}` : ''}`;
      // Closed first: it counts only a row that was still pending before this update.
      return [{ op: 'approval_closed', ref: ev.promiseId }, { op: 'update_message', ref: ev.promiseId, state: ev.approved ? 'approved' : 'denied', patch: { detail: clip(detail) } }];
    }
    case 'checkpoint_created':
      return [{ op: 'add_checkpoint', turn: ev.turn, label: ev.label.slice(0, 500) }];
    case 'session_finished':
      return [{ op: 'set_outcome', outcome: ev.outcome }, message(0, 'status', null, null, { text: clip(ev.summary), kind: ev.outcome })];
  }
}
