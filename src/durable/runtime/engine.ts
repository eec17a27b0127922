/**
 * The durable engine of one database: store, sealing codec and journal writer,
 * opened together and disposed together (writer first, so queued entries commit
 * before the connection closes; then the keys are zeroed).
 */
import { Keyring } from '../crypto/cipher';
import { resolveConfig, type DurableConfig } from '../model/config';
import { IntegrityError, InvalidStateError, WrongKeyError, isDurableError } from '../model/errors';
import { toHex } from '../model/bytes';
import { KEY_ID_BYTES } from '../crypto/cipher';
import type { ExecutionId } from '../model/ids';
import { JournalCodec } from '../crypto/journalCodec';
import { JournalWriter, type WriterLogger } from '../journal/journalWriter';
import { loadMigrations } from '../store/sqlite/migrations';
import { SessionEventStore } from '../sessions/sessionEventStore';
import { SqliteSessionStorage } from '../store/sqlite/sqliteSessionStorage';
import { SqliteBackend } from '../store/sqlite/sqliteBackend';
import type { BindingCandidate, SqliteBinding } from '../store/sqlite/sqliteBinding';
import { PostgresStore } from '../store/postgres/postgresStore';
import type { JournalStore } from '../store/journalStore';
import type { SessionStorage } from '../store/sessionStore';
import { AnchorKeeper, type JournalAnchor } from '../journal/journalAnchor';

/** A shared journal on PostgreSQL instead of the workspace's `durable.db`. */
export interface PostgresTarget {
  /** Without its password (that comes from SecretStorage or the environment). */
  readonly connectionString: string;
  readonly password?: string;
  /** The project this window works in; one database serves many. */
  readonly project: string;
  /** A schema of its own (tests); `public` otherwise. */
  readonly schema?: string;
  readonly poolSize?: number;
  /** Statements prepared by name once per connection (default true; see pgConnection.ts). */
  readonly preparedStatements?: boolean;
}

export interface EngineOptions {
  /** Path of `durable.db` (ignored with `postgres`). */
  readonly file: string;
  /** The migrations of the chosen store (migrations/sqlite or migrations/postgres). */
  readonly migrationsDir: string;
  /** Open the shared PostgreSQL journal instead of the file. */
  readonly postgres?: PostgresTarget;
  /** Current master key (32 bytes) and older ones still needed to read. */
  readonly masterKey: Uint8Array;
  readonly previousKeys?: readonly Uint8Array[];
  readonly config?: Partial<DurableConfig>;
  readonly logger?: WriterLogger;
  readonly readOnly?: boolean;
  readonly clock?: () => number;
  /** The journal's high water kept outside the file, to detect a rolled-back file (see journalAnchor.ts). */
  readonly anchor?: JournalAnchor;
  /** Open a file that is behind its anchor anyway (a person restored it on purpose). */
  readonly acceptRolledBack?: boolean;
  /** Where to load `@vscode/sqlite3` from, in order (default: the one this build resolves). */
  readonly sqliteBinding?: readonly BindingCandidate[];
}

export interface IntegrityReport {
  /** SQLite's own `quick_check` lines ('ok' when healthy). */
  readonly sqlite: readonly string[];
  readonly rowsChecked: number;
  /** Metadata-only descriptions of rows that failed authentication. */
  readonly failures: readonly string[];
}

const KEY_CHECK = 'key_check';

/**
 * Refuse a master key that did not seal this journal, before anything is read
 * or written. The key check value (a MAC of a fixed label, with the key id in
 * front) is recorded at the first open; a journal from before it was recorded
 * is checked against one of its sealed rows. A journal sealed with an older key
 * that is still held (after a rotation) opens and is re-checked with the current one.
 */
async function checkKey(backend: JournalStore, codec: JournalCodec, file: string, readOnly: boolean): Promise<void> {
  const recorded = await backend.getMeta(KEY_CHECK).catch((error: unknown) => {
    // A read-only file opened before migration 003 has no such table: fall back to a sealed row.
    if (readOnly) return undefined;
    throw error;
  });
  if (recorded) {
    if (!codec.matchesKeyCheck(recorded)) throw new WrongKeyError(file, toHex(recorded.subarray(0, KEY_ID_BYTES)), codec.keyId);
  } else {
    const sealed = await backend.anySealedRow().catch(() => undefined);
    if (sealed) {
      try {
        codec.openPayload(sealed);
      } catch (error) {
        if (!isDurableError(error, 'integrity')) throw error;
        throw new WrongKeyError(file, toHex(sealed.body.subarray(0, KEY_ID_BYTES)), codec.keyId);
      }
    }
  }
  if (!readOnly && (!recorded || toHex(recorded.subarray(0, KEY_ID_BYTES)) !== codec.keyId)) await backend.setMeta(KEY_CHECK, codec.keyCheck());
}

