/**
 * What an exported execution carries besides its journal rows: the session's
 * event log (the transcript), its durable promises (approvals, with their
 * settlements) and its timers. The audit trail needs nothing here: it is
 * projected from the journal's `ambiguity_resolved` rows on import.
 *
 * Sealed exports keep every sealed blob as it is (it opens only with the same
 * key, and is verified by opening it before anything is written); revealed
 * exports carry the plain values, re-sealed for the importing workspace.
 */
import { fromHex, toHex, utf8 } from '../model/bytes';
import { ImportError, IntegrityError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { JournalCodec } from '../crypto/journalCodec';
import { parseSessionEvent, type SessionEvent } from '../sessions/sessionEvents';
import type { SessionEventStore } from '../sessions/sessionEventStore';
import type { PromiseRecord, JournalStore, TimerRecord } from '../store/journalStore';
import { PROMISE_VALUE_LABEL } from '../execution/waits';

export interface ExportedEvent {
  key: string;
  at: number;
  /** Sealed: hex of the stored body. */
  body?: string;
  /** Revealed: the event. */
  event?: unknown;
}

export interface ExportedPromise {
  id: string;
  stepId: number;
  name: string;
  tokenHash: string;
  status: PromiseRecord['status'];
  createdAt: number;
  resolvedAt: number | null;
  /** Sealed: hex of the sealed settlement; revealed: the settlement; null while pending. */
  value: string | unknown | null;
}

export interface ExportedTimer {
  id: string;
  stepId: number;
  dueAt: number;
  status: TimerRecord['status'];
  firedAt: number | null;
}

export interface ExportedState {
  events: ExportedEvent[];
  promises: ExportedPromise[];
  timers: ExportedTimer[];
}

/** Ready to insert: every blob sealed for this workspace. */
export interface ImportedState {
  readonly events: ReadonlyArray<{ key: string; at: number; event: SessionEvent }>;
  readonly promises: readonly PromiseRecord[];
  readonly timers: readonly TimerRecord[];
}

export async function collectState(
  backend: JournalStore,
  codec: JournalCodec,
  sessions: SessionEventStore,
  id: ExecutionId,
  reveal: boolean,
): Promise<ExportedState> {
  const events: ExportedEvent[] = [];
  for await (const e of sessions.storedEvents(id)) {
    events.push(reveal ? { key: e.key, at: e.at, event: e.event } : { key: e.key, at: e.at, body: toHex(e.body) });
  }
  const promises = (await backend.listPromises({ executionId: id })).map(
    (p): ExportedPromise => ({
      id: p.id, stepId: p.stepId, name: p.name, tokenHash: toHex(p.tokenHash), status: p.status, createdAt: p.createdAt, resolvedAt: p.resolvedAt,
      value: p.value === null ? null : reveal ? JSON.parse(Buffer.from(codec.openDetached(PROMISE_VALUE_LABEL, p.id, p.value)).toString('utf8')) : toHex(p.value),
    }),
  );
  const timers = (await backend.timersOf(id)).map((t): ExportedTimer => ({ id: t.id, stepId: t.stepId, dueAt: t.dueAt, status: t.status, firedAt: t.firedAt }));
  return { events, promises, timers };
}

type Json = Record<string, unknown>;

function fail(where: string, what: string): never {
  throw new ImportError(`${where}: ${what}`);
}
function obj(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, 'expected an object');
  return value as Json;
}
function text(o: Json, key: string, where: string, max = 200): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(where, `"${key}" must be a non-empty string of at most ${max} characters`);
  return v as string;
}
function int(o: Json, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(where, `"${key}" must be a non-negative integer`);
  return v as number;
}
function optInt(o: Json, key: string, where: string): number | null {
  return o[key] === null ? null : int(o, key, where);
}
function bytes(value: unknown, where: string, key: string, length?: number): Uint8Array {
  let out: Uint8Array | undefined;
  try {
    if (typeof value === 'string' && value.length <= 200_000_000) out = fromHex(value);
  } catch {
    out = undefined;
  }
  if (!out || (length !== undefined && out.length !== length)) fail(where, `"${key}" must be hex${length ? ` of ${length} bytes` : ''}`);
  return out;
}
function list(o: Json, key: string, where: string): unknown[] {
  // Files of schema 2 carry no session state: an absent list is an empty one.
  if (o[key] === undefined) return [];
  if (!Array.isArray(o[key])) fail(where, `"${key}" must be a list`);
  return o[key] as unknown[];
}
function oneOf<T extends string>(o: Json, key: string, where: string, allowed: readonly T[]): T {
  const v = o[key];
  if (!allowed.includes(v as T)) fail(where, `"${key}" must be one of ${allowed.join(', ')}`);
  return v as T;
}

/** Validate the session state of one exported execution; sealed blobs must open with this workspace's key. */
export function parseState(o: Json, id: ExecutionId, revealed: boolean, codec: JournalCodec, sessions: SessionEventStore, where: string): ImportedState {
  const keys = new Set<string>();
  const events = list(o, 'events', where).map((raw, i) => {
    const at = `${where} event ${i + 1}`;
    const e = obj(raw, at);
    const key = text(e, 'key', at);
    if (keys.has(key)) fail(at, `event key ${JSON.stringify(key)} appears twice`);
    keys.add(key);
    let event: unknown = e.event;
    if (!revealed) {
      try {
        event = sessions.openEventBody(id, key, bytes(e.body, at, 'body'));
      } catch (error) {
        if (error instanceof IntegrityError) fail(at, 'its seal does not verify with the keys of this workspace (tampered, or exported with another key)');
        throw error;
      }
    }
    try {
      return { key, at: int(e, 'at', at), event: parseSessionEvent(event) };
    } catch (error) {
      if (error instanceof ImportError) throw error;
      return fail(at, (error as Error).message);
    }
  });
  const promises = list(o, 'promises', where).map((raw, i): PromiseRecord => {
    const at = `${where} promise ${i + 1}`;
    const p = obj(raw, at);
    const promiseId = text(p, 'id', at);
    const status = oneOf(p, 'status', at, ['pending', 'resolved', 'rejected'] as const);
    let value: Uint8Array | null = null;
    if (status !== 'pending') {
      if (revealed) {
        if (typeof p.value !== 'object' || p.value === null) fail(at, 'a settled promise needs its value');
        value = codec.sealDetached(PROMISE_VALUE_LABEL, promiseId, utf8(JSON.stringify(p.value)));
      } else {
        value = bytes(p.value, at, 'value');
        try {
          codec.openDetached(PROMISE_VALUE_LABEL, promiseId, value);
        } catch {
          fail(at, 'its value does not verify with the keys of this workspace (tampered, or exported with another key)');
        }
      }
    }
    return {
      id: promiseId, executionId: id, stepId: int(p, 'stepId', at), name: text(p, 'name', at, 1_000), tokenHash: bytes(p.tokenHash, at, 'tokenHash', 32),
      status, createdAt: int(p, 'createdAt', at), resolvedAt: optInt(p, 'resolvedAt', at), value,
    };
  });
  const timers = list(o, 'timers', where).map((raw, i): TimerRecord => {
    const at = `${where} timer ${i + 1}`;
    const t = obj(raw, at);
    return { id: text(t, 'id', at), executionId: id, stepId: int(t, 'stepId', at), dueAt: int(t, 'dueAt', at), status: oneOf(t, 'status', at, ['armed', 'fired', 'cancelled'] as const), firedAt: optInt(t, 'firedAt', at) };
  });
  return { events, promises, timers };
}
