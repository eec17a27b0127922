/**
 * The bytes inside a sealed `checkpoint` entry: the folded steps, each with its
 * id, name, effect, idempotency key and result payload.
 *
 * - Version 2 (what folding writes) is binary: decoding
 *   hands out views into the opened payload, so replaying a folded journal
 *   makes no JSON text, no base64 copies and no objects per step beyond the
 *   step itself, and recovery planning reads the step ids without decoding
 *   anything else. Layout, big-endian: magic `00 44 43 02`, u32 step count,
 *   then per step f64 step id, u32 name length, name (UTF-8), u32 effect
 *   length, effect, 32-byte key, u32 payload length, payload. Nothing may
 *   follow the last step.
 * - Version 1 (JSON, `{"steps":[{s,n,e,k,p}]}` with hex keys and base64
 *   payloads) is still read: journals folded by earlier builds replay as they
 *   did. Its first byte is `{`, which version 2's never is.
 *
 * Both are checked for shape: an authenticated payload we cannot parse is our
 * own bug or a key compromise, so it fails as `invalid_state`, never guessed at.
 */
import { toHex } from '../model/bytes';
import type { EffectClass } from '../model/effect';
import { InvalidStateError } from '../model/errors';
import type { FoldedStep, FoldedSteps } from '../execution/replayCursor';

const MAGIC = [0x00, 0x44, 0x43, 0x02] as const;
/** The magic and the step count, before the first step. */
export const CHECKPOINT_HEADER_BYTES = MAGIC.length + 4;
const KEY_BYTES = 32;
const utf8 = new TextEncoder();
// ignoreBOM: a name that starts with U+FEFF keeps it, as the JSON layout did.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const malformed = (): InvalidStateError => new InvalidStateError('a checkpoint entry has a malformed step');

/** What one step adds to a version 2 checkpoint. */
export function foldedStepBytes(step: FoldedStep): number {
  return 8 + 4 + Buffer.byteLength(step.name) + 4 + Buffer.byteLength(step.effect) + KEY_BYTES + 4 + step.payload.length;
}

