/**
 * Completeness of an execution's journal: rows that vanished are damage, never
 * a reason to run a step again.
 *
 * Two checks, both before anything replays (resume) or is planned (recovery):
 *
 * 1. Count. The database counts every inserted row in the same statement (an
 *    insert trigger on `executions.row_count`), so a crash cannot leave the
 *    count behind. Fewer rows present than counted is a deleted row or a lost
 *    tail: `IntegrityError` ("journal incomplete").
 * 2. Mark. When a run stops (suspended, finished, interrupted while it still
 *    held the lease), or after folding or an import, the owner writes a keyed
 *    MAC over (execution, row count, last seq, SHA-256 of every row's header
 *    and authentication tag in sequence order). Checking recomputes the digest
 *    over the marked prefix: a row deleted together with a rewound count, a
 *    header edited, a row duplicated or moved, all fail without the key.
 *    Rows after the mark (a run that crashed) are verified one by one (seal or MAC).
 *
 * What no check inside the file can tell: the whole file (or the mark with its
 * rows) rolled back to an older copy of itself. The README's threat model says so.
 */
import { createHash } from 'node:crypto';
import { frame, frameScratch, toHex, utf8 } from '../model/bytes';
import { IntegrityError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { ExecutionRecord } from '../model/journal';
import type { JournalCodec } from '../crypto/journalCodec';
import type { MarkRow, MarkState, JournalStore } from '../store/journalStore';
import { SegmentLimit } from '../store/segments';

const SEGMENT = 2_048;
const MAX_REMEMBERED = 1_000;

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  const high = Math.floor(n / 0x1_0000_0000);
  const low = n >>> 0;
  out[0] = high >>> 24;
  out[1] = (high >>> 16) & 0xff;
  out[2] = (high >>> 8) & 0xff;
  out[3] = high & 0xff;
  out[4] = low >>> 24;
  out[5] = (low >>> 16) & 0xff;
  out[6] = (low >>> 8) & 0xff;
  out[7] = low & 0xff;
  return out;
}

// Kinds, step names and effects repeat on every row: their UTF-8 bytes, bounded.
const textBytes = new Map<string, Uint8Array>();

function bytesOf(text: string): Uint8Array {
  let bytes = textBytes.get(text);
  if (!bytes) {
    if (textBytes.size >= 4_096) textBytes.clear();
    bytes = utf8(text);
    textBytes.set(text, bytes);
  }
  return bytes;
}

function rowFrame(r: MarkRow): Uint8Array {
  // frame([u64 seq, u32 attempt, u32 step or empty, kind, name or empty, effect or empty, key or empty, tag]).
  // Handed straight to the hasher (see frameScratch).
  return frameScratch([
    u64(r.seq),
    r.attempt,
    r.stepId,
    bytesOf(r.kind),
    r.stepName === null ? null : bytesOf(r.stepName),
    r.effect === null ? null : bytesOf(r.effect),
    r.idempotencyKey,
    r.tag,
  ]);
}

function markFields(id: ExecutionId, count: number, lastSeq: number, digest: Uint8Array): Uint8Array {
  return frame([id, u64(count), u64(lastSeq), digest]);
}

/** The header fields of a row a verification pass hands to its visitor. */
export type RowHeader = Pick<MarkRow, 'seq' | 'attempt' | 'stepId' | 'kind' | 'stepName'>;

/**
 * Called with every row a full verification read, in sequence order, each
 * once: a caller that needs the headers (recovery planning) reads the journal
 * once instead of twice.
 */
export type HeaderVisitor = (row: RowHeader) => void;

/** Digest of the rows up to `uptoSeq` (all rows when undefined), with their count and last seq. */
async function digestRows(backend: JournalStore, id: ExecutionId, uptoSeq?: number, visit?: HeaderVisitor): Promise<{ count: number; lastSeq: number; digest: Uint8Array }> {
  const hash = createHash('sha256');
  let count = 0;
  let lastSeq = 0;
  for (;;) {
    const rows = await backend.readMarkRows(id, lastSeq, SEGMENT);
    for (const r of rows) {
      if (uptoSeq !== undefined && r.seq > uptoSeq) return { count, lastSeq, digest: new Uint8Array(hash.digest()) };
      hash.update(rowFrame(r));
      visit?.(r);
      count++;
      lastSeq = r.seq;
    }
    if (rows.length < SEGMENT) return { count, lastSeq, digest: new Uint8Array(hash.digest()) };
  }
}

