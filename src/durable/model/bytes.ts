/**
 * Byte helpers shared by key derivation and sealing.
 *
 * `frame` is the one injective encoding we hash or authenticate: every field is
 * prefixed with its 4-byte big-endian length, so no two different field lists
 * can produce the same bytes (`["ab","c"]` and `["a","bc"]` differ).
 */

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function u32be(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`expected an unsigned 32-bit integer, got ${value}`);
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

export function readU32be(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, false);
}

/** Length-delimited concatenation of fields (strings are UTF-8). */
export function frame(fields: ReadonlyArray<Uint8Array | string>): Uint8Array {
  const parts = fields.map((f) => (typeof f === 'string' ? utf8(f) : f));
  const total = parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.length, false);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) throw new RangeError('expected an even-length hex string');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Copy into a fresh, exactly-sized Uint8Array (SQLite hands back Buffers over shared pools). */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
