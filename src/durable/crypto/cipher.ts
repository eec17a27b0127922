/**
 * Sealing at rest.
 *
 * Payloads: XChaCha20-Poly1305 with a fresh random 24-byte nonce per seal,
 * laid out as `key_id(4) ‖ nonce(24) ‖ ciphertext ‖ tag(16)`. The caller passes
 * associated data that binds the entry's location, so a blob copied to another
 * row fails to open.
 *
 * Control entries: keyed BLAKE3 MAC, laid out as `key_id(4) ‖ tag(32)`.
 *
 * Sub-keys are derived from the master key with BLAKE3 derive_key and our own
 * context strings; the key id is derived too, so rotation needs no counter:
 * a Keyring seals with its current key and opens with any key it holds.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { equalBytes, randomBytes } from '@noble/ciphers/utils.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { toHex, utf8 } from '../model/bytes';
import { IntegrityError, PayloadTooLargeError } from '../model/errors';
import { loadSodium, sodiumOpen, sodiumSeal } from './sodiumAead';
import { createWasmMac, wasmTag, type WasmMac } from './wasmMac';

export const MASTER_KEY_BYTES = 32;
export const KEY_ID_BYTES = 4;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
export const MAC_TAG_BYTES = 32;
/** Bytes a sealed blob adds to its plaintext. */
export const SEAL_OVERHEAD = KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES;
export const MAC_BYTES = KEY_ID_BYTES + MAC_TAG_BYTES;

const SEAL_KEY_CONTEXT = utf8('durable-agent-sessions v1 payload-seal-key');
const MAC_KEY_CONTEXT = utf8('durable-agent-sessions v1 control-mac-key');
const KEY_ID_CONTEXT = utf8('durable-agent-sessions v1 key-id');

/** "expand 32-byte k" as little-endian words: the ChaCha constant HChaCha20 starts from. */
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

// Scratch words for HChaCha20, reused by every seal and open (they run synchronously, one at a
// time) and wiped after each use: allocating four small typed arrays per entry showed in profiles.
const keyWords = new Uint32Array(8);
const nonceWords = new Uint32Array(4);
const subkeyWords = new Uint32Array(8);
const subkeyBytes = new Uint8Array(subkeyWords.buffer);
const keyWordBytes = new Uint8Array(keyWords.buffer);
const nonceWordBytes = new Uint8Array(nonceWords.buffer);
const nonce12 = new Uint8Array(12);

/**
 * Derive the HChaCha20 sub-key into `subkeyBytes` and the IETF nonce into
 * `nonce12`, run `use`, then wipe the scratch. node:crypto copies the key when
 * the cipher is created, so nothing outlives the call.
 */
function withSubkey<R>(key: Uint8Array, nonce: Uint8Array, use: () => R): R {
  keyWordBytes.set(key);
  nonceWordBytes.set(nonce.subarray(0, 16));
  hchacha(SIGMA, keyWords, nonceWords, subkeyWords);
  nonce12.set(nonce.subarray(16, 24), 4);
  try {
    return use();
  } finally {
    keyWords.fill(0);
    subkeyWords.fill(0);
  }
}

/**
 * Seal into a blob `prefix ‖ ciphertext ‖ tag` laid out in one allocation
 * (`prefix` is the key id and nonce the Keyring puts in front).
 */
