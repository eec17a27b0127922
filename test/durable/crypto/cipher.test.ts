import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from '../../../src/durable/model/bytes';
import { Keyring, SEAL_OVERHEAD, generateMasterKey, keyIdOf } from '../../../src/durable/crypto/cipher';
import { isDurableError } from '../../../src/durable/model/errors';
import { asIdempotencyKey, stepId, type ExecutionId } from '../../../src/durable/model/ids';
import type { NewEntry, StoredRow } from '../../../src/durable/model/journal';
import { JournalCodec } from '../../../src/durable/crypto/journalCodec';
import { OTHER_MASTER_KEY, TEST_MASTER_KEY, bytes, testKeyring, text } from '../../helpers';

const EXEC = '0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b' as ExecutionId;
const KEY_A = asIdempotencyKey(new Uint8Array(32).fill(1));
const KEY_B = asIdempotencyKey(new Uint8Array(32).fill(2));

function result(step: number, payload: string, key = KEY_A): NewEntry {
  return { kind: 'step_result', executionId: EXEC, attempt: 1, stepId: stepId(step), stepName: 'edit', effect: 'exactly_once', idempotencyKey: key, payload: bytes(payload) };
}

function intent(step: number): NewEntry {
  return { kind: 'step_intent', executionId: EXEC, attempt: 1, stepId: stepId(step), stepName: 'edit', effect: 'exactly_once', idempotencyKey: KEY_A, meta: { intent: 'destructive', policy: 'verify' } };
}

const isIntegrity = (e: unknown): boolean => isDurableError(e, 'integrity') && /authentication failed/.test(e.message);

test('known answer: sealing format with a fixed nonce is pinned', () => {
  const keyring = new Keyring({ current: TEST_MASTER_KEY, maxPayloadBytes: 1024, nonceSource: (n) => new Uint8Array(n).fill(0x42) });
  const sealed = keyring.seal(bytes('hello, journal'), bytes('aad'), 'test');
  assert.equal(sealed.length, 14 + SEAL_OVERHEAD);
  assert.equal(toHex(sealed.subarray(0, 4)), keyIdOf(TEST_MASTER_KEY));
  assert.equal(toHex(sealed.subarray(4, 28)), '42'.repeat(24));
  assert.equal(toHex(sealed), 'ca015c6e424242424242424242424242424242424242424242424242a8d1d9485055ca505a673ac623981278da2de51a6249cd4116544a6be4f7');
  assert.equal(toHex(keyring.mac(bytes('control'))), 'ca015c6ede2432fb8abff7d2309a2f695e5300a01fe2f48d8e2032a9fc0e232af2b72c74');
  assert.equal(text(keyring.open(sealed, bytes('aad'), 'test')), 'hello, journal');
});

test('MACs from one reused hasher: the same bytes as a keyed BLAKE3 each time, whichever key verified last', () => {
  const old = new Keyring({ current: OTHER_MASTER_KEY, maxPayloadBytes: 1024 });
  const oldMac = old.mac(bytes('older control'));
  const keyring = new Keyring({ current: TEST_MASTER_KEY, previous: [OTHER_MASTER_KEY], maxPayloadBytes: 1024 });
  const pinned = 'ca015c6ede2432fb8abff7d2309a2f695e5300a01fe2f48d8e2032a9fc0e232af2b72c74';
  for (let i = 0; i < 3; i++) {
    keyring.verifyMac(oldMac, bytes('older control'), 'old row'); // the previous key's state passes through the shared hasher
    assert.equal(toHex(keyring.mac(bytes('control'))), pinned);
    assert.throws(() => keyring.verifyMac(oldMac, bytes('older contro1'), 'tampered row'), (e: unknown) => isDurableError(e, 'integrity'));
  }
  assert.equal(toHex(keyring.mac(bytes('control'))), pinned, 'a failed verification leaves nothing behind');
  old.dispose();
  keyring.dispose();
});

test('fresh nonces: sealing the same plaintext twice gives different blobs', () => {
  const keyring = testKeyring();
  const a = keyring.seal(bytes('same'), bytes('aad'), 't');
  const b = keyring.seal(bytes('same'), bytes('aad'), 't');
  assert.notEqual(toHex(a), toHex(b));
});

