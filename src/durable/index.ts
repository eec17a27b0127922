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
export { DurableEngine, type EngineOptions, type IntegrityReport } from './engine';
