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
  writeU32be(out, 0, value);
  return out;
}

/** Big-endian into `out` at `offset` (plain stores: a DataView per call costs more than the hash it feeds). */
function writeU32be(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 24;
  out[offset + 1] = (value >>> 16) & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = value & 0xff;
}

/** Length-delimited concatenation of fields (strings are UTF-8). */
export function frame(fields: ReadonlyArray<Uint8Array | string>): Uint8Array {
  const parts: Uint8Array[] = new Array<Uint8Array>(fields.length);
  let total = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const part = typeof f === 'string' ? utf8(f) : f;
    parts[i] = part;
    total += 4 + part.length;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    writeU32be(out, offset, part.length);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

type FrameField = Uint8Array | number | null;

function frameLength(fields: ReadonlyArray<FrameField>): number {
  let total = 0;
  for (const f of fields) total += 4 + (f === null ? 0 : typeof f === 'number' ? 4 : f.length);
  return total;
}

/** Write the frame of `fields` at the start of `out` (at least `frameLength(fields)` bytes). */
function writeFrame(out: Uint8Array, fields: ReadonlyArray<FrameField>): void {
  let offset = 0;
  for (const f of fields) {
    if (f === null) {
      writeU32be(out, offset, 0);
      offset += 4;
    } else if (typeof f === 'number') {
      if (!Number.isInteger(f) || f < 0 || f > 0xffff_ffff) throw new RangeError(`expected an unsigned 32-bit integer, got ${f}`);
      writeU32be(out, offset, 4);
      writeU32be(out, offset + 4, f);
      offset += 8;
    } else {
      const length = f.length;
      writeU32be(out, offset, length);
      offset += 4;
      // Short fields (names, counters) copy faster by hand than through a typed-array call.
      if (length <= 16) for (let i = 0; i < length; i++) out[offset + i] = f[i];
      else out.set(f, offset);
      offset += length;
    }
  }
}

/**
 * `frame(fields)` for fields already in bytes, with a 32-bit field given as a
 * number (`u32` is framed as `u32be(u32)`), written straight into one buffer:
 * the journal frames every row's header this way.
 */
export function frameInto(fields: ReadonlyArray<FrameField>): Uint8Array {
  const out = new Uint8Array(frameLength(fields));
  writeFrame(out, fields);
  return out;
}

/**
 * `frameInto(fields)` written into a buffer kept for the next call: the view it
 * returns is valid only until `frameScratch` is called again. For frames that
 * are consumed on the spot (associated data handed to the cipher, input handed
 * to a hasher), it saves an allocation per journal row on the hot paths.
 */
export function frameScratch(fields: ReadonlyArray<FrameField>): Uint8Array {
  const total = frameLength(fields);
  // A rare large frame (a control row's metadata) gets its own buffer instead of growing the kept one.
  if (total > SCRATCH_MAX) return frameInto(fields);
  if (scratch.length < total) scratch = new Uint8Array(Math.max(total, scratch.length * 2));
  writeFrame(scratch, fields);
  return scratch.subarray(0, total);
}

const SCRATCH_MAX = 16 * 1024;
let scratch = new Uint8Array(512);

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) throw new RangeError('expected an even-length hex string');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Copy into a fresh, exactly-sized Uint8Array (node-postgres hands back Buffers over shared pools). */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/**
 * A plain Uint8Array over a Buffer that owns its whole memory, without a copy
 * (SQLite's driver allocates every blob on its own); anything else is copied.
 */
export function ownedView(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  return new Uint8Array(bytes);
}
