/**
 * How step results, failures and workflow inputs/outputs become journal bytes.
 *
 * Values are JSON inside a small envelope so that `undefined` survives and a
 * "skipped" outcome is distinguishable from any value the step could return.
 * Decoding validates the shape: a row that authenticates but does not parse
 * is still refused.
 */
import { utf8 } from '../model/bytes';
import { InvalidStateError, parseErrorData, toErrorData, type ErrorData } from '../model/errors';

/** The outcome of a guarded step whose ambiguous window was resolved by skipping it. */
export interface Skipped {
  readonly skipped: true;
  readonly stepId: number;
  readonly stepName: string;
  readonly reason: string;
}

export function isSkipped(value: unknown): value is Skipped {
  return typeof value === 'object' && value !== null && (value as { skipped?: unknown }).skipped === true && 'reason' in value;
}

type ResultEnvelope = { readonly v?: unknown } | { readonly skipped: string };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** What a value belongs to, for error messages: a function when the text would cost more than the step (replay builds it only on error). */
export type What = string | (() => string);

function named(what: What): string {
  return typeof what === 'string' ? what : what();
}

function parseJson(bytes: Uint8Array, what: What): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    throw new InvalidStateError(`${named(what)}: stored value is not valid JSON`);
  }
}

export function encodeValue(value: unknown, what: What): Uint8Array {
  let text: string;
  try {
    text = JSON.stringify(value === undefined ? {} : { v: value });
  } catch (error) {
    throw new InvalidStateError(`${named(what)}: the value cannot be journaled (not JSON-serializable: ${(error as Error).message})`);
  }
  return utf8(text);
}

export function encodeSkipped(reason: string): Uint8Array {
  return utf8(JSON.stringify({ skipped: reason }));
}

export type DecodedResult = { readonly kind: 'value'; readonly value: unknown } | { readonly kind: 'skipped'; readonly reason: string };

export function decodeResult(bytes: Uint8Array, what: What): DecodedResult {
  const parsed = parseJson(bytes, what) as ResultEnvelope;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidStateError(`${named(what)}: stored result has the wrong shape`);
  if ('skipped' in parsed) {
    if (typeof parsed.skipped !== 'string') throw new InvalidStateError(`${named(what)}: stored skip has no reason`);
    return { kind: 'skipped', reason: parsed.skipped };
  }
  return { kind: 'value', value: (parsed as { v?: unknown }).v };
}

export function decodeValue(bytes: Uint8Array, what: What): unknown {
  const decoded = decodeResult(bytes, what);
  if (decoded.kind !== 'value') throw new InvalidStateError(`${named(what)}: expected a value, found a skip`);
  return decoded.value;
}

/**
 * A step failure as journaled: the error and how many tries were made. Only the
 * final failure (retries exhausted) is journaled, so a recorded failure always
 * ends the step.
 */
export interface FailureRecord {
  readonly error: ErrorData;
  readonly tries: number;
}

export function encodeFailure(error: unknown, tries: number): Uint8Array {
  return utf8(JSON.stringify({ error: toErrorData(error), tries }));
}

export function decodeFailure(bytes: Uint8Array, what: What): FailureRecord {
  const parsed = parseJson(bytes, what) as Record<string, unknown>;
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.tries !== 'number') {
    throw new InvalidStateError(`${named(what)}: stored failure has the wrong shape`);
  }
  return { error: parseErrorData(parsed.error), tries: parsed.tries };
}

/** The journaled end of an execution. */
export type FinishRecord =
  | { readonly status: 'completed'; readonly output: unknown }
  | { readonly status: 'failed' | 'cancelled' | 'aborted'; readonly error: ErrorData };

export function encodeFinish(record: FinishRecord): Uint8Array {
  return utf8(JSON.stringify(record.status === 'completed' ? { status: 'completed', output: record.output === undefined ? null : record.output } : record));
}

export function decodeFinish(bytes: Uint8Array, what: What): FinishRecord {
  const parsed = parseJson(bytes, what) as Record<string, unknown>;
  if (typeof parsed !== 'object' || parsed === null) throw new InvalidStateError(`${named(what)}: stored outcome has the wrong shape`);
  if (parsed.status === 'completed') return { status: 'completed', output: parsed.output };
  if (parsed.status === 'failed' || parsed.status === 'cancelled' || parsed.status === 'aborted') {
    return { status: parsed.status, error: parseErrorData(parsed.error) };
  }
  throw new InvalidStateError(`${named(what)}: stored outcome has an unknown status`);
}
