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
import { toHex, utf8 } from '../model/bytes';
import { ImportError, IntegrityError } from '../model/errors';
import { fail, hex, int, list, nonEmpty, obj, oneOf, optInt, type Json } from './importFields';
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

/** Validate the session state of one exported execution; sealed blobs must open with this workspace's key. */
export function parseState(o: Json, id: ExecutionId, revealed: boolean, codec: JournalCodec, sessions: SessionEventStore, where: string): ImportedState {
  const keys = new Set<string>();
  const events = list(o, 'events', where).map((raw, i) => {
    const at = `${where} event ${i + 1}`;
    const e = obj(raw, at);
    const key = nonEmpty(e, 'key', at);
    if (keys.has(key)) fail(at, `event key ${JSON.stringify(key)} appears twice`);
    keys.add(key);
    let event: unknown = e.event;
    if (!revealed) {
      try {
        event = sessions.openEventBody(id, key, hex(e, 'body', at));
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
    const promiseId = nonEmpty(p, 'id', at);
    const status = oneOf(p, 'status', at, ['pending', 'resolved', 'rejected'] as const);
    let value: Uint8Array | null = null;
    if (status !== 'pending') {
      if (revealed) {
        if (typeof p.value !== 'object' || p.value === null) fail(at, 'a settled promise needs its value');
        value = codec.sealDetached(PROMISE_VALUE_LABEL, promiseId, utf8(JSON.stringify(p.value)));
      } else {
        value = hex(p, 'value', at);
        try {
          codec.openDetached(PROMISE_VALUE_LABEL, promiseId, value);
        } catch {
          fail(at, 'its value does not verify with the keys of this workspace (tampered, or exported with another key)');
        }
      }
    }
    return {
      id: promiseId, executionId: id, stepId: int(p, 'stepId', at), name: nonEmpty(p, 'name', at, 1_000), tokenHash: hex(p, 'tokenHash', at, 32),
      status, createdAt: int(p, 'createdAt', at), resolvedAt: optInt(p, 'resolvedAt', at), value,
    };
  });
  const timers = list(o, 'timers', where).map((raw, i): TimerRecord => {
    const at = `${where} timer ${i + 1}`;
    const t = obj(raw, at);
    return { id: nonEmpty(t, 'id', at), executionId: id, stepId: int(t, 'stepId', at), dueAt: int(t, 'dueAt', at), status: oneOf(t, 'status', at, ['armed', 'fired', 'cancelled'] as const), firedAt: optInt(t, 'firedAt', at) };
  });
  return { events, promises, timers };
}
