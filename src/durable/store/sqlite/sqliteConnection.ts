/**
 * One owner of one `@vscode/sqlite3` connection.
 *
 * - Callbacks are wrapped once, here, into promises.
 * - Statements are prepared once, cached by SQL text, and finalized on close.
 * - Every operation runs through one FIFO queue, so a multi-statement
 *   transaction is never interleaved with another caller's statements on the
 *   shared connection.
 * - SQLite result codes become StorageError reasons the UI can explain.
 */
import type * as sqlite3 from '@vscode/sqlite3';
import { StorageError, ensureError, type StorageFailure } from '../../model/errors';
import { loadSqliteBinding, RESOLVED_BINDING, type BindingCandidate, type SqliteBinding } from './sqliteBinding';

/**
 * The native module loads at the first open, not when the extension activates.
 * One choice per list of candidates for the life of the process (a native module
 * cannot be unloaded); a failed choice is not kept, so the next open tries again.
 */
const bindings = new Map<string, Promise<SqliteBinding>>();

function chooseBinding(candidates: readonly BindingCandidate[]): Promise<SqliteBinding> {
  const key = candidates.map((c) => `${c.source}:${c.where}`).join('|');
  let chosen = bindings.get(key);
  if (!chosen) {
    chosen = loadSqliteBinding(candidates);
    bindings.set(key, chosen);
    chosen.catch(() => bindings.delete(key));
  }
  return chosen;
}

export type SqlValue = string | number | null | Buffer;
export type SqlRow = Record<string, SqlValue>;

export interface RunOutcome {
  readonly lastId: number;
  readonly changes: number;
}

export interface ConnectionOptions {
  readonly readOnly?: boolean;
  readonly busyTimeoutMs: number;
  /** Where to load `@vscode/sqlite3` from, in order (default: the one this build resolves). */
  readonly binding?: readonly BindingCandidate[];
}

const BUSY_RETRIES = 3;

function reasonOf(error: Error & { code?: unknown }): StorageFailure | undefined {
  // The driver reports extended codes (SQLITE_CONSTRAINT_UNIQUE, SQLITE_IOERR_WRITE…): map by primary code.
  const primary = typeof error.code === 'string' ? error.code.split('_').slice(0, 2).join('_') : undefined;
  switch (primary) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return 'locked';
    case 'SQLITE_READONLY':
      return 'read_only';
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return 'corrupt';
    case 'SQLITE_CANTOPEN':
      return 'cannot_open';
    case 'SQLITE_FULL':
    case 'SQLITE_IOERR':
      return 'io';
    case 'SQLITE_CONSTRAINT':
      return 'conflict';
    case 'SQLITE_MISUSE':
      return 'closed';
    default:
      return undefined;
  }
}

const ADVICE: Record<StorageFailure, string> = {
  locked: 'another process holds a write lock; close other tools using the file and try again',
  read_only: 'the file or its folder is read-only; make it writable (journaling is paused until then)',
  corrupt: 'the file is damaged; move it aside to start a fresh journal (nothing was deleted)',
  cannot_open: 'check that the folder exists and is writable',
  newer_schema: 'it was written by a newer version of the extension; update the extension',
  closed: 'the database was already closed',
  io: 'a disk error occurred (is the disk full?)',
  conflict: 'a row with the same identity already exists (another owner may have recorded it)',
  unavailable: 'the database could not be reached; it is retried',
  fenced: 'the lease passed to another owner; this run stopped without writing',
  denied: 'permission denied; check the file permissions',
};

/** Turn a driver error into a StorageError that says what, where and how to fix it. */
export function toStorageError(raw: unknown, file: string, operation: string): Error {
  const error = ensureError(raw) as Error & { code?: unknown };
  if (error instanceof StorageError) return error;
  const reason = reasonOf(error);
  if (reason === undefined) return new StorageError('io', `durable.db (${file}): ${operation} failed: ${error.message}`, { cause: error });
  const detail = reason === 'conflict' ? ` [${error.message}]` : '';
  // A foreign key names a row that is not there: not a duplicate, so not the duplicate's advice.
  const advice = error.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' ? 'it refers to an execution that does not exist (it may have been pruned)' : ADVICE[reason];
  return new StorageError(reason, `durable.db (${file}): ${operation} failed (${String(error.code)}): ${advice}${detail}`, { cause: error });
}

function toDriverParam(value: unknown): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value;
}

/** Connections currently open in this process (leak checks in tests and the extension's test API). */
let openConnections = 0;

export function openConnectionCount(): number {
  return openConnections;
}

export class SqliteConnection {
  private readonly statements = new Map<string, Promise<sqlite3.Statement>>();
  /** The same statements once prepared, for synchronous use. */
  private readonly prepared = new Map<string, sqlite3.Statement>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Operations started or waiting whose turn has not ended. */
  private pending = 0;
  private closed = false;

  private constructor(
    private readonly db: sqlite3.Database,
    readonly file: string,
    /** The module this connection runs on (logged by the extension). */
    readonly binding: SqliteBinding,
  ) {}