function sealInto(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, prefix: readonly Uint8Array[], engine: Engine = 'fastest'): Uint8Array {
  const sealed = engine === 'fastest' ? sodiumSeal(key, nonce, aad, plaintext) : undefined;
  if (sealed) {
    let length = sealed.length;
    for (const p of prefix) length += p.length;
    if (length === sealed.length) return sealed;
    const out = new Uint8Array(length);
    let offset = 0;
    for (const p of prefix) {
      out.set(p, offset);
      offset += p.length;
    }
    out.set(sealed, offset);
    return out;
  }
  return withSubkey(key, nonce, () => {
    const cipher = createCipheriv('chacha20-poly1305', subkeyBytes, nonce12, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    const head = cipher.update(plaintext);
    const tail = cipher.final(); // a stream cipher: always empty, kept for correctness
    let offset = 0;
    for (const p of prefix) offset += p.length;
    const out = new Uint8Array(offset + head.length + tail.length + TAG_BYTES);
    offset = 0;
    for (const p of prefix) {
      out.set(p, offset);
      offset += p.length;
    }
    out.set(head, offset);
    offset += head.length;
    if (tail.length > 0) out.set(tail, offset);
    out.set(cipher.getAuthTag(), offset + tail.length);
    return out;
  });
}

/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): HChaCha20 (noble) turns the key
 * and the first 16 nonce bytes into a sub-key; the bulk is the IETF
 * ChaCha20-Poly1305 AEAD of node:crypto with nonce `0000 ‖ nonce[16..24]`.
 * Output is identical to noble's `xchacha20poly1305` (cross-checked in tests)
 * at a fraction of the cost for journal-sized payloads.
 */
export function xchachaSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, engine: Engine = 'fastest'): Uint8Array {
  return sealInto(key, nonce, aad, plaintext, [], engine);
}

/**
 * Which implementation seals and opens: libsodium once loaded (sodiumAead.ts),
 * else node:crypto; tests pin `node` to check that both give the same bytes.
 */
export type Engine = 'fastest' | 'node';

/** Throws on any authentication failure. */
export function xchachaOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, engine: Engine = 'fastest'): Uint8Array {
  if (sealed.length < TAG_BYTES) throw new Error('sealed data shorter than its tag');
  if (engine === 'fastest') {
    const opened = sodiumOpen(key, nonce, aad, sealed);
    if (opened === null) throw new Error('sealed data does not authenticate');
    if (opened) return opened;
  }
  return withSubkey(key, nonce, () => {
    const decipher = createDecipheriv('chacha20-poly1305', subkeyBytes, nonce12, { authTagLength: TAG_BYTES });
    const body = sealed.subarray(0, sealed.length - TAG_BYTES);
    decipher.setAAD(aad, { plaintextLength: body.length });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const head = decipher.update(body);
    const tail = decipher.final();
    if (tail.length === 0) return new Uint8Array(head.buffer, head.byteOffset, head.length);
    const out = new Uint8Array(head.length + tail.length);
    out.set(head, 0);
    out.set(tail, head.length);
    return out;
  });
}

/**
 * Nonces from the OS CSPRNG, fetched a few KiB at a time: one syscall per 680
 * nonces instead of one per seal. Every byte is handed out once, and a fresh
 * buffer is allocated for each refill (handed-out views stay valid).
 */
class NoncePool {
  private pool = new Uint8Array(0);
  private offset = 0;

  take(length: number): Uint8Array {
    if (this.offset + length > this.pool.length) {
      this.pool = new Uint8Array(16384);
      randomFillSync(this.pool);
      this.offset = 0;
    }
    // Nonces are public (stored in the blob): no need to wipe what was handed out.
    const nonce = this.pool.subarray(this.offset, this.offset + length);
    this.offset += length;
    return nonce;
  }
}

/** Where an entry lives, for error messages: a string, or a function that builds it on demand. */
export type Where = string | (() => string);
const place = (where: Where): string => (typeof where === 'string' ? where : where());

interface DerivedKey {
  readonly id: Uint8Array;
  readonly idHex: string;
  readonly sealKey: Uint8Array;
  readonly macKey: Uint8Array;
  /** Keyed BLAKE3 with `macKey`, never updated: each MAC starts from a copy of it (see Keyring.tag). */
  readonly macBase: MacHasher;
  /** The same MAC in WebAssembly, once loaded (wasmMac.ts). */
  wasmMac?: WasmMac;
}

type MacHasher = ReturnType<typeof blake3.create>;

