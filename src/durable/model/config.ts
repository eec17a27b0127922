/**
 * Pure-data configuration of the durable core. Every field has a default; a
 * partial or empty object yields the defaults; an invalid value is rejected with
 * a message that names the field, the value and the accepted range.
 */
import { ConfigError } from './errors';

export interface DurableConfig {
  /** Group-commit interval of buffered appends, ms. */
  readonly flushIntervalMs: number;
  /** Rows per group commit before a flush starts without waiting for the interval. */
  readonly batchSize: number;
  /** How long an acknowledged append may wait for its commit, ms. */
  readonly ackTimeoutMs: number;
  /** Buffered appends queued beyond this are dropped (they re-run on resume). */
  readonly maxQueuedAppends: number;
  /** Largest payload a single entry may carry, bytes (checked on write and on read). */
  readonly maxPayloadBytes: number;
  readonly maxStepsPerExecution: number;
  /** Entries per segment when replaying or scanning a journal. */
  readonly replaySegmentSize: number;
  /** SQLite busy timeout, ms. */
  readonly busyTimeoutMs: number;
  readonly retentionCompletedMs: number;
  readonly retentionFailedMs: number;
  readonly maxExecutions: number;
  readonly maxJournalBytes: number;
  /** Lease length for one owner of an execution, ms; renewed at a third of it. */
  readonly leaseMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_CONFIG: DurableConfig = Object.freeze({
  flushIntervalMs: 10,
  batchSize: 256,
  ackTimeoutMs: 5_000,
  maxQueuedAppends: 65_536,
  maxPayloadBytes: 1024 * 1024,
  maxStepsPerExecution: 10_000,
  replaySegmentSize: 512,
  busyTimeoutMs: 2_000,
  retentionCompletedMs: 7 * DAY_MS,
  retentionFailedMs: 30 * DAY_MS,
  maxExecutions: 10_000,
  maxJournalBytes: 1024 * 1024 * 1024,
  leaseMs: 15_000,
});

/** Inclusive bounds per field; all fields are integers. */
const BOUNDS: { readonly [K in keyof DurableConfig]: readonly [number, number] } = {
  flushIntervalMs: [1, 10_000],
  batchSize: [1, 2_048],
  ackTimeoutMs: [10, 600_000],
  maxQueuedAppends: [1, 10_000_000],
  maxPayloadBytes: [1, 64 * 1024 * 1024],
  maxStepsPerExecution: [1, 10_000_000],
  replaySegmentSize: [1, 100_000],
  busyTimeoutMs: [0, 600_000],
  retentionCompletedMs: [0, 3650 * DAY_MS],
  retentionFailedMs: [0, 3650 * DAY_MS],
  maxExecutions: [1, 100_000_000],
  maxJournalBytes: [1024 * 1024, 1024 * 1024 * 1024 * 1024],
  leaseMs: [200, 3_600_000],
};

/** Merge a partial config over the defaults and validate every field. */
export function resolveConfig(partial: Partial<Record<keyof DurableConfig, unknown>> = {}): DurableConfig {
  if (typeof partial !== 'object' || partial === null) throw new ConfigError('durable config must be an object');
  const out: Record<string, number> = { ...DEFAULT_CONFIG };
  for (const [name, value] of Object.entries(partial)) {
    if (!(name in BOUNDS)) {
      throw new ConfigError(`unknown durable config field "${name}"; known fields: ${Object.keys(BOUNDS).join(', ')}`);
    }
    if (value === undefined) continue;
    const [min, max] = BOUNDS[name as keyof DurableConfig];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(`durable config "${name}" must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    out[name] = value;
  }
  return Object.freeze(out as unknown as DurableConfig);
}
