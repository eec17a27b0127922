/**
 * Sealing at rest (DESIGN.md section 6).
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
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { equalBytes, randomBytes } from '@noble/ciphers/utils.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { toHex, utf8 } from './bytes';
import { IntegrityError, PayloadTooLargeError } from './errors';

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

interface DerivedKey {
  readonly id: Uint8Array;
  readonly idHex: string;
  readonly sealKey: Uint8Array;
  readonly macKey: Uint8Array;
}

function deriveKey(master: Uint8Array): DerivedKey {
  if (!(master instanceof Uint8Array) || master.length !== MASTER_KEY_BYTES) {
    throw new RangeError(`master key must be ${MASTER_KEY_BYTES} bytes`);
  }
  const id = blake3(master, { context: KEY_ID_CONTEXT, dkLen: KEY_ID_BYTES });
  return {
    id,
    idHex: toHex(id),
    sealKey: blake3(master, { context: SEAL_KEY_CONTEXT }),
    macKey: blake3(master, { context: MAC_KEY_CONTEXT }),
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

  constructor(options: KeyringOptions) {
    if (!Number.isInteger(options.maxPayloadBytes) || options.maxPayloadBytes < 1) {
      throw new RangeError('maxPayloadBytes must be a positive integer');
    }
    this.maxPayloadBytes = options.maxPayloadBytes;
    this.nonceSource = options.nonceSource ?? randomBytes;
    this.current = deriveKey(options.current);
    this.byId.set(this.current.idHex, this.current);
    for (const old of options.previous ?? []) {
      const derived = deriveKey(old);
      if (!this.byId.has(derived.idHex)) this.byId.set(derived.idHex, derived);
    }
  }

  get currentKeyId(): string {
    return this.current.idHex;
  }

  get maxPayload(): number {
    return this.maxPayloadBytes;
  }

  /** Seal `plaintext` bound to `aad`. `where` names the entry in errors. */
  seal(plaintext: Uint8Array, aad: Uint8Array, where: string): Uint8Array {
    this.assertLive();
    if (plaintext.length > this.maxPayloadBytes) throw new PayloadTooLargeError(plaintext.length, this.maxPayloadBytes, where);
    const nonce = this.nonceSource(NONCE_BYTES);
    if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonce source returned ${nonce.length} bytes, expected ${NONCE_BYTES}`);
    const sealed = xchacha20poly1305(this.current.sealKey, nonce, aad).encrypt(plaintext);
    const out = new Uint8Array(KEY_ID_BYTES + NONCE_BYTES + sealed.length);
    out.set(this.current.id, 0);
    out.set(nonce, KEY_ID_BYTES);
    out.set(sealed, KEY_ID_BYTES + NONCE_BYTES);
    return out;
  }

  /** Open a sealed blob; any mismatch (location, key, bit flip, truncation) is an IntegrityError. */
  open(blob: Uint8Array, aad: Uint8Array, where: string): Uint8Array {
    this.assertLive();
    if (blob.length < SEAL_OVERHEAD) throw new IntegrityError(where);
    if (blob.length - SEAL_OVERHEAD > this.maxPayloadBytes) {
      throw new PayloadTooLargeError(blob.length - SEAL_OVERHEAD, this.maxPayloadBytes, where);
    }
    const key = this.byId.get(toHex(blob.subarray(0, KEY_ID_BYTES)));
    if (!key) throw new IntegrityError(where);
    const nonce = blob.subarray(KEY_ID_BYTES, KEY_ID_BYTES + NONCE_BYTES);
    try {
      return xchacha20poly1305(key.sealKey, nonce, aad).decrypt(blob.subarray(KEY_ID_BYTES + NONCE_BYTES));
    } catch {
      throw new IntegrityError(where);
    }
  }

  /** MAC `data` with the current key: `key_id ‖ tag`. */
  mac(data: Uint8Array): Uint8Array {
    this.assertLive();
    const out = new Uint8Array(MAC_BYTES);
    out.set(this.current.id, 0);
    out.set(blake3(data, { key: this.current.macKey }), KEY_ID_BYTES);
    return out;
  }

  /** Verify a MAC made by `mac` with any held key, in constant time. */
  verifyMac(macBlob: Uint8Array | null, data: Uint8Array, where: string): void {
    this.assertLive();
    if (!macBlob || macBlob.length !== MAC_BYTES) throw new IntegrityError(where);
    const key = this.byId.get(toHex(macBlob.subarray(0, KEY_ID_BYTES)));
    if (!key) throw new IntegrityError(where);
    const expected = blake3(data, { key: key.macKey });
    if (!equalBytes(expected, macBlob.subarray(KEY_ID_BYTES))) throw new IntegrityError(where);
  }

  /** Zero every derived key; the keyring is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const key of this.byId.values()) {
      key.sealKey.fill(0);
      key.macKey.fill(0);
    }
    this.byId.clear();
  }

  private assertLive(): void {
    if (this.disposed) throw new RangeError('keyring was disposed');
  }
}
