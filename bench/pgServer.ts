// The PostgreSQL server of the postgres group: the one named in
// DURABLE_BENCH_PG_URL, or a private one started for the run by
// `node scripts/postgres.mjs start --name bench` (a child process: that script
// is an ES module and this bench is bundled to CommonJS), stopped at the end.
// Every schema and database the group makes is fresh, and dropped afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { root } from './harness';

/** Every statement of a raw client, and every connect, gives up after this. */
export const PG_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 180_000; // the first start may install Debian's package and run initdb
const STOP_TIMEOUT_MS = 30_000;

export interface PgServer {
  readonly url: string;
  /** Where the URL came from, for the log. */
  readonly origin: string;
  stop(): Promise<void>;
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM'); // the script stops its server (fast shutdown) and exits
  if (await exited(child, STOP_TIMEOUT_MS)) return;
  child.kill('SIGKILL'); // its exit hook would have killed the cluster; this is the last resort
  await exited(child, 5_000);
}

function startChild(): Promise<PgServer> {
  const child = spawn(process.execPath, [join(root, 'scripts', 'postgres.mjs'), 'start', '--name', 'bench'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise<PgServer>((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stopChild(child).finally(() => reject(new Error(`${why}; scripts/postgres.mjs said:\n${output.slice(-3000)}`)));
    };
    const timer = setTimeout(() => fail(`the bench PostgreSQL server did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const url = /^postgres:\/\/\S+$/m.exec(output)?.[0];
      if (url && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ url, origin: `started by scripts/postgres.mjs (pid ${child.pid})`, stop: () => stopChild(child) });
      }
    };
    // Both streams stay drained for the child's whole life, so it never blocks on a full pipe.
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', (error) => fail(`could not run scripts/postgres.mjs: ${error.message}`));
    child.once('exit', (code, signal) => fail(`scripts/postgres.mjs exited (${code ?? signal}) before printing the server's URL`));
  });
}

/** The server named by DURABLE_BENCH_PG_URL (left running), or a private one for this run. */
export async function startServer(): Promise<PgServer> {
  const given = process.env.DURABLE_BENCH_PG_URL;
  if (given) return { url: given, origin: 'DURABLE_BENCH_PG_URL', stop: async () => undefined };
  return startChild();
}

/** A name no other run uses: `prefix_` and 16 hex digits. */
export function freshName(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}

/** The same server, another database. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A connected raw client (optionally on `schema`) whose every wait is bounded. */
export async function rawClient(url: string, schema?: string): Promise<Client> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: PG_TIMEOUT_MS,
    statement_timeout: PG_TIMEOUT_MS,
    query_timeout: PG_TIMEOUT_MS + 5_000,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An error on an idle client would otherwise crash the process.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Run `fn` with a raw client, ended afterwards. */
export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>, schema?: string): Promise<T> {
  const client = await rawClient(url, schema);
  try {
    return await fn(client);
  } finally {
    await within(client.end(), PG_TIMEOUT_MS, 'closing a raw PostgreSQL client').catch(() => undefined);
  }
}

/** Drop what the group made; reports instead of throwing, so one leftover does not hide the others. */
export async function dropAll(url: string, schemas: readonly string[], databases: readonly string[]): Promise<void> {
  await withClient(url, async (client) => {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((e: Error) => console.warn(`could not drop schema ${schema}: ${e.message}`));
    for (const db of databases) await client.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).catch((e: Error) => console.warn(`could not drop database ${db}: ${e.message}`));
  });
}
