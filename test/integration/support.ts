// Shared by the integration tests that run inside the extension host.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { deriveIdempotencyKey, newExecutionId, stepId, type ExecutionId } from '../../src/durable';
import type { DurableSessionsApi } from '../../src/extension/api';

export const EXTENSION_ID = 'durable-sessions.durable-agent-sessions';
export const SURVIVOR_TITLE = 'survives the reload';

export async function api(): Promise<DurableSessionsApi & { testing: NonNullable<DurableSessionsApi['testing']> }> {
  const extension = vscode.extensions.getExtension<DurableSessionsApi>(EXTENSION_ID);
  if (!extension) throw new Error(`${EXTENSION_ID} is not installed`);
  const exports = await extension.activate();
  if (!exports.testing) throw new Error('the test API is off: start the host with DURABLE_SESSIONS_TEST_API=1');
  return exports as DurableSessionsApi & { testing: NonNullable<DurableSessionsApi['testing']> };
}

export function contributedCommands(): string[] {
  const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
  const contributes = (extension.packageJSON as { contributes: { commands: Array<{ command: string }> } }).contributes;
  return contributes.commands.map((c) => c.command);
}

export const SEEDED_UI_WINDOW = 'seeded: deploy to staging';
export const SEEDED_LONG = 'seeded: nightly batch';

type Engine = Awaited<ReturnType<NonNullable<DurableSessionsApi['testing']>['engine']>>;

/**
 * An execution whose guarded step committed its intent and never its result,
 * with nobody running it: what a crash in the ambiguous window leaves behind.
 */
export async function seedInterrupted(engine: Engine, title: string, stepName = 'deploy'): Promise<ExecutionId> {
  const id = newExecutionId();
  const key = deriveIdempotencyKey({ executionId: id, stepId: stepId(0), stepName, effect: 'exactly_once', fingerprint: new Uint8Array(32) });
  const base = { executionId: id, attempt: 1, stepName: null, effect: null, idempotencyKey: null, stepId: null } as const;
  await engine.backend.createExecution({ id, kind: 'integration.deploy', version: 1, title }, [
    engine.codec.encode({ ...base, kind: 'execution_started', payload: new TextEncoder().encode('{"v":{"target":"staging"}}') }),
    engine.codec.encode({ ...base, stepId: stepId(0), stepName, effect: 'exactly_once', idempotencyKey: key, kind: 'step_intent', meta: { intent: 'destructive', policy: 'ask' } }),
  ]);
  return id;
}

/** A finished execution with `steps` idempotent steps (for the virtualized timeline). */
export async function seedLong(engine: Engine, title: string, steps: number): Promise<ExecutionId> {
  const id = newExecutionId();
  const enc = new TextEncoder();
  await engine.backend.createExecution({ id, kind: 'integration.batch', version: 1, title });
  const rows = [];
  for (let i = 0; i < steps; i++) {
    const name = `chunk ${i}`;
    const key = deriveIdempotencyKey({ executionId: id, stepId: stepId(i), stepName: name, effect: 'idempotent', fingerprint: new Uint8Array(32) });
    rows.push(engine.codec.encode({ executionId: id, attempt: 1, stepId: stepId(i), stepName: name, effect: 'idempotent', idempotencyKey: key, kind: 'step_result', payload: enc.encode(`{"v":${i}}`) }));
  }
  await engine.backend.appendRows(rows);
  await engine.backend.finalize(id, 'completed');
  return id;
}

/** The harness's state folder (next to its config), shared by the phases. */
export function harnessDir(): string {
  const config = JSON.parse(readFileSync(process.env.DAS_TEST_CONFIG ?? '', 'utf8')) as { stateFile: string };
  return dirname(config.stateFile);
}

/** Where phase 1 leaves the id of the session it interrupted mid-model-call. */
export const LM_SLOW_ID_FILE = (): string => join(harnessDir(), 'lm-slow.id');

/** The turns the harness's test model was asked for, for one task ("turn 1", "turn 2", …). */
export function lmCalls(task: string): string[] {
  const file = join(harnessDir(), 'lm-calls.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith(`${task} turn `)).map((l) => l.slice(task.length + 1));
}

export async function until(predicate: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