function deriveKey(master: Uint8Array): DerivedKey {
  if (!(master instanceof Uint8Array) || master.length !== MASTER_KEY_BYTES) {
    throw new RangeError(`master key must be ${MASTER_KEY_BYTES} bytes`);
  }
  const id = blake3(master, { context: KEY_ID_CONTEXT, dkLen: KEY_ID_BYTES });
  const macKey = blake3(master, { context: MAC_KEY_CONTEXT });
  return {
    id,
    idHex: toHex(id),
    sealKey: blake3(master, { context: SEAL_KEY_CONTEXT }),
    macKey,
    macBase: blake3.create({ key: macKey }),
  };
}

/** A fresh master key from the platform CSPRNG. */
export function generateMasterKey(): Uint8Array {
  return randomBytes(MASTER_KEY_BYTES);
}

/** The id a master key will carry in sealed blobs (for showing which key is in use). */
export function keyIdOf(master: Uint8Array): string {
  return toHex(blake3(master, { context: KEY_ID_CONTEXT, dkLen: KEY_ID_BYTES }));
}

export interface KeyringOptions {
  readonly current: Uint8Array;
  /** Older master keys, kept to open what they sealed. */
  readonly previous?: readonly Uint8Array[];
  readonly maxPayloadBytes: number;
  /** Nonce source; tests inject a fixed one for known-answer vectors. Never set it in production. */
  readonly nonceSource?: (length: number) => Uint8Array;
}

export class Keyring {
  private readonly current: DerivedKey;
  private readonly byId = new Map<string, DerivedKey>();
  private readonly maxPayloadBytes: number;
  private readonly nonceSource: (length: number) => Uint8Array;
  private disposed = false;
  /** The one hasher every MAC is computed in (synchronously, so never shared mid-use). */
  private readonly macWork: MacHasher;
  private wasmMacs: Promise<boolean> | undefined;

  constructor(options: KeyringOptions) {
    if (!Number.isInteger(options.maxPayloadBytes) || options.maxPayloadBytes < 1) {
      throw new RangeError('maxPayloadBytes must be a positive integer');
    }
    this.maxPayloadBytes = options.maxPayloadBytes;
    if (options.nonceSource) this.nonceSource = options.nonceSource;
    else {
      const pool = new NoncePool();
      this.nonceSource = (n) => pool.take(n);
    }
    // libsodium compiles off this turn (activation does not wait for it); until then node:crypto seals.
    setTimeout(() => void loadSodium(), 0).unref?.();
    this.current = deriveKey(options.current);
    this.macWork = this.current.macBase.clone();
    this.byId.set(this.current.idHex, this.current);
    for (const old of options.previous ?? []) {
      const derived = deriveKey(old);
      if (!this.byId.has(derived.idHex)) this.byId.set(derived.idHex, derived);
    }
    // Like libsodium: the WebAssembly MAC is set up off this turn; until then noble computes it.
    setTimeout(() => void this.useWasmMac(), 0).unref?.();
  }

  /**
   * Compute MACs in WebAssembly from now on (idempotent; the constructor
   * starts it). Resolves true when every held key has its hasher, false when
   * WebAssembly is unavailable (noble goes on, with the same bytes).
   */
  useWasmMac(): Promise<boolean> {
    this.wasmMacs ??= Promise.all(
      [...this.byId.values()].map(async (key) => {
        const hasher = await createWasmMac(key.macKey);
        if (!hasher) return false;
        // Disposed meanwhile: the key is zeroed, and init() copies those zeros over the hasher's key.
        if (this.disposed) hasher.init();
        else key.wasmMac = hasher;
        return !this.disposed;
      }),
    ).then((ready) => ready.every(Boolean));
    return this.wasmMacs;
  }

  get currentKeyId(): string {
    return this.current.idHex;
  }

  get maxPayload(): number {
    return this.maxPayloadBytes;
  }

