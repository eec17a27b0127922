/**
 * Session storage on SQLite (migration 002): `session_events` and the
 * projection tables, each event and its projection operations in one
 * transaction (or in the caller's, for an import).
 */
import { InvalidStateError } from '../../model/errors';
import type { ExecutionId } from '../../model/ids';
import type {
  CheckpointSummary,
  MessageCodec,
  MessageRow,
  NewSessionEvent,
  ProjectionOp,
  RawSessionEvent,
  SessionStorage,
  ThreadSummary,
  TranscriptRole,
  TurnSummary,
} from '../sessionStore';
import type { SqliteConnection, SqlRow } from './sqliteConnection';

const PROJECTION_TABLES = ['session_checkpoints', 'session_messages', 'session_turns', 'session_threads'];

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
    costMicros: row.cost_micros as number,
    unpricedCalls: row.unpriced_calls as number,
    rerunCalls: row.rerun_calls as number,
    rerunCostMicros: row.rerun_cost_micros as number,
    pendingApprovals: row.pending_approvals as number,
    lastSeq: row.last_seq as number,
  };
}

function toMessage(row: SqlRow): MessageRow {
  return {
    index: row.idx as number,
    turn: row.turn as number,
    role: row.role as TranscriptRole,
    state: row.state as string | null,
    ref: row.ref as string | null,
    seq: row.seq as number,
    at: row.at as number,
    body: new Uint8Array(row.body as Buffer),
  };
}

function toEvent(row: SqlRow): RawSessionEvent {
  return {
    seq: row.seq as number,
    threadId: row.thread_id as ExecutionId,
    key: row.event_key as string,
    type: row.type as string,
    at: row.at as number,
    body: new Uint8Array(row.body as Buffer),
  };
}

export class SqliteSessionStorage implements SessionStorage {
  constructor(private readonly conn: SqliteConnection) {}

  async appendEvents(threadId: ExecutionId, events: readonly NewSessionEvent[], codec: MessageCodec, options: { inTransaction?: boolean } = {}): Promise<number[]> {
    const write = async (): Promise<number[]> => {
      const added: number[] = [];
      const verb = options.inTransaction ? 'INSERT' : 'INSERT OR IGNORE';
      for (const e of events) {
        const outcome = await this.conn.run(`${verb} INTO session_events (thread_id, event_key, type, at, body) VALUES (?, ?, ?, ?, ?)`, [threadId, e.key, e.type, e.at, e.body]);
        if (outcome.changes === 0) continue;
        added.push(outcome.lastId);
        await this.apply(threadId, outcome.lastId, e.at, e.ops, codec);
      }
      return added;
    };
    return options.inTransaction ? write() : this.conn.transaction(`append ${events.length} session events`, write);
  }

  async readEvents(filter: { threadId?: ExecutionId; afterSeq: number; limit: number }): Promise<RawSessionEvent[]> {
    const rows = await this.conn.exclusive('read session events', () =>
      filter.threadId === undefined
        ? this.conn.all('SELECT seq, thread_id, event_key, type, at, body FROM session_events WHERE seq > ? ORDER BY seq LIMIT ?', [filter.afterSeq, filter.limit])
        : this.conn.all('SELECT seq, thread_id, event_key, type, at, body FROM session_events WHERE thread_id = ? AND seq > ? ORDER BY seq LIMIT ?', [
            filter.threadId,
            filter.afterSeq,
            filter.limit,
          ]),
    );
    return rows.map(toEvent);
  }

  async threadsWithEventsFrom(seq: number): Promise<ExecutionId[]> {
    const rows = await this.conn.exclusive('find threads to replay', () => this.conn.all('SELECT DISTINCT thread_id FROM session_events WHERE seq >= ?', [seq]));
    return rows.map((r) => r.thread_id as ExecutionId);
  }