test('payload rows round-trip and report plaintext size', () => {
  const codec = new JournalCodec(testKeyring());
  const row = codec.encode(result(3, 'file contents'));
  assert.equal(row.mac, null);
  assert.equal(row.size, 13);
  assert.ok(!Buffer.from(row.body).includes(Buffer.from('file contents')), 'plaintext is not visible at rest');
  assert.equal(text(codec.openPayload(row)), 'file contents');
});

test('control rows carry metadata and a MAC, no payload', () => {
  const codec = new JournalCodec(testKeyring());
  const row = codec.encode(intent(3));
  assert.ok(row.mac && row.mac.length === 36);
  assert.deepEqual(codec.readMeta(row as StoredRow & { kind: 'step_intent' }), { intent: 'destructive', policy: 'verify' });
});

test('a blob moved to another row fails to open', () => {
  const codec = new JournalCodec(testKeyring());
  const a = codec.encode(result(3, 'A'));
  const b = codec.encode(result(4, 'B'));
  assert.throws(() => codec.openPayload({ ...b, body: a.body }), isIntegrity);
  const otherKey = codec.encode(result(3, 'C', KEY_B));
  assert.throws(() => codec.openPayload({ ...otherKey, body: a.body }), isIntegrity);
});

test('any edited header field fails authentication', () => {
  const codec = new JournalCodec(testKeyring());
  const row = codec.encode(result(3, 'A'));
  const edits: Array<Partial<StoredRow>> = [
    { stepId: 4 }, { attempt: 2 }, { stepName: 'other' }, { effect: 'idempotent' }, { idempotencyKey: KEY_B }, { kind: 'step_failed' },
    { executionId: '0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6c' },
  ];
  for (const edit of edits) assert.throws(() => codec.openPayload({ ...row, ...edit }), isIntegrity, JSON.stringify(edit));
});

test('flipped bits and truncation fail closed', () => {
  const codec = new JournalCodec(testKeyring());
  const row = codec.encode(result(3, 'some payload'));
  for (let i = 0; i < row.body.length; i += 7) {
    const flipped = new Uint8Array(row.body);
    flipped[i] ^= 0x01;
    assert.throws(() => codec.openPayload({ ...row, body: flipped }), isIntegrity, `bit flip at ${i}`);
  }
  assert.throws(() => codec.openPayload({ ...row, body: row.body.subarray(0, row.body.length - 1) }), isIntegrity);
  assert.throws(() => codec.openPayload({ ...row, body: row.body.subarray(0, 10) }), isIntegrity);
  assert.throws(() => codec.openPayload({ ...row, body: new Uint8Array(0) }), isIntegrity);
});

test('a wrong key and an unknown key id are integrity errors', () => {
  const row = new JournalCodec(testKeyring()).encode(result(3, 'A'));
  assert.throws(() => new JournalCodec(testKeyring({ current: OTHER_MASTER_KEY })).openPayload(row), isIntegrity);
  // Same key id bytes but garbage after: still an integrity error, not a crash.
  const forged = new Uint8Array(row.body);
  forged.set([9, 9, 9, 9], 0);
  assert.throws(() => new JournalCodec(testKeyring()).openPayload({ ...row, body: forged }), isIntegrity);
});

test('key rotation: the previous key still opens what it sealed, new seals use the new key', () => {
  const oldRow = new JournalCodec(testKeyring()).encode(result(3, 'old'));
  const oldIntent = new JournalCodec(testKeyring()).encode(intent(3));
  const rotated = new JournalCodec(testKeyring({ current: OTHER_MASTER_KEY, previous: [TEST_MASTER_KEY] }));
  assert.equal(text(rotated.openPayload(oldRow)), 'old');
  assert.deepEqual(rotated.readMeta(oldIntent as StoredRow & { kind: 'step_intent' }), { intent: 'destructive', policy: 'verify' });
  const fresh = rotated.encode(result(4, 'new'));
  assert.equal(toHex(fresh.body.subarray(0, 4)), keyIdOf(OTHER_MASTER_KEY));
});

