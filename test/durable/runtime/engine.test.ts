import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { isDurableError } from '../../../src/durable/model/errors';
import * as sqlite3 from '@vscode/sqlite3';
import { DurableEngine } from '../../../src/durable/runtime/engine';
import { asIdempotencyKey, newExecutionId, stepId } from '../../../src/durable/model/ids';
import { MIGRATIONS_DIR, OTHER_MASTER_KEY, TEST_MASTER_KEY, bytes, tempDir } from '../../helpers';

test('integrity check reports tampered rows without throwing, and passes after rotation', async (t) => {
  const file = join(tempDir(t), 'durable.db');
  const engine = await DurableEngine.open({ file, migrationsDir: MIGRATIONS_DIR, masterKey: TEST_MASTER_KEY });
  const exec = newExecutionId();
  await engine.backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  const base = { executionId: exec, attempt: 1, stepName: 's', effect: 'exactly_once' as const, idempotencyKey: asIdempotencyKey(new Uint8Array(32)) };
  await engine.writer.appendAcked({ ...base, kind: 'step_intent', stepId: stepId(0), meta: { intent: 'cost_bearing', policy: 'skip' } });
  const seq = await engine.writer.appendAcked({ ...base, kind: 'step_result', stepId: stepId(0), payload: bytes('ok') });
  assert.deepEqual((await engine.checkIntegrity()).failures, []);
  await engine.dispose();
  await engine.dispose();

  // Tamper: flip a byte of the sealed body directly in the file's database.
  const db = new sqlite3.Database(file);
  await new Promise<void>((resolve, reject) => db.run('UPDATE journal SET body = zeroblob(length(body)) WHERE seq = ?', [seq], (e) => (e ? reject(e) : resolve())));
  await new Promise<void>((resolve) => db.close(() => resolve()));

  const rotated = await DurableEngine.open({ file, migrationsDir: MIGRATIONS_DIR, masterKey: OTHER_MASTER_KEY, previousKeys: [TEST_MASTER_KEY] });
  t.after(() => rotated.dispose());
  const report = await rotated.checkIntegrity();
  assert.deepEqual(report.sqlite, ['ok']);
  assert.equal(report.rowsChecked, 2);
  assert.equal(report.failures.length, 1);
  assert.match(report.failures[0], new RegExp(`execution ${exec} step 0 step_result \\(seq ${seq}\\).*authentication failed`));
});

test('a wrong master key is refused at open with advice, and nothing is lost', async (t) => {
  const file = join(tempDir(t), 'durable.db');
  const engine = await DurableEngine.open({ file, migrationsDir: MIGRATIONS_DIR, masterKey: TEST_MASTER_KEY });
  const exec = newExecutionId();
  await engine.backend.createExecution({ id: exec, kind: 'k', version: 1, title: 't' });
  await engine.writer.appendAcked({ executionId: exec, attempt: 1, stepId: stepId(0), stepName: 's', effect: 'idempotent', idempotencyKey: null, kind: 'step_result', payload: bytes('x') });
  await engine.dispose();
  await assert.rejects(
    DurableEngine.open({ file, migrationsDir: MIGRATIONS_DIR, masterKey: OTHER_MASTER_KEY }),
    (e: unknown) => isDurableError(e, 'wrong_key') && /sealed with master key [0-9a-f]{8}.*Restore the original key/.test((e as Error).message),
  );
  const right = await DurableEngine.open({ file, migrationsDir: MIGRATIONS_DIR, masterKey: TEST_MASTER_KEY });
  t.after(() => right.dispose());
  assert.equal((await right.checkIntegrity()).failures.length, 0);
});

test('disposing the engine closes its connection (no handle left open)', async (t) => {
  const { openConnectionCount } = await import('../../../src/durable/store/sqlite/sqliteConnection');
  const before = openConnectionCount();
  const engine = await DurableEngine.open({ file: join(tempDir(t), 'durable.db'), migrationsDir: MIGRATIONS_DIR, masterKey: TEST_MASTER_KEY });
  assert.equal(openConnectionCount(), before + 1);
  await engine.dispose();
  assert.equal(openConnectionCount(), before);
});
