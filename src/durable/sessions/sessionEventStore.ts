/**
 * The session event log of agent sessions, over the storage port
 * (store/sessionStore.ts): validates and seals events, keys them by their
 * emitting point (a replayed emit is a no-op), has the store apply each new
 * event's projection operations in the same transaction, opens what it reads,
 * and tells listeners after a commit that added events.
 */
import { utf8 } from '../model/bytes';
import { IntegrityError, InvalidStateError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { MessageBody, MessageCodec, MessageRow, RawSessionEvent, SessionStorage } from '../store/sessionStore';
import {
  EVENT_LABEL,
  MESSAGE_LABEL,
  isText,
  parseSessionEvent,
  projectionOf,
  typeColumn,
  type CheckpointSummary,
  type DetachedSealer,
  type SessionEvent,
  type StoredSessionEvent,
  type ThreadSummary,
  type TranscriptMessage,
  type TurnSummary,
} from './sessionEvents';

const SEGMENT = 500;

export class SessionEventStore {
  private readonly listeners = new Set<(threadId: ExecutionId, seqs: readonly number[]) => void>();
  private readonly messageCodec: MessageCodec;

  constructor(
    private readonly storage: SessionStorage,
    private readonly sealer: DetachedSealer,
    private readonly clock: () => number = Date.now,
  ) {
    this.messageCodec = {
      seal: (threadId, index, body) => this.sealer.sealDetached(MESSAGE_LABEL, `${threadId}/${index}`, utf8(JSON.stringify(body))),
      open: (threadId, index, blob) => JSON.parse(new TextDecoder().decode(this.sealer.openDetached(MESSAGE_LABEL, `${threadId}/${index}`, blob))) as MessageBody,
    };
  }

  /** Called after a commit that added events (not for replayed, already-present ones). */
  onAppended(listener: (threadId: ExecutionId, seqs: readonly number[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Append events of one thread atomically, each under its deterministic key.
   * Keys already present are skipped (a replayed emit); returns the new seqs.
   */
  async append(threadId: ExecutionId, items: ReadonlyArray<{ readonly key: string; readonly event: SessionEvent }>): Promise<number[]> {
    if (items.length === 0) return [];
    const at = this.clock();
    const seqs = await this.storage.appendEvents(threadId, items.map((i) => this.prepare(threadId, i.key, i.event, at)), this.messageCodec);
    if (seqs.length > 0) {
      for (const listener of this.listeners) {
        try {
          listener(threadId, seqs);
        } catch {
          // A view's failure must not fail the session that emitted the event.
        }
      }
    }
    return seqs;
  }

  /**
   * Insert imported events with their original times and project them. Runs
   * inside the caller's transaction (the import's), so it is all or nothing.
   */
  async insertImported(threadId: ExecutionId, events: ReadonlyArray<{ readonly key: string; readonly at: number; readonly event: SessionEvent }>): Promise<void> {
    await this.storage.appendEvents(threadId, events.map((e) => this.prepare(threadId, e.key, e.event, e.at)), this.messageCodec, { inTransaction: true });
  }

  private prepare(threadId: ExecutionId, key: string, event: SessionEvent, at: number): { key: string; type: string; at: number; body: Uint8Array; ops: ReturnType<typeof projectionOf> } {
    if (!isText(key, 200) || key.length === 0) throw new InvalidStateError(`session event key ${JSON.stringify(key)} is not valid`);
    const checked = parseSessionEvent(event);
    return { key, type: typeColumn(checked), at, body: this.sealer.sealDetached(EVENT_LABEL, `${threadId}/${key}`, utf8(JSON.stringify(checked))), ops: projectionOf(checked) };
  }

  /** Events in sequence order from `fromSeq` (inclusive), of one thread or all, read in segments. */
  async *events(options: { threadId?: ExecutionId; fromSeq?: number } = {}): AsyncGenerator<StoredSessionEvent> {
    for await (const raw of this.rawEvents(options)) yield this.decodeEvent(raw);
  }

  /** The events of one thread with their sealed bodies as stored (for export). */
  async *storedEvents(threadId: ExecutionId): AsyncGenerator<StoredSessionEvent & { readonly body: Uint8Array }> {
    for await (const raw of this.rawEvents({ threadId })) yield { ...this.decodeEvent(raw), body: raw.body };
  }

  private async *rawEvents(options: { threadId?: ExecutionId; fromSeq?: number }): AsyncGenerator<RawSessionEvent> {
    let after = Math.max(0, (options.fromSeq ?? 1) - 1);
    for (;;) {
      const rows = await this.storage.readEvents({ ...(options.threadId !== undefined ? { threadId: options.threadId } : {}), afterSeq: after, limit: SEGMENT });
      yield* rows;
      if (rows.length < SEGMENT) return;
      after = rows[rows.length - 1].seq;
    }
  }

  /** Open an exported sealed event body (throws IntegrityError when it does not verify with this key). */
  openEventBody(threadId: ExecutionId, key: string, body: Uint8Array): unknown {
    const plain = this.sealer.openDetached(EVENT_LABEL, `${threadId}/${key}`, body);
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain));
    } catch {
      throw new IntegrityError(`session event ${key} of ${threadId} is not JSON`);
    }
  }

  /** Rebuild every projection from the whole log. */
  replayAll(): Promise<number> {
    return this.rebuild(undefined);
  }

  /**
   * Rebuild the projections of every thread that has events at or after `seq`
   * (their projections are recomputed from their first event, so the result
   * equals a full replay). Returns the number of events applied.
   */
  async replayFrom(seq: number): Promise<number> {
    let applied = 0;
    for (const threadId of await this.storage.threadsWithEventsFrom(seq)) applied += await this.rebuild(threadId);
    return applied;
  }

  thread(threadId: ExecutionId): Promise<ThreadSummary | undefined> {
    return this.storage.thread(threadId);
  }

  listThreads(limit = 200): Promise<ThreadSummary[]> {
    return this.storage.listThreads(limit);
  }

  /** The text of the transcript row that refers to `ref` (an approval's prompt: the command in full), opened. */
  async messageText(threadId: ExecutionId, ref: string): Promise<string | undefined> {
    const row = await this.storage.messageByRef(threadId, ref);
    return row ? this.messageCodec.open(threadId, row.index, row.body).text : undefined;
  }

  /** Transcript rows from message index `from`, opened (they are sealed at rest). */
  async messages(threadId: ExecutionId, from = 0, limit = 10_000): Promise<TranscriptMessage[]> {
    return (await this.storage.messages(threadId, from, limit)).map((row) => this.openMessage(threadId, row));
  }

  turns(threadId: ExecutionId): Promise<TurnSummary[]> {
    return this.storage.turns(threadId);
  }

  checkpoints(threadId: ExecutionId): Promise<CheckpointSummary[]> {
    return this.storage.checkpoints(threadId);
  }

  private openMessage(threadId: ExecutionId, row: MessageRow): TranscriptMessage {
    const body = this.messageCodec.open(threadId, row.index, row.body);
    return {
      index: row.index,
      turn: row.turn,
      role: row.role,
      state: row.state,
      ref: row.ref,
      seq: row.seq,
      at: row.at,
      text: body.text,
      ...(body.detail !== undefined ? { detail: body.detail } : {}),
      ...(body.kind !== undefined ? { kind: body.kind } : {}),
    };
  }

  private decodeEvent(raw: RawSessionEvent): StoredSessionEvent {
    const plain = this.sealer.openDetached(EVENT_LABEL, `${raw.threadId}/${raw.key}`, raw.body);
    let event: SessionEvent;
    try {
      event = parseSessionEvent(JSON.parse(new TextDecoder().decode(plain)));
    } catch (error) {
      throw new IntegrityError(`session event ${raw.seq} of ${raw.threadId} cannot be read: ${(error as Error).message}`);
    }
    if (event.type !== raw.type) {
      throw new IntegrityError(`session event ${raw.seq} of ${raw.threadId}: its type column says ${raw.type} but the event is ${event.type}`);
    }
    return { seq: raw.seq, threadId: raw.threadId, key: raw.key, at: raw.at, event };
  }

  private async rebuild(threadId: ExecutionId | undefined): Promise<number> {
    // Read (and open) first, in segments; then the store rewrites the projections atomically.
    const events: Array<{ seq: number; threadId: ExecutionId; at: number; ops: ReturnType<typeof projectionOf> }> = [];
    for await (const e of this.events(threadId === undefined ? {} : { threadId })) events.push({ seq: e.seq, threadId: e.threadId, at: e.at, ops: projectionOf(e.event) });
    await this.storage.rebuildProjections(threadId, events, this.messageCodec);
    return events.length;
  }
}
