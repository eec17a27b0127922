import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutionId } from '../../../src/durable/model/ids';
import type { JournalRecord } from '../../../src/durable/model/journal';
import { SEGMENT_BYTES, SegmentLimit, segmentedRows, type SegmentReads } from '../../../src/durable/store/segments';

test('a segment limit starts short, grows to the row cap for small rows, and shrinks for large ones', () => {
  const limit = new SegmentLimit(512);
  assert.equal(limit.rows, 2, 'a first read asks for two rows: their size is not known yet');
  limit.observe(2, 2 * 100);
  assert.equal(limit.rows, 512, 'rows of 100 bytes: the row cap');
  limit.observe(512, 512 * 1024);
  assert.equal(limit.rows, SEGMENT_BYTES / 1024, 'rows of 1 KB: the byte budget');
  limit.observe(512, 512 * 48 * 1024);
  assert.equal(limit.rows, 1, 'rows of 48 KB: one at a time');
  limit.observe(1, SEGMENT_BYTES / 4);
  assert.equal(limit.rows, 4);
  limit.observe(0, 0);
  assert.equal(limit.rows, 512, 'an empty read says nothing about size');
  limit.observe(3, 10 * SEGMENT_BYTES);
  assert.equal(limit.rows, 1, 'never fewer than one row');
  assert.equal(new SegmentLimit(1).rows, 1, 'never more than the cap, even at first');
});

/** A journal in memory, answering segment reads as a store does, and counting what each read asked for. */
function fakeStore(bodySizes: readonly number[]) {
  const rows = bodySizes.map((size, i) => ({ seq: i + 1, body: new Uint8Array(size) }) as unknown as JournalRecord);
  const asked: number[] = [];
  const read = async (afterSeq: number, limit: number): Promise<JournalRecord[]> => {
    asked.push(limit);
    return rows.filter((r) => r.seq > afterSeq).slice(0, limit);
  };
  const store: SegmentReads = {
    readSegment: (_id, _attempt, afterSeq, limit) => read(afterSeq, limit),
    readExecutionSegment: (_id, afterSeq, limit) => read(afterSeq, limit),
  };
  return { store, asked };
}

async function seqsOf(store: SegmentReads, options: { attempt?: number; segmentSize?: number }): Promise<number[]> {
  const seqs: number[] = [];
  for await (const row of segmentedRows(store, 'e' as ExecutionId, options)) seqs.push(row.seq);
  return seqs;
}

test('segmented rows hand out every row once, in order, whatever their sizes, and stop at the end', async () => {
  const sizes = [...Array(5).fill(60_000), ...Array(700).fill(100), ...Array(40).fill(0), ...Array(300).fill(300)];
  const { store, asked } = fakeStore(sizes);
  assert.deepEqual(await seqsOf(store, { attempt: 1, segmentSize: 512 }), sizes.map((_, i) => i + 1));
  assert.ok(asked.every((n) => n >= 1 && n <= 512), `every read asked for 1–512 rows (${asked.join(',')})`);
  assert.deepEqual(asked.slice(0, 4), [2, 1, 1, 1], 'the large rows at the start were read one at a time after the first two');

  const empty = fakeStore([]);
  assert.deepEqual(await seqsOf(empty.store, {}), []);
  assert.equal(empty.asked.length, 1, 'an empty journal takes one read');

  // As many rows as a full read asks for: one more read finds nothing, and the rows come once.
  const exact = fakeStore(Array(2 + 512).fill(10));
  assert.deepEqual(await seqsOf(exact.store, { segmentSize: 512 }), Array.from({ length: 514 }, (_, i) => i + 1));
  assert.deepEqual(exact.asked, [2, 512, 512]);
});