  async rebuildProjections(
    threadId: ExecutionId | undefined,
    events: ReadonlyArray<{ readonly seq: number; readonly threadId: ExecutionId; readonly at: number; readonly ops: readonly ProjectionOp[] }>,
    codec: MessageCodec,
  ): Promise<void> {
    await this.conn.transaction('rebuild session projections', async () => {
      for (const table of PROJECTION_TABLES) {
        if (threadId === undefined) await this.conn.run(`DELETE FROM ${table}`);
        else await this.conn.run(`DELETE FROM ${table} WHERE thread_id = ?`, [threadId]);
      }
      for (const e of events) await this.apply(e.threadId, e.seq, e.at, e.ops, codec);
    });
  }

  async thread(threadId: ExecutionId): Promise<ThreadSummary | undefined> {
    const row = await this.conn.exclusive('read session', () => this.conn.get('SELECT * FROM session_threads WHERE thread_id = ?', [threadId]));
    return row ? toThread(row) : undefined;
  }

  async listThreads(limit: number): Promise<ThreadSummary[]> {
    const rows = await this.conn.exclusive('list sessions', () => this.conn.all('SELECT * FROM session_threads ORDER BY updated_at DESC LIMIT ?', [limit]));
    return rows.map(toThread);
  }

  async messages(threadId: ExecutionId, from: number, limit: number): Promise<MessageRow[]> {
    const rows = await this.conn.exclusive('read transcript', () =>
      this.conn.all('SELECT * FROM session_messages WHERE thread_id = ? AND idx >= ? ORDER BY idx LIMIT ?', [threadId, from, limit]),
    );
    return rows.map(toMessage);
  }

  async messageByRef(threadId: ExecutionId, ref: string): Promise<MessageRow | undefined> {
    const row = await this.conn.exclusive('read a transcript row', () =>
      this.conn.get('SELECT * FROM session_messages WHERE thread_id = ? AND ref = ? ORDER BY idx DESC LIMIT 1', [threadId, ref]),
    );
    return row ? toMessage(row) : undefined;
  }

  async turns(threadId: ExecutionId): Promise<TurnSummary[]> {
    const rows = await this.conn.exclusive('read turns', () => this.conn.all('SELECT * FROM session_turns WHERE thread_id = ? ORDER BY turn', [threadId]));
    return rows.map((r) => ({
      turn: r.turn as number,
      startedSeq: r.started_seq as number,
      startedAt: r.started_at as number,
      tokensIn: r.tokens_in as number,
      tokensOut: r.tokens_out as number,
      costMicros: r.cost_micros as number,
      toolCalls: r.tool_calls as number,
    }));
  }

  async checkpoints(threadId: ExecutionId): Promise<CheckpointSummary[]> {
    const rows = await this.conn.exclusive('read checkpoints', () => this.conn.all('SELECT * FROM session_checkpoints WHERE thread_id = ? ORDER BY idx', [threadId]));
    return rows.map((r) => ({ index: r.idx as number, turn: r.turn as number, seq: r.seq as number, at: r.at as number, label: r.label as string }));
  }

