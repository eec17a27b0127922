/**
 * One pool of `pg` (node-postgres) connections to the shared journal.
 *
 * - A transaction runs on one pooled client; statements issued inside it (also
 *   by a sibling store, such as the session events of an import) find that
 *   client through AsyncLocalStorage instead of taking another.
 * - A statement that could not reach the server (no connection, the server
 *   restarting) was never sent, so it is retried with backoff; one that failed
 *   mid-flight is reported, because it may have committed.
 * - SQLSTATEs become StorageError reasons the UI can explain; messages name the
 *   server without its password.
 * - Statements with parameters are prepared by name, once per connection
 *   (`preparedStatements`, on by default): the server parses and plans the
 *   append once instead of at every step. A server connection that does not
 *   hold a name the driver believes it does (a transaction-mode pooler that
 *   does not track them, `DEALLOCATE` by someone else, a migration that changed
 *   a table's columns) fails the statement before it runs; the pool then stops
 *   naming and sends it again unnamed (a transaction is rolled back and
 *   retried whole), with one warning in the log.
 * - A statement or transaction runs on the connection the previous one used
 *   when it is free (pgHotClient.ts): a guarded step's two appends skip the
 *   pool's checkout and its idle timers.
 * - The driver loads at the first open, not when the extension activates.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Pool, PoolClient, PoolConfig, QueryResultRow } from 'pg';
import { ensureError, StorageError, type StorageFailure } from '../../model/errors';
import { HotClient } from './pgHotClient';

type Driver = typeof import('pg');
let driver: Driver | undefined;

function loadDriver(): Driver {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use on purpose
  driver ??= require('pg') as Driver;
  return driver;
}

export interface PgConnectionOptions {
  /** `postgres://user@host:port/db` (a password in it works, but settings should not hold one). */
  readonly connectionString: string;
  /** From SecretStorage or the environment, never from settings. */
  readonly password?: string;
  /** A schema of its own (tests); `public` otherwise. */
  readonly schema?: string;
  readonly poolSize?: number;
  readonly connectTimeoutMs?: number;
  /** Server-side limit per statement; the client gives up a little later (a stalled network). */
  readonly statementTimeoutMs?: number;
  /**
   * How long a statement waits for a row or table lock before it fails as
   * 'locked' (and is retried with backoff by the writer), like SQLite's busy
   * timeout: a statement never sits on a lock past the writer's ack timeout.
   */
  readonly lockTimeoutMs?: number;
  readonly applicationName?: string;
  /** Name parameterized statements so the server keeps them parsed (default true; off behind PgBouncer in transaction mode before 1.21). */
  readonly preparedStatements?: boolean;
  readonly warn?: (message: string) => void;
}

export type PgValue = string | number | boolean | null | Buffer | readonly unknown[];

const CONNECT_RETRIES = 4;

/**
 * Errors that say a named statement met a server connection that does not hold
 * it as the driver thinks: 26000 (does not exist), 42P05 (already exists), and
 * 0A000 "cached plan must not change result type". Each is raised before the
 * statement runs, so sending it again is safe.
 */
function isNameMismatch(error: Error & { code?: unknown }): boolean {
  return error.code === '26000' || error.code === '42P05' || (error.code === '0A000' && /cached plan must not change result type/i.test(error.message));
}

/** Errors raised by a named statement that never ran: sent again unnamed (see `isNameMismatch`). */
const unnamedRetry = new WeakSet<Error>();

/** Distinct statement texts named per process; past it (never, with this store's fixed statements) statements go unnamed. */
const MAX_NAMED = 200;
const statementNames = new Map<string, string>();

function statementName(sql: string): string | undefined {
  let name = statementNames.get(sql);
  if (name === undefined && statementNames.size < MAX_NAMED) statementNames.set(sql, (name = `durable_${statementNames.size + 1}`));
  return name;
}

