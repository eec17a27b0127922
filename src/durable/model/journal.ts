/**
 * The journal model: execution statuses, the closed union
 * of entry kinds, and the interfaces the step layer writes and reads through.
 *
 * Two families of entries, told apart by `kind`:
 * - payload entries carry opaque bytes (sealed at rest) and nothing else;
 * - control entries carry small, typed, non-secret metadata (authenticated by a
 *   MAC at rest) and have no `payload` field at all.
 * The types make a control entry with a payload, or a payload entry with
 * metadata, impossible to construct; the database repeats the rule as a CHECK.
 */
import type { AmbiguityPolicy, EffectClass, IntentClass } from './effect';
import type { ExecutionId, IdempotencyKey, JournalSeq, StepId } from './ids';

export type ExecutionStatus = 'running' | 'suspended' | 'completed' | 'failed' | 'cancelled' | 'aborted';
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['running', 'suspended', 'completed', 'failed', 'cancelled', 'aborted'];
export type TerminalStatus = Extract<ExecutionStatus, 'completed' | 'failed' | 'cancelled' | 'aborted'>;
export const TERMINAL_STATUSES: readonly TerminalStatus[] = ['completed', 'failed', 'cancelled', 'aborted'];

export function isTerminal(status: ExecutionStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/**
 * A `running` row that nobody runs was interrupted (a reload or a crash stopped it): it is not
 * running here (`isActive`) and no live lease says another window runs it. Every view that shows a
 * status uses this, so the tree, the panel and the pickers tell the same truth.
 */
export function isInterrupted(e: Pick<ExecutionRecord, 'id' | 'status' | 'leaseOwner' | 'leaseExpiresAt'>, now: number, isActive: (id: ExecutionId) => boolean): boolean {
  return e.status === 'running' && !isActive(e.id) && !(e.leaseOwner !== null && (e.leaseExpiresAt ?? 0) > now);
}

export const PAYLOAD_KINDS = [
  'execution_started',
  'step_result',
  'step_failed',
  'promise_resolved',
  'checkpoint',
  'execution_finished',
] as const;
export type PayloadKind = (typeof PAYLOAD_KINDS)[number];

export const CONTROL_KINDS = ['step_intent', 'ambiguity_resolved', 'promise_created', 'timer_armed', 'timer_fired'] as const;
export type ControlKind = (typeof CONTROL_KINDS)[number];

export type EntryKind = PayloadKind | ControlKind;
export const ENTRY_KINDS: readonly EntryKind[] = [...PAYLOAD_KINDS, ...CONTROL_KINDS];

export function isPayloadKind(kind: string): kind is PayloadKind {
  return (PAYLOAD_KINDS as readonly string[]).includes(kind);
}
export function isControlKind(kind: string): kind is ControlKind {
  return (CONTROL_KINDS as readonly string[]).includes(kind);
}

/** Metadata per control kind: small, non-secret, authenticated. */
export interface ControlMeta {
  /** `machine`: where the run that wrote it ran (a shared journal), so a probe elsewhere knows it cannot look. */
  step_intent: { readonly intent: IntentClass; readonly policy: AmbiguityPolicy; readonly machine?: string };
  ambiguity_resolved: AuditMeta;
  promise_created: { readonly promiseId: string; readonly name: string };
  timer_armed: { readonly timerId: string; readonly dueAt: number };
  timer_fired: { readonly timerId: string; readonly firedAt: number };
}

export type AmbiguityDecision = 'failed' | 'reran' | 'skipped' | 'verified_done' | 'verified_not_done' | 'asked' | 'decided_rerun' | 'decided_skip' | 'decided_fail';

/** The audit record of one ambiguous window. */
export interface AuditMeta {
  readonly intent: IntentClass;
  readonly policy: AmbiguityPolicy;
  readonly decision: AmbiguityDecision;
  /** `policy`, `probe`, or `user:<name>` for a person's decision. */
  readonly decidedBy: string;
  readonly decidedAt: number;
  /** Free text that says why; never payload data. */
  readonly note?: string;
}

/** Where an entry belongs. The sealing layer binds all of it as associated data. */
export interface EntryHeader {
  readonly executionId: ExecutionId;
  /** Attempt number of the execution; a divergence restart begins a new attempt. */
  readonly attempt: number;
  /** Null for execution-level entries (started, finished). */
  readonly stepId: StepId | null;
  readonly stepName: string | null;
  readonly effect: EffectClass | null;
  readonly idempotencyKey: IdempotencyKey | null;
}

export type PayloadEntry = EntryHeader & { readonly kind: PayloadKind; readonly payload: Uint8Array; readonly meta?: never };
export type ControlEntry = {
  [K in ControlKind]: EntryHeader & { readonly kind: K; readonly meta: ControlMeta[K]; readonly payload?: never };
}[ControlKind];
/**
 * The lease a run writes under: its owner and the epoch it was granted. Not
 * stored with a row: the store checks it in the transaction that writes, and
 * refuses the write once the lease passed to another owner (a fenced-out run).
 */
export interface LeaseFence {
  readonly owner: string;
  readonly epoch: number;
}

export type NewEntry = (PayloadEntry | ControlEntry) & { readonly fence?: LeaseFence };

/** A row as stored: payload sealed or metadata with its MAC. Opaque to the backend. */
export interface StoredRow {
  readonly executionId: string;
  readonly attempt: number;
  readonly stepId: number | null;
  readonly kind: EntryKind;
  readonly stepName: string | null;
  readonly effect: EffectClass | null;
  readonly idempotencyKey: Uint8Array | null;
  /** Sealed payload, or the UTF-8 JSON of a control entry's metadata. */
  readonly body: Uint8Array;
  /** MAC of a control entry; null for payload entries. */
  readonly mac: Uint8Array | null;
  /** Plaintext size in bytes (for views and retention). */
  readonly size: number;
  readonly createdAt: number;
  /** On a row being written: the lease it must still hold (see LeaseFence). Never read back. */
  readonly fence?: LeaseFence;
}

export interface JournalRecord extends StoredRow {
  readonly seq: JournalSeq;
}

export interface ExecutionRecord {
  readonly id: ExecutionId;
  readonly kind: string;
  readonly version: number;
  readonly title: string;
  readonly status: ExecutionStatus;
  readonly attempt: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
  readonly stepCount: number;
  /** Short, non-secret summary of why it failed or aborted (error code and message). */
  readonly statusDetail: string | null;
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: number | null;
  /** Grows each time the lease changes hands (see LeaseFence); 0 before the first lease. */
  readonly leaseEpoch: number;
}

/** Appending side of the journal, as the step layer sees it. */
export interface JournalAppender {
  /** Queue an entry for the next group commit. Never blocks; may drop under back-pressure. */
  appendBuffered(entry: NewEntry): void;
  /** Commit an entry (and every entry appended before it); resolves with its sequence number. */
  appendAcked(entry: NewEntry, signal?: AbortSignal): Promise<JournalSeq>;
  /** Commit everything queued so far. */
  flush(): Promise<void>;
}

/** Reading side: bounded segments, point lookups. */
export interface JournalReader {
  /** Entries of one execution attempt with seq > afterSeq, ascending, at most `limit`. */
  readSegment(executionId: ExecutionId, attempt: number, afterSeq: number, limit: number): Promise<JournalRecord[]>;
  /** The committed result of any attempt of the execution with this key, if one exists. */
  findResultByKey(executionId: ExecutionId, key: IdempotencyKey): Promise<JournalRecord | undefined>;
}
