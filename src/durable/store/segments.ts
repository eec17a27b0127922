/**
 * Keyset-segmented reading of one execution's journal, the same for every
 * adapter: memory holds one segment whatever the journal length.
 */
import type { ExecutionId } from '../model/ids';
import type { JournalRecord } from '../model/journal';

export interface SegmentReads {
  readSegment(executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<JournalRecord[]>;
  readExecutionSegment(executionId: ExecutionId, afterSeq: number, limit: number): Promise<JournalRecord[]>;
}

/** Stored body bytes one read should bring back (see `SegmentLimit`). */
export const SEGMENT_BYTES = 64 * 1024;
/** Rows of a first read, before any row's size is known. */
const FIRST_ROWS = 2;

/**
 * How many rows the next read asks for: at most `maxRows`, and about
 * `SEGMENT_BYTES` of bodies judged by the rows of the read before.
 *
 * Why bytes: the buffers of a read live until its last row is used. Checkpoints
 * (tens of KB each) read 512 at a time outlived several young-generation
 * collections, were promoted and waited for a full collection, so a folded
 * replay of a million entries grew RSS by 90–115 MB. A read of one or two of
 * them is used and dropped young. Small rows still come `maxRows` at a time.
 */
export class SegmentLimit {
  private next: number;

  constructor(private readonly maxRows: number) {
    this.next = Math.max(1, Math.min(maxRows, FIRST_ROWS));
  }

  get rows(): number {
    return this.next;
  }

  /** After a read that returned `rows` rows with `bytes` of bodies in all. */
  observe(rows: number, bytes: number): void {
    const perRow = rows > 0 ? bytes / rows : 0;
    this.next = perRow > 0 ? Math.max(1, Math.min(this.maxRows, Math.floor(SEGMENT_BYTES / perRow))) : this.maxRows;
  }

  /** Observe a segment read just now. */
  observeRows(rows: readonly JournalRecord[]): void {
    let bytes = 0;
    for (const row of rows) bytes += row.body.length;
    this.observe(rows.length, bytes);
  }
}

export async function* segmentedRows(
  store: SegmentReads,
  executionId: ExecutionId,
  options: { attempt?: number; segmentSize?: number } = {},
): AsyncGenerator<JournalRecord> {
  const limit = new SegmentLimit(options.segmentSize ?? 512);
  let after = 0;
  for (;;) {
    const size = limit.rows;
    const segment =
      options.attempt === undefined ? await store.readExecutionSegment(executionId, after, size) : await store.readSegment(executionId, options.attempt, after, size);
    limit.observeRows(segment);
    yield* segment;
    if (segment.length < size) return;
    after = segment[segment.length - 1].seq;
  }
}
