/**
 * Identifiers of the durable core.
 *
 * Derived identifiers use BLAKE3 in key-derivation mode with our own versioned
 * context strings over the injective `frame` encoding. Changing a context
 * string or the field order changes every key: bump the version instead, and
 * keep the golden vectors in test/durable/ids.test.ts passing for the old one.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { parse as parseUuid, v7 as uuidv7, validate as validateUuid, version as uuidVersion } from 'uuid';
import { frame, frameScratch, toHex, u32be, utf8 } from './bytes';
import type { EffectClass } from './effect';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** UUIDv7 text: time-ordered, so executions list in creation order. */
export type ExecutionId = Brand<string, 'ExecutionId'>;
/** Call order of `step()` within one execution, unsigned 32-bit. */
export type StepId = Brand<number, 'StepId'>;
/** Database-assigned journal position, strictly increasing per database. */
export type JournalSeq = Brand<number, 'JournalSeq'>;
/** 32 bytes that name one step's effect; equal keys mean "the same operation". */
export type IdempotencyKey = Brand<Uint8Array, 'IdempotencyKey'>;
export type PromiseId = Brand<string, 'PromiseId'>;
export type TimerId = Brand<string, 'TimerId'>;

export const IDEMPOTENCY_KEY_CONTEXT = 'durable-agent-sessions v1 idempotency-key';
export const PROMISE_ID_CONTEXT = 'durable-agent-sessions v1 promise-id';
export const TIMER_ID_CONTEXT = 'durable-agent-sessions v1 timer-id';

const IDEMPOTENCY_CONTEXT_BYTES = utf8(IDEMPOTENCY_KEY_CONTEXT);
/** BLAKE3 in derive_key mode with the idempotency context already absorbed (never updated itself). */
const idempotencyHasher = blake3.create({ context: IDEMPOTENCY_CONTEXT_BYTES });
/** The hasher each key is computed in: reset from `idempotencyHasher` per key instead of a new clone (half the cost). */
const keyHasher = idempotencyHasher.clone();
const PROMISE_CONTEXT_BYTES = utf8(PROMISE_ID_CONTEXT);
const TIMER_CONTEXT_BYTES = utf8(TIMER_ID_CONTEXT);

export function newExecutionId(): ExecutionId {
  return uuidv7() as ExecutionId;
}

/** Validate text from outside (a command argument, an imported file) as an ExecutionId. */
export function parseExecutionId(text: string): ExecutionId {
  if (!validateUuid(text) || uuidVersion(text) !== 7) {
    throw new RangeError(`not an execution id (expected a UUIDv7): ${JSON.stringify(text.slice(0, 64))}`);
  }
  return text.toLowerCase() as ExecutionId;
}

// Parsing a UUID costs more than the rest of a row header: remember the last few.
const idBytesCache = new Map<string, Uint8Array>();
const ID_CACHE_SIZE = 64;

export function executionIdBytes(id: ExecutionId): Uint8Array {
  let bytes = idBytesCache.get(id);
  if (!bytes) {
    bytes = parseUuid(id);
    if (idBytesCache.size >= ID_CACHE_SIZE) idBytesCache.delete(idBytesCache.keys().next().value as string);
    idBytesCache.set(id, bytes);
  }
  return bytes;
}

export function stepId(value: number): StepId {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`step id must be an unsigned 32-bit integer, got ${value}`);
  }
  return value as StepId;
}

export function journalSeq(value: number): JournalSeq {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`journal seq must be a non-negative integer, got ${value}`);
  return value as JournalSeq;
}

export interface IdempotencyInput {
  readonly executionId: ExecutionId;
  readonly stepId: StepId;
  readonly stepName: string;
  readonly effect: EffectClass;
  /** Caller-supplied digest of the inputs that matter to the operation (may be empty). */
  readonly fingerprint: Uint8Array;
}

/**
 * The key covers the fingerprint, so comparing a recorded key with a freshly
 * computed one is the replay divergence check.
 */
export function deriveIdempotencyKey(input: IdempotencyInput): IdempotencyKey {
  const material = frameScratch([
    executionIdBytes(input.executionId),
    input.stepId,
    nameBytes(input.stepName),
    nameBytes(input.effect),
    input.fingerprint,
  ]);
  // Same bytes as blake3(material, { context }): the context's key is computed once, and each key
  // starts from a copy of that state in one reused hasher (synchronous, so never shared mid-use).
  idempotencyHasher._cloneInto(keyHasher);
  keyHasher.update(material);
  const key = new Uint8Array(32);
  keyHasher.digestInto(key);
  return key as IdempotencyKey;
}

// Step names and effects repeat across a journal: their UTF-8 bytes, bounded.
const nameBytesCache = new Map<string, Uint8Array>();
const NAME_CACHE_SIZE = 1_024;

function nameBytes(text: string): Uint8Array {
  let bytes = nameBytesCache.get(text);
  if (!bytes) {
    bytes = utf8(text);
    if (nameBytesCache.size >= NAME_CACHE_SIZE) nameBytesCache.clear();
    nameBytesCache.set(text, bytes);
  }
  return bytes;
}

export function asIdempotencyKey(bytes: Uint8Array): IdempotencyKey {
  if (bytes.length !== 32) throw new RangeError(`idempotency key must be 32 bytes, got ${bytes.length}`);
  return bytes as IdempotencyKey;
}

/** Same (execution, step) gives the same promise id, so a replay finds its promise. */
export function derivePromiseId(executionId: ExecutionId, step: StepId): PromiseId {
  return toHex(blake3(frame([executionIdBytes(executionId), u32be(step)]), { context: PROMISE_CONTEXT_BYTES, dkLen: 16 })) as PromiseId;
}

export function deriveTimerId(executionId: ExecutionId, step: StepId): TimerId {
  return toHex(blake3(frame([executionIdBytes(executionId), u32be(step)]), { context: TIMER_CONTEXT_BYTES, dkLen: 16 })) as TimerId;
}

/** A short, log-safe rendering of a key (the key itself is not secret, but 64 hex chars are noise). */
export function keyPrefix(key: Uint8Array): string {
  return toHex(key.subarray(0, 6));
}

/** A fingerprint helper for callers: BLAKE3 of the framed parts. */
export function fingerprintOf(...parts: ReadonlyArray<Uint8Array | string>): Uint8Array {
  return blake3(frame(parts));
}
