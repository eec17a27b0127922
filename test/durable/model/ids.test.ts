import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frame, frameInto, frameScratch, toHex, u32be, utf8 } from '../../../src/durable/model/bytes';
import {
  deriveIdempotencyKey,
  derivePromiseId,
  deriveTimerId,
  newExecutionId,
  parseExecutionId,
  stepId,
  type ExecutionId,
} from '../../../src/durable/model/ids';
import { bytes } from '../../helpers';

const EXEC = '0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b' as ExecutionId;

test('new execution ids are UUIDv7 and time-ordered', () => {
  const a = newExecutionId();
  const b = newExecutionId();
  assert.equal(parseExecutionId(a), a);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(a < b, 'a later id sorts after an earlier one');
});

test('parseExecutionId rejects text that is not a UUIDv7', () => {
  assert.throws(() => parseExecutionId('not-a-uuid'), /not an execution id/);
  assert.throws(() => parseExecutionId('6ba7b810-9dad-41d1-80b4-00c04fd430c8'), /UUIDv7/); // v4
});

test('step ids are unsigned 32-bit', () => {
  assert.equal(stepId(0), 0);
  assert.equal(stepId(0xffffffff), 0xffffffff);
  assert.throws(() => stepId(-1), RangeError);
  assert.throws(() => stepId(2 ** 32), RangeError);
  assert.throws(() => stepId(1.5), RangeError);
});

// Golden vectors: these pin the key format. If one changes, every journal written
// before the change would diverge on replay: bump the context string version instead.
test('idempotency key golden vectors', () => {
  const cases: Array<[Parameters<typeof deriveIdempotencyKey>[0], string]> = [
    [
      { executionId: EXEC, stepId: stepId(0), stepName: 'readFile', effect: 'idempotent', fingerprint: new Uint8Array(0) },
      'c8819f78b28693fe3c74aea88438f79e1c5e2023a9ca38e18ee86131aefaa796',
    ],
    [
      { executionId: EXEC, stepId: stepId(7), stepName: 'writeFile', effect: 'exactly_once', fingerprint: bytes('src/a.ts') },
      'b43362439d77a850d427e142dd4252bea5a61d16064764c903ca75fc1ef32dfe',
    ],
    [
      { executionId: EXEC, stepId: stepId(0xffffffff), stepName: 'ünïcødé', effect: 'at_least_once', fingerprint: new Uint8Array(32).fill(0xab) },
      'd4dc0d7ea2e2a59e2cd09dc2f8028e1768d652ed8bdfbf2d59591b902e325540',
    ],
  ];
  for (const [input, expected] of cases) assert.equal(toHex(deriveIdempotencyKey(input)), expected);
});

test('promise and timer ids are deterministic, distinct per step and from each other', () => {
  assert.equal(derivePromiseId(EXEC, stepId(3)), derivePromiseId(EXEC, stepId(3)));
  assert.notEqual(derivePromiseId(EXEC, stepId(3)), derivePromiseId(EXEC, stepId(4)));
  assert.notEqual(derivePromiseId(EXEC, stepId(3)), deriveTimerId(EXEC, stepId(3)));
  assert.equal(derivePromiseId(EXEC, stepId(3)), '5f999013d53c00ebce575ffae6abb898');
  assert.equal(deriveTimerId(EXEC, stepId(3)), 'eaf03006f68da66dd06c37997ef7193c');
});

test('boundary shift between step name and fingerprint never yields the same key', () => {
  // Without length delimiting, ("ab", "c") and ("a", "bc") would hash the same bytes.
  const seen = new Set<string>();
  const whole = 'writeFile:src/index.ts';
  for (let cut = 0; cut <= whole.length; cut++) {
    const key = deriveIdempotencyKey({
      executionId: EXEC,
      stepId: stepId(1),
      stepName: whole.slice(0, cut),
      effect: 'exactly_once',
      fingerprint: bytes(whole.slice(cut)),
    });
    seen.add(toHex(key));
  }
  assert.equal(seen.size, whole.length + 1);
});

test('every input field changes the key', () => {
  const base = { executionId: EXEC, stepId: stepId(1), stepName: 'edit', effect: 'exactly_once' as const, fingerprint: bytes('x') };
  const variants = [
    base,
    { ...base, executionId: '0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6c' as ExecutionId },
    { ...base, stepId: stepId(2) },
    { ...base, stepName: 'edit2' },
    { ...base, effect: 'idempotent' as const },
    { ...base, fingerprint: bytes('y') },
  ];
  assert.equal(new Set(variants.map((v) => toHex(deriveIdempotencyKey(v)))).size, variants.length);
});

test('the key is BLAKE3 derive_key over the documented length-delimited layout', async () => {
  const { blake3 } = await import('@noble/hashes/blake3.js');
  // Spelled out byte by byte, independently of `frame`: u32be(len) ‖ field, five times.
  const execBytes = Buffer.from(EXEC.replace(/-/g, ''), 'hex');
  const layout = Buffer.concat([
    Buffer.from([0, 0, 0, 16]), execBytes,
    Buffer.from([0, 0, 0, 4]), Buffer.from([0, 0, 0, 7]),
    Buffer.from([0, 0, 0, 9]), Buffer.from('writeFile'),
    Buffer.from([0, 0, 0, 12]), Buffer.from('exactly_once'),
    Buffer.from([0, 0, 0, 8]), Buffer.from('src/a.ts'),
  ]);
  const expected = blake3(layout, { context: bytes('durable-agent-sessions v1 idempotency-key') });
  const actual = deriveIdempotencyKey({ executionId: EXEC, stepId: stepId(7), stepName: 'writeFile', effect: 'exactly_once', fingerprint: bytes('src/a.ts') });
  assert.equal(toHex(actual), toHex(expected));
});

test('frameInto and frameScratch write exactly what frame writes (numbers as u32be, null as an empty field)', () => {
  const key = new Uint8Array(32).map((_, i) => i * 7);
  const cases: Array<Array<Uint8Array | number | null>> = [
    [],
    [null],
    [0, 0xffff_ffff, 1],
    [utf8('durable-agent-sessions v1 journal-entry'), key, 3, null, utf8('step_result'), utf8('añadir ✓'), null, key, new Uint8Array(0)],
  ];
  for (const fields of cases) {
    const asBytes = fields.map((f) => (f === null ? new Uint8Array(0) : typeof f === 'number' ? u32be(f) : f));
    const reference = frame(asBytes);
    const long = new Uint8Array(3000).fill(5);
    assert.deepEqual(frameInto(fields), reference);
    // The kept buffer: a long frame after a short one, then a short one again, each exact.
    assert.deepEqual(new Uint8Array(frameScratch(fields)), reference);
    assert.deepEqual(new Uint8Array(frameScratch([long, ...fields])), frame([long, ...asBytes]));
    assert.deepEqual(new Uint8Array(frameScratch(fields)), reference);
  }
  // Larger than the kept buffer's bound: its own buffer, still exact.
  const big = new Uint8Array(20_000).fill(9);
  assert.deepEqual(new Uint8Array(frameScratch([big, 1])), frame([big, u32be(1)]));
  for (const bad of [[-1], [2 ** 32]]) {
    assert.throws(() => frameInto(bad), RangeError);
    assert.throws(() => frameScratch(bad), RangeError);
  }
});
