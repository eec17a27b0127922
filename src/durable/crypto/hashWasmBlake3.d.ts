// hash-wasm ships one small UMD bundle per algorithm; its types come from the package's lib.
declare module 'hash-wasm/dist/blake3.umd.min.js' {
  export { createBLAKE3 } from 'hash-wasm/dist/lib/blake3';
}
