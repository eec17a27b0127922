/**
 * Session storage on PostgreSQL (migration 002): `session_events` and the
 * projection tables, each event and its operations in one transaction (or in
 * the caller's, for an import). Reads across threads stay within the project.
 */
import { InvalidStateError } from '../../model/errors';
import type { ExecutionId } from '../../model/ids';
import type {
  CheckpointSummary, MessageCodec, MessageRow, NewSessionEvent, ProjectionOp, RawSessionEvent, SessionStorage, ThreadSummary, TranscriptRole, TurnSummary,
} from '../sessionStore';
import type { PgScope } from './pgExecutions';
import { num, strOrNull, type PgRow } from './pgRows';

const PROJECTION_TABLES = ['session_checkpoints', 'session_messages', 'session_turns', 'session_threads'];
const IN_PROJECT = 'thread_id IN (SELECT id FROM executions WHERE project = $1)';

function toThread(row: PgRow): ThreadSummary {
  return {
    threadId: String(row.thread_id) as ExecutionId,
    title: String(row.title),
    model: String(row.model),
    outcome: strOrNull(row.outcome),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    turnCount: num(row.turn_count),
    messageCount: num(row.message_count),
    toolCalls: num(row.tool_calls),
    tokensIn: num(row.tokens_in),
    tokensOut: num(row.tokens_out),
    costMicros: num(row.cost_micros),
    unpricedCalls: num(row.unpriced_calls),
    rerunCalls: num(row.rerun_calls),
    rerunCostMicros: num(row.rerun_cost_micros),
    pendingApprovals: num(row.pending_approvals),
    lastSeq: num(row.last_seq),
  };
}

function toMessage(row: PgRow): MessageRow {
  return {
    index: num(row.idx),
    turn: num(row.turn),
    role: row.role as TranscriptRole,
    state: strOrNull(row.state),
    ref: strOrNull(row.ref),
    seq: num(row.seq),
    at: num(row.at),
    body: new Uint8Array(row.body as Buffer),
  };
}

function toEvent(row: PgRow): RawSessionEvent {
  return { seq: num(row.seq), threadId: String(row.thread_id) as ExecutionId, key: String(row.event_key), type: String(row.type), at: num(row.at), body: new Uint8Array(row.body as Buffer) };
}

export class PgSessionStorage implements SessionStorage {
  constructor(private readonly s: PgScope) {}

  private q(operation: string, sql: string, params: readonly unknown[] = []): Promise<PgRow[]> {
    return this.s.conn.query(operation, sql, params);
  }

  async appendEvents(threadId: ExecutionId, events: readonly NewSessionEvent[], codec: MessageCodec, options: { inTransaction?: boolean } = {}): Promise<number[]> {
    const write = async (): Promise<number[]> => {
      const added: number[] = [];
      const onConflict = options.inTransaction ? '' : 'ON CONFLICT (thread_id, event_key) DO NOTHING';
      for (const e of events) {
        const [row] = await this.q('append a session event', `INSERT INTO session_events (thread_id, event_key, type, at, body) VALUES ($1, $2, $3, $4, $5) ${onConflict} RETURNING seq`, [
          threadId, e.key, e.type, e.at, e.body,
        ]);
        if (!row) continue;
        const seq = num(row.seq);
        added.push(seq);
        await this.apply(threadId, seq, e.at, e.ops, codec);
      }
      return added;
    };
    return options.inTransaction ? write() : this.s.conn.transaction(`append ${events.length} session events`, write);
  }

