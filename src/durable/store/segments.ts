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

export async function* segmentedRows(
  store: SegmentReads,
  executionId: ExecutionId,
  options: { attempt?: number; segmentSize?: number } = {},
): AsyncGenerator<JournalRecord> {
  const size = options.segmentSize ?? 512;
  let after = 0;
  for (;;) {
    const segment =
      options.attempt === undefined ? await store.readExecutionSegment(executionId, after, size) : await store.readSegment(executionId, options.attempt, after, size);
    yield* segment;
    if (segment.length < size) return;
    after = segment[segment.length - 1].seq;
  }
}