/** Write the mark over every row the execution has now. Call it only while holding its lease (or before anyone can run it). */
export async function writeJournalMark(backend: JournalStore, codec: JournalCodec, id: ExecutionId): Promise<void> {
  const { count, lastSeq, digest } = await digestRows(backend, id);
  await backend.setMark(id, count, lastSeq, codec.labelledMac('mark', markFields(id, count, lastSeq, digest)));
}

/**
 * Journals the recovery plan verified, by the state they had then (count, last
 * seq, mark). The resume that acts on that plan takes the verification instead
 * of repeating it, once; every plan verifies in full.
 */
export type VerifiedJournals = Map<ExecutionId, string>;

/**
 * Throw IntegrityError when rows of the execution are missing or were altered
 * since its last mark. `remember` records a full verification in `verified`;
 * `take` uses (and forgets) one recorded for the same state. The row count is
 * compared every time.
 */
export async function verifyJournalMark(
  backend: JournalStore,
  codec: JournalCodec,
  execution: ExecutionRecord,
  verified?: { readonly journals: VerifiedJournals; readonly mode: 'remember' | 'take' },
  /** Sees every row when the content is verified; returns whether it was (false: not called for any row). */
  visit?: HeaderVisitor,
): Promise<boolean> {
  const id = execution.id;
  const where = `execution ${id}`;
  const state = await backend.markState(id);
  if (!state) return false;
  const present = await backend.countRows(id);
  if (present.count !== state.rowCount) {
    verified?.journals.delete(id);
    throw new IntegrityError(where, `journal incomplete: ${present.count} of the ${state.rowCount} entries written are present (rows were deleted or lost)`);
  }
  const signature = `${state.rowCount}:${present.lastSeq}:${state.markedSeq}:${state.markedCount}:${state.mark ? toHex(state.mark) : ''}`;
  const journals = verified?.journals;
  if (verified?.mode === 'take') {
    const planned = journals?.get(id);
    journals?.delete(id);
    if (planned === signature) return false;
  }
  await verifyContent(backend, codec, id, state, visit);
  if (journals && verified?.mode === 'remember') {
    journals.delete(id);
    journals.set(id, signature);
    if (journals.size > MAX_REMEMBERED) journals.delete(journals.keys().next().value as ExecutionId);
  }
  return true;
}

async function verifyContent(backend: JournalStore, codec: JournalCodec, id: ExecutionId, state: MarkState, visit?: HeaderVisitor): Promise<void> {
  const where = `execution ${id}`;
  if (state.mark !== null) {
    const { count, lastSeq, digest } = await digestRows(backend, id, state.markedSeq, visit);
    if (count !== state.markedCount) {
      throw new IntegrityError(where, `journal incomplete: ${count} of the ${state.markedCount} entries recorded by its last mark are present`);
    }
    codec.verifyLabelledMac('mark', state.mark, markFields(id, count, lastSeq, digest), () => where, 'journal altered: its entries do not match its last mark');
  }
  // Rows after the mark (a run that stopped without marking) are checked one by one.
  let after = state.mark === null ? 0 : state.markedSeq;
  // Full rows, so sized by bytes too (store/segments.ts): unmarked checkpoints come a few at a time.
  const limit = new SegmentLimit(SEGMENT);
  for (;;) {
    const asked = limit.rows;
    const rows = await backend.readExecutionSegment(id, after, asked);
    limit.observeRows(rows);
    for (const row of rows) {
      codec.verify(row);
      visit?.(row);
    }
    if (rows.length < asked) return;
    after = rows[rows.length - 1].seq;
  }
}
