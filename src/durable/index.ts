/**
 * The public surface of the durable core. Code outside `src/durable` imports
 * from here, never from a module file directly.
 */
export * from './errors';
export * from './ids';
export * from './effect';
export * from './config';
export * from './journal';
export { Keyring, generateMasterKey, keyIdOf, MASTER_KEY_BYTES } from './cipher';
export { JournalCodec } from './journalCodec';
export { JournalWriter, type WriterStats, type WriterLogger } from './journalWriter';
export { SqliteBackend, type AuditRecord, type ExecutionFilter } from './sqliteBackend';
export { loadMigrations, type Migration } from './migrations';
export { openConnectionCount } from './sqliteConnection';
export { DurableEngine, type EngineOptions, type IntegrityReport } from './engine';
export { RolledBackError, type JournalAnchor } from './journalAnchor';
export { ReplayCursor, type StepRecord } from './replayCursor';
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
} from './stepContext';
export { isSkipped, type Skipped } from './stepValue';
export { WorkflowRegistry, type WorkflowDefinition } from './workflow';
export { LeaseKeeper } from './lease';
export { planRecovery, planExecution, describeDecision, type RecoveryItem, type RecoveryDecision, type AmbiguousWindow } from './recovery';
export { DurableRuntime, type ExecutionHandle, type ExecutionOutcome, type RuntimeEvent, type RuntimeOptions, type RuntimeLogger, type HumanDecision } from './runtime';
export { prune, type RetentionReport, type PruneOptions, type RetentionConfig } from './retention';
export { IN_PROCESS_SLEEP_MAX_MS, type PromiseSettlement } from './waits';
export type { PromiseRecord } from './sqliteBackend';
export type { PromiseHandle, WakeCondition } from './stepContext';
export { exportExecutions, importExecutions, parseImport, EXPORT_FORMAT, EXPORT_SCHEMA_VERSION, UNTRUSTED_IMPORT_DETAIL, type ExportOptions, type ImportOptions } from './exportArtifact';
export { foldExecution, type FoldReport, type FoldOptions } from './checkpoint';
export {
  SessionEventStore,
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
} from './sessionEvents';
export { abortableDelay } from './abortable';
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
} from './inspection';
export { toHex } from './bytes';