/** The server as messages may name it: user, host, port and database, no password. */
export function describeServer(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `postgres://${url.username ? `${decodeURIComponent(url.username)}@` : ''}${url.host}${url.pathname}`;
  } catch {
    return 'the PostgreSQL server (its connection string does not parse as a URL)';
  }
}

function reasonOf(error: Error & { code?: unknown }): StorageFailure | undefined {
  const code = typeof error.code === 'string' ? error.code : '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN'].includes(code)) return 'unavailable';
  if (/Connection terminated|timeout exceeded when trying to connect|Connection ended|Client has encountered a connection error/i.test(error.message)) return 'unavailable';
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '57014') return 'unavailable';
  if (code === '28P01' || code === '28000' || code === '42501') return 'denied';
  if (code === '3D000') return 'cannot_open';
  if (code === '25006') return 'read_only';
  if (code.startsWith('53')) return 'io';
  if (code === '40001' || code === '40P01' || code === '55P03') return 'locked';
  if (code.startsWith('23')) return 'conflict';
  if (code === 'XX001' || code === 'XX002') return 'corrupt';
  return undefined;
}

const ADVICE: Partial<Record<StorageFailure, string>> = {
  unavailable: 'the server cannot be reached or went away; nothing committed is lost, and the journal retries with backoff',
  denied: 'the server refused the role: check the user name, the password (Durable Sessions: Set PostgreSQL Password) and the role\'s rights on the database',
  cannot_open: 'the database does not exist: create it (createdb) or fix the connection string',
  read_only: 'the server is read-only (a standby?): point the connection string at the primary',
  io: 'the server is out of disk space or memory: free space on the server',
  locked: 'a concurrent transaction held the rows; it is retried',
  conflict: 'a row with the same identity already exists (another owner may have recorded it)',
  corrupt: 'the server reports damaged data: ask its administrator to check it',
};

const NAME_MISMATCH_ADVICE =
  'a named statement met a server connection that does not hold it (a pooler in transaction mode that does not track them?): turn off durableSessions.postgres.preparedStatements, or set max_prepared_statements on PgBouncer 1.21 or later';

/** Turn a driver error into a StorageError that says what, where and how to fix it. */
export function toStorageError(raw: unknown, where: string, operation: string): Error {
  const error = ensureError(raw) as Error & { code?: unknown };
  if (error instanceof StorageError) return error;
  const mapped = reasonOf(error);
  const reason = mapped ?? 'io';
  const code = typeof error.code === 'string' ? ` (${error.code})` : '';
  // A foreign key names a row that is not there: not a duplicate, so not the duplicate's advice.
  // An unmapped code is reported as 'io' but not with the disk-space advice: that would be a guess.
  const advice =
    error.code === '23503'
      ? 'it refers to an execution that does not exist (it may have been pruned)'
      : isNameMismatch(error)
        ? NAME_MISMATCH_ADVICE
        : mapped
          ? (ADVICE[mapped] ?? 'see the log')
          : 'the server refused it (see its message)';
  const detail = reason === 'conflict' ? ` [${error.message}]` : `: ${error.message}`;
  return new StorageError(reason, `${where}: ${operation} failed${code}: ${advice}${detail}`, { cause: error });
}

function toParam(value: unknown): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(toParam);
  return value;
}

/** Clients with our error listener (one each, however often the pool hands them out). */
const listened = new WeakSet<PoolClient>();

/**
 * Whether a failed statement left its connection unusable: the server went
 * away, or the driver gave up waiting (its query timeout leaves the server
 * still working on the statement), so it is destroyed, never reused.
 */
function leftBroken(failure: unknown): boolean {
  if (!(failure instanceof StorageError)) return false;
  return failure.reason === 'unavailable' || /Query read timeout/i.test(failure.message);
}

/** Pools currently open in this process (leak checks in tests). */
let openPools = 0;
export function openPoolCount(): number {
  return openPools;
}

