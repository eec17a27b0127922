// The bytes of a checkpoint entry: the binary layout folding writes, and the
// JSON layout of journals folded by earlier builds, which must still read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpointStepIds, checkpointSteps, decodeCheckpoint, describeCheckpoint, encodeCheckpoint } from '../../../src/durable/journal/checkpointFormat';
import { isDurableError } from '../../../src/durable/model/errors';
import type { FoldedStep } from '../../../src/durable/execution/replayCursor';
import { legacyCheckpoint } from '../../fixtures/legacyCheckpoint';

function steps(count: number): FoldedStep[] {
  return Array.from({ length: count }, (_, i) => ({
    stepId: i * 3,
    // Runs of one name, then another (the decoder reuses a repeated name), and one outside ASCII.
    name: i === 7 ? 'lire le fichier ✓' : i === 9 ? '\uFEFFstarts with a byte order mark' : `step ${Math.floor(i / 4)}`,
    effect: i % 2 ? ('idempotent' as const) : ('at_least_once' as const),
    key: new Uint8Array(32).map((_, j) => (i * 31 + j) & 0xff),
    payload: new TextEncoder().encode(JSON.stringify({ v: 'x'.repeat(i % 50), i })),
  }));
}

function assertSame(decoded: readonly FoldedStep[], expected: readonly FoldedStep[]): void {
  assert.equal(decoded.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.equal(decoded[i].stepId, expected[i].stepId);
    assert.equal(decoded[i].name, expected[i].name);
    assert.equal(decoded[i].effect, expected[i].effect);
    assert.deepEqual(new Uint8Array(decoded[i].key), expected[i].key);
    assert.deepEqual(new Uint8Array(decoded[i].payload), expected[i].payload);
  }
}

const isMalformed = (e: unknown): boolean => isDurableError(e, 'invalid_state') && /malformed step/.test((e as Error).message);

test('a checkpoint decodes to exactly the steps folded into it, in a binary layout smaller than the JSON one', () => {
  const folded = steps(300);
  const bytes = encodeCheckpoint(folded);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x44, 0x43, 0x02], 'the version 2 magic');
  assertSame(decodeCheckpoint(bytes), folded);
  assert.deepEqual(checkpointStepIds(bytes), folded.map((f) => f.stepId));
  assert.ok(bytes.length < legacyCheckpoint(folded).length * 0.8, `binary ${bytes.length} B against JSON ${legacyCheckpoint(folded).length} B`);
  // Keys and payloads are views into the opened bytes: nothing copied per step.
  const [first] = decodeCheckpoint(bytes);
  assert.equal(first.payload.buffer, bytes.buffer);
  assert.deepEqual(decodeCheckpoint(encodeCheckpoint([])), []);
});

test('a checkpoint written by an earlier build (JSON) reads to the same steps; a malformed key there is refused, not truncated', () => {
  const folded = steps(40);
  const legacy = legacyCheckpoint(folded);
  assertSame(decodeCheckpoint(legacy), folded);
  assert.deepEqual(checkpointStepIds(legacy), folded.map((f) => f.stepId));
  const text = new TextDecoder().decode(legacyCheckpoint(folded.slice(0, 2)));
  const broken = text.replace(/"k":"([0-9a-f]{10})/, '"k":"zz$1');
  const short = text.replace(/"k":"[0-9a-f]/, '"k":"');
  for (const bad of [broken, short]) assert.throws(() => decodeCheckpoint(new TextEncoder().encode(bad)), isMalformed);
  assert.throws(() => decodeCheckpoint(new TextEncoder().encode('not json')), (e: unknown) => isDurableError(e, 'invalid_state') && /neither the binary layout nor valid JSON/.test((e as Error).message));
});

test('a truncated, extended or mis-sized binary checkpoint is refused whole, never read in part', () => {
  const bytes = encodeCheckpoint(steps(5));
  // Every cut point past the header: each leaves a step (or the count) short.
  for (let cut = 8; cut < bytes.length; cut++) {
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, cut)), isMalformed, `cut at ${cut}`);
    assert.throws(() => checkpointStepIds(bytes.subarray(0, cut)), isMalformed, `step ids, cut at ${cut}`);
  }
  const extended = new Uint8Array(bytes.length + 1);
  extended.set(bytes);
  assert.throws(() => decodeCheckpoint(extended), isMalformed, 'a byte after the last step');
  const counted = bytes.slice();
  new DataView(counted.buffer).setUint32(4, 6);
  assert.throws(() => decodeCheckpoint(counted), isMalformed, 'a count larger than the steps present');
  const huge = bytes.slice();
  new DataView(huge.buffer).setUint32(8 + 8, 0xffffffff);
  assert.throws(() => decodeCheckpoint(huge), isMalformed, 'a name length past the end');
  const fractional = bytes.slice();
  new DataView(fractional.buffer).setFloat64(8, 1.5);
  assert.throws(() => decodeCheckpoint(fractional), isMalformed, 'a step id that is not a whole number');
  const badUtf8 = encodeCheckpoint([{ ...steps(1)[0], name: 'ab' }]);
  badUtf8[8 + 8 + 4] = 0xff;
  assert.throws(() => decodeCheckpoint(badUtf8), isMalformed, 'a name that is not UTF-8');
  assert.throws(() => encodeCheckpoint([{ ...steps(1)[0], key: new Uint8Array(31) }]), isMalformed, 'a key of the wrong size is never written');
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, 6)), (e: unknown) => isDurableError(e, 'invalid_state'), 'the magic without its count');
  const negative = bytes.slice();
  new DataView(negative.buffer).setFloat64(8, -3);
  assert.throws(() => decodeCheckpoint(negative), isMalformed, 'a negative step id');
  const unsafe = bytes.slice();
  new DataView(unsafe.buffer).setFloat64(8, 2 ** 60);
  assert.throws(() => decodeCheckpoint(unsafe), isMalformed, 'a step id past the safe integers');
  // Replay reads steps one at a time, yet a malformed checkpoint fails when it is opened, before any step of it replays.
  for (const [bad, what] of [[bytes.subarray(0, bytes.length - 1), 'cut'], [extended, 'extended'], [counted, 'over-counted'], [badUtf8, 'not UTF-8'], [unsafe, 'unsafe id']] as const) {
    assert.throws(() => checkpointSteps(bad), isMalformed, `${what}: refused at open`);
  }
});

test('the reader replay uses hands out the folded steps one at a time, the same as the whole decode', () => {
  const folded = steps(120);
  for (const bytes of [encodeCheckpoint(folded), legacyCheckpoint(folded)]) {
    const reader = checkpointSteps(bytes);
    const seen: FoldedStep[] = [];
    for (let step = reader.next(); step; step = reader.next()) seen.push(step);
    assertSame(seen, folded);
    assert.equal(reader.next(), undefined, 'spent');
  }
});

test('revealing a checkpoint shows its steps with their payloads as JSON, not the stored bytes', () => {
  const described = describeCheckpoint(encodeCheckpoint(steps(3)));
  assert.deepEqual(described.steps[2], {
    step: 6,
    name: 'step 0',
    effect: 'at_least_once',
    key: Buffer.from(steps(3)[2].key).toString('hex'),
    payload: { v: 'xx', i: 2 },
  });
  const binary = describeCheckpoint(encodeCheckpoint([{ ...steps(1)[0], payload: new Uint8Array([0xff, 0x00, 0x01]) }]));
  assert.equal(binary.steps[0].payload, '(binary, 3 bytes) ff0001');
});
