/**
 * The public surface of the durable core. Code outside `src/durable` imports
 * from here, never from a module file directly.
 */
export * from './model/errors';
export * from './model/ids';
export * from './model/effect';
export * from './model/config';
export * from './model/journal';
export { Keyring, generateMasterKey, keyIdOf, MASTER_KEY_BYTES } from './crypto/cipher';
export { JournalCodec } from './crypto/journalCodec';
export { JournalWriter, type WriterStats, type WriterLogger } from './journal/journalWriter';
export { SqliteBackend, type AuditRecord, type ExecutionFilter } from './store/sqlite/sqliteBackend';
export { loadMigrations, type Migration } from './store/sqlite/migrations';
export { openConnectionCount } from './store/sqlite/sqliteConnection';
export {
  hostBindingCandidates,
  bundledBindingCandidate,
  describeBinding,
  loadSqliteBinding,
  NoSqliteBindingError,
  MIN_SQLITE_VERSION,
  type BindingCandidate,
  type SqliteBinding,
} from './store/sqlite/sqliteBinding';
export { DurableEngine, type EngineOptions, type IntegrityReport, type PostgresTarget } from './runtime/engine';
export { RolledBackError, type JournalAnchor } from './journal/journalAnchor';
export { ReplayCursor, type StepRecord } from './execution/replayCursor';
export {
  StepContext,
  SuspendExecution,
  type DurableContext,
  type StepDescriptor,
  type StepHandle,
  type StepReturn,
  type ParallelStep,
  type ProbeOutcome,
  type ProbeFallback,
  type RetryOptions,
} from './execution/stepContext';
export { isSkipped, type Skipped } from './execution/stepValue';
export { WorkflowRegistry, type WorkflowDefinition } from './execution/workflow';
export { LeaseKeeper } from './runtime/lease';
export { planRecovery, planExecution, describeDecision, type RecoveryItem, type RecoveryDecision, type AmbiguousWindow } from './runtime/recovery';
export { DurableRuntime, type ExecutionHandle, type ExecutionOutcome, type RuntimeEvent, type RuntimeOptions, type RuntimeLogger, type HumanDecision } from './runtime/runtime';
export { prune, type RetentionReport, type PruneOptions, type RetentionConfig } from './journal/retention';
export { IN_PROCESS_SLEEP_MAX_MS, type PromiseSettlement } from './execution/waits';
export type { PromiseRecord, JournalStore, StoreHint, LeaseFence } from './store/journalStore';
export type { PromiseHandle, WakeCondition } from './execution/stepContext';
export { exportExecutions, importExecutions, parseImport, EXPORT_FORMAT, EXPORT_SCHEMA_VERSION, UNTRUSTED_IMPORT_DETAIL, type ExportOptions, type ImportOptions } from './journal/exportArtifact';
export { foldExecution, type FoldReport, type FoldOptions } from './journal/checkpoint';
export { committedSteps, type CommittedStep } from './inspection/committedSteps';
export {
  SESSION_EVENT_TYPES,
  parseSessionEvent,
  typeColumn,
  type SessionEvent,
  type SessionEventType,
  type StoredSessionEvent,
  type ThreadSummary,
  type TranscriptMessage,
  type TranscriptRole,
  type TurnSummary,
  type CheckpointSummary,
  type ApprovalKind,
  type MessageRole,
} from './sessions/sessionEvents';
export { SessionEventStore } from './sessions/sessionEventStore';
export { abortableDelay } from './model/abortable';
export {
  buildTimeline,
  entrySummaries,
  entryDetail,
  needsAttention,
  listTimers,
  countEntries,
  payloadText,
  REVEAL_MAX_CHARS,
  type Timeline,
  type TimelineRow,
  type EntrySummary,
  type EntryDetail,
  type StepStatus,
  type AttentionItem,
  type TimerRecord,
} from './inspection/inspection';
export { toHex } from './model/bytes';
