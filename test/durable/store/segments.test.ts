import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SEGMENT_BYTES, SegmentLimit } from '../../../src/durable/store/segments';

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
