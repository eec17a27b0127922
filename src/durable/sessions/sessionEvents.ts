/**
 * The session event log: an append-only `session_events` table with a global
 * sequence, and projections (threads, turns, messages, checkpoints) updated in
 * the same transaction as the events they come from, so listing sessions and
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
import { utf8 } from '../model/bytes';
import { InvalidStateError, IntegrityError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { SqliteConnection, SqlRow } from '../store/sqlite/sqliteConnection';

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
      readonly usage?: { readonly input: number; readonly output: number };
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
  readonly pendingApprovals: number;
  readonly lastSeq: number;
}

export type TranscriptRole = MessageRole | 'tool' | 'approval';

export interface TranscriptMessage {
  readonly index: number;
  readonly turn: number;
  readonly role: TranscriptRole;
  /** Tools: running | done | failed. Approvals: pending | approved | denied. */
  readonly state: string | null;
  /** Tool call id or promise id. */
  readonly ref: string | null;
  readonly seq: number;
  readonly at: number;
  readonly text: string;
  readonly detail?: string;
  readonly kind?: string;
}

export interface TurnSummary {
  readonly turn: number;
  readonly startedSeq: number;
  readonly startedAt: number;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly toolCalls: number;
}

export interface CheckpointSummary {
  readonly index: number;
  readonly turn: number;
  readonly seq: number;
  readonly at: number;
  readonly label: string;
}

/** Sealing as the journal codec provides it. */
export interface DetachedSealer {
  sealDetached(label: string, id: string, payload: Uint8Array): Uint8Array;
  openDetached(label: string, id: string, blob: Uint8Array): Uint8Array;
}

const EVENT_LABEL = 'session-event';
const MESSAGE_LABEL = 'session-message';
const MAX_TEXT = 64 * 1024;
const SEGMENT = 500;

type Body = { text: string; detail?: string; kind?: string };