export function encodeCheckpoint(steps: readonly FoldedStep[]): Uint8Array {
  const names = steps.map((f) => utf8.encode(f.name));
  const effects = steps.map((f) => utf8.encode(f.effect));
  let total = CHECKPOINT_HEADER_BYTES;
  for (const f of steps) {
    if (!Number.isSafeInteger(f.stepId) || f.stepId < 0 || f.key.length !== KEY_BYTES) throw malformed();
    total += foldedStepBytes(f);
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(MAGIC.length, steps.length);
  let at = MAGIC.length + 4;
  const bytes = (b: Uint8Array): void => {
    view.setUint32(at, b.length);
    out.set(b, at + 4);
    at += 4 + b.length;
  };
  for (let i = 0; i < steps.length; i++) {
    view.setFloat64(at, steps[i].stepId);
    at += 8;
    bytes(names[i]);
    bytes(effects[i]);
    out.set(steps[i].key, at);
    at += KEY_BYTES;
    bytes(steps[i].payload);
  }
  return out;
}

function isBinary(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length + 4 && MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * The steps of a version 2 checkpoint, one at a time, as offsets into `bytes`;
 * every length is checked against what is left, and after the last step that
 * nothing follows it.
 */
class BinaryWalk {
  private readonly view: DataView;
  private readonly count: number;
  private done = 0;
  private at = MAGIC.length + 4;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.count = this.view.getUint32(MAGIC.length);
  }

  /** Hand the next step to `visit`; false after the last (whose end must be the checkpoint's). */
  next(visit: (stepId: number, name: [number, number], effect: [number, number], keyAt: number, payload: [number, number]) => void): boolean {
    if (this.done === this.count) {
      if (this.at !== this.bytes.length) throw malformed();
      return false;
    }
    this.done++;
    if (this.at + 8 > this.bytes.length) throw malformed();
    const stepId = this.view.getFloat64(this.at);
    if (!Number.isSafeInteger(stepId) || stepId < 0) throw malformed();
    this.at += 8;
    const name = this.span();
    const effect = this.span();
    if (this.at + KEY_BYTES > this.bytes.length) throw malformed();
    const keyAt = this.at;
    this.at += KEY_BYTES;
    visit(stepId, name, effect, keyAt, this.span());
    return true;
  }

  private span(): [number, number] {
    if (this.at + 4 > this.bytes.length) throw malformed();
    const length = this.view.getUint32(this.at);
    const start = this.at + 4;
    if (length > this.bytes.length - start) throw malformed();
    this.at = start + length;
    return [start, this.at];
  }
}

function walkBinary(bytes: Uint8Array, visit: (stepId: number, name: [number, number], effect: [number, number], keyAt: number, payload: [number, number]) => void): void {
  const walk = new BinaryWalk(bytes);
  while (walk.next(visit));
}

/** The folded steps; keys and payloads are views into `bytes` (which must be the caller's own, as an opened payload is). */
export function decodeCheckpoint(bytes: Uint8Array): FoldedStep[] {
  const steps: FoldedStep[] = [];
  const reader = checkpointSteps(bytes);
  for (let step = reader.next(); step; step = reader.next()) steps.push(step);
  return steps;
}

/**
 * The folded steps one at a time: the whole layout is checked first (a
 * malformed checkpoint fails before any of its steps replays), then each step
 * is made when it is asked for. Replay asks in order, so a step's objects die
 * young instead of 500 of them outliving a scavenge and filling the old space.
 */
export function checkpointSteps(bytes: Uint8Array): FoldedSteps {
  if (!isBinary(bytes)) {
    const all = decodeJsonCheckpoint(bytes);
    let i = 0;
    return { next: () => all[i++] };
  }
  // Neighbouring folded steps mostly share their name and effect: decode a text only when its bytes change.
  const name = new TextField(bytes);
  const effect = new TextField(bytes);
  walkBinary(bytes, (_stepId, nameAt, effectAt) => {
    name.read(nameAt);
    effect.read(effectAt);
  });
  const walk = new BinaryWalk(bytes);
  let step: FoldedStep | undefined;
  const make = (stepId: number, nameAt: [number, number], effectAt: [number, number], keyAt: number, [start, end]: [number, number]): void => {
    step = { stepId, name: name.read(nameAt), effect: effect.read(effectAt) as EffectClass, key: bytes.subarray(keyAt, keyAt + KEY_BYTES), payload: bytes.subarray(start, end) };
  };
  return {
    next: () => {
      step = undefined;
      walk.next(make);
      return step;
    },
  };
}

/** One text field of consecutive steps: the last decoded text, reused while the bytes repeat. */
class TextField {
  private start = -1;
  private end = -1;
  private text = '';

  constructor(private readonly bytes: Uint8Array) {}

  read([start, end]: [number, number]): string {
    if (!this.same(start, end)) {
      try {
        this.text = strictUtf8.decode(this.bytes.subarray(start, end));
      } catch {
        throw malformed();
      }
      this.start = start;
      this.end = end;
    }
    return this.text;
  }

  private same(start: number, end: number): boolean {
    if (this.start < 0 || end - start !== this.end - this.start) return false;
    for (let i = 0; i < end - start; i++) if (this.bytes[start + i] !== this.bytes[this.start + i]) return false;
    return true;
  }
}

/** Only the step ids a checkpoint folded (what recovery planning needs). */
export function checkpointStepIds(bytes: Uint8Array): number[] {
  if (!isBinary(bytes)) return parseJsonCheckpoint(bytes).map((f) => f.s);
  const ids: number[] = [];
  walkBinary(bytes, (stepId) => ids.push(stepId));
  return ids;
}

/** What a person sees when revealing a checkpoint entry: its steps, payloads as text when they are UTF-8. */
export function describeCheckpoint(bytes: Uint8Array): { steps: Array<{ step: number; name: string; effect: string; key: string; payload: unknown }> } {
  return {
    steps: decodeCheckpoint(bytes).map((f) => {
      let payload: unknown;
      try {
        const raw = strictUtf8.decode(f.payload);
        try {
          payload = JSON.parse(raw);
        } catch {
          payload = raw;
        }
      } catch {
        payload = `(binary, ${f.payload.length} bytes) ${toHex(f.payload.subarray(0, 64))}`;
      }
      return { step: f.stepId, name: f.name, effect: f.effect, key: toHex(f.key), payload };
    }),
  };
}

// Version 1: JSON.

interface JsonStep {
  s: number;
  n: string;
  e: EffectClass;
  k: string;
  p: string;
}

function parseJsonCheckpoint(bytes: Uint8Array): JsonStep[] {
  let parsed: { steps?: unknown };
  try {
    parsed = JSON.parse(strictUtf8.decode(bytes)) as { steps?: unknown };
  } catch {
    throw new InvalidStateError('a checkpoint entry is neither the binary layout nor valid JSON');
  }
  if (!Array.isArray(parsed?.steps)) throw new InvalidStateError('a checkpoint entry has no steps');
  const steps = parsed.steps as JsonStep[];
  for (const f of steps) {
    if (typeof f?.s !== 'number' || typeof f.n !== 'string' || typeof f.k !== 'string' || typeof f.p !== 'string') throw malformed();
  }
  return steps;
}

/** A folded step's idempotency key in version 1: 32 bytes as lowercase hex. */
const KEY_HEX = /^[0-9a-f]{64}$/;

function decodeJsonCheckpoint(bytes: Uint8Array): FoldedStep[] {
  const steps = parseJsonCheckpoint(bytes);
  let total = 0;
  for (const f of steps) total += KEY_BYTES + Buffer.byteLength(f.p, 'base64');
  // One buffer for every key and payload of the checkpoint, not four small ones per step.
  const store = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  const take = (text: string, encoding: 'hex' | 'base64', length: number): Uint8Array => {
    if (store.write(text, offset, encoding) !== length) throw malformed();
    const view = new Uint8Array(store.buffer, store.byteOffset + offset, length);
    offset += length;
    return view;
  };
  return steps.map((f) => {
    if (!KEY_HEX.test(f.k)) throw malformed();
    const key = take(f.k, 'hex', KEY_BYTES);
    const payload = take(f.p, 'base64', Buffer.byteLength(f.p, 'base64'));
    return { stepId: f.s, name: f.n, effect: f.e, key, payload };
  });
}