  static async open(file: string, options: ConnectionOptions): Promise<SqliteConnection> {
    const binding = await chooseBinding(options.binding ?? [RESOLVED_BINDING]);
    const sqlite3 = binding.driver;
    const mode = options.readOnly ? sqlite3.OPEN_READONLY : sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE;
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(file, mode, (err) => {
        if (err) {
          reject(toStorageError(err, file, 'open'));
          return;
        }
        db.configure('busyTimeout', options.busyTimeoutMs);
        openConnections++;
        resolve(new SqliteConnection(db, file, binding));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Run `fn` alone on the connection (FIFO with every other operation). */
  exclusive<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed) throw new StorageError('closed', `durable.db (${this.file}): ${operation} after close`);
      try {
        return await fn();
      } catch (error) {
        throw toStorageError(error, this.file, operation);
      }
    };
    // An idle connection starts the operation now; otherwise it waits its turn.
    const idle = this.pending === 0;
    this.pending++;
    const result = idle ? run() : this.queue.then(run, run);
    this.queue = result.then(
      () => void this.pending--,
      () => void this.pending--,
    );
    return result;
  }

  /**
   * `BEGIN IMMEDIATE … COMMIT` around `fn`, alone on the connection, rolled back
   * on any error. Retried a few times when SQLite reports a busy database that its
   * busy handler could not wait out.
   */
  transaction<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.exclusive(operation, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.rawRun('BEGIN IMMEDIATE');
        } catch (error) {
          if (attempt < BUSY_RETRIES && reasonOf(ensureError(error)) === 'locked') continue;
          throw error;
        }
        try {
          const value = await fn();
          await this.rawRun('COMMIT');
          return value;
        } catch (error) {
          await this.rawRun('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
    });
  }

  /** Statement helpers for use inside `exclusive`/`transaction` (they do not queue). */
  run(sql: string, params: readonly unknown[] = []): Promise<RunOutcome> {
    const exec = (stmt: sqlite3.Statement): Promise<RunOutcome> =>
      new Promise<RunOutcome>((resolve, reject) => {
        stmt.run(params.map(toDriverParam), function (this: sqlite3.RunResult, err: Error | null) {
          // A statement that failed is reset at once: SQLite keeps one that got SQLITE_BUSY active
          // (so it can be retried), and while it is, every later COMMIT here fails "SQL statements
          // in progress". Inside a transaction the ROLLBACK ended it; an autocommit append has none.
          if (err) stmt.reset(() => reject(err));
          else resolve({ lastId: this.lastID, changes: this.changes });
        });
      });
    // A statement prepared before is used at once: a guarded step's commits pay no extra hop.
    const ready = this.prepared.get(sql);
    return ready ? exec(ready) : this.statement(sql).then(exec);
  }

  /**
   * First row only. The statement is reset afterwards: a cached statement left
   * mid-result would hold a read snapshot open on the connection, which makes
   * the next write fail with SQLITE_BUSY_SNAPSHOT and stops WAL checkpoints.
   */
  get<R extends SqlRow>(sql: string, params: readonly unknown[] = []): Promise<R | undefined> {
    return this.statement(sql).then(
      (stmt) =>
        new Promise<R | undefined>((resolve, reject) => {
          stmt.get(params.map(toDriverParam), (err: Error | null, row?: R) => {
            stmt.reset(() => (err ? reject(err) : resolve(row)));
          });
        }),
    );
  }

  all<R extends SqlRow>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.statement(sql).then(
      (stmt) =>
        new Promise<R[]>((resolve, reject) => {
          stmt.all(params.map(toDriverParam), (err: Error | null, rows: R[]) => (err ? reject(err) : resolve(rows)));
        }),
    );
  }

  /** Several statements without parameters (migrations, pragmas); not cached. */
  execScript(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  /** A one-off statement (pragmas whose text varies); not cached. */
  rawAll<R extends SqlRow>(sql: string): Promise<R[]> {
    return new Promise((resolve, reject) => this.db.all(sql, (err: Error | null, rows: R[]) => (err ? reject(err) : resolve(rows))));
  }

  /**
   * Transaction control. `exec` is one trip to the pool thread; the driver's
   * `Database.run` prepares and runs a new statement each time (two trips,
   * one after the other) and then finalizes it.
   */
  private rawRun(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err: Error | null) => (err ? reject(err) : resolve())));
  }

  private statement(sql: string): Promise<sqlite3.Statement> {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = new Promise<sqlite3.Statement>((resolve, reject) => {
        const prepared = this.db.prepare(sql, (err: Error | null) => {
          if (err) return reject(err);
          this.prepared.set(sql, prepared);
          resolve(prepared);
        });
      });
      // A failed prepare is not cached, so a transient error (locked schema) can be retried.
      stmt.catch(() => this.statements.delete(sql));
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Finalize every statement and close. Idempotent; waits for queued work first. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    const prepared = await Promise.allSettled(this.statements.values());
    this.statements.clear();
    this.prepared.clear();
    await Promise.all(
      prepared.map((p) => (p.status === 'fulfilled' ? new Promise<void>((resolve) => p.value.finalize(() => resolve())) : undefined)),
    );
    await new Promise<void>((resolve, reject) =>
      this.db.close((err) => {
        if (err) return reject(toStorageError(err, this.file, 'close'));
        openConnections--;
        resolve();
      }),
    );
  }
}