export class PgConnection {
  private readonly scope = new AsyncLocalStorage<PoolClient>();
  /** Transactions running now: the scope is enabled only while one is (see `transaction`). */
  private openTransactions = 0;
  private closed = false;
  private readonly hot: HotClient;
  /** Cleared for good at the first name mismatch (see `isNameMismatch`). */
  private naming: boolean;

  private constructor(
    private readonly pool: Pool,
    readonly where: string,
    private readonly options: PgConnectionOptions,
  ) {
    this.naming = options.preparedStatements ?? true;
    // No log of its own: a kept client's failure is logged by its own listener (`listenWhileCheckedOut`).
    this.hot = new HotClient(where, undefined, () => pool.waitingCount);
  }

  /** Whether statements are still prepared by name (false when turned off, or after a mismatch). */
  get namesStatements(): boolean {
    return this.naming;
  }

  /** Connect once to prove the server, the role and the database answer (clear errors at open, not later). */
  static async open(options: PgConnectionOptions): Promise<PgConnection> {
    const where = describeServer(options.connectionString);
    let pg: Driver;
    try {
      pg = loadDriver();
    } catch (error) {
      throw new StorageError('cannot_open', `${where}: the PostgreSQL driver (pg) could not be loaded: ${ensureError(error).message}`, { cause: error });
    }
    const statementTimeout = options.statementTimeoutMs ?? 15_000;
    const config: PoolConfig = {
      connectionString: options.connectionString,
      ...(options.password !== undefined ? { password: options.password } : {}),
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      statement_timeout: statementTimeout,
      query_timeout: statementTimeout + 5_000,
      application_name: options.applicationName ?? 'durable-agent-sessions',
      options: [`-c lock_timeout=${options.lockTimeoutMs ?? 5_000}`, ...(options.schema ? [`-c search_path=${options.schema}`] : [])].join(' '),
    };
    const pool = new pg.Pool(config);
    // An idle client whose server went away emits here; without a listener the process would crash.
    // The line in the log comes from the listener every client gets at its first checkout (`listenWhileCheckedOut`).
    pool.on('error', () => undefined);
    openPools++;
    const conn = new PgConnection(pool, where, options);
    try {
      await conn.query('connect', 'SELECT 1 AS ok');
      return conn;
    } catch (error) {
      await conn.close();
      throw error;
    }
  }

  get schema(): string {
    return this.options.schema ?? 'public';
  }

  /** A statement; inside `transaction` it runs on the transaction's client. */
  async query<R extends QueryResultRow = QueryResultRow>(operation: string, sql: string, params: readonly unknown[] = []): Promise<R[]> {
    const inside = this.scope.getStore();
    if (inside) return this.send<R>(inside, operation, sql, params);
    for (let attempt = 1; ; attempt++) {
      const client = this.hot.take() ?? (await this.connect(operation));
      let failure: unknown;
      try {
        return await this.send<R>(client, operation, sql, params);
      } catch (error) {
        failure = error;
        // It never ran, and naming is now off: the second send goes unnamed.
        if (attempt === 1 && error instanceof Error && unnamedRetry.has(error)) continue;
        throw error;
      } finally {
        this.hot.giveBack(client, leftBroken(failure));
      }
    }
  }

