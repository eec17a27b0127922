// Baselines every comparison is measured against, in the same run on the same
// machine: the storage floor of @vscode/sqlite3 (multi-row inserts in one
// transaction, no crypto, no writer; a single-row synchronous=FULL commit; pairs
// of them; grouped commits of 64 callers; segmented reads), and
// better-sqlite3 (the fastest binding) inserting the same rows.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as sqlite3 from '@vscode/sqlite3';
import Database from 'better-sqlite3';
import { loadMigrations } from '../src/durable/store/sqlite/migrations';
import { root } from './harness';

/** Our schema, so the floor pays for the same table and indexes as the journal. */
function schemaSql(): string {
  return loadMigrations(join(root, 'migrations', 'sqlite'))
    .map((m) => m.sql)
    .join('\n');
}

const COLUMNS = 'execution_id, attempt, step_id, kind, step_name, effect, idem_key, body, mac, size, created_at';
const EXEC = '0190a000-0000-7000-8000-000000000001';

function rowValues(i: number, body: Buffer): unknown[] {
  return [EXEC, 1, i, 'step_result', 'bench', 'idempotent', keyOf(i), body, null, body.length, Date.now()];
}

/**
 * Row `i`'s idempotency key: distinct and uniformly spread like the journal's
 * BLAKE3 keys. One shared key would keep every insert into the key index on
 * the same page and flatter the floor (a 64-row commit then writes one index
 * page instead of up to 64). Cached, so the floors do not time the hashing.
 */
const keys: Buffer[] = [];
export function keyOf(i: number): Buffer {
  while (keys.length <= i) keys.push(createHash('sha256').update(`bench row ${keys.length}`).digest());
  return keys[i];
}

/** Compute the keys of rows [0, n) before a timed loop. */
export function warmKeys(n: number): void {
  keyOf(n - 1);
}

function run(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, params, (e: Error | null) => (e ? reject(e) : resolve())));
}

function exec(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (e) => (e ? reject(e) : resolve())));
}

async function openRaw(file: string): Promise<sqlite3.Database> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, (e) => (e ? reject(e) : resolve(d)));
  });
  await exec(db, 'PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;');
  await exec(db, schemaSql());
  await run(db, `INSERT INTO executions (id, kind, version, title, status, created_at, updated_at) VALUES (?, 'bench', 1, 'bench', 'running', 0, 0)`, [EXEC]);
  return db;
}