function isText(v: unknown, max = MAX_TEXT * 4): v is string {
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
          (usage === undefined || (typeof usage === 'object' && usage !== null && isCount(usage.input) && isCount(usage.output)))
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

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n… (${text.length - MAX_TEXT} more characters)` : text;
}

export class SessionEventStore {
  private readonly listeners = new Set<(threadId: ExecutionId, seqs: readonly number[]) => void>();

  constructor(
    private readonly conn: SqliteConnection,
    private readonly sealer: DetachedSealer,
    private readonly clock: () => number = Date.now,
  ) {}

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
    const prepared = items.map(({ key, event }) => {
      if (!isText(key, 200) || key.length === 0) throw new InvalidStateError(`session event key ${JSON.stringify(key)} is not valid`);
      const checked = parseSessionEvent(event);
      return { key, type: typeColumn(checked), event: checked };
    });
    const seqs = await this.conn.transaction(`append ${items.length} session events`, async () => {
      const added: number[] = [];
      for (const p of prepared) {
        const body = this.sealer.sealDetached(EVENT_LABEL, `${threadId}/${p.key}`, utf8(JSON.stringify(p.event)));
        const outcome = await this.conn.run('INSERT OR IGNORE INTO session_events (thread_id, event_key, type, at, body) VALUES (?, ?, ?, ?, ?)', [
          threadId,
          p.key,
          p.type,
          at,
          body,
        ]);
        if (outcome.changes === 0) continue;
        added.push(outcome.lastId);
        await this.project({ seq: outcome.lastId, threadId, key: p.key, at, event: p.event });
      }
      return added;
    });
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

  /** Events in sequence order from `fromSeq` (inclusive), of one thread or all, read in segments. */
  async *events(options: { threadId?: ExecutionId; fromSeq?: number } = {}): AsyncGenerator<StoredSessionEvent> {
    let after = Math.max(0, (options.fromSeq ?? 1) - 1);
    for (;;) {
      const rows = await this.conn.exclusive('read session events', () =>
        options.threadId === undefined
          ? this.conn.all('SELECT seq, thread_id, event_key, type, at, body FROM session_events WHERE seq > ? ORDER BY seq LIMIT ?', [after, SEGMENT])
          : this.conn.all('SELECT seq, thread_id, event_key, type, at, body FROM session_events WHERE thread_id = ? AND seq > ? ORDER BY seq LIMIT ?', [
              options.threadId,
              after,
              SEGMENT,
            ]),
      );
      for (const row of rows) yield this.decodeEvent(row);
      if (rows.length < SEGMENT) return;
      after = rows[rows.length - 1].seq as number;
    }
  }

  /** The events of one thread with their sealed bodies as stored (for export). */
  async *storedEvents(threadId: ExecutionId): AsyncGenerator<StoredSessionEvent & { readonly body: Uint8Array }> {
    let after = 0;
    for (;;) {
      const rows = await this.conn.exclusive('read session events', () =>
        this.conn.all('SELECT seq, thread_id, event_key, type, at, body FROM session_events WHERE thread_id = ? AND seq > ? ORDER BY seq LIMIT ?', [threadId, after, SEGMENT]),
      );
      for (const row of rows) yield { ...this.decodeEvent(row), body: new Uint8Array(row.body as Buffer) };
      if (rows.length < SEGMENT) return;
      after = rows[rows.length - 1].seq as number;
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

  /**
   * Insert imported events with their original times and project them. Runs
   * inside the caller's transaction (the import's), so it is all or nothing.
   */
  async insertImported(threadId: ExecutionId, events: ReadonlyArray<{ readonly key: string; readonly at: number; readonly event: SessionEvent }>): Promise<void> {
    for (const e of events) {
      const event = parseSessionEvent(e.event);
      const body = this.sealer.sealDetached(EVENT_LABEL, `${threadId}/${e.key}`, utf8(JSON.stringify(event)));
      const outcome = await this.conn.run('INSERT INTO session_events (thread_id, event_key, type, at, body) VALUES (?, ?, ?, ?, ?)', [threadId, e.key, typeColumn(event), e.at, body]);
      await this.project({ seq: outcome.lastId, threadId, key: e.key, at: e.at, event });
    }
  }

  /** Rebuild every projection from the whole log. */
  async replayAll(): Promise<number> {
    return this.rebuild(undefined);
  }

  /**
   * Rebuild the projections of every thread that has events at or after `seq`
   * (their projections are recomputed from their first event, so the result
   * equals a full replay). Returns the number of events applied.
   */
  async replayFrom(seq: number): Promise<number> {
    const rows = await this.conn.exclusive('find threads to replay', () =>
      this.conn.all('SELECT DISTINCT thread_id FROM session_events WHERE seq >= ?', [seq]),
    );
    let applied = 0;
    for (const row of rows) applied += await this.rebuild(row.thread_id as ExecutionId);
    return applied;
  }

  async thread(threadId: ExecutionId): Promise<ThreadSummary | undefined> {
    const row = await this.conn.exclusive('read session', () => this.conn.get('SELECT * FROM session_threads WHERE thread_id = ?', [threadId]));
    return row ? toThread(row) : undefined;
  }

  async listThreads(limit = 200): Promise<ThreadSummary[]> {
    const rows = await this.conn.exclusive('list sessions', () => this.conn.all('SELECT * FROM session_threads ORDER BY updated_at DESC LIMIT ?', [limit]));
    return rows.map(toThread);
  }

  /** The text of the transcript row that refers to `ref` (an approval's prompt: the command in full), opened. */
  async messageText(threadId: ExecutionId, ref: string): Promise<string | undefined> {
    const row = await this.conn.exclusive('read a transcript row', () =>
      this.conn.get('SELECT idx, body FROM session_messages WHERE thread_id = ? AND ref = ? ORDER BY idx DESC LIMIT 1', [threadId, ref]),
    );
    return row ? this.openBody(threadId, row.idx as number, row.body as Buffer).text : undefined;
  }

  /** Transcript rows from message index `from`, opened (they are sealed at rest). */
  async messages(threadId: ExecutionId, from = 0, limit = 10_000): Promise<TranscriptMessage[]> {
    const rows = await this.conn.exclusive('read transcript', () =>
      this.conn.all('SELECT * FROM session_messages WHERE thread_id = ? AND idx >= ? ORDER BY idx LIMIT ?', [threadId, from, limit]),
    );
    return rows.map((row) => {
      const body = this.openBody(threadId, row.idx as number, row.body as Buffer);
      return {
        index: row.idx as number,
        turn: row.turn as number,
        role: row.role as TranscriptRole,
        state: row.state as string | null,
        ref: row.ref as string | null,
        seq: row.seq as number,
        at: row.at as number,
        text: body.text,
        ...(body.detail !== undefined ? { detail: body.detail } : {}),
        ...(body.kind !== undefined ? { kind: body.kind } : {}),
      };
    });
  }

  async turns(threadId: ExecutionId): Promise<TurnSummary[]> {
    const rows = await this.conn.exclusive('read turns', () => this.conn.all('SELECT * FROM session_turns WHERE thread_id = ? ORDER BY turn', [threadId]));
    return rows.map((r) => ({
      turn: r.turn as number,
      startedSeq: r.started_seq as number,
      startedAt: r.started_at as number,
      tokensIn: r.tokens_in as number,
      tokensOut: r.tokens_out as number,
      toolCalls: r.tool_calls as number,
    }));
  }

  async checkpoints(threadId: ExecutionId): Promise<CheckpointSummary[]> {
    const rows = await this.conn.exclusive('read checkpoints', () =>
      this.conn.all('SELECT * FROM session_checkpoints WHERE thread_id = ? ORDER BY idx', [threadId]),
    );
    return rows.map((r) => ({ index: r.idx as number, turn: r.turn as number, seq: r.seq as number, at: r.at as number, label: r.label as string }));
  }

  // ---- projections ----------------------------------------------------------------------------

  private decodeEvent(row: SqlRow): StoredSessionEvent {
    const threadId = row.thread_id as ExecutionId;
    const key = row.event_key as string;
    const plain = this.sealer.openDetached(EVENT_LABEL, `${threadId}/${key}`, row.body as Buffer);
    let event: SessionEvent;
    try {
      event = parseSessionEvent(JSON.parse(new TextDecoder().decode(plain)));
    } catch (error) {
      throw new IntegrityError(`session event ${String(row.seq)} of ${threadId} cannot be read: ${(error as Error).message}`);
    }
    if (event.type !== row.type) {
      throw new IntegrityError(`session event ${String(row.seq)} of ${threadId}: its type column says ${String(row.type)} but the event is ${event.type}`);
    }
    return { seq: row.seq as number, threadId, key, at: row.at as number, event };
  }

  private async rebuild(threadId: ExecutionId | undefined): Promise<number> {
    // Read first (segments, outside the transaction), then rewrite the projections atomically.
    const events: StoredSessionEvent[] = [];
    for await (const e of this.events({ threadId })) events.push(e);
    return this.conn.transaction('rebuild session projections', async () => {
      for (const table of ['session_checkpoints', 'session_messages', 'session_turns', 'session_threads']) {
        if (threadId === undefined) await this.conn.run(`DELETE FROM ${table}`);
        else await this.conn.run(`DELETE FROM ${table} WHERE thread_id = ?`, [threadId]);
      }
      for (const e of events) await this.project(e);
      return events.length;
    });
  }

  private sealBody(threadId: string, idx: number, body: Body): Buffer {
    return Buffer.from(this.sealer.sealDetached(MESSAGE_LABEL, `${threadId}/${idx}`, utf8(JSON.stringify(body))));
  }

  private openBody(threadId: string, idx: number, blob: Buffer): Body {
    return JSON.parse(new TextDecoder().decode(this.sealer.openDetached(MESSAGE_LABEL, `${threadId}/${idx}`, blob))) as Body;
  }

  private async addMessage(e: StoredSessionEvent, turn: number, role: TranscriptRole, state: string | null, ref: string | null, body: Body): Promise<void> {
    const next = await this.conn.get('SELECT coalesce(max(idx) + 1, 0) AS idx FROM session_messages WHERE thread_id = ?', [e.threadId]);
    const idx = next?.idx as number;
    await this.conn.run('INSERT INTO session_messages (thread_id, idx, turn, role, state, ref, seq, at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      e.threadId,
      idx,
      turn,
      role,
      state,
      ref,
      e.seq,
      e.at,
      this.sealBody(e.threadId, idx, body),
    ]);
    await this.conn.run('UPDATE session_threads SET message_count = message_count + 1 WHERE thread_id = ?', [e.threadId]);
  }

  private async updateMessage(e: StoredSessionEvent, ref: string, state: string, patch: Partial<Body>): Promise<void> {
    const row = await this.conn.get('SELECT idx, body FROM session_messages WHERE thread_id = ? AND ref = ? ORDER BY idx DESC LIMIT 1', [e.threadId, ref]);
    if (!row) return; // a result without its call (log edited by hand): nothing to update
    const idx = row.idx as number;
    const body = { ...this.openBody(e.threadId, idx, row.body as Buffer), ...patch };
    await this.conn.run('UPDATE session_messages SET state = ?, seq = ?, body = ? WHERE thread_id = ? AND idx = ?', [
      state,
      e.seq,
      this.sealBody(e.threadId, idx, body),
      e.threadId,
      idx,
    ]);
  }

  /** Apply one event to the projections (inside the caller's transaction). */
  private async project(e: StoredSessionEvent): Promise<void> {
    const ev = e.event;
    const t = e.threadId;
    if (ev.type === 'thread_created') {
      await this.conn.run(
        'INSERT OR REPLACE INTO session_threads (thread_id, title, model, created_at, updated_at, last_seq) VALUES (?, ?, ?, ?, ?, ?)',
        [t, ev.title.slice(0, 200), ev.model.slice(0, 200), e.at, e.at, e.seq],
      );
    } else {
      const exists = await this.conn.get('SELECT 1 AS one FROM session_threads WHERE thread_id = ?', [t]);
      if (!exists) throw new InvalidStateError(`session ${t}: a ${ev.type} event arrived before the thread was created`);
    }
    await this.conn.run('UPDATE session_threads SET updated_at = ?, last_seq = ? WHERE thread_id = ?', [e.at, e.seq, t]);
    switch (ev.type) {
      case 'thread_created':
        await this.addMessage(e, 0, 'user', null, null, { text: clip(ev.task) });
        return;
      case 'turn_started':
        await this.conn.run('INSERT OR IGNORE INTO session_turns (thread_id, turn, started_seq, started_at) VALUES (?, ?, ?, ?)', [t, ev.turn, e.seq, e.at]);
        await this.conn.run('UPDATE session_threads SET turn_count = max(turn_count, ?) WHERE thread_id = ?', [ev.turn, t]);
        return;
      case 'message_appended':
        await this.addMessage(e, ev.turn, ev.role, null, null, { text: clip(ev.text) });
        if (ev.usage) {
          await this.conn.run('UPDATE session_threads SET tokens_in = tokens_in + ?, tokens_out = tokens_out + ? WHERE thread_id = ?', [
            ev.usage.input,
            ev.usage.output,
            t,
          ]);
          await this.conn.run('UPDATE session_turns SET tokens_in = tokens_in + ?, tokens_out = tokens_out + ? WHERE thread_id = ? AND turn = ?', [
            ev.usage.input,
            ev.usage.output,
            t,
            ev.turn,
          ]);
        }
        return;
      case 'tool_called':
        await this.addMessage(e, ev.turn, 'tool', 'running', ev.callId, { text: clip(ev.summary), kind: `${ev.name} · ${ev.effect}` });
        await this.conn.run('UPDATE session_threads SET tool_calls = tool_calls + 1 WHERE thread_id = ?', [t]);
        await this.conn.run('UPDATE session_turns SET tool_calls = tool_calls + 1 WHERE thread_id = ? AND turn = ?', [t, ev.turn]);
        return;
      case 'tool_result':
        await this.updateMessage(e, ev.callId, ev.ok ? 'done' : 'failed', { detail: clip(ev.summary) });
        return;
      case 'approval_requested':
        await this.addMessage(e, ev.turn, 'approval', 'pending', ev.promiseId, { text: clip(ev.prompt), kind: ev.kind });
        await this.conn.run('UPDATE session_threads SET pending_approvals = pending_approvals + 1 WHERE thread_id = ?', [t]);
        return;
      case 'approval_decided': {
        const pending = await this.conn.get("SELECT 1 AS one FROM session_messages WHERE thread_id = ? AND ref = ? AND state = 'pending'", [t, ev.promiseId]);
        const detail = `${ev.approved ? 'approved' : 'denied'} by ${ev.decidedBy}${ev.answer !== undefined ? `: ${ev.answer}` : ''}`;
        await this.updateMessage(e, ev.promiseId, ev.approved ? 'approved' : 'denied', { detail: clip(detail) });
        if (pending) await this.conn.run('UPDATE session_threads SET pending_approvals = max(0, pending_approvals - 1) WHERE thread_id = ?', [t]);
        return;
      }
      case 'checkpoint_created': {
        const next = await this.conn.get('SELECT coalesce(max(idx) + 1, 0) AS idx FROM session_checkpoints WHERE thread_id = ?', [t]);
        await this.conn.run('INSERT INTO session_checkpoints (thread_id, idx, turn, seq, at, label) VALUES (?, ?, ?, ?, ?, ?)', [
          t,
          next?.idx as number,
          ev.turn,
          e.seq,
          e.at,
          ev.label.slice(0, 500),
        ]);
        return;
      }
      case 'session_finished':
        await this.conn.run('UPDATE session_threads SET outcome = ? WHERE thread_id = ?', [ev.outcome, t]);
        await this.addMessage(e, 0, 'status', null, null, { text: clip(ev.summary), kind: ev.outcome });
        return;
    }
  }
}

function toThread(row: SqlRow): ThreadSummary {
  return {
    threadId: row.thread_id as ExecutionId,
    title: row.title as string,
    model: row.model as string,
    outcome: row.outcome as string | null,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
    turnCount: row.turn_count as number,
    messageCount: row.message_count as number,
    toolCalls: row.tool_calls as number,
    tokensIn: row.tokens_in as number,
    tokensOut: row.tokens_out as number,
    pendingApprovals: row.pending_approvals as number,
    lastSeq: row.last_seq as number,
  };
}
