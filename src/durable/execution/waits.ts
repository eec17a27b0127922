/**
 * Durable waits of a workflow: timers (`ctx.sleep`) and promises
 * (`ctx.promise`, `ctx.awaitPromise`), as steps of the execution.
 *
 * Timers: the first run journals `timer_armed` (with its due time) and arms a
 * row in `timers`; when due, `timer_fired` is journaled. A replay reads the
 * recorded due time (never recomputes it), and a fired timer returns at once.
 *
 * Promises, and why the token is kept the way it is:
 * - the resolver token (32 random bytes) is what proves the right to settle a
 *   promise; only its BLAKE3 hash is stored in the `promises` row, and the
 *   check compares hashes in constant time before anything else is revealed;
 * - the token itself is journaled sealed, as the creation step's result, so the
 *   extension's own UI can still resolve the promise after a window reload
 *   (it reads it through `DurableRuntime.promiseToken`, never through a tool);
 * - the workflow gets the token only when the promise is first created: a
 *   replay returns the handle without it, so nothing downstream (a model's
 *   context, a log line) can obtain it later by replaying;
 * - a settled value is sealed in its row, bound to the promise id, and copied
 *   into the journal as the awaiting step's result, so replay needs the row no more.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { randomBytes } from 'node:crypto';
import { InvalidStateError, NotFoundError, TimeoutError, fromErrorData, parseErrorData, toErrorData } from '../model/errors';
import { deriveIdempotencyKey, derivePromiseId, deriveTimerId, stepId as toStepId, type ExecutionId, type IdempotencyKey } from '../model/ids';
import type { EntryHeader, JournalRecord, NewEntry } from '../model/journal';
import type { JournalCodec } from '../crypto/journalCodec';
import type { StepRecord } from './replayCursor';
import type { PromiseRecord } from '../store/journalStore';
import { SuspendExecution, type PromiseHandle } from './stepTypes';
import { decodeValue, encodeValue } from './stepValue';
import { abortableDelay } from '../model/abortable';
import { utf8 } from '../model/bytes';

/** Waits shorter than this sleep in process instead of suspending the execution. */
export const IN_PROCESS_SLEEP_MAX_MS = 5_000;
export const PROMISE_VALUE_LABEL = 'promise-value';

export interface WaitStore {
  armTimer(timer: { id: string; executionId: ExecutionId; stepId: number; dueAt: number }): Promise<void>;
  fireTimer(id: string): Promise<void>;
  createPromise(p: { id: string; executionId: ExecutionId; stepId: number; name: string; tokenHash: Uint8Array }): Promise<void>;
  getPromise(id: string): Promise<PromiseRecord | undefined>;
  listPromises(filter: { executionId?: ExecutionId; status?: PromiseRecord['status'] }): Promise<PromiseRecord[]>;
}

/** What the wait steps need from the step context that runs them. */
export interface WaitHost {
  readonly executionId: ExecutionId;
  readonly attempt: number;
  readonly codec: JournalCodec;
  readonly store: WaitStore;
  readonly clock: () => number;
  readonly signal: AbortSignal;
  readonly maxParkedPromises: number;
  /** The step's recorded entries (divergence-checked against `key`), or undefined when live. */
  recorded(stepId: number, header: EntryHeader, key: IdempotencyKey): Promise<StepRecord | undefined>;
  appendDurably(entry: NewEntry): Promise<void>;
}

/** What the resolver of a promise sends: a value, or an error that rejects it. */
export type PromiseSettlement = { readonly status: 'resolved'; readonly value: unknown } | { readonly status: 'rejected'; readonly reason: string };

export function tokenHash(token: Uint8Array): Uint8Array {
  return blake3(token);
}

function header(host: WaitHost, id: number, name: string, fingerprint: string): { header: EntryHeader; key: IdempotencyKey } {
  const step = toStepId(id);
  const key = deriveIdempotencyKey({ executionId: host.executionId, stepId: step, stepName: name, effect: 'idempotent', fingerprint: utf8(fingerprint) });
  return { key, header: { executionId: host.executionId, attempt: host.attempt, stepId: step, stepName: name, effect: 'idempotent', idempotencyKey: key } };
}

/** Arm (or find) the timer of this step; returns its due time. */
async function armOnce(host: WaitHost, id: number, h: EntryHeader, record: StepRecord | undefined, dueAt: number, timerId: string): Promise<number> {
  const armed = record?.others.find((r) => r.kind === 'timer_armed');
  if (armed) return host.codec.readMeta(armed as JournalRecord & { kind: 'timer_armed' }).dueAt;
  await host.appendDurably({ ...h, kind: 'timer_armed', meta: { timerId, dueAt } });
  await host.store.armTimer({ id: timerId, executionId: host.executionId, stepId: id, dueAt });
  return dueAt;
}

