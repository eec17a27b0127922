/**
 * Turns journal entries into stored rows and back.
 *
 * Every row's header (execution, attempt, step, kind, step name, effect,
 * idempotency key) is framed into the associated data of its sealed payload,
 * or into the MAC input of its control metadata. A row whose header was edited,
 * or whose body was moved from another row, fails to open.
 *
 * Reading is lazy: nothing is opened or verified until a caller asks for that
 * entry's payload or metadata, so replay pays crypto only for what it uses.
 */
import { frame, frameScratch, utf8 } from '../model/bytes';
import type { Keyring } from './cipher';
import type { EffectClass } from '../model/effect';
import { IntegrityError } from '../model/errors';
import { executionIdBytes, type ExecutionId } from '../model/ids';
import { isControlKind, type ControlKind, type ControlMeta, type NewEntry, type StoredRow } from '../model/journal';

const HEADER_DOMAIN = 'durable-agent-sessions v1 journal-entry';
const DETACHED_DOMAIN = 'durable-agent-sessions v1 detached';
const LABELLED_DOMAIN = 'durable-agent-sessions v1 labelled-mac';
const KEY_CHECK_DOMAIN = 'durable-agent-sessions v1 key-check';
const decoder = new TextDecoder('utf-8', { fatal: true });

interface HeaderFields {
  readonly executionId: string;
  readonly attempt: number;
  readonly stepId: number | null;
  readonly kind: string;
  readonly stepName: string | null;
  readonly effect: EffectClass | null;
  readonly idempotencyKey: Uint8Array | null;
}

/**
 * UTF-8 bytes of the few strings headers repeat (domain, kinds, effects, step
 * names, execution ids), so framing an entry does not re-encode them. Bounded:
 * cleared when it grows past a few thousand distinct strings.
 */
const textBytes = new Map<string, Uint8Array>();
const idBytes = new Map<string, Uint8Array>();
const HEADER_CACHE_MAX = 4_096;

function cachedBytes(cache: Map<string, Uint8Array>, text: string, encode: (t: string) => Uint8Array): Uint8Array {
  let bytes = cache.get(text);
  if (bytes === undefined) {
    if (cache.size >= HEADER_CACHE_MAX) cache.clear();
    bytes = encode(text);
    cache.set(text, bytes);
  }
  return bytes;
}

function headerFrame(h: HeaderFields, extra?: Uint8Array): Uint8Array {
  // Absent optional fields frame as empty; a present step id is never empty (4 bytes), so no ambiguity.
  // Consumed on the spot by the cipher or the MAC (see frameScratch).
  return frameScratch([
    cachedBytes(textBytes, HEADER_DOMAIN, utf8),
    cachedBytes(idBytes, h.executionId, (id) => executionIdBytes(id as ExecutionId)),
    h.attempt,
    h.stepId,
    cachedBytes(textBytes, h.kind, utf8),
    h.stepName === null ? null : cachedBytes(textBytes, h.stepName, utf8),
    h.effect === null ? null : cachedBytes(textBytes, h.effect, utf8),
    h.idempotencyKey,
    extra ?? null,
  ]);
}

/** A short, metadata-only description of a row for error messages. */
export function describeRow(h: HeaderFields & { seq?: number }): string {
  const step = h.stepId === null ? '' : ` step ${h.stepId}`;
  const seq = h.seq === undefined ? '' : ` (seq ${h.seq})`;
  return `execution ${h.executionId}${step} ${h.kind}${seq}`;
}

export class JournalCodec {
  constructor(
    private readonly keyring: Keyring,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Seal or MAC a new entry. Throws PayloadTooLargeError before anything is stored. */
  encode(entry: NewEntry): StoredRow {
    const header: HeaderFields = entry;
    // One object literal per row (no spreads): the writer encodes every entry on the caller's turn.
    let body: Uint8Array;
    let mac: Uint8Array | null;
    let size: number;
    if (entry.payload !== undefined) {
      body = this.keyring.seal(entry.payload, headerFrame(header), () => describeRow(header));
      mac = null;
      size = entry.payload.length;
    } else {
      body = utf8(JSON.stringify(entry.meta));
      mac = this.keyring.mac(headerFrame(header, body));
      size = 0;
    }
    const row: StoredRow = {
      executionId: entry.executionId,
      attempt: entry.attempt,
      stepId: entry.stepId,
      kind: entry.kind,
      stepName: entry.stepName,
      effect: entry.effect,
      idempotencyKey: entry.idempotencyKey,
      createdAt: this.clock(),
      body,
      mac,
      size,
      fence: entry.fence,
    };
    return row;
  }

  /** Open a payload row. IntegrityError on any tampering. */
  /** The largest payload `encode` seals (larger ones fail as payload_too_large). */
  get maxPayloadBytes(): number {
    return this.keyring.maxPayload;
  }

  openPayload(row: StoredRow & { seq?: number }): Uint8Array {
    if (row.mac !== null || isControlKind(row.kind)) throw new IntegrityError(describeRow(row));
    return this.keyring.open(row.body, headerFrame(row), () => describeRow(row));
  }

  /** Verify and parse a control row's metadata. */
  readMeta<K extends ControlKind>(row: StoredRow & { seq?: number; kind: K }): ControlMeta[K] {
    const where = (): string => describeRow(row);
    if (!isControlKind(row.kind)) throw new IntegrityError(where());
    this.keyring.verifyMac(row.mac, headerFrame(row, row.body), where);
    try {
      return JSON.parse(decoder.decode(row.body)) as ControlMeta[K];
    } catch {
      // Authenticated but unparsable means we wrote it wrong: still do not trust it.
      throw new IntegrityError(where());
    }
  }

  /**
   * Seal bytes that live outside the journal (a promise's value in its row),
   * bound to a label and an id so they cannot be moved to another row.
   */
  sealDetached(label: string, id: string, payload: Uint8Array): Uint8Array {
    return this.keyring.seal(payload, frame([DETACHED_DOMAIN, label, id]), () => `${label} ${id}`);
  }

  openDetached(label: string, id: string, blob: Uint8Array): Uint8Array {
    return this.keyring.open(blob, frame([DETACHED_DOMAIN, label, id]), () => `${label} ${id}`);
  }

  /** The keyed MAC of a completeness mark (see journalMark.ts) or an exported execution (`label`). */
  labelledMac(label: 'mark' | 'export', fields: Uint8Array): Uint8Array {
    return this.keyring.mac(frame([LABELLED_DOMAIN, label, fields]));
  }

  verifyLabelledMac(label: 'mark' | 'export', mac: Uint8Array | null, fields: Uint8Array, where: () => string, detail: string): void {
    try {
      this.keyring.verifyMac(mac, frame([LABELLED_DOMAIN, label, fields]), where);
    } catch {
      throw new IntegrityError(where(), detail);
    }
  }

  /** The key check value: a MAC of a fixed label, telling at open whether this key sealed the file. */
  keyCheck(): Uint8Array {
    return this.keyring.mac(frame([KEY_CHECK_DOMAIN]));
  }

  /** True when `check` was made by one of the held keys. */
  matchesKeyCheck(check: Uint8Array): boolean {
    try {
      this.keyring.verifyMac(check, frame([KEY_CHECK_DOMAIN]), () => 'key check');
      return true;
    } catch {
      return false;
    }
  }

  get keyId(): string {
    return this.keyring.currentKeyId;
  }

  /** Verify a row of either family without returning its content. */
  verify(row: StoredRow & { seq?: number }): void {
    if (isControlKind(row.kind)) this.readMeta(row as StoredRow & { kind: ControlKind });
    else this.openPayload(row);
  }
}