test('a missing, wrong or edited MAC fails closed', () => {
  const codec = new JournalCodec(testKeyring());
  const row = codec.encode(intent(3)) as StoredRow & { kind: 'step_intent' };
  assert.throws(() => codec.readMeta({ ...row, mac: null }), isIntegrity);
  assert.throws(() => codec.readMeta({ ...row, mac: new Uint8Array(36) }), isIntegrity);
  assert.throws(() => codec.readMeta({ ...row, body: bytes('{"intent":"destructive","policy":"rerun"}') }), isIntegrity);
  assert.throws(() => codec.readMeta({ ...row, stepId: 9 }), isIntegrity);
  assert.throws(() => codec.openPayload(row), isIntegrity, 'a control row is never opened as a payload');
});

test('payload size limit is enforced on write and on read', () => {
  const small = new JournalCodec(testKeyring({ maxPayloadBytes: 8 }));
  assert.throws(() => small.encode(result(1, '123456789')), (e: unknown) => isDurableError(e, 'payload_too_large') && /9 bytes exceeds the limit of 8/.test(e.message));
  const big = new JournalCodec(testKeyring()).encode(result(1, '123456789'));
  assert.throws(() => small.openPayload(big), (e: unknown) => isDurableError(e, 'payload_too_large'));
});

test('messages never contain payload bytes', () => {
  const codec = new JournalCodec(testKeyring({ maxPayloadBytes: 4 }));
  try {
    codec.encode(result(1, 'SECRET-TOKEN'));
    assert.fail('should throw');
  } catch (e) {
    assert.ok(!String((e as Error).message).includes('SECRET'));
  }
});

test('a disposed keyring zeroes its keys and refuses work', () => {
  const keyring = testKeyring();
  keyring.dispose();
  keyring.dispose();
  assert.throws(() => keyring.seal(bytes('x'), bytes('a'), 't'), /disposed/);
});

test('master keys are 32 random bytes', () => {
  assert.equal(generateMasterKey().length, 32);
  assert.notEqual(toHex(generateMasterKey()), toHex(generateMasterKey()));
  assert.throws(() => new Keyring({ current: new Uint8Array(16), maxPayloadBytes: 10 }), /32 bytes/);
});

test('the node:crypto and libsodium XChaCha20-Poly1305 paths match noble byte for byte, and both refuse a flipped bit', async () => {
  const { xchacha20poly1305 } = await import('@noble/ciphers/chacha.js');
  const { randomBytes } = await import('node:crypto');
  const { xchachaOpen, xchachaSeal } = await import('../../../src/durable/crypto/cipher');
  const { loadSodium, sodiumActive } = await import('../../../src/durable/crypto/sodiumAead');
  assert.equal(await loadSodium(), true, 'libsodium loads');
  assert.equal(sodiumActive(), true);
  for (const size of [0, 1, 15, 16, 63, 64, 65, 256, 1000, 4096, 70_000]) {
    const key = new Uint8Array(randomBytes(32));
    const nonce = new Uint8Array(randomBytes(24));
    const aad = new Uint8Array(randomBytes(size % 50));
    const plaintext = new Uint8Array(randomBytes(size));
    const reference = xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
    for (const engine of ['node', 'fastest'] as const) {
      assert.equal(toHex(xchachaSeal(key, nonce, aad, plaintext, engine)), toHex(reference), `size ${size}, ${engine}`);
      assert.equal(toHex(xchachaOpen(key, nonce, aad, reference, engine)), toHex(plaintext), `size ${size}, ${engine}`);
      const flipped = new Uint8Array(reference);
      flipped[size % flipped.length] ^= 1;
      assert.throws(() => xchachaOpen(key, nonce, aad, flipped, engine), `size ${size}, ${engine}: a flipped bit`);
      if (aad.length > 0) assert.throws(() => xchachaOpen(key, nonce, aad.subarray(1), reference, engine), `size ${size}, ${engine}: other associated data`);
    }
  }
});

test('a keyring seals and opens through libsodium once it has loaded, with the pinned format', async () => {
  const { loadSodium } = await import('../../../src/durable/crypto/sodiumAead');
  await loadSodium();
  const keyring = new Keyring({ current: TEST_MASTER_KEY, maxPayloadBytes: 1024, nonceSource: (n) => new Uint8Array(n).fill(0x42) });
  const sealed = keyring.seal(bytes('hello, journal'), bytes('aad'), 'test');
  assert.equal(toHex(sealed), 'ca015c6e424242424242424242424242424242424242424242424242a8d1d9485055ca505a673ac623981278da2de51a6249cd4116544a6be4f7', 'the known answer');
  assert.equal(text(keyring.open(sealed, bytes('aad'), 'test')), 'hello, journal');
  const damaged = new Uint8Array(sealed);
  damaged[damaged.length - 1] ^= 0x80;
  assert.throws(() => keyring.open(damaged, bytes('aad'), 'test'), (e: unknown) => isDurableError(e, 'integrity'));
});

