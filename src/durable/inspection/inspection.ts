/**
 * Read-only views of the journal for people: an execution's timeline (one row
 * per step, with its intent→result span, retries and a lane for steps that ran
 * in parallel), the details of one entry (its payload opened only on explicit
 * request), and what needs attention across the workspace (ambiguous windows,
 * pending approvals, divergences).
 *
 * Timelines are built from entry headers only (never the sealed bodies), read
 * in keyset segments; a 100,000-entry execution costs one pass over its index.
 */
import { toHex } from '../model/bytes';
import { IntegrityError, isDurableError, NotFoundError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import { isControlKind, isTerminal, type ControlKind, type EntryKind, type ExecutionRecord, type JournalRecord } from '../model/journal';
import type { JournalCodec } from '../crypto/journalCodec';
import type { SqliteBackend, TimerRecord } from '../store/sqlite/sqliteBackend';
import { DAMAGED_DETAIL, UNAVAILABLE_DETAIL } from '../runtime/recovery';

/** One journal entry as the explorer lists it: header fields, no body. */
export interface EntrySummary {
  readonly seq: number;
  readonly attempt: number;
  readonly stepId: number | null;
  readonly kind: EntryKind;
  readonly stepName: string | null;
  readonly effect: string | null;
  /** First 4 bytes of the idempotency key, hex (enough to tell keys apart by eye). */
  readonly keyPrefix: string | null;
  /** Plaintext payload size (0 for control entries). */
  readonly size: number;
  readonly createdAt: number;
}

export type StepStatus = 'done' | 'failed' | 'open' | 'running' | 'skipped' | 'decided' | 'event';

/** One row of the timeline: a step of an attempt, or an execution-level entry. */
export interface TimelineRow {
  readonly index: number;
  readonly attempt: number;
  readonly stepId: number | null;
  readonly name: string;
  readonly effect: string | null;
  status: StepStatus;
  readonly startedAt: number;
  endedAt: number;
  readonly firstSeq: number;
  lastSeq: number;
  /** Kinds of the row's entries, in order (for filtering and the detail view). */
  readonly kinds: EntryKind[];
  /** Indexes into `Timeline.entries`. */
  readonly entryIndexes: number[];
  /** Failed runs and reruns of this step (step_failed entries, extra intents). */
  retries: number;
  /** Parallel lane: steps whose spans overlap get different lanes. */
  lane: number;
  readonly keyPrefix: string | null;
  bytes: number;
}

export interface Timeline {
  readonly execution: ExecutionRecord;
  readonly rows: readonly TimelineRow[];
  readonly entries: readonly EntrySummary[];
  readonly lanes: number;
  readonly startedAt: number;
  readonly endedAt: number;
  /** False for the early view `onFirstSegment` gets: rows keep arriving, lanes are not assigned yet. */
  readonly complete: boolean;
}

const SEGMENT = 5_000;
const MAX_LANES = 8;
/**
 * One segment of entry headers packed into a single string (fields split by
 * ',', rows by U+001E): the binding builds one JS value instead of nine per
 * row, which makes header scans several times faster. The step name comes
 * last, so commas in it survive; a record separator in it becomes a space.
 */
const PACKED_SQL = `
SELECT group_concat(seq || ',' || attempt || ',' || ifnull(step_id, '') || ',' || kind || ',' || ifnull(effect, '') || ',' ||
       ifnull(lower(hex(substr(idem_key, 1, 4))), '') || ',' || size || ',' || created_at || ',' ||
       ifnull(replace(step_name, char(30), ' '), char(31)), char(30)) AS packed
FROM (SELECT * FROM journal WHERE execution_id = ? AND attempt = ? AND seq > ? ORDER BY seq LIMIT ?)`;
const RS = String.fromCharCode(30);
const NO_NAME = String.fromCharCode(31);

function unpack(packed: string | null): EntrySummary[] {
  if (!packed) return [];
  return packed.split(RS).map((line) => {
    let at = 0;
    const next = (): string => {
      const comma = line.indexOf(',', at);
      const field = line.slice(at, comma);
      at = comma + 1;
      return field;
    };
    const seq = Number(next());
    const attempt = Number(next());
    const step = next();
    const kind = next() as EntryKind;
    const effect = next();
    const key = next();
    const size = Number(next());
    const createdAt = Number(next());
    const name = line.slice(at);
    return {
      seq,
      attempt,
      stepId: step === '' ? null : Number(step),
      kind,
      stepName: name === NO_NAME ? null : name,
      effect: effect === '' ? null : effect,
      keyPrefix: key === '' ? null : key,
      size,
      createdAt,
    };
  });
}

/**
 * Entry headers of one attempt of an execution after `afterSeq`, in journal
 * order, at most `limit`.
 */
export async function entrySummaries(backend: SqliteBackend, executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<EntrySummary[]> {
  const conn = backend.connection;
  const row = await conn.exclusive('read entry headers', () => conn.get(PACKED_SQL, [executionId, attempt, afterSeq, limit]));
  return unpack((row?.packed as string | null | undefined) ?? null);
}

function statusAfter(row: TimelineRow, kind: EntryKind): StepStatus {
  switch (kind) {
    case 'step_result':
      return row.status === 'skipped' ? 'skipped' : 'done';
    case 'step_failed':
      return 'failed';
    case 'step_intent':
      return 'open';
    case 'ambiguity_resolved':
      return 'decided';
    default:
      return row.status;
  }
}

/**
 * Build the timeline of one execution. `active` tells whether the execution is
 * running right now (an open intent is then a step in flight, not an
 * interrupted one). Aborts between segments when `signal` fires.
 */
export async function buildTimeline(
  backend: SqliteBackend,
  executionId: ExecutionId,
  options: { active?: boolean; signal?: AbortSignal; onFirstSegment?: (partial: Timeline) => void } = {},
): Promise<Timeline> {
  const execution = await backend.getExecution(executionId);
  if (!execution) throw new NotFoundError(`execution ${executionId} does not exist (it may have been pruned)`);
  const entries: EntrySummary[] = [];
  const rows: TimelineRow[] = [];
  const open = new Map<string, TimelineRow>();
  let attempt = 1;
  let afterSeq = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const segment = await entrySummaries(backend, executionId, attempt, afterSeq, SEGMENT);
    for (const e of segment) {
      const index = entries.push(e) - 1;
      const key = e.stepId === null ? undefined : `${e.attempt}:${e.stepId}`;
      let row = key === undefined ? undefined : open.get(key);
      if (!row) {
        row = {
          index: rows.length,
          attempt: e.attempt,
          stepId: e.stepId,
          name: e.stepName ?? e.kind.replace(/_/g, ' '),
          effect: e.effect,
          status: e.stepId === null ? 'event' : 'open',
          startedAt: e.createdAt,
          endedAt: e.createdAt,
          firstSeq: e.seq,
          lastSeq: e.seq,
          kinds: [],
          entryIndexes: [],
          retries: 0,
          lane: 0,
          keyPrefix: e.keyPrefix,
          bytes: 0,
        };
        rows.push(row);
        if (key !== undefined) open.set(key, row);
      }
      if (e.kind === 'step_failed' || (e.kind === 'step_intent' && row.kinds.includes('step_intent'))) row.retries++;
      if (e.kind === 'ambiguity_resolved' && row.status !== 'done') row.status = 'decided';
      else if (e.stepId !== null) row.status = statusAfter(row, e.kind);
      row.kinds.push(e.kind);
      row.entryIndexes.push(index);
      row.endedAt = Math.max(row.endedAt, e.createdAt);
      row.lastSeq = e.seq;
      row.bytes += e.size;
    }
    if (segment.length === SEGMENT) {
      // A long journal: let a view paint its first screen while the rest is read.
      if (afterSeq === 0 && attempt === 1 && options.onFirstSegment) {
        options.onFirstSegment({ execution, rows, entries, lanes: 1, startedAt: rows[0]?.startedAt ?? execution.createdAt, endedAt: rows[rows.length - 1]?.endedAt ?? execution.createdAt, complete: false });
      }
      afterSeq = segment[segment.length - 1].seq;
      continue;
    }
    // This attempt is read; earlier attempts end before later ones begin, so go on after its last row.
    if (attempt >= execution.attempt) break;
    attempt++;
  }
  // An open intent in the current attempt of a live execution is in flight; elsewhere it was interrupted.
  if (options.active) for (const row of rows) if (row.status === 'open' && row.attempt === execution.attempt) row.status = 'running';
  const lanes = assignLanes(rows);
  const startedAt = rows.length > 0 ? rows[0].startedAt : execution.createdAt;
  const endedAt = rows.reduce((m, r) => Math.max(m, r.endedAt), startedAt);
  return { execution, rows, entries, lanes, startedAt, endedAt, complete: true };
}

/** Greedy interval colouring: a step goes to the first lane free at its start. */
function assignLanes(rows: TimelineRow[]): number {
  const laneEnds: number[] = [];
  for (const row of rows) {
    if (row.stepId === null) continue;
    let lane = laneEnds.findIndex((end) => end <= row.startedAt);
    if (lane === -1) lane = laneEnds.length < MAX_LANES ? laneEnds.length : MAX_LANES - 1;
    laneEnds[lane] = Math.max(laneEnds[lane] ?? 0, row.endedAt + (row.endedAt === row.startedAt ? 0 : 1));
    row.lane = lane;
  }
  return Math.max(1, laneEnds.length);
}

export interface EntryDetail {
  readonly entry: EntrySummary;
  readonly executionId: string;
  /** 'ok' when the seal or MAC verified; otherwise why not (no content). */
  readonly integrity: 'ok' | 'failed';
  readonly integrityMessage?: string;
  /** A control entry's metadata (authenticated, never secret). */
  readonly meta?: unknown;
  /** The opened payload, only when revealed: text, capped. */
  readonly payload?: { readonly text: string; readonly truncated: boolean; readonly bytes: number };
}

export const REVEAL_MAX_CHARS = 64 * 1024;
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** Show bytes as text: pretty JSON when it parses, else UTF-8 (or a hex preview of binary). */
export function payloadText(bytes: Uint8Array, maxChars = REVEAL_MAX_CHARS): { text: string; truncated: boolean } {
  let text: string;
  try {
    const raw = strictDecoder.decode(bytes);
    try {
      text = JSON.stringify(JSON.parse(raw), null, 2);
    } catch {
      text = raw;
    }
  } catch {
    text = `(binary, ${bytes.length} bytes) ${toHex(bytes.subarray(0, 256))}`;
  }
  return text.length > maxChars ? { text: text.slice(0, maxChars), truncated: true } : { text, truncated: false };
}

/**
 * One entry with its integrity checked. The payload is opened (and returned)
 * only when `reveal` is true; a failed check reports it without content.
 */
export async function entryDetail(backend: SqliteBackend, codec: JournalCodec, executionId: ExecutionId, seq: number, reveal: boolean): Promise<EntryDetail> {
  const [row] = await backend.readExecutionSegment(executionId, seq - 1, 1);
  if (!row || row.seq !== seq) throw new NotFoundError(`execution ${executionId} has no journal entry ${seq}`);
  const entry: EntrySummary = {
    seq: row.seq,
    attempt: row.attempt,
    stepId: row.stepId,
    kind: row.kind,
    stepName: row.stepName,
    effect: row.effect,
    keyPrefix: row.idempotencyKey ? toHex(row.idempotencyKey.subarray(0, 4)) : null,
    size: row.size,
    createdAt: row.createdAt,
  };
  try {
    if (isControlKind(row.kind)) {
      return { entry, executionId, integrity: 'ok', meta: codec.readMeta(row as JournalRecord & { kind: ControlKind }) };
    }
    const bytes = codec.openPayload(row);
    return { entry, executionId, integrity: 'ok', ...(reveal ? { payload: { ...payloadText(bytes), bytes: bytes.length } } : {}) };
  } catch (error) {
    if (error instanceof IntegrityError || isDurableError(error, 'payload_too_large')) {
      return { entry, executionId, integrity: 'failed', integrityMessage: (error as Error).message };
    }
    throw error;
  }
}

export type AttentionItem =
  | {
      readonly type: 'ambiguous';
      readonly execution: ExecutionRecord;
      readonly stepId: number;
      readonly stepName: string;
      readonly effect: string | null;
      readonly policy: string;
      readonly intent: string;
      readonly since: number;
    }
  | {
      readonly type: 'approval';
      readonly execution: ExecutionRecord;
      readonly promiseId: string;
      readonly name: string;
      readonly stepId: number;
      readonly since: number;
      /** What is to be approved, in full (an agent session's command), when the caller looked it up. */
      readonly prompt?: string;
    }
  | { readonly type: 'divergence'; readonly execution: ExecutionRecord; readonly attempt: number; readonly detail: string; readonly since: number }
  /** Suspended because its journal is damaged (nothing runs until a person looks) or could not confirm a write (resumable). */
  | { readonly type: 'journal'; readonly execution: ExecutionRecord; readonly damaged: boolean; readonly detail: string; readonly since: number };

const OPEN_WINDOWS_SQL = `
SELECT j.execution_id AS execution_id, j.step_id AS step_id,
       max(CASE WHEN j.kind = 'step_intent' THEN j.seq END) AS intent_seq,
       max(CASE WHEN j.kind IN ('step_result', 'step_failed') THEN j.seq END) AS done_seq,
       max(CASE WHEN j.kind = 'ambiguity_resolved' THEN j.seq END) AS audit_seq
FROM journal j JOIN executions e ON e.id = j.execution_id AND j.attempt = e.attempt
WHERE e.status IN ('running', 'suspended') AND (e.lease_expires_at IS NULL OR e.lease_expires_at <= ?)
  AND j.step_id IS NOT NULL AND j.kind IN ('step_intent', 'step_result', 'step_failed', 'ambiguity_resolved')
GROUP BY j.execution_id, j.step_id
HAVING intent_seq IS NOT NULL AND (done_seq IS NULL OR done_seq < intent_seq) AND (audit_seq IS NULL OR audit_seq < intent_seq)
ORDER BY intent_seq LIMIT ?`;

/**
 * What a person should look at: ambiguous windows of executions nobody runs
 * (live leases and `isActive` are excluded: their open intents are in flight),
 * pending approvals of unfinished executions, and executions restarted after a
 * divergence. Reads the control rows of unfinished executions only.
 */
export async function needsAttention(
  backend: SqliteBackend,
  codec: JournalCodec,
  options: { now: number; isActive?: (id: ExecutionId) => boolean; limit?: number },
): Promise<AttentionItem[]> {
  const limit = options.limit ?? 200;
  const conn = backend.connection;
  const windows = await conn.exclusive('find open ambiguous windows', () => conn.all(OPEN_WINDOWS_SQL, [options.now, limit]));
  const executions = new Map<string, ExecutionRecord | undefined>();
  const execution = async (id: string): Promise<ExecutionRecord | undefined> => {
    if (!executions.has(id)) executions.set(id, await backend.getExecution(id as ExecutionId));
    return executions.get(id);
  };
  const items: AttentionItem[] = [];
  for (const w of windows) {
    const exec = await execution(w.execution_id as string);
    if (!exec || options.isActive?.(exec.id)) continue;
    const [intent] = await backend.readExecutionSegment(exec.id, (w.intent_seq as number) - 1, 1);
    let policy = 'unknown';
    let intentClass = 'unknown';
    try {
      const meta = codec.readMeta(intent as JournalRecord & { kind: 'step_intent' });
      policy = meta.policy;
      intentClass = meta.intent;
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      policy = 'unreadable';
    }
    items.push({ type: 'ambiguous', execution: exec, stepId: w.step_id as number, stepName: intent.stepName ?? '', effect: intent.effect, policy, intent: intentClass, since: intent.createdAt });
  }
  for (const p of await backend.listPromises({ status: 'pending' })) {
    const exec = await execution(p.executionId);
    if (!exec || isTerminal(exec.status)) continue;
    items.push({ type: 'approval', execution: exec, promiseId: p.id, name: p.name, stepId: p.stepId, since: p.createdAt });
  }
  const diverged = await conn.exclusive('find divergences', () =>
    conn.all(`SELECT id FROM executions WHERE attempt > 1 AND status IN ('running', 'suspended', 'failed', 'aborted') ORDER BY updated_at DESC LIMIT 50`),
  );
  for (const d of diverged) {
    const exec = await execution(d.id as string);
    if (!exec) continue;
    items.push({ type: 'divergence', execution: exec, attempt: exec.attempt, detail: exec.statusDetail ?? `restarted as attempt ${exec.attempt}`, since: exec.updatedAt });
  }
  const stopped = await conn.exclusive('find journal stops', () =>
    conn.all(`SELECT id FROM executions WHERE status = 'suspended' AND (status_detail LIKE ? OR status_detail LIKE ?) ORDER BY updated_at DESC LIMIT 50`, [
      `${DAMAGED_DETAIL}%`, `${UNAVAILABLE_DETAIL}%`,
    ]),
  );
  for (const s of stopped) {
    const exec = await execution(s.id as string);
    if (!exec?.statusDetail || options.isActive?.(exec.id)) continue;
    const damaged = exec.statusDetail.startsWith(DAMAGED_DETAIL);
    items.push({ type: 'journal', execution: exec, damaged, detail: exec.statusDetail.slice((damaged ? DAMAGED_DETAIL : UNAVAILABLE_DETAIL).length), since: exec.updatedAt });
  }
  return items.slice(0, limit);
}

export type { TimerRecord } from '../store/sqlite/sqliteBackend';

export function listTimers(backend: SqliteBackend, executionId: ExecutionId): Promise<TimerRecord[]> {
  return backend.timersOf(executionId);
}

/** Count of journal entries of an execution (cheap: one index range). */
export async function countEntries(backend: SqliteBackend, executionId: ExecutionId): Promise<number> {
  const conn = backend.connection;
  const row = await conn.exclusive('count entries', () => conn.get('SELECT count(*) AS n FROM journal WHERE execution_id = ?', [executionId]));
  return (row?.n as number | undefined) ?? 0;
}
