/**
 * Keyed BLAKE3 through hash-wasm's WebAssembly build, once it has loaded.
 *
 * The same bytes as @noble/hashes (checked against each other over many
 * lengths and against the golden vectors in tests) at a sixth of the cost for
 * the inputs a control row's MAC covers (about 0.7 µs against 4.8 µs for 180
 * bytes, measured): noble's compression runs in JavaScript, this one in
 * WebAssembly.
 *
 * Loading compiles the module off the caller's turn, so nothing waits for it:
 * until a key's hasher is ready (or if it fails to load), its MACs go through
 * noble. Only keyed hashing comes from here; key derivation (and so the
 * idempotency key) stays with noble, whose derive-key mode hash-wasm lacks.
 */
import type { IHasher } from 'hash-wasm/dist/lib/WASMInterface';

export type WasmMac = IHasher;

type Create = (bits: number, key: Uint8Array) => Promise<IHasher>;

let creating: Promise<Create | undefined> | undefined;

function loadCreate(): Promise<Create | undefined> {
  creating ??= import('hash-wasm/dist/blake3.umd.min.js')
    .then((module) => {
      // CommonJS under the bundler: the exports are the module itself or its default export.
      const exports = ((module as { default?: unknown }).default ?? module) as { createBLAKE3?: unknown };
      return typeof exports.createBLAKE3 === 'function' ? (exports.createBLAKE3 as Create) : undefined;
    })
    .catch(() => undefined);
  return creating;
}

/**
 * A keyed BLAKE3 hasher for `key` (32 bytes), or undefined if WebAssembly is
 * not available. Never rejects. The hasher rereads the key from `key` at each
 * `init()`, so zeroing `key` and calling `init()` once more wipes its copy.
 */
export async function createWasmMac(key: Uint8Array): Promise<WasmMac | undefined> {
  const create = await loadCreate();
  if (!create) return undefined;
  try {
    return await create(256, key);
  } catch {
    return undefined;
  }
}

/** The 32-byte tag of `data` into `out` (one synchronous call; the hasher is not shared mid-use). */
export function wasmTag(hasher: WasmMac, data: Uint8Array, out: Uint8Array): void {
  hasher.init();
  hasher.update(data);
  out.set(hasher.digest('binary'));
}
