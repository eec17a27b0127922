/**
 * The storage port of agent sessions: the append-only session event log and
 * the projections (threads, turns, transcript rows, checkpoints) derived from
 * it. The core decides what an event changes (sessions/sessionEvents.ts turns
 * each event into `ProjectionOp`s); an adapter stores events and applies the
 * operations in the same transaction, and answers the reads. Event bodies and
 * transcript rows arrive sealed; the adapter never sees plaintext except
 * through the `MessageCodec` it is handed (to merge a row's update).
 */
import type { ExecutionId } from '../model/ids';

export type TranscriptRole = 'user' | 'assistant' | 'error' | 'status' | 'tool' | 'approval';

/** The sealed content of one transcript row. */
export interface MessageBody {
  readonly text: string;
  readonly detail?: string;
  readonly kind?: string;
}

/** Seals and opens transcript rows (bound to the thread and the row's index). */
export interface MessageCodec {
  seal(threadId: ExecutionId, index: number, body: MessageBody): Uint8Array;
  open(threadId: ExecutionId, index: number, blob: Uint8Array): MessageBody;
}

/** What one event does to the projections, in order. */
export type ProjectionOp =
  | { readonly op: 'create_thread'; readonly title: string; readonly model: string }
  | { readonly op: 'start_turn'; readonly turn: number }
  | { readonly op: 'add_message'; readonly turn: number; readonly role: TranscriptRole; readonly state: string | null; readonly ref: string | null; readonly body: MessageBody }
  /** The newest row with `ref` takes `state` and the patch (nothing when there is none). */
  | { readonly op: 'update_message'; readonly ref: string; readonly state: string; readonly patch: Partial<MessageBody> }
  /** A model call's tokens and cost (millionths of the price table's currency; `priced` false when no price named its model). */
  | { readonly op: 'add_usage'; readonly turn: number; readonly input: number; readonly output: number; readonly costMicros: number; readonly priced: boolean; readonly rerun: boolean }
  | { readonly op: 'count_tool_call'; readonly turn: number }
  | { readonly op: 'approval_opened' }
  /** An approval row with `ref` that was still pending was decided: one fewer pending. */
  | { readonly op: 'approval_closed'; readonly ref: string }
  | { readonly op: 'add_checkpoint'; readonly turn: number; readonly label: string }
  | { readonly op: 'set_outcome'; readonly outcome: string };

/** An event as stored: its body sealed. */
export interface RawSessionEvent {
  readonly seq: number;
  readonly threadId: ExecutionId;
  readonly key: string;
  readonly type: string;
  readonly at: number;
  readonly body: Uint8Array;
}

/** An event to store, with the operations it applies once it is new. */
export interface NewSessionEvent {
  readonly key: string;
  readonly type: string;
  readonly at: number;
  readonly body: Uint8Array;
  readonly ops: readonly ProjectionOp[];
}

export interface ThreadSummary {
  readonly threadId: ExecutionId;
  readonly title: string;
  readonly model: string;
  readonly outcome: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly turnCount: number;
  readonly messageCount: number;
  readonly toolCalls: number;
  readonly tokensIn: number;
  readonly tokensOut: number;
  /** What the journaled model calls cost, each once, in millionths of the price table's currency. */
  readonly costMicros: number;
  /** Model calls no price named (their cost is unknown). */
  readonly unpricedCalls: number;
  /** Model calls made again after an interruption, and what those second calls cost. */
  readonly rerunCalls: number;
  readonly rerunCostMicros: number;
  readonly pendingApprovals: number;
  readonly lastSeq: number;
}

/** A transcript row as stored (its body sealed). */
export interface MessageRow {
  readonly index: number;
  readonly turn: number;
  readonly role: TranscriptRole;
  /** Tools: running | done | failed. Approvals: pending | approved | denied. */
  readonly state: string | null;
  /** Tool call id or promise id. */
  readonly ref: string | null;
  readonly seq: number;
  readonly at: number;
  readonly body: Uint8Array;
}

export interface TurnSummary {
  readonly turn: number;
  readonly startedSeq: number;
  readonly startedAt: number;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly costMicros: number;
  readonly toolCalls: number;
}

export interface CheckpointSummary {
  readonly index: number;
  readonly turn: number;
  readonly seq: number;
  readonly at: number;
  readonly label: string;
}

export interface SessionStorage {
  /**
   * Store events of one thread in one transaction; an event whose key the
   * thread already has is skipped (a replayed emit), a new one gets the next
   * sequence number and its operations are applied. Returns the new seqs.
   * `inTransaction`: the caller holds a transaction of the same store (an
   * import) and a repeated key is an error.
   */
  appendEvents(threadId: ExecutionId, events: readonly NewSessionEvent[], codec: MessageCodec, options?: { inTransaction?: boolean }): Promise<number[]>;
  /** Events after `afterSeq` in sequence order (of one thread, or all), at most `limit`. */
  readEvents(filter: { threadId?: ExecutionId; afterSeq: number; limit: number }): Promise<RawSessionEvent[]>;
  /** Threads that have events at or after `seq`. */
  threadsWithEventsFrom(seq: number): Promise<ExecutionId[]>;
  /** Drop the projections of one thread (or all) and apply the given operations again, atomically. */
  rebuildProjections(threadId: ExecutionId | undefined, events: ReadonlyArray<{ readonly seq: number; readonly threadId: ExecutionId; readonly at: number; readonly ops: readonly ProjectionOp[] }>, codec: MessageCodec): Promise<void>;
  thread(threadId: ExecutionId): Promise<ThreadSummary | undefined>;
  listThreads(limit: number): Promise<ThreadSummary[]>;
  /** Transcript rows from index `from`, at most `limit`. */
  messages(threadId: ExecutionId, from: number, limit: number): Promise<MessageRow[]>;
  /** The newest transcript row that refers to `ref`. */
  messageByRef(threadId: ExecutionId, ref: string): Promise<MessageRow | undefined>;
  turns(threadId: ExecutionId): Promise<TurnSummary[]>;
  checkpoints(threadId: ExecutionId): Promise<CheckpointSummary[]>;
}