test('XChaCha20-Poly1305 published test vector (draft-irtf-cfrg-xchacha A.3.1)', async () => {
  const { xchachaSeal } = await import('../../../src/durable/crypto/cipher');
  const { fromHex } = await import('../../../src/durable/model/bytes');
  const plaintext = bytes(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const aad = fromHex('50515253c0c1c2c3c4c5c6c7');
  const key = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const nonce = fromHex('404142434445464748494a4b4c4d4e4f5051525354555657');
  const sealed = xchachaSeal(key, nonce, aad, plaintext);
  assert.equal(
    toHex(sealed.subarray(0, 16)),
    'bd6d179d3e83d43b9576579493c0e939',
    'first ciphertext block of the published vector',
  );
  assert.equal(toHex(sealed.subarray(sealed.length - 16)), 'c0875924c1c7987947deafd8780acf49', 'published tag');
});

test('the WebAssembly keyed BLAKE3 gives noble’s bytes at every length, and a zeroed key wipes its copy at init', async () => {
  const { blake3 } = await import('@noble/hashes/blake3.js');
  const { randomBytes } = await import('node:crypto');
  const { createWasmMac, wasmTag } = await import('../../../src/durable/crypto/wasmMac');
  const key = new Uint8Array(randomBytes(32));
  const hasher = await createWasmMac(key);
  assert.ok(hasher, 'WebAssembly is available here');
  // Block (64) and chunk (1024) boundaries, and a tree of several chunks.
  for (const size of [0, 1, 63, 64, 65, 180, 1023, 1024, 1025, 2048, 5000, 70_000]) {
    const data = new Uint8Array(randomBytes(size));
    const out = new Uint8Array(32);
    wasmTag(hasher, data, out);
    assert.equal(toHex(out), toHex(blake3(data, { key })), `size ${size}`);
  }
  key.fill(0);
  hasher.init();
  const out = new Uint8Array(32);
  wasmTag(hasher, bytes('control'), out);
  assert.equal(toHex(out), toHex(blake3(bytes('control'), { key: new Uint8Array(32) })), 'after the wipe it holds the zero key, not the old one');
});

test('a keyring MACs in WebAssembly once ready: the pinned bytes, old keys verified, tampering refused, keys wiped on dispose', async () => {
  const old = new Keyring({ current: OTHER_MASTER_KEY, maxPayloadBytes: 1024 });
  const oldMac = old.mac(bytes('older control'));
  const keyring = new Keyring({ current: TEST_MASTER_KEY, previous: [OTHER_MASTER_KEY], maxPayloadBytes: 1024 });
  const before = toHex(keyring.mac(bytes('control')));
  assert.equal(await keyring.useWasmMac(), true);
  assert.equal(await keyring.useWasmMac(), true, 'idempotent');
  assert.equal(toHex(keyring.mac(bytes('control'))), before, 'the same bytes as noble');
  assert.equal(before, 'ca015c6ede2432fb8abff7d2309a2f695e5300a01fe2f48d8e2032a9fc0e232af2b72c74', 'the known answer');
  keyring.verifyMac(oldMac, bytes('older control'), 'old row');
  assert.throws(() => keyring.verifyMac(oldMac, bytes('older contro1'), 'tampered row'), (e: unknown) => isDurableError(e, 'integrity'));
  const codec = new JournalCodec(keyring);
  const row = codec.encode(intent(3));
  assert.deepEqual(codec.readMeta(row as StoredRow & { kind: 'step_intent' }), { intent: 'destructive', policy: 'verify' });
  keyring.dispose();
  assert.throws(() => keyring.mac(bytes('control')), /disposed/);
  // Disposed before its hashers were ready: they are wiped, never attached.
  const early = new Keyring({ current: TEST_MASTER_KEY, maxPayloadBytes: 1024 });
  const ready = early.useWasmMac();
  early.dispose();
  assert.equal(await ready, false);
  old.dispose();
});
