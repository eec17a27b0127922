/**
 * How the SQLite adapter maps rows: the journal's columns, the statement
 * pieces its inserts are made of, and the decoders from result rows to the
 * port's records (every blob copied out of the driver's buffer).
 */
import { ownedView } from '../../model/bytes';
import type { EffectClass } from '../../model/effect';
import { IntegrityError, InvalidStateError } from '../../model/errors';
import type { ExecutionId, JournalSeq } from '../../model/ids';
import { EXECUTION_STATUSES, type EntryKind, type ExecutionRecord, type ExecutionStatus, type JournalRecord, type StoredRow } from '../../model/journal';
import type { SqlRow } from './sqliteConnection';

export const ROW_COLUMNS = 'execution_id, attempt, step_id, kind, step_name, effect, idem_key, body, mac, size, created_at';
export const SELECT_ROW = `SELECT seq, ${ROW_COLUMNS} FROM journal`;
/** Chunk sizes for multi-row inserts: few distinct statements to prepare, few statements per flush. */
export const INSERT_CHUNKS = [256, 64, 16, 4, 1];
export const PLACEHOLDERS = `(${Array(11).fill('?').join(',')})`;
export const ACTIVE = `('running','suspended')`;

/**
 * Segment reads fetch each row as three columns instead of twelve: the driver
 * pays about a microsecond per column of every row, more than the row's own
 * bytes cost (docs/ARCHITECTURE.md, "Reading the journal"). The small fields
 * come as one JSON array, and key, body and MAC as one blob split by the
 * lengths in the array. The execution id is the query's own parameter.
 * Concatenation of blobs in SQLite is byte-exact in a UTF-8 database; a row
 * whose lengths do not fit its blob is refused, and a wrong split would fail
 * the row's seal or MAC anyway.
 */
export const SELECT_PACKED_ROW = `SELECT seq,
  json_array(attempt, step_id, kind, step_name, effect, size, created_at, length(idem_key), length(mac)) AS h,
  CAST(coalesce(idem_key, x'') || body || coalesce(mac, x'') AS BLOB) AS b
  FROM journal`;

type PackedFields = [number, number | null, EntryKind, string | null, EffectClass | null, number, number, number | null, number | null];

export function packedRowToRecord(executionId: ExecutionId, row: SqlRow): JournalRecord {
  const seq = row.seq as JournalSeq;
  const [attempt, stepId, kind, stepName, effect, size, createdAt, keyLength, macLength] = JSON.parse(row.h as string) as PackedFields;
  const all = row.b === null ? null : ownedView(row.b as Buffer);
  const keyEnd = keyLength ?? 0;
  const bodyEnd = all === null ? -1 : all.length - (macLength ?? 0);
  if (all === null || bodyEnd < keyEnd) throw new IntegrityError(`journal row ${seq}`, 'the row is malformed (its key, body and MAC do not fit together)');
  return {
    seq,
    executionId,
    attempt,
    stepId,
    kind,
    stepName,
    effect,
    idempotencyKey: keyLength === null ? null : all.subarray(0, keyEnd),
    body: all.subarray(keyEnd, bodyEnd),
    mac: macLength === null ? null : all.subarray(bodyEnd),
    size,
    createdAt,
  };
}

export function rowToRecord(row: SqlRow): JournalRecord {
  return {
    seq: row.seq as JournalSeq,
    executionId: row.execution_id as string,
    attempt: row.attempt as number,
    stepId: row.step_id as number | null,
    kind: row.kind as EntryKind,
    stepName: row.step_name as string | null,
    effect: row.effect as EffectClass | null,
    idempotencyKey: row.idem_key === null ? null : ownedView(row.idem_key as Buffer),
    body: ownedView(row.body as Buffer),
    mac: row.mac === null ? null : ownedView(row.mac as Buffer),
    size: row.size as number,
    createdAt: row.created_at as number,
  };
}

export function rowToExecution(row: SqlRow): ExecutionRecord {
  const status = row.status as ExecutionStatus;
  if (!EXECUTION_STATUSES.includes(status)) throw new InvalidStateError(`execution ${String(row.id)} has unknown status ${String(status)}`);
  return {
    id: row.id as ExecutionId,
    kind: row.kind as string,
    version: row.version as number,
    title: row.title as string,
    status,
    attempt: row.attempt as number,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
    finishedAt: row.finished_at as number | null,
    stepCount: row.step_count as number,
    statusDetail: row.status_detail as string | null,
    leaseOwner: row.lease_owner as string | null,
    leaseExpiresAt: row.lease_expires_at as number | null,
    leaseEpoch: (row.lease_epoch as number | undefined) ?? 0,
  };
}

/** Append a row's values to `out` in column order (multi-row inserts build one array per statement). */
export function pushFlattened(out: unknown[], row: StoredRow): void {
  out.push(row.executionId, row.attempt, row.stepId, row.kind, row.stepName, row.effect, row.idempotencyKey, row.body, row.mac, row.size, row.createdAt);
}

export function flatten(row: StoredRow): unknown[] {
  return [row.executionId, row.attempt, row.stepId, row.kind, row.stepName, row.effect, row.idempotencyKey, row.body, row.mac, row.size, row.createdAt];
}

