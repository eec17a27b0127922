// The PostgreSQL peer: DBOS Transact TS running a two-step workflow (each step
// a trivial function, checkpointed by DBOS) on the same server as ours, with a
// system database of its own that it creates at launch (dropped by the caller).
//
// DBOS is loaded at run time from node_modules, not bundled: esbuild cannot
// bundle it (it requires OpenTelemetry and winston packages that are optional
// and not installed), and loading it as published is the fairer peer anyway.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { DBOS as DbosApi } from '@dbos-inc/dbos-sdk';
import { root } from './harness';
import { databaseUrl, within } from './pgServer';

type Dbos = typeof DbosApi;

/** A launched DBOS with the two-step workflow registered, or why it could not be had. */
export type DbosPeer =
  | {
      readonly ok: true;
      readonly version: string;
      /** One workflow on input `n`; its latency in ms. */
      once(n: number): Promise<number>;
      /** One workflow of `STEPS_PER_WORKFLOW` steps; milliseconds per step. */
      perStep(n: number): Promise<number>;
      close(): Promise<void>;
    }
  | { readonly ok: false; readonly reason: string };

const LAUNCH_TIMEOUT_MS = 60_000;
/** Steps in the workflow that measures the time per step (workflow start and end amortized). */
export const STEPS_PER_WORKFLOW = 50;
const WORKFLOW_TIMEOUT_MS = 30_000;
const SHUTDOWN_TIMEOUT_MS = 30_000;

function load(): { DBOS: Dbos; version: string } {
  const requireHere = createRequire(join(root, 'package.json'));
  const sdk = requireHere('@dbos-inc/dbos-sdk') as { DBOS: Dbos };
  // Its package.json is not among its exports: found above its entry point.
  let dir = dirname(requireHere.resolve('@dbos-inc/dbos-sdk'));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  return { DBOS: sdk.DBOS, version };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Launch DBOS on `database` of the server at `url` with the two-step workflow.
 * A failure to load or launch becomes the reason the peer row reports instead of a number.
 */
export async function openDbosPeer(url: string, database: string): Promise<DbosPeer> {
  let DBOS: Dbos;
  let version: string;
  try {
    ({ DBOS, version } = load());
  } catch (error) {
    return { ok: false, reason: `@dbos-inc/dbos-sdk could not be loaded: ${message(error)}` };
  }
  const close = (): Promise<void> =>
    within(DBOS.shutdown({ deregister: true }), SHUTDOWN_TIMEOUT_MS, 'DBOS.shutdown').catch((e: unknown) => console.warn(`DBOS.shutdown: ${message(e)}`));
  try {
    DBOS.setConfig({ name: 'das-bench', systemDatabaseUrl: databaseUrl(url, database), logLevel: 'error' });
    const twoSteps = DBOS.registerWorkflow(
      async (n: number): Promise<number> => {
        const first = await DBOS.runStep(() => Promise.resolve(n + 1), { name: 'first' });
        return DBOS.runStep(() => Promise.resolve(first + 1), { name: 'second' });
      },
      { name: 'twoSteps' },
    );
    const manySteps = DBOS.registerWorkflow(
      async (n: number): Promise<number> => {
        let value = n;
        for (let i = 0; i < STEPS_PER_WORKFLOW; i++) value = await DBOS.runStep(() => Promise.resolve(value + 1), { name: `step${i}` });
        return value;
      },
      { name: 'manySteps' },
    );
    await within(DBOS.launch(), LAUNCH_TIMEOUT_MS, 'DBOS.launch');
    const once = async (n: number): Promise<number> => {
      const t0 = performance.now();
      const out = await within(twoSteps(n), WORKFLOW_TIMEOUT_MS, 'a DBOS workflow');
      if (out !== n + 2) throw new Error(`the DBOS workflow returned ${out}, not ${n + 2}`);
      return performance.now() - t0;
    };
    const perStep = async (n: number): Promise<number> => {
      const t0 = performance.now();
      const out = await within(manySteps(n), WORKFLOW_TIMEOUT_MS, 'a DBOS workflow');
      if (out !== n + STEPS_PER_WORKFLOW) throw new Error(`the DBOS workflow returned ${out}, not ${n + STEPS_PER_WORKFLOW}`);
      return (performance.now() - t0) / STEPS_PER_WORKFLOW;
    };
    return { ok: true, version, once, perStep, close };
  } catch (error) {
    await close(); // a launch that failed half way may hold pools
    return { ok: false, reason: `DBOS ${version} did not launch: ${message(error)}` };
  }
}
