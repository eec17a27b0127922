// The PostgreSQL floors of the postgres group, with raw `pg` on the same server
// in the same run: our own schema (migrations/postgres, so the floor pays for
// the same table, indexes and counter trigger as the journal), rows shaped like
// ours, no crypto, no writer, no fence check. A single-row INSERT in autocommit
// (one round trip, one WAL flush: the cheapest durable commit of a row), and
// multi-row single-statement INSERTs, each its own commit.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from 'pg';
import { loadMigrations } from '../src/durable/store/migrationFiles';
import { newExecutionId } from '../src/durable/model/ids';
import { root } from './harness';
import { withClient } from './pgServer';

const COLUMNS = 'execution_id, attempt, step_id, kind, step_name, effect, idem_key, body, mac, size, created_at';
const WIDTH = 11;

function rowValues(exec: string, i: number, body: Buffer, key: Buffer): unknown[] {
  return [exec, 1, i, 'step_result', 'bench', 'idempotent', key, body, null, body.length, Date.now()];
}

function placeholders(rows: number): string {
  return Array.from({ length: rows }, (_, r) => `(${Array.from({ length: WIDTH }, (_, c) => `$${r * WIDTH + c + 1}`).join(',')})`).join(',');
}

/** Create `schema` with our migrations applied, as the store would (without its bookkeeping). */
export async function prepareRawSchema(url: string, schema: string): Promise<void> {
  await withClient(
    url,
    async (client) => {
      await client.query(`CREATE SCHEMA "${schema}"`);
      for (const m of loadMigrations(join(root, 'migrations', 'postgres'))) await client.query(m.sql);
    },
    schema,
  );
}

async function newExecution(client: Client): Promise<string> {
  const exec = newExecutionId();
  await client.query(`INSERT INTO executions (id, kind, version, title, status, created_at, updated_at) VALUES ($1, 'bench', 1, 'bench', 'running', 0, 0)`, [exec]);
  return exec;
}

/** Milliseconds per committed single-row INSERT (autocommit, prepared), sorted. */
export function rawSingleRowCommits(url: string, schema: string, n: number): Promise<number[]> {
  return withClient(
    url,
    async (client) => {
      const exec = await newExecution(client);
      const body = Buffer.alloc(300, 7);
      const key = Buffer.alloc(32, 3);
      const text = `INSERT INTO journal (${COLUMNS}) VALUES ${placeholders(1)}`;
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await client.query({ name: 'single', text, values: rowValues(exec, i, body, key) });
        times.push(performance.now() - t0);
      }
      return times.sort((a, b) => a - b);
    },
    schema,
  );
}

/** Rows per second: `n` rows with sealed-size bodies for `payloadBytes`, `perStatement` rows per INSERT, each statement its own commit. */
export function rawMultiRowInserts(url: string, schema: string, n: number, payloadBytes: number, perStatement: number): Promise<number> {
  return withClient(
    url,
    async (client) => {
      const exec = await newExecution(client);
      const body = Buffer.alloc(payloadBytes + 49, 7); // a sealed body is 49 bytes longer (key id, nonce, tag)
      const key = Buffer.alloc(32, 3);
      const text = `INSERT INTO journal (${COLUMNS}) VALUES ${placeholders(perStatement)}`;
      const t0 = performance.now();
      for (let i = 0; i < n; i += perStatement) {
        const values: unknown[] = [];
        for (let j = 0; j < perStatement; j++) values.push(...rowValues(exec, i + j, body, key));
        await client.query({ name: `multi${perStatement}`, text, values });
      }
      return n / ((performance.now() - t0) / 1000);
    },
    schema,
  );
}

/** Milliseconds per pair of single-row autocommit INSERTs one after the other (a guarded step's two commits, raw), sorted. */
export function rawCommitPairs(url: string, schema: string, pairs: number): Promise<number[]> {
  return withClient(
    url,
    async (client) => {
      const exec = await newExecution(client);
      const body = Buffer.alloc(300, 7);
      const keys = Array.from({ length: 2 * pairs }, (_, i) => createHash('sha256').update(`bench row ${i}`).digest());
      const text = `INSERT INTO journal (${COLUMNS}) VALUES ${placeholders(1)}`;
      const times: number[] = [];
      for (let i = 0; i < pairs; i++) {
        const t0 = performance.now();
        await client.query({ name: 'single', text, values: rowValues(exec, 2 * i, body, keys[2 * i]) });
        await client.query({ name: 'single', text, values: rowValues(exec, 2 * i + 1, body, keys[2 * i + 1]) });
        times.push(performance.now() - t0);
      }
      return times.sort((a, b) => a - b);
    },
    schema,
  );
}