  /** Apply one event's operations (inside the caller's transaction). */
  private async apply(t: ExecutionId, seq: number, at: number, ops: readonly ProjectionOp[], codec: MessageCodec): Promise<void> {
    if (ops[0]?.op !== 'create_thread') {
      const exists = await this.conn.get('SELECT 1 AS one FROM session_threads WHERE thread_id = ?', [t]);
      if (!exists) throw new InvalidStateError(`session ${t}: an event arrived before the thread was created`);
    }
    for (const op of ops) {
      switch (op.op) {
        case 'create_thread':
          await this.conn.run('INSERT OR REPLACE INTO session_threads (thread_id, title, model, created_at, updated_at, last_seq) VALUES (?, ?, ?, ?, ?, ?)', [
            t, op.title, op.model, at, at, seq,
          ]);
          break;
        case 'start_turn':
          await this.conn.run('INSERT OR IGNORE INTO session_turns (thread_id, turn, started_seq, started_at) VALUES (?, ?, ?, ?)', [t, op.turn, seq, at]);
          await this.conn.run('UPDATE session_threads SET turn_count = max(turn_count, ?) WHERE thread_id = ?', [op.turn, t]);
          break;
        case 'add_message': {
          const next = await this.conn.get('SELECT coalesce(max(idx) + 1, 0) AS idx FROM session_messages WHERE thread_id = ?', [t]);
          const idx = next?.idx as number;
          await this.conn.run('INSERT INTO session_messages (thread_id, idx, turn, role, state, ref, seq, at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
            t, idx, op.turn, op.role, op.state, op.ref, seq, at, codec.seal(t, idx, op.body),
          ]);
          await this.conn.run('UPDATE session_threads SET message_count = message_count + 1 WHERE thread_id = ?', [t]);
          break;
        }
        case 'update_message': {
          const row = await this.conn.get('SELECT idx, body FROM session_messages WHERE thread_id = ? AND ref = ? ORDER BY idx DESC LIMIT 1', [t, op.ref]);
          if (!row) break; // a result without its call (a log edited by hand): nothing to update
          const idx = row.idx as number;
          const body = { ...codec.open(t, idx, new Uint8Array(row.body as Buffer)), ...op.patch };
          await this.conn.run('UPDATE session_messages SET state = ?, seq = ?, body = ? WHERE thread_id = ? AND idx = ?', [op.state, seq, codec.seal(t, idx, body), t, idx]);
          break;
        }
        case 'add_usage':
          await this.conn.run(
            `UPDATE session_threads SET tokens_in = tokens_in + ?, tokens_out = tokens_out + ?, cost_micros = cost_micros + ?, unpriced_calls = unpriced_calls + ?,
               rerun_calls = rerun_calls + ?, rerun_cost_micros = rerun_cost_micros + ? WHERE thread_id = ?`,
            [op.input, op.output, op.costMicros, op.priced ? 0 : 1, op.rerun ? 1 : 0, op.rerun ? op.costMicros : 0, t],
          );
          await this.conn.run('UPDATE session_turns SET tokens_in = tokens_in + ?, tokens_out = tokens_out + ?, cost_micros = cost_micros + ? WHERE thread_id = ? AND turn = ?', [
            op.input, op.output, op.costMicros, t, op.turn,
          ]);
          break;
        case 'count_tool_call':
          await this.conn.run('UPDATE session_threads SET tool_calls = tool_calls + 1 WHERE thread_id = ?', [t]);
          await this.conn.run('UPDATE session_turns SET tool_calls = tool_calls + 1 WHERE thread_id = ? AND turn = ?', [t, op.turn]);
          break;
        case 'approval_opened':
          await this.conn.run('UPDATE session_threads SET pending_approvals = pending_approvals + 1 WHERE thread_id = ?', [t]);
          break;
        case 'approval_closed': {
          const pending = await this.conn.get("SELECT 1 AS one FROM session_messages WHERE thread_id = ? AND ref = ? AND state = 'pending'", [t, op.ref]);
          if (pending) await this.conn.run('UPDATE session_threads SET pending_approvals = max(0, pending_approvals - 1) WHERE thread_id = ?', [t]);
          break;
        }
        case 'add_checkpoint': {
          const next = await this.conn.get('SELECT coalesce(max(idx) + 1, 0) AS idx FROM session_checkpoints WHERE thread_id = ?', [t]);
          await this.conn.run('INSERT INTO session_checkpoints (thread_id, idx, turn, seq, at, label) VALUES (?, ?, ?, ?, ?, ?)', [t, next?.idx as number, op.turn, seq, at, op.label]);
          break;
        }
        case 'set_outcome':
          await this.conn.run('UPDATE session_threads SET outcome = ? WHERE thread_id = ?', [op.outcome, t]);
          break;
      }
    }
    await this.conn.run('UPDATE session_threads SET updated_at = ?, last_seq = ? WHERE thread_id = ?', [at, seq, t]);
  }
}