/** Rows per second: `n` journal rows with `payloadBytes` bodies, 256 rows per INSERT, one transaction. */
export async function rawMultiRowInsert(dir: string, n: number, payloadBytes: number): Promise<number> {
  const db = await openRaw(join(dir, `raw-multi-${Date.now()}-${Math.random()}.db`));
  try {
    const body = Buffer.alloc(payloadBytes + 49, 7); // a sealed body is 49 bytes longer (key id, nonce, tag)
    warmKeys(n);
    const CHUNK = 256;
    const placeholders = Array(CHUNK).fill(`(${Array(11).fill('?').join(',')})`).join(',');
    const stmt = db.prepare(`INSERT INTO journal (${COLUMNS}) VALUES ${placeholders}`);
    const t0 = performance.now();
    await exec(db, 'BEGIN IMMEDIATE');
    for (let i = 0; i < n; i += CHUNK) {
      const params: unknown[] = [];
      for (let j = 0; j < CHUNK; j++) params.push(...rowValues(i + j, body));
      await new Promise<void>((resolve, reject) => stmt.run(params, (e: Error | null) => (e ? reject(e) : resolve())));
    }
    await exec(db, 'COMMIT');
    const seconds = (performance.now() - t0) / 1000;
    await new Promise<void>((resolve) => stmt.finalize(() => resolve()));
    return n / seconds;
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/** Milliseconds per committed single-row transaction (autocommit, WAL, synchronous=FULL), sorted. */
export async function rawSingleRowCommits(dir: string, n: number): Promise<number[]> {
  const db = await openRaw(join(dir, `raw-single-${Date.now()}-${Math.random()}.db`));
  try {
    const body = Buffer.alloc(300, 7);
    warmKeys(n);
    const stmt = db.prepare(`INSERT INTO journal (${COLUMNS}) VALUES (${Array(11).fill('?').join(',')})`);
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => stmt.run(rowValues(i, body), (e: Error | null) => (e ? reject(e) : resolve())));
      times.push(performance.now() - t0);
    }
    await new Promise<void>((resolve) => stmt.finalize(() => resolve()));
    return times.sort((a, b) => a - b);
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/** better-sqlite3, same schema, same rows, same chunking, one transaction. Rows per second. */
export function betterSqliteMultiRowInsert(dir: string, n: number, payloadBytes: number): number {
  const db = new Database(join(dir, `better-${Date.now()}-${Math.random()}.db`));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(schemaSql());
    db.prepare(`INSERT INTO executions (id, kind, version, title, status, created_at, updated_at) VALUES (?, 'bench', 1, 'bench', 'running', 0, 0)`).run(EXEC);
    const body = Buffer.alloc(payloadBytes + 49, 7);
    warmKeys(n);
    const CHUNK = 256;
    const stmt = db.prepare(`INSERT INTO journal (${COLUMNS}) VALUES ${Array(CHUNK).fill(`(${Array(11).fill('?').join(',')})`).join(',')}`);
    const t0 = performance.now();
    db.transaction(() => {
      for (let i = 0; i < n; i += CHUNK) {
        const params: unknown[] = [];
        for (let j = 0; j < CHUNK; j++) params.push(...rowValues(i + j, body));
        stmt.run(params);
      }
    })();
    return n / ((performance.now() - t0) / 1000);
  } finally {
    db.close();
  }
}

/** Milliseconds per pair of single-row FULL commits made one after the other (a guarded step's intent and result, raw), sorted. */
export async function rawCommitPairs(dir: string, pairs: number): Promise<number[]> {
  const db = await openRaw(join(dir, `raw-pairs-${Date.now()}-${Math.random()}.db`));
  try {
    const body = Buffer.alloc(300, 7);
    warmKeys(2 * pairs);
    const stmt = db.prepare(`INSERT INTO journal (${COLUMNS}) VALUES (${Array(11).fill('?').join(',')})`);
    const insert = (i: number): Promise<void> => new Promise<void>((resolve, reject) => stmt.run(rowValues(i, body), (e: Error | null) => (e ? reject(e) : resolve())));
    const times: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const t0 = performance.now();
      await insert(2 * i);
      await insert(2 * i + 1);
      times.push(performance.now() - t0);
    }
    await new Promise<void>((resolve) => stmt.finalize(() => resolve()));
    return times.sort((a, b) => a - b);
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/**
 * The raw floor of `callers` concurrent guarded operations: each round commits
 * every caller's first row in one multi-row FULL transaction, then every
 * caller's second row in another (the best grouping a raw driver can do for
 * callers that each need two durable commits in order). Pairs per second.
 */
export async function rawGroupedCommits(dir: string, callers: number, rounds: number): Promise<number> {
  const db = await openRaw(join(dir, `raw-grouped-${Date.now()}-${Math.random()}.db`));
  try {
    const body = Buffer.alloc(300, 7);
    warmKeys(2 * callers * rounds);
    const stmt = db.prepare(`INSERT INTO journal (${COLUMNS}) VALUES ${Array(callers).fill(`(${Array(11).fill('?').join(',')})`).join(',')}`);
    let next = 0;
    const commitAll = async (): Promise<void> => {
      const params: unknown[] = [];
      for (let c = 0; c < callers; c++) params.push(...rowValues(next++, body));
      await exec(db, 'BEGIN IMMEDIATE');
      await new Promise<void>((resolve, reject) => stmt.run(params, (e: Error | null) => (e ? reject(e) : resolve())));
      await exec(db, 'COMMIT');
    };
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      await commitAll();
      await commitAll();
    }
    const seconds = (performance.now() - t0) / 1000;
    await new Promise<void>((resolve) => stmt.finalize(() => resolve()));
    return (callers * rounds) / seconds;
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/** What a raw read takes: every column of the row, or the columns replay uses. */
export type ReadColumns = 'full rows' | 'replay columns';
const READ_SQL: Record<ReadColumns, string> = {
  'full rows': 'SELECT * FROM journal WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?',
  'replay columns': 'SELECT seq, step_id, kind, step_name, effect, idem_key, body, mac FROM journal WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?',
};

/**
 * Read one execution's rows from an existing journal file in keyset segments
 * with the driver alone (no decoding, no copies, no crypto). Returns the
 * milliseconds of the read (opening the file excluded) and the rows read.
 */
export async function rawSegmentedRead(file: string, executionId: string, columns: ReadColumns, segment = 512): Promise<{ ms: number; rows: number }> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (e) => (e ? reject(e) : resolve(d)));
  });
  try {
    const stmt = db.prepare(READ_SQL[columns]);
    const t0 = performance.now();
    let rows = 0;
    let after = 0;
    for (;;) {
      const page = await new Promise<Array<{ seq: number }>>((resolve, reject) =>
        stmt.all([executionId, after, segment], (e: Error | null, r: Array<{ seq: number }>) => (e ? reject(e) : resolve(r))),
      );
      rows += page.length;
      if (page.length > 0) after = page[page.length - 1].seq;
      if (page.length < segment) break;
    }
    const ms = performance.now() - t0;
    await new Promise<void>((resolve) => stmt.finalize(() => resolve()));
    return { ms, rows };
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}