/** The adapter is chosen here and nowhere else in the core. */
async function openStore(options: EngineOptions, config: DurableConfig, clock: () => number): Promise<{ backend: JournalStore; sessions: SessionStorage }> {
  const migrations = loadMigrations(options.migrationsDir);
  if (options.postgres) {
    if (options.readOnly) throw new InvalidStateError('a shared PostgreSQL journal is not opened read-only; use a role without write rights instead');
    const store = await PostgresStore.open({
      ...options.postgres,
      migrations,
      clock,
      statementTimeoutMs: Math.max(config.ackTimeoutMs, 5_000),
      lockTimeoutMs: config.busyTimeoutMs,
      warn: (m) => options.logger?.warn(m),
    });
    return { backend: store, sessions: store.sessions };
  }
  const sqlite = await SqliteBackend.open({ file: options.file, migrations, busyTimeoutMs: config.busyTimeoutMs, readOnly: options.readOnly, clock, binding: options.sqliteBinding });
  return { backend: sqlite, sessions: new SqliteSessionStorage(sqlite.connection) };
}

export class DurableEngine {
  private disposed = false;

  private constructor(
    readonly config: DurableConfig,
    /** The journal's store, through the port only (the adapter is chosen here, at open). */
    readonly backend: JournalStore,
    readonly codec: JournalCodec,
    readonly writer: JournalWriter,
    /** The agent sessions' event log and projections, on the same file. */
    readonly sessions: SessionEventStore,
    private readonly keyring: Keyring,
    private readonly anchor: AnchorKeeper | undefined,
  ) {}

  static async open(options: EngineOptions): Promise<DurableEngine> {
    const config = resolveConfig(options.config ?? {});
    const clock = options.clock ?? Date.now;
    const keyring = new Keyring({ current: options.masterKey, previous: options.previousKeys, maxPayloadBytes: config.maxPayloadBytes });
    try {
      const { backend, sessions } = await openStore(options, config, clock);
      const codec = new JournalCodec(keyring, clock);
      try {
        await checkKey(backend, codec, backend.file, options.readOnly === true);
      } catch (error) {
        await backend.close().catch(() => undefined);
        throw error;
      }
      let anchor: AnchorKeeper | undefined;
      try {
        // The anchor guards a file someone could swap for an older copy; a server is its administrator's to restore.
        if (options.anchor && !options.readOnly && backend.flavor === 'sqlite') {
          anchor = await AnchorKeeper.open(backend, options.anchor, options.file, {
            accept: options.acceptRolledBack === true,
            warn: (m) => options.logger?.warn(m),
          });
        }
      } catch (error) {
        await backend.close().catch(() => undefined);
        throw error;
      }
      const writer = new JournalWriter(backend, codec, config, options.logger);
      if (anchor) {
        const keeper = anchor;
        writer.onCommit(() => keeper.committed());
      }
      return new DurableEngine(config, backend, codec, writer, new SessionEventStore(sessions, codec, clock), keyring, anchor);
    } catch (error) {
      keyring.dispose();
      throw error;
    }
  }

  get keyId(): string {
    return this.keyring.currentKeyId;
  }

  /** The `@vscode/sqlite3` a file journal runs on (undefined on PostgreSQL). */
  get sqliteBinding(): SqliteBinding | undefined {
    return this.backend instanceof SqliteBackend ? this.backend.binding : undefined;
  }

  /**
   * Verify every row (seal or MAC) of the given executions, or of all, in
   * bounded segments, plus SQLite's own quick check. Reports, never throws on a
   * bad row: this is what a user runs after an integrity error.
   */
  async checkIntegrity(executions?: readonly ExecutionId[], signal?: AbortSignal): Promise<IntegrityReport> {
    const sqlite = await this.backend.quickCheck();
    const ids = executions ?? (await this.backend.listExecutions()).map((e) => e.id);
    const failures: string[] = [];
    let rowsChecked = 0;
    for (const id of ids) {
      for await (const row of this.backend.journalRows(id, { segmentSize: this.config.replaySegmentSize })) {
        signal?.throwIfAborted();
        rowsChecked++;
        try {
          this.codec.verify(row);
        } catch (error) {
          if (!(error instanceof IntegrityError) && !isDurableError(error, 'payload_too_large')) throw error;
          failures.push((error as Error).message);
        }
      }
    }
    return { sqlite, rowsChecked, failures };
  }

  /** Commit queued entries, close the database, zero the keys. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      await this.writer.close();
      await this.anchor?.close();
    } finally {
      try {
        await this.backend.close();
      } finally {
        this.keyring.dispose();
      }
    }
  }
}