  /** Seal `plaintext` bound to `aad`. `where` names the entry in errors (built only when one is thrown). */
  seal(plaintext: Uint8Array, aad: Uint8Array, where: Where): Uint8Array {
    this.assertLive();
    if (plaintext.length > this.maxPayloadBytes) throw new PayloadTooLargeError(plaintext.length, this.maxPayloadBytes, place(where));
    const nonce = this.nonceSource(NONCE_BYTES);
    if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonce source returned ${nonce.length} bytes, expected ${NONCE_BYTES}`);
    return sealInto(this.current.sealKey, nonce, aad, plaintext, [this.current.id, nonce]);
  }

  /** Open a sealed blob; any mismatch (location, key, bit flip, truncation) is an IntegrityError. */
  open(blob: Uint8Array, aad: Uint8Array, where: Where): Uint8Array {
    this.assertLive();
    if (blob.length < SEAL_OVERHEAD) throw new IntegrityError(place(where));
    if (blob.length - SEAL_OVERHEAD > this.maxPayloadBytes) {
      throw new PayloadTooLargeError(blob.length - SEAL_OVERHEAD, this.maxPayloadBytes, place(where));
    }
    const key = this.keyFor(blob);
    if (!key) throw new IntegrityError(place(where));
    const nonce = blob.subarray(KEY_ID_BYTES, KEY_ID_BYTES + NONCE_BYTES);
    try {
      return xchachaOpen(key.sealKey, nonce, aad, blob.subarray(KEY_ID_BYTES + NONCE_BYTES));
    } catch {
      throw new IntegrityError(place(where));
    }
  }

  /** MAC `data` with the current key: `key_id ‖ tag`. */
  mac(data: Uint8Array): Uint8Array {
    this.assertLive();
    const out = new Uint8Array(MAC_BYTES);
    out.set(this.current.id, 0);
    this.tag(this.current, data, out.subarray(KEY_ID_BYTES));
    return out;
  }

  /**
   * The same bytes as blake3(data, { key: macKey }): in WebAssembly once its
   * hasher is ready, else without building a keyed hasher per call (a copy of
   * the key's state into one reused hasher).
   */
  private tag(key: DerivedKey, data: Uint8Array, out: Uint8Array): void {
    if (key.wasmMac) return wasmTag(key.wasmMac, data, out);
    key.macBase._cloneInto(this.macWork);
    this.macWork.update(data);
    this.macWork.digestInto(out);
  }

  /** Verify a MAC made by `mac` with any held key, in constant time. */
  verifyMac(macBlob: Uint8Array | null, data: Uint8Array, where: Where): void {
    this.assertLive();
    if (!macBlob || macBlob.length !== MAC_BYTES) throw new IntegrityError(place(where));
    const key = this.keyFor(macBlob);
    if (!key) throw new IntegrityError(place(where));
    const expected = new Uint8Array(MAC_TAG_BYTES);
    this.tag(key, data, expected);
    if (!equalBytes(expected, macBlob.subarray(KEY_ID_BYTES))) throw new IntegrityError(place(where));
  }

  /** Zero every derived key; the keyring is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const key of this.byId.values()) {
      key.sealKey.fill(0);
      key.macKey.fill(0);
      key.macBase.destroy();
      // The hasher rereads its key at init(): the zeros just written replace its copy.
      key.wasmMac?.init();
      key.wasmMac = undefined;
    }
    this.macWork.destroy();
    this.byId.clear();
  }

  /** The held key whose id starts `blob`; the current key is compared first, without hex. */
  private keyFor(blob: Uint8Array): DerivedKey | undefined {
    const id = this.current.id;
    if (blob[0] === id[0] && blob[1] === id[1] && blob[2] === id[2] && blob[3] === id[3]) return this.current;
    return this.byId.get(toHex(blob.subarray(0, KEY_ID_BYTES)));
  }

  private assertLive(): void {
    if (this.disposed) throw new RangeError('keyring was disposed');
  }
}
