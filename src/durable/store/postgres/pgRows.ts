/**
 * Typed row decoders of the PostgreSQL adapter. node-postgres returns int8
 * (bigint) columns and counts as strings and bytea as Buffers: here they become
 * numbers (refused beyond 2^53, which no count or time of ours reaches) and
 * bytes copied out of the driver's buffer.
 */
import { ownBytes } from '../../model/bytes';
import type { EffectClass } from '../../model/effect';
import { InvalidStateError } from '../../model/errors';
import type { ExecutionId, JournalSeq } from '../../model/ids';
import { EXECUTION_STATUSES, type EntryKind, type ExecutionRecord, type ExecutionStatus, type JournalRecord } from '../../model/journal';

export type PgRow = Record<string, unknown>;

export const JOURNAL_COLUMNS = 'seq, execution_id, attempt, step_id, kind, step_name, effect, idem_key, body, mac, size, created_at';

export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' || typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new InvalidStateError(`a number from the database is out of range: ${String(value)}`);
    return n;
  }
  throw new InvalidStateError(`expected a number from the database, got ${value === null ? 'null' : typeof value}`);
}

export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

export function bytesOrNull(value: unknown): Uint8Array | null {
  return value === null || value === undefined ? null : ownBytes(value as Buffer);
}

export function strOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

export function toRecord(row: PgRow): JournalRecord {
  return {
    seq: num(row.seq) as JournalSeq,
    executionId: String(row.execution_id),
    attempt: num(row.attempt),
    stepId: numOrNull(row.step_id),
    kind: row.kind as EntryKind,
    stepName: strOrNull(row.step_name),
    effect: strOrNull(row.effect) as EffectClass | null,
    idempotencyKey: bytesOrNull(row.idem_key),
    body: ownBytes(row.body as Buffer),
    mac: bytesOrNull(row.mac),
    size: num(row.size),
    createdAt: num(row.created_at),
  };
}

export function toExecution(row: PgRow): ExecutionRecord {
  const status = row.status as ExecutionStatus;
  if (!EXECUTION_STATUSES.includes(status)) throw new InvalidStateError(`execution ${String(row.id)} has unknown status ${String(status)}`);
  return {
    id: String(row.id) as ExecutionId,
    kind: String(row.kind),
    version: num(row.version),
    title: String(row.title),
    status,
    attempt: num(row.attempt),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    finishedAt: numOrNull(row.finished_at),
    stepCount: num(row.step_count),
    statusDetail: strOrNull(row.status_detail),
    leaseOwner: strOrNull(row.lease_owner),
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    leaseEpoch: num(row.lease_epoch),
  };
}
