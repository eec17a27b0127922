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
import type { EntrySummary, JournalStore, TimerRecord } from '../store/journalStore';
import { DAMAGED_DETAIL, UNAVAILABLE_DETAIL } from '../runtime/recovery';
import { describeCheckpoint } from '../journal/checkpoint';

/** One journal entry as the explorer lists it: header fields, no body. */
export type { EntrySummary };

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
/**
 * Entry headers of one attempt of an execution after `afterSeq`, in journal
 * order, at most `limit`.
 */
export function entrySummaries(backend: JournalStore, executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<EntrySummary[]> {
  return backend.entrySummaries(executionId, attempt, afterSeq, limit);
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
  backend: JournalStore,
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

/** A checkpoint's folded steps as readable JSON (its stored layout is binary). */
function checkpointText(bytes: Uint8Array, maxChars = REVEAL_MAX_CHARS): { text: string; truncated: boolean } {
  const text = JSON.stringify(describeCheckpoint(bytes), null, 2);
  return text.length > maxChars ? { text: text.slice(0, maxChars), truncated: true } : { text, truncated: false };
}

/**
 * One entry with its integrity checked. The payload is opened (and returned)
 * only when `reveal` is true; a failed check reports it without content.
 */
export async function entryDetail(backend: JournalStore, codec: JournalCodec, executionId: ExecutionId, seq: number, reveal: boolean): Promise<EntryDetail> {
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
    if (!reveal) return { entry, executionId, integrity: 'ok' };
    return { entry, executionId, integrity: 'ok', payload: { ...(row.kind === 'checkpoint' ? checkpointText(bytes) : payloadText(bytes)), bytes: bytes.length } };
  } catch (error) {
    // A checkpoint that authenticates but does not parse is reported like damage: shown, not trusted.
    if (error instanceof IntegrityError || isDurableError(error, 'payload_too_large') || (row.kind === 'checkpoint' && isDurableError(error, 'invalid_state'))) {
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


/**
 * What a person should look at: ambiguous windows of executions nobody runs
 * (live leases and `isActive` are excluded: their open intents are in flight),
 * pending approvals of unfinished executions, and executions restarted after a
 * divergence. Reads the control rows of unfinished executions only.
 */
export async function needsAttention(
  backend: JournalStore,
  codec: JournalCodec,
  options: { now: number; isActive?: (id: ExecutionId) => boolean; limit?: number },
): Promise<AttentionItem[]> {
  const limit = options.limit ?? 200;
  const windows = await backend.openWindows(options.now, limit);
  const executions = new Map<string, ExecutionRecord | undefined>();
  const execution = async (id: string): Promise<ExecutionRecord | undefined> => {
    if (!executions.has(id)) executions.set(id, await backend.getExecution(id as ExecutionId));
    return executions.get(id);
  };
  const items: AttentionItem[] = [];
  for (const w of windows) {
    const exec = await execution(w.executionId);
    if (!exec || options.isActive?.(exec.id)) continue;
    const [intent] = await backend.readExecutionSegment(exec.id, w.intentSeq - 1, 1);
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
    items.push({ type: 'ambiguous', execution: exec, stepId: w.stepId, stepName: intent.stepName ?? '', effect: intent.effect, policy, intent: intentClass, since: intent.createdAt });
  }
  for (const p of await backend.listPromises({ status: 'pending' })) {
    const exec = await execution(p.executionId);
    if (!exec || isTerminal(exec.status)) continue;
    items.push({ type: 'approval', execution: exec, promiseId: p.id, name: p.name, stepId: p.stepId, since: p.createdAt });
  }
  for (const id of await backend.restartedExecutions(50)) {
    const exec = await execution(id);
    if (!exec) continue;
    items.push({ type: 'divergence', execution: exec, attempt: exec.attempt, detail: exec.statusDetail ?? `restarted as attempt ${exec.attempt}`, since: exec.updatedAt });
  }
  for (const id of await backend.suspendedWithDetail([DAMAGED_DETAIL, UNAVAILABLE_DETAIL], 50)) {
    const exec = await execution(id);
    if (!exec?.statusDetail || options.isActive?.(exec.id)) continue;
    const damaged = exec.statusDetail.startsWith(DAMAGED_DETAIL);
    items.push({ type: 'journal', execution: exec, damaged, detail: exec.statusDetail.slice((damaged ? DAMAGED_DETAIL : UNAVAILABLE_DETAIL).length), since: exec.updatedAt });
  }
  return items.slice(0, limit);
}

export type { TimerRecord };

export function listTimers(backend: JournalStore, executionId: ExecutionId): Promise<TimerRecord[]> {
  return backend.timersOf(executionId);
}

/** Count of journal entries of an execution (cheap: one index range). */
export async function countEntries(backend: JournalStore, executionId: ExecutionId): Promise<number> {
  return (await backend.countRows(executionId)).count;
}