  /** BEGIN … COMMIT on one client, rolled back on any error; retried when the server reports a serialization failure or deadlock. */
  async transaction<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.scope.getStore()) return fn(); // nested: part of the caller's transaction
    this.openTransactions++;
    try {
      return await this.transactionAttempts(operation, fn);
    } finally {
      // An enabled AsyncLocalStorage makes Node track every promise of the process (the whole
      // extension host's): up to ≈ 11 µs of a guarded step's profile, though a guarded step
      // runs no transaction. With none open, nothing reads the scope, so it is switched off;
      // the next `run` switches it on again. (It saves that only where no other AsyncLocalStorage
      // or async hook is on in the process, and Node 24's AsyncLocalStorage tracks no promises.)
      if (--this.openTransactions === 0) this.scope.disable();
    }
  }

  private async transactionAttempts<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = this.hot.take() ?? (await this.connect(operation));
      let broken = false;
      try {
        await this.send(client, operation, 'BEGIN');
        const value = await this.scope.run(client, fn);
        await this.send(client, operation, 'COMMIT');
        return value;
      } catch (raw) {
        const error = toStorageError(raw, this.where, operation);
        broken = leftBroken(error);
        if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
        if (error instanceof StorageError && error.reason === 'locked' && attempt < 3) continue;
        if (unnamedRetry.has(error) && attempt < 3) continue; // rolled back whole; the retry sends its statements unnamed
        throw error;
      } finally {
        // A client that could not even roll back is discarded, not returned to the pool.
        this.hot.giveBack(client, broken);
      }
    }
  }

  /** A dedicated client outside the pool (LISTEN needs one that stays connected). */
  async dedicatedClient(): Promise<import('pg').Client> {
    const pg = loadDriver();
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      ...(this.options.password !== undefined ? { password: this.options.password } : {}),
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5_000,
      keepAlive: true,
      application_name: `${this.options.applicationName ?? 'durable-agent-sessions'} (hints)`,
    });
    await client.connect();
    return client;
  }

  private async connect(operation: string): Promise<PoolClient> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new StorageError('closed', `${this.where}: ${operation} after close`);
      try {
        const client = await this.pool.connect();
        this.listenWhileCheckedOut(client);
        return client;
      } catch (raw) {
        const error = toStorageError(raw, this.where, operation);
        // Nothing was sent: safe to retry whatever the statement is.
        if (!(error instanceof StorageError) || error.reason !== 'unavailable' || attempt >= CONNECT_RETRIES) throw error;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }

  /**
   * pg emits 'error' when the server drops a connection no statement is
   * running on; the pool listens only while the client is idle in it. Between
   * the statements of a transaction, or while kept by `HotClient`, nobody
   * would, and the event would crash the extension host. One line in the log
   * wherever the client is; the pool (idle), the keeper (kept) or the next
   * statement (failing as 'unavailable') then destroys it.
   */
  private listenWhileCheckedOut(client: PoolClient): void {
    if (listened.has(client)) return;
    listened.add(client);
    let reported = false;
    client.on('error', (error: Error) => {
      // pg reports a drop twice (the server's message, then "Connection terminated unexpectedly"): one line.
      if (reported) return;
      reported = true;
      this.options.warn?.(`${this.where}: a connection failed: ${error.message}; it is closed, and the next statement takes another`);
    });
  }

  private async send<R extends QueryResultRow>(client: PoolClient, operation: string, sql: string, params: readonly unknown[] = []): Promise<R[]> {
    // Only statements with parameters: those are single statements (a migration's script is not) and come from this store's fixed texts.
    const name = this.naming && params.length > 0 ? statementName(sql) : undefined;
    try {
      const values = params.map(toParam);
      const result = name === undefined ? await client.query<R>(sql, values) : await client.query<R>({ name, text: sql, values });
      return result.rows;
    } catch (raw) {
      const error = toStorageError(raw, this.where, operation);
      if (name !== undefined && isNameMismatch(ensureError(raw))) {
        if (this.naming) this.options.warn?.(`${this.where}: ${operation}: ${ensureError(raw).message}; statements are sent unnamed from now on (durableSessions.postgres.preparedStatements)`);
        this.naming = false;
        unnamedRetry.add(error);
      }
      throw error;
    }
  }

  /** Close the pool (waits for checked-out clients to be released). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    openPools--;
    this.hot.close();
    await this.pool.end().catch((error: unknown) => this.options.warn?.(`${this.where}: closing the pool: ${ensureError(error).message}`));
  }
}
