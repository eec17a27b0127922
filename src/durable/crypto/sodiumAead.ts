/**
 * XChaCha20-Poly1305 through libsodium's WebAssembly build, once it has loaded.
 *
 * The same construction node:crypto gives us (cipher.ts), with the same bytes
 * (checked against each other and against golden vectors in tests), at a
 * fifth of the cost for journal-sized payloads: node creates and tears down an
 * OpenSSL context per entry, libsodium is one call into WebAssembly.
 *
 * Loading compiles the module off the caller's turn, so nothing waits for it:
 * until it is ready (or if it fails to load), sealing and opening go through
 * node:crypto. `loadSodium` is idempotent and never rejects.
 */
type Sodium = (typeof import('libsodium-wrappers'))['default'];

let sodium: Sodium | undefined;
let loading: Promise<boolean> | undefined;

/** Start loading libsodium (once); resolves true when it is in use, false if it could not load. */
export function loadSodium(): Promise<boolean> {
  loading ??= import('libsodium-wrappers')
    .then(async (module) => {
      // CommonJS under the bundler: the object is the module itself or its default export.
      const loaded = (module.default ?? (module as unknown)) as Sodium;
      await loaded.ready;
      // A build without the AEAD (or a changed module shape) keeps node:crypto instead of throwing on every seal.
      if (typeof loaded.crypto_aead_xchacha20poly1305_ietf_encrypt !== 'function' || typeof loaded.crypto_aead_xchacha20poly1305_ietf_decrypt !== 'function') return false;
      sodium = loaded;
      return true;
    })
    .catch(() => false);
  return loading;
}

/** Seal with libsodium, or undefined while it is not loaded. Output: ciphertext ‖ tag. */
export function sodiumSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array | undefined {
  return sodium?.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, aad, null, nonce, key);
}

/**
 * Open with libsodium: the plaintext, null when the blob does not authenticate,
 * or undefined while libsodium is not loaded.
 */
export function sodiumOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null | undefined {
  if (!sodium) return undefined;
  try {
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, aad, nonce, key);
  } catch {
    return null;
  }
}

/** Whether sealing and opening currently go through libsodium (for tests and the bench). */
export function sodiumActive(): boolean {
  return sodium !== undefined;
}