  async readEvents(filter: { threadId?: ExecutionId; afterSeq: number; limit: number }): Promise<RawSessionEvent[]> {
    const rows =
      filter.threadId === undefined
        ? await this.q('read session events', `SELECT seq, thread_id, event_key, type, at, body FROM session_events WHERE ${IN_PROJECT} AND seq > $2 ORDER BY seq LIMIT $3`, [
            this.s.project, filter.afterSeq, filter.limit,
          ])
        : await this.q('read session events', 'SELECT seq, thread_id, event_key, type, at, body FROM session_events WHERE thread_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [
            filter.threadId, filter.afterSeq, filter.limit,
          ]);
    return rows.map(toEvent);
  }

  async threadsWithEventsFrom(seq: number): Promise<ExecutionId[]> {
    const rows = await this.q('find threads to replay', `SELECT DISTINCT thread_id FROM session_events WHERE ${IN_PROJECT} AND seq >= $2`, [this.s.project, seq]);
    return rows.map((r) => String(r.thread_id) as ExecutionId);
  }

  async rebuildProjections(
    threadId: ExecutionId | undefined,
    events: ReadonlyArray<{ readonly seq: number; readonly threadId: ExecutionId; readonly at: number; readonly ops: readonly ProjectionOp[] }>,
    codec: MessageCodec,
  ): Promise<void> {
    await this.s.conn.transaction('rebuild session projections', async () => {
      for (const table of PROJECTION_TABLES) {
        if (threadId === undefined) await this.q('clear projections', `DELETE FROM ${table} WHERE ${IN_PROJECT}`, [this.s.project]);
        else await this.q('clear projections', `DELETE FROM ${table} WHERE thread_id = $1`, [threadId]);
      }
      for (const e of events) await this.apply(e.threadId, e.seq, e.at, e.ops, codec);
    });
  }

  async thread(threadId: ExecutionId): Promise<ThreadSummary | undefined> {
    const [row] = await this.q('read session', `SELECT * FROM session_threads WHERE thread_id = $2 AND ${IN_PROJECT}`, [this.s.project, threadId]);
    return row ? toThread(row) : undefined;
  }

  async listThreads(limit: number): Promise<ThreadSummary[]> {
    const rows = await this.q('list sessions', `SELECT * FROM session_threads WHERE ${IN_PROJECT} ORDER BY updated_at DESC LIMIT $2`, [this.s.project, limit]);
    return rows.map(toThread);
  }

  async messages(threadId: ExecutionId, from: number, limit: number): Promise<MessageRow[]> {
    const rows = await this.q('read transcript', 'SELECT * FROM session_messages WHERE thread_id = $1 AND idx >= $2 ORDER BY idx LIMIT $3', [threadId, from, limit]);
    return rows.map(toMessage);
  }

  async messageByRef(threadId: ExecutionId, ref: string): Promise<MessageRow | undefined> {
    const [row] = await this.q('read a transcript row', 'SELECT * FROM session_messages WHERE thread_id = $1 AND ref = $2 ORDER BY idx DESC LIMIT 1', [threadId, ref]);
    return row ? toMessage(row) : undefined;
  }

  async turns(threadId: ExecutionId): Promise<TurnSummary[]> {
    const rows = await this.q('read turns', 'SELECT * FROM session_turns WHERE thread_id = $1 ORDER BY turn', [threadId]);
    return rows.map((r) => ({
      turn: num(r.turn), startedSeq: num(r.started_seq), startedAt: num(r.started_at), tokensIn: num(r.tokens_in), tokensOut: num(r.tokens_out), costMicros: num(r.cost_micros), toolCalls: num(r.tool_calls),
    }));
  }

  async checkpoints(threadId: ExecutionId): Promise<CheckpointSummary[]> {
    const rows = await this.q('read checkpoints', 'SELECT * FROM session_checkpoints WHERE thread_id = $1 ORDER BY idx', [threadId]);
    return rows.map((r) => ({ index: num(r.idx), turn: num(r.turn), seq: num(r.seq), at: num(r.at), label: String(r.label) }));
  }

  /** Apply one event's operations (inside the caller's transaction). */
  private async apply(t: ExecutionId, seq: number, at: number, ops: readonly ProjectionOp[], codec: MessageCodec): Promise<void> {
    if (ops[0]?.op !== 'create_thread') {
      const [exists] = await this.q('check the thread', 'SELECT 1 AS one FROM session_threads WHERE thread_id = $1', [t]);
      if (!exists) throw new InvalidStateError(`session ${t}: an event arrived before the thread was created`);
    }
    for (const op of ops) {
      switch (op.op) {
        case 'create_thread':
          await this.q(
            'create a thread',
            `INSERT INTO session_threads (thread_id, title, model, created_at, updated_at, last_seq) VALUES ($1, $2, $3, $4, $4, $5)
             ON CONFLICT (thread_id) DO UPDATE SET title = excluded.title, model = excluded.model, outcome = NULL, created_at = excluded.created_at,
               updated_at = excluded.updated_at, turn_count = 0, message_count = 0, tool_calls = 0, tokens_in = 0, tokens_out = 0, cost_micros = 0, unpriced_calls = 0, rerun_calls = 0, rerun_cost_micros = 0,
               pending_approvals = 0, last_seq = excluded.last_seq`,
            [t, op.title, op.model, at, seq],
          );
          break;
        case 'start_turn':
          await this.q('start a turn', 'INSERT INTO session_turns (thread_id, turn, started_seq, started_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [t, op.turn, seq, at]);
          await this.q('count turns', 'UPDATE session_threads SET turn_count = greatest(turn_count, $1) WHERE thread_id = $2', [op.turn, t]);
          break;
        case 'add_message': {
          const [next] = await this.q('next transcript index', 'SELECT coalesce(max(idx) + 1, 0) AS idx FROM session_messages WHERE thread_id = $1', [t]);
          const idx = num(next.idx);
          await this.q('add a transcript row', 'INSERT INTO session_messages (thread_id, idx, turn, role, state, ref, seq, at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
            t, idx, op.turn, op.role, op.state, op.ref, seq, at, codec.seal(t, idx, op.body),
          ]);
          await this.q('count messages', 'UPDATE session_threads SET message_count = message_count + 1 WHERE thread_id = $1', [t]);
          break;
        }
        case 'update_message': {
          const [row] = await this.q('find a transcript row', 'SELECT idx, body FROM session_messages WHERE thread_id = $1 AND ref = $2 ORDER BY idx DESC LIMIT 1', [t, op.ref]);
          if (!row) break; // a result without its call (a log edited by hand): nothing to update
          const idx = num(row.idx);
          const body = { ...codec.open(t, idx, new Uint8Array(row.body as Buffer)), ...op.patch };
          await this.q('update a transcript row', 'UPDATE session_messages SET state = $1, seq = $2, body = $3 WHERE thread_id = $4 AND idx = $5', [op.state, seq, codec.seal(t, idx, body), t, idx]);
          break;
        }
        case 'add_usage':
          await this.q(
            'count tokens',
            `UPDATE session_threads SET tokens_in = tokens_in + $1, tokens_out = tokens_out + $2, cost_micros = cost_micros + $3, unpriced_calls = unpriced_calls + $4,
               rerun_calls = rerun_calls + $5, rerun_cost_micros = rerun_cost_micros + $6 WHERE thread_id = $7`,
            [op.input, op.output, op.costMicros, op.priced ? 0 : 1, op.rerun ? 1 : 0, op.rerun ? op.costMicros : 0, t],
          );
          await this.q('count tokens', 'UPDATE session_turns SET tokens_in = tokens_in + $1, tokens_out = tokens_out + $2, cost_micros = cost_micros + $3 WHERE thread_id = $4 AND turn = $5', [
            op.input, op.output, op.costMicros, t, op.turn,
          ]);
          break;
        case 'count_tool_call':
          await this.q('count tool calls', 'UPDATE session_threads SET tool_calls = tool_calls + 1 WHERE thread_id = $1', [t]);
          await this.q('count tool calls', 'UPDATE session_turns SET tool_calls = tool_calls + 1 WHERE thread_id = $1 AND turn = $2', [t, op.turn]);
          break;
        case 'approval_opened':
          await this.q('count approvals', 'UPDATE session_threads SET pending_approvals = pending_approvals + 1 WHERE thread_id = $1', [t]);
          break;
        case 'approval_closed': {
          const [pending] = await this.q('find the approval', "SELECT 1 AS one FROM session_messages WHERE thread_id = $1 AND ref = $2 AND state = 'pending'", [t, op.ref]);
          if (pending) await this.q('count approvals', 'UPDATE session_threads SET pending_approvals = greatest(0, pending_approvals - 1) WHERE thread_id = $1', [t]);
          break;
        }
        case 'add_checkpoint': {
          const [next] = await this.q('next checkpoint index', 'SELECT coalesce(max(idx) + 1, 0) AS idx FROM session_checkpoints WHERE thread_id = $1', [t]);
          await this.q('add a checkpoint', 'INSERT INTO session_checkpoints (thread_id, idx, turn, seq, at, label) VALUES ($1, $2, $3, $4, $5, $6)', [t, num(next.idx), op.turn, seq, at, op.label]);
          break;
        }
        case 'set_outcome':
          await this.q('record the outcome', 'UPDATE session_threads SET outcome = $1 WHERE thread_id = $2', [op.outcome, t]);
          break;
      }
    }
    await this.q('touch the thread', 'UPDATE session_threads SET updated_at = $1, last_seq = $2 WHERE thread_id = $3', [at, seq, t]);
  }
}