export async function sleepStep(host: WaitHost, id: number, requestedDueAt: number): Promise<void> {
  const { header: h, key } = header(host, id, 'ctx.sleep', '');
  const timerId = deriveTimerId(host.executionId, toStepId(id));
  const record = await host.recorded(id, h, key);
  if (record?.others.some((r) => r.kind === 'timer_fired')) return;
  const dueAt = await armOnce(host, id, h, record, requestedDueAt, timerId);
  const remaining = dueAt - host.clock();
  if (remaining > IN_PROCESS_SLEEP_MAX_MS) {
    throw new SuspendExecution(id, `sleeping until ${new Date(dueAt).toISOString()}`, { kind: 'timer', dueAt });
  }
  if (remaining > 0) await abortableDelay(remaining, host.signal);
  await host.appendDurably({ ...h, kind: 'timer_fired', meta: { timerId, firedAt: host.clock() } });
  await host.store.fireTimer(timerId);
}

export async function promiseStep(host: WaitHost, id: number, name: string): Promise<PromiseHandle> {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new InvalidStateError('a promise needs a name of 1–200 characters');
  const { header: h, key } = header(host, id, 'ctx.promise', name);
  const promiseId = derivePromiseId(host.executionId, toStepId(id));
  const record = await host.recorded(id, h, key);
  if (record?.result) {
    // Replay: make sure the row exists (a crash may have come between journal and row), return no token.
    const recorded = decodeValue(host.codec.openPayload(record.result), `promise ${promiseId}`) as { token: string };
    await host.store.createPromise({ id: promiseId, executionId: host.executionId, stepId: id, name, tokenHash: tokenHash(Buffer.from(recorded.token, 'base64')) });
    return { id: promiseId, name };
  }
  const pending = await host.store.listPromises({ status: 'pending' });
  if (pending.length >= host.maxParkedPromises) {
    throw new InvalidStateError(`too many pending promises (${pending.length}); settle or cancel some before creating more`);
  }
  const token = new Uint8Array(randomBytes(32));
  await host.appendDurably({ ...h, kind: 'promise_created', meta: { promiseId, name } });
  await host.appendDurably({ ...h, kind: 'step_result', payload: encodeValue({ promiseId, token: Buffer.from(token).toString('base64') }, `promise ${promiseId}`) });
  await host.store.createPromise({ id: promiseId, executionId: host.executionId, stepId: id, name, tokenHash: tokenHash(token) });
  return { id: promiseId, name, token };
}

export async function awaitPromiseStep<T>(host: WaitHost, id: number, handle: PromiseHandle, timeoutMs: number | undefined): Promise<T> {
  const { header: h, key } = header(host, id, 'ctx.awaitPromise', handle.id);
  const record = await host.recorded(id, h, key);
  if (record?.result) return settle<T>(decodeValue(host.codec.openPayload(record.result), `promise ${handle.id}`) as RecordedSettlement, handle);
  let deadline: number | undefined;
  if (timeoutMs !== undefined) deadline = await armOnce(host, id, h, record, host.clock() + timeoutMs, deriveTimerId(host.executionId, toStepId(id)));
  const row = await host.store.getPromise(handle.id);
  if (!row) throw new NotFoundError(`promise ${handle.id} (${handle.name}) does not exist`);
  let outcome: RecordedSettlement | undefined;
  if (row.status !== 'pending' && row.value) {
    const settled = JSON.parse(Buffer.from(host.codec.openDetached(PROMISE_VALUE_LABEL, row.id, row.value)).toString('utf8')) as PromiseSettlement;
    outcome = settled.status === 'resolved' ? { status: 'resolved', value: settled.value } : { status: 'rejected', error: toErrorData(new Error(settled.reason)) };
  } else if (deadline !== undefined && host.clock() >= deadline) {
    outcome = { status: 'timeout', error: toErrorData(new TimeoutError(`promise "${handle.name}" was not settled within ${timeoutMs} ms`)) };
  }
  if (!outcome) {
    throw new SuspendExecution(id, `waiting for "${handle.name}"`, { kind: 'promise', promiseId: handle.id, deadline });
  }
  await host.appendDurably({ ...h, kind: 'step_result', payload: encodeValue(outcome, `promise ${handle.id}`) });
  return settle<T>(outcome, handle);
}

type RecordedSettlement = { status: 'resolved'; value: unknown } | { status: 'rejected' | 'timeout'; error: unknown };

function settle<T>(outcome: RecordedSettlement, handle: PromiseHandle): T {
  if (outcome.status === 'resolved') return outcome.value as T;
  const error = fromErrorData(parseErrorData(outcome.error));
  if (outcome.status === 'timeout') throw new TimeoutError(error.message);
  throw new InvalidStateError(`promise "${handle.name}" was rejected: ${error.message}`);
}
