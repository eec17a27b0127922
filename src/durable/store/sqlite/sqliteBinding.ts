/**
 * Which `@vscode/sqlite3` this process uses.
 *
 * The published package is universal: it carries no native binary. Every VS Code
 * (desktop, its remote server, code-server) ships its own `@vscode/sqlite3`,
 * built for exactly the runtime of its extension host, so that one comes first.
 * A platform-specific package adds a copy of its own as the fallback. Each
 * candidate is loaded, then probed for what the journal relies on (the SQL of
 * the migrations, write-ahead logging); the first that passes wins, and the
 * reasons the others failed are kept for the error a person reads when none does.
 * See docs/ARCHITECTURE.md, "Loading SQLite".
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as sqlite3 from '@vscode/sqlite3';
import { StorageError, ensureError } from '../../model/errors';

export type SqliteDriver = typeof import('@vscode/sqlite3');

/** 'host': the running VS Code's own module; 'bundled': the copy this extension carries. */
export type BindingSource = 'host' | 'bundled';

export interface BindingCandidate {
  readonly source: BindingSource;
  /** The module's folder (for messages and its package.json). */
  readonly where: string;
  /** Loads the module; throws when it is missing or does not load on this runtime. */
  readonly load: () => unknown;
}

export interface SqliteBinding {
  readonly driver: SqliteDriver;
  readonly source: BindingSource;
  readonly where: string;
  /** The module's own version ('unknown' when its package.json cannot be read). */
  readonly version: string;
  readonly sqliteVersion: string;
}

/** STRICT tables (3.37) are the newest SQL the migrations use; RETURNING (3.35) and upserts (3.24) are older. */
export const MIN_SQLITE_VERSION = '3.37.0';
const PROBE_TIMEOUT_MS = 5_000;

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a module chosen at run time, by path
const requireAt = (dir: string): unknown => require(dir);

function moduleAt(source: BindingSource, dir: string): BindingCandidate {
  return {
    source,
    where: dir,
    load: () => {
      // existsSync also sees into an asar archive when Electron's fs is in place.
      if (!existsSync(join(dir, 'package.json'))) throw new Error('not found');
      return requireAt(dir);
    },
  };
}

/**
 * The running VS Code's own module, in each layout its builds use: a plain
 * `node_modules` (the remote server, code-server, newer desktop builds) or the
 * `node_modules.asar` archive of desktop builds, whose native part Electron
 * reads from `node_modules.asar.unpacked`.
 */
export function hostBindingCandidates(appRoot: string): BindingCandidate[] {
  return [moduleAt('host', join(appRoot, 'node_modules', '@vscode', 'sqlite3')), moduleAt('host', join(appRoot, 'node_modules.asar', '@vscode', 'sqlite3'))];
}

/** The copy a platform-specific package carries next to its bundle (absent from the universal package). */
export function bundledBindingCandidate(extensionRoot: string): BindingCandidate {
  return moduleAt('bundled', join(extensionRoot, 'node_modules', '@vscode', 'sqlite3'));
}

/** Outside VS Code (tests, benchmarks, tools): whatever `@vscode/sqlite3` this build resolves. */
export const RESOLVED_BINDING: BindingCandidate = {
  source: 'bundled',
  where: '@vscode/sqlite3 (resolved from the build)',
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use on purpose (a native module)
  load: () => require('@vscode/sqlite3') as unknown,
};

/** What a person reads about the binding in the log. */
export function describeBinding(binding: SqliteBinding): string {
  const whose = binding.source === 'host' ? "VS Code's own" : 'the bundled copy of';
  return `${whose} @vscode/sqlite3 ${binding.version} (${binding.where}), SQLite ${binding.sqliteVersion}`;
}

/** No candidate loaded and passed the probe: says what was tried and what to do. */
export class NoSqliteBindingError extends StorageError {
  constructor(readonly attempts: readonly string[]) {
    super(
      'cannot_open',
      `no usable SQLite binding for durable.db. Tried: ${attempts.join('; ') || 'nothing'}. ` +
        'Update VS Code, or install the platform-specific package of Durable Sessions for this machine, ' +
        'or share the journal on PostgreSQL (setting durableSessions.store); nothing was written, and sessions recorded so far are kept',
    );
    this.name = 'NoSqliteBindingError';
  }
}

function isDriver(value: unknown): value is SqliteDriver {
  const candidate = value as Partial<SqliteDriver> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.Database === 'function' &&
    typeof candidate.OPEN_READWRITE === 'number' &&
    typeof candidate.OPEN_CREATE === 'number' &&
    typeof candidate.OPEN_READONLY === 'number'
  );
}

export function compareVersions(a: string, b: string): number {
  const parts = (v: string): number[] => v.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function all(db: sqlite3.Database, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => db.all(sql, (err: Error | null, rows: Record<string, unknown>[]) => (err ? reject(err) : resolve(rows))));
}

/** Resolves with SQLite's version when the binding can run the journal; rejects with why not. */
async function probe(driver: SqliteDriver): Promise<string> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened: sqlite3.Database = new driver.Database(':memory:', driver.OPEN_READWRITE | driver.OPEN_CREATE, (err) => (err ? reject(err) : resolve(opened)));
  });
  try {
    const [row] = await all(db, 'SELECT sqlite_version() AS v');
    const version = String(row?.v ?? '');
    if (compareVersions(version, MIN_SQLITE_VERSION) < 0) throw new Error(`SQLite ${version || '(unknown)'} is older than ${MIN_SQLITE_VERSION}, which the journal's schema needs`);
    const options = (await all(db, 'PRAGMA compile_options')).map((r) => String(Object.values(r)[0]));
    if (options.includes('OMIT_WAL')) throw new Error(`SQLite ${version} was built without write-ahead logging`);
    // The SQL the migrations and the store use, run once: a build that lacks any of it fails here, not mid-session.
    await all(db, 'CREATE TEMP TABLE probe (k INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT');
    const returned = await all(db, "INSERT INTO probe (k, v) VALUES (1, 'a') ON CONFLICT (k) DO UPDATE SET v = excluded.v RETURNING k");
    if (returned.length !== 1) throw new Error(`SQLite ${version} did not return the inserted row (RETURNING)`);
    return version;
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function versionAt(dir: string): string {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The first candidate that loads and passes the probe. Throws NoSqliteBindingError listing every attempt. */
export async function loadSqliteBinding(candidates: readonly BindingCandidate[]): Promise<SqliteBinding> {
  const attempts: string[] = [];
  for (const candidate of candidates) {
    const label = `${candidate.source === 'host' ? "VS Code's own" : 'bundled'} at ${candidate.where}`;
    try {
      const loaded = candidate.load();
      if (!isDriver(loaded)) throw new Error('it is not an @vscode/sqlite3 module (no Database class)');
      const sqliteVersion = await withTimeout(probe(loaded), PROBE_TIMEOUT_MS, 'the capability check');
      const version = candidate === RESOLVED_BINDING ? 'of this build' : versionAt(candidate.where);
      return { driver: loaded, source: candidate.source, where: candidate.where, version, sqliteVersion };
    } catch (error) {
      attempts.push(`${label}: ${ensureError(error).message.split('\n')[0]}`);
    }
  }
  throw new NoSqliteBindingError(attempts);
}
